namespace Genesis.Physics

open System
open System.Collections.Generic
open System.Globalization
open System.IO
open System.Text
open Genesis

/// Reading mesh files (Wavefront OBJ, binary and ASCII STL) as point sets.
module MeshFile =
    let private parse (s: string) = Double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture)

    let private objVertices (file: string) =
        let pts = ResizeArray<float>()
        for line in File.ReadLines file do
            let t = line.Trim()
            if t.StartsWith("v ") || t.StartsWith("v\t") then
                let f = t.Split([| ' '; '\t' |], StringSplitOptions.RemoveEmptyEntries)
                if f.Length < 4 then Errors.fail "mesh %s: malformed vertex line '%s'" file t
                try
                    pts.Add(parse f.[1]); pts.Add(parse f.[2]); pts.Add(parse f.[3])
                with :? FormatException -> Errors.fail "mesh %s: malformed vertex line '%s'" file t
        pts.ToArray()

    let private stlVertices (file: string) =
        let bytes = File.ReadAllBytes file
        let isBinary =
            bytes.Length >= 84 && (int64 84 + 50L * int64 (BitConverter.ToUInt32(bytes, 80)) = int64 bytes.Length)
        if isBinary then
            let n = int (BitConverter.ToUInt32(bytes, 80))
            Array.init (9 * n) (fun k ->
                let tri, c = k / 9, k % 9
                float (BitConverter.ToSingle(bytes, 84 + 50 * tri + 12 + 4 * c)))
        else
            let text = Encoding.ASCII.GetString bytes
            if not (text.TrimStart().StartsWith("solid", StringComparison.OrdinalIgnoreCase)) then
                Errors.fail "mesh %s: neither a binary STL (size does not match the triangle count) nor an ASCII STL" file
            let pts = ResizeArray<float>()
            for line in text.Split('\n') do
                let t = line.Trim()
                if t.StartsWith("vertex", StringComparison.OrdinalIgnoreCase) then
                    let f = t.Split([| ' '; '\t' |], StringSplitOptions.RemoveEmptyEntries)
                    if f.Length < 4 then Errors.fail "mesh %s: malformed line '%s'" file t
                    try
                        pts.Add(parse f.[1]); pts.Add(parse f.[2]); pts.Add(parse f.[3])
                    with :? FormatException -> Errors.fail "mesh %s: malformed line '%s'" file t
            pts.ToArray()

    /// Removes repeated points (exact equality), keeping the first occurrence order.
    let dedupe (points: float[]) : float[] =
        let seen = HashSet<struct (float * float * float)>()
        let out = ResizeArray<float>()
        for i in 0 .. points.Length / 3 - 1 do
            let p = struct (points.[3 * i], points.[3 * i + 1], points.[3 * i + 2])
            if seen.Add p then
                out.Add(points.[3 * i]); out.Add(points.[3 * i + 1]); out.Add(points.[3 * i + 2])
        out.ToArray()

    /// Vertices of an .obj or .stl file (binary or ASCII), flattened [x0;y0;z0;...], without repeats.
    let loadVertices (file: string) : float[] =
        if not (File.Exists file) then Errors.fail "mesh file not found: %s" file
        let pts =
            match Path.GetExtension(file).ToLowerInvariant() with
            | ".obj" -> objVertices file
            | ".stl" -> stlVertices file
            | ext -> Errors.notSupported "mesh %s: format '%s' is not supported (use .obj or .stl)" file ext
        if pts.Length < 3 then Errors.fail "mesh %s has no vertices" file
        dedupe pts

    /// OBJ face lines ("f a b c ...", each index "v", "v/t", "v//n" or "v/t/n", 1-based or negative
    /// relative), fan-triangulated into 0-based vertex-index triples.
    let private objFaces (file: string) (nVertices: int) =
        let tris = ResizeArray<int>()
        let mutable seen = 0
        for line in File.ReadLines file do
            let t = line.Trim()
            if t.StartsWith("v ") || t.StartsWith("v\t") then seen <- seen + 1
            elif t.StartsWith("f ") || t.StartsWith("f\t") then
                let idx =
                    t.Split([| ' '; '\t' |], StringSplitOptions.RemoveEmptyEntries).[1..]
                    |> Array.map (fun f ->
                        match Int32.TryParse(f.Split('/').[0], NumberStyles.Integer, CultureInfo.InvariantCulture) with
                        | true, k when k > 0 && k <= nVertices -> k - 1
                        | true, k when k < 0 && seen + k >= 0 -> seen + k
                        | _ -> Errors.fail "mesh %s: face line '%s' names vertex '%s', which does not exist" file t f)
                if idx.Length < 3 then Errors.fail "mesh %s: face line '%s' needs 3 vertices" file t
                for k in 1 .. idx.Length - 2 do
                    tris.Add idx.[0]; tris.Add idx.[k]; tris.Add idx.[k + 1]
        tris.ToArray()

    /// Vertices and triangles (0-based index triples) of an .obj or .stl file, for drawing; STL
    /// triangles keep their own three vertices each.
    let loadTriangles (file: string) : float[] * int[] =
        if not (File.Exists file) then Errors.fail "mesh file not found: %s" file
        match Path.GetExtension(file).ToLowerInvariant() with
        | ".obj" ->
            let v = objVertices file
            v, objFaces file (v.Length / 3)
        | ".stl" ->
            let v = stlVertices file
            v, Array.init (v.Length / 3) id
        | ext -> Errors.notSupported "mesh %s: format '%s' is not supported (use .obj or .stl)" file ext

/// 3-D convex hull (quickhull with a relative tolerance) of a point set.
module ConvexHull =
    [<AllowNullLiteral>]
    type private Face(a: int, b: int, c: int, n: float[], d: float) =
        member _.A = a
        member _.B = b
        member _.C = c
        member _.N = n
        member _.D = d
        member val Outside = ResizeArray<int>() with get
        member val Alive = true with get, set
        member _.Edges = [| struct (a, b); struct (b, c); struct (c, a) |]

    /// Convex hull of points (flattened xyz): (hull vertices flattened, triangles as index triples
    /// into them, counter-clockwise seen from outside). Coplanar or collinear input returns the
    /// unique points and no triangles.
    let compute (points: float[]) : float[] * int[] =
        let pts = MeshFile.dedupe points
        let n = pts.Length / 3
        let p i = [| pts.[3 * i]; pts.[3 * i + 1]; pts.[3 * i + 2] |]
        let flat () = pts, [||]
        if n < 4 then flat () else
        let extent = Array.init 3 (fun ax -> let v = Array.init n (fun i -> pts.[3 * i + ax]) in Array.max v - Array.min v) |> Array.max
        let eps = 1e-9 * max extent 1e-300
        let dist (f: Face) i = SpecMath.dot f.N (p i) - f.D
        let makeFace a b c =
            let pa = p a
            let nrm = SpecMath.cross (SpecMath.sub (p b) pa) (SpecMath.sub (p c) pa)
            let len = SpecMath.norm nrm
            let nu = if len > 0.0 then SpecMath.scale (1.0 / len) nrm else nrm
            Face(a, b, c, nu, SpecMath.dot nu pa)
        // initial simplex: farthest pair among axis extremes, then farthest from line and plane
        // ties are broken lexicographically, so that every chosen point is a hull vertex
        let lex ax i = struct (pts.[3 * i + ax], pts.[3 * i + (ax + 1) % 3], pts.[3 * i + (ax + 2) % 3])
        let extremes =
            [| for ax in 0..2 do
                   yield Seq.minBy (lex ax) (seq { 0 .. n - 1 })
                   yield Seq.maxBy (lex ax) (seq { 0 .. n - 1 }) |]
        let i0, i1 =
            Seq.allPairs extremes extremes |> Seq.maxBy (fun (a, b) -> SpecMath.norm (SpecMath.sub (p a) (p b)))
        let lineDist i =
            let u = SpecMath.normalize (SpecMath.sub (p i1) (p i0))
            SpecMath.norm (SpecMath.cross u (SpecMath.sub (p i) (p i0)))
        let i2 = Seq.maxBy (fun i -> struct (lineDist i, lex 0 i)) (seq { 0 .. n - 1 })
        if lineDist i2 <= eps then flat () else
        let f012 = makeFace i0 i1 i2
        let i3 = Seq.maxBy (fun i -> struct (abs (dist f012 i), lex 0 i)) (seq { 0 .. n - 1 })
        if abs (dist f012 i3) <= eps then flat () else
        let faces = ResizeArray<Face>()
        let edgeOwner = Dictionary<struct (int * int), Face>()
        let addFace (f: Face) =
            faces.Add f
            for e in f.Edges do edgeOwner.[e] <- f
        let a, b, c = if dist f012 i3 > 0.0 then i0, i2, i1 else i0, i1, i2
        addFace (makeFace a b c)
        addFace (makeFace a i3 b)
        addFace (makeFace b i3 c)
        addFace (makeFace c i3 a)
        let assign (cands: seq<int>) (targets: Face list) =
            for i in cands do
                match targets |> List.tryFind (fun f -> dist f i > eps) with
                | Some f -> f.Outside.Add i
                | None -> ()
        assign (seq (seq { 0 .. n - 1 }) |> Seq.filter (fun i -> i <> i0 && i <> i1 && i <> i2 && i <> i3)) (List.ofSeq faces)
        let pending = Stack<Face>(faces)
        while pending.Count > 0 do
            let f = pending.Pop()
            if f.Alive && f.Outside.Count > 0 then
                let eye = f.Outside |> Seq.maxBy (fun i -> struct (dist f i, lex 0 i))
                // visible faces: connected region around f seen from eye
                let visible = ResizeArray<Face>([ f ])
                let state = Dictionary<Face, bool>(HashIdentity.Reference)
                state.[f] <- true
                let horizon = ResizeArray<struct (int * int)>()
                let mutable k = 0
                while k < visible.Count do
                    let v = visible.[k]
                    for struct (ea, eb) as e in v.Edges do
                        let nb = edgeOwner.[struct (eb, ea)]
                        let vis =
                            match state.TryGetValue nb with
                            | true, s -> s
                            | _ ->
                                // coplanar neighbours are replaced too, so that no face is
                                // built from a horizon edge collinear with the eye point
                                let s = dist nb eye > -eps
                                state.[nb] <- s
                                if s then visible.Add nb
                                s
                        if not vis then horizon.Add e
                    k <- k + 1
                let orphans = ResizeArray<int>()
                for v in visible do
                    v.Alive <- false
                    for i in v.Outside do
                        if i <> eye then orphans.Add i
                    for e in v.Edges do
                        match edgeOwner.TryGetValue e with
                        | true, o when Object.ReferenceEquals(o, v) -> edgeOwner.Remove e |> ignore
                        | _ -> ()
                let created = [ for struct (ea, eb) in horizon -> makeFace ea eb eye ]
                for nf in created do addFace nf
                assign orphans created
                for nf in created do
                    if nf.Outside.Count > 0 then pending.Push nf
        let alive = faces |> Seq.filter (fun f -> f.Alive) |> Seq.toArray
        let remap = Dictionary<int, int>()
        let verts = ResizeArray<float>()
        let idx i =
            match remap.TryGetValue i with
            | true, j -> j
            | _ ->
                let j = remap.Count
                remap.[i] <- j
                verts.AddRange(p i)
                j
        let tris = alive |> Array.collect (fun f -> [| idx f.A; idx f.B; idx f.C |])
        verts.ToArray(), tris

    /// Hull vertices of a collision mesh; fewer than 4 non-coplanar points raise (the caller names file and line).
    let solid (points: float[]) : float[] =
        let hull, tris = compute points
        if tris.Length = 0 then
            Errors.fail "it has fewer than 4 non-coplanar points (%d distinct), so it has no convex hull to collide with" (hull.Length / 3)
        hull

    /// Hull vertices only (flattened xyz), see `compute`.
    let vertices (points: float[]) : float[] = fst (compute points)
