namespace Genesis.Physics

open System
open Genesis

/// The witness features of a convex pair: the vertices of the Minkowski difference A - B of the two cores (each a
/// support point of A's core minus one of B's) spanning the feature of A - B nearest the origin, kept as each core's
/// local support points, and whether the cores overlap.
type ConvexWitness =
    { /// Number of vertices (1: a vertex, 2: an edge, 3: a face of A - B).
      count: int
      /// A's core support points in A's geom frame [count * 3].
      aLocal: float[]
      /// B's core support points in B's geom frame [count * 3].
      bLocal: float[]
      /// Whether the cores overlap: the feature is EPA's face of A - B nearest the origin from inside.
      penetrating: bool }

/// GJK (distance between two convex cores, Gilbert-Johnson-Keerthi) and EPA (penetration of overlapping cores, the
/// expanding polytope), on floats: they pick the witness features, which the contact forms then evaluate on the
/// differentiable poses (ConvexPair).
module GjkEpa =
    /// Iteration cap of GJK and of EPA (curved cores converge linearly; polytopes in a few steps).
    [<Literal>]
    let MaxIterations = 64

    /// GJK's relative convergence tolerance: it stops when |v|^2 - v . w <= Tolerance |v|^2 (on a curved core the
    /// normal converges as the square root of the distance: about 1e-7 here).
    [<Literal>]
    let Tolerance = 1e-14

    /// EPA's convergence tolerance: it stops when the new support point is within EpaTolerance L of the nearest face
    /// (L: the pair's length scale).
    [<Literal>]
    let EpaTolerance = 1e-10

    type private Vertex = { w: float[]; a: float[]; aL: float[]; bL: float[] }

    let private dot (x: float[]) (y: float[]) = x[0] * y[0] + x[1] * y[1] + x[2] * y[2]
    let private sub (x: float[]) (y: float[]) = [| x[0] - y[0]; x[1] - y[1]; x[2] - y[2] |]
    let private cross (x: float[]) (y: float[]) = [| x[1] * y[2] - x[2] * y[1]; x[2] * y[0] - x[0] * y[2]; x[0] * y[1] - x[1] * y[0] |]

    /// A geom's core and its world frame (position, row-major rotation).
    type internal Posed = { geom: GeomSpec; p: float[]; r: float[] }

    /// The support point of A - B along d: s_A(d) - s_B(-d).
    let private vertex (a: Posed) (b: Posed) (d: float[]) =
        let wa, la = ConvexSupport.worldSupport a.geom a.p a.r d[0] d[1] d[2]
        let wb, lb = ConvexSupport.worldSupport b.geom b.p b.r -d[0] -d[1] -d[2]
        { w = sub wa wb; a = wa; aL = la; bL = lb }

    /// Barycentric weights of the point of the affine hull of ws nearest the origin (None when the points are
    /// affinely dependent, relative to their spread).
    let internal affineWeights (ws: float[][]) : float[] option =
        let k = ws.Length
        if k = 1 then Some [| 1.0 |]
        else
            let n = k - 1
            let e = Array.init n (fun i -> sub ws[i + 1] ws[0])
            let g = Array.init n (fun i -> Array.init (n + 1) (fun j -> if j < n then dot e[i] e[j] else -(dot e[i] ws[0])))
            let scale = Array.init n (fun i -> g[i][i]) |> Array.max
            let mutable ok = scale > 0.0
            for c in 0 .. n - 1 do
                if ok then
                    let piv = [| c .. n - 1 |] |> Array.maxBy (fun r -> abs (g[r][c]))
                    if abs (g[piv][c]) <= 1e-12 * scale then ok <- false
                    else
                        let t = g[c]
                        g[c] <- g[piv]
                        g[piv] <- t
                        for r in 0 .. n - 1 do
                            if r <> c then
                                let f = g[r][c] / g[c][c]
                                for j in c .. n do g[r][j] <- g[r][j] - f * g[c][j]
            if not ok then None
            else
                let mu = Array.init n (fun i -> g[i][n] / g[i][i])
                Some (Array.append [| 1.0 - Array.sum mu |] mu)

    /// The sub-simplex of ws whose affine hull's nearest point to the origin lies inside it and is nearest (fewer
    /// points on ties), with its weights: the point of the simplex nearest the origin.
    let internal nearest (ws: float[][]) : int[] * float[] =
        let masks = [| 1 .. (1 <<< ws.Length) - 1 |] |> Array.sortBy (fun m -> Numerics.BitOperations.PopCount(uint32 m))
        let mutable best, bestW, bestD = [||], [||], Double.PositiveInfinity
        for mask in masks do
            let idx = [| for i in 0 .. ws.Length - 1 do if mask &&& (1 <<< i) <> 0 then i |]
            match affineWeights (idx |> Array.map (fun i -> ws[i])) with
            | Some lam when lam |> Array.forall (fun l -> l >= -1e-12) ->
                let v = Array.init 3 (fun c -> Array.fold2 (fun s l i -> s + l * ws[i][c]) 0.0 lam idx)
                let d = dot v v
                if d < bestD * (1.0 - 1e-13) then
                    best <- idx
                    bestW <- lam
                    bestD <- d
            | _ -> ()
        best, bestW

    let private witness (vs: Vertex[]) (penetrating: bool) =
        { count = vs.Length
          aLocal = vs |> Array.collect (fun v -> v.aL)
          bLocal = vs |> Array.collect (fun v -> v.bL)
          penetrating = penetrating }

    /// GJK: the simplex of A - B nearest the origin and whether it holds the origin (cores overlapping or touching).
    let private gjk (a: Posed) (b: Posed) (scale: float) =
        let d0 = sub b.p a.p
        let d0 = if dot d0 d0 > 0.0 then d0 else [| 1.0; 0.0; 0.0 |]
        let mutable simplex = [| vertex a b d0 |]
        let mutable v = simplex[0].w
        let mutable fin, overlap, it = false, false, 0
        while not fin && it < MaxIterations do
            it <- it + 1
            let vv = dot v v
            if vv <= (1e-12 * scale) ** 2.0 then
                overlap <- true
                fin <- true
            else
                let nv = vertex a b [| -v[0]; -v[1]; -v[2] |]
                let repeated = simplex |> Array.exists (fun s -> let d = sub s.w nv.w in dot d d <= (1e-13 * scale) ** 2.0)
                if repeated || vv - dot v nv.w <= Tolerance * vv then fin <- true
                else
                    let all = Array.append simplex [| nv |]
                    let idx, lam = nearest (all |> Array.map (fun s -> s.w))
                    simplex <- idx |> Array.map (fun i -> all[i])
                    v <- Array.init 3 (fun c -> Array.fold2 (fun s l (x: Vertex) -> s + l * x.w[c]) 0.0 lam simplex)
                    if simplex.Length = 4 then
                        overlap <- true
                        fin <- true
        simplex, overlap

    type private Face = { i: int; j: int; k: int; n: float[]; dist: float }

    /// EPA from a tetrahedron of A - B holding the origin: the face of A - B nearest the origin.
    let private epa (a: Posed) (b: Posed) (tet: Vertex[]) (scale: float) =
        let verts = ResizeArray<Vertex>(tet)
        let centroid = Array.init 3 (fun c -> (tet |> Array.sumBy (fun v -> v.w[c])) / 4.0)
        let face i j k =
            let n = cross (sub verts[j].w verts[i].w) (sub verts[k].w verts[i].w)
            let l = sqrt (dot n n)
            if l <= 1e-14 * scale * scale then { i = i; j = j; k = k; n = n; dist = Double.PositiveInfinity }
            else
                let n = n |> Array.map (fun x -> x / l)
                { i = i; j = j; k = k; n = n; dist = dot n verts[i].w }
        let outward i j k =
            let f = face i j k
            if Double.IsInfinity f.dist || dot f.n (sub verts[i].w centroid) >= 0.0 then f else face i k j
        let faces = ResizeArray<Face>([ outward 0 1 2; outward 0 1 3; outward 0 2 3; outward 1 2 3 ])
        let mutable result = None
        let mutable it = 0
        while result.IsNone do
            it <- it + 1
            let f = faces |> Seq.minBy (fun f -> f.dist)
            let nv = vertex a b f.n
            if it >= MaxIterations || Double.IsInfinity f.dist || dot f.n nv.w - f.dist <= EpaTolerance * scale then result <- Some f
            else
                verts.Add nv
                let q = verts.Count - 1
                let visible = faces |> Seq.filter (fun g -> not (Double.IsInfinity g.dist) && dot g.n (sub nv.w verts[g.i].w) > 1e-12 * scale) |> Seq.toArray
                if visible.Length = 0 then result <- Some f
                else
                    let edges = visible |> Array.collect (fun g -> [| g.i, g.j; g.j, g.k; g.k, g.i |])
                    let edgeSet = Collections.Generic.HashSet<int * int>(edges)
                    let horizon = edges |> Array.filter (fun (x, y) -> not (edgeSet.Contains(y, x)))
                    for g in visible do faces.Remove g |> ignore
                    for x, y in horizon do faces.Add(face x y q)
        let f = result.Value
        [| verts[f.i]; verts[f.j]; verts[f.k] |]

    /// Completes a simplex holding the origin (touching cores) to a tetrahedron by support points along the
    /// directions of least extent; None when A - B is flat there.
    let private tetrahedron (a: Posed) (b: Posed) (simplex: Vertex[]) (scale: float) =
        let dirs = [| [| 1.0; 0.0; 0.0 |]; [| 0.0; 1.0; 0.0 |]; [| 0.0; 0.0; 1.0 |]; [| -1.0; 0.0; 0.0 |]; [| 0.0; -1.0; 0.0 |]; [| 0.0; 0.0; -1.0 |] |]
        let mutable vs = simplex
        for d in dirs do
            if vs.Length < 4 then
                let nv = vertex a b d
                let cand = Array.append vs [| nv |]
                if (affineWeights (cand |> Array.map (fun x -> x.w))).IsSome then vs <- cand
        if vs.Length < 4 then None
        else
            let _, lam = nearest (vs |> Array.map (fun x -> x.w))
            if lam.Length = 4 then Some vs else None

    /// The witness features of cores A and B (each geom with its world position and row-major rotation).
    let internal witnessOf (ga: GeomSpec, pa: float[], ra: float[]) (gb: GeomSpec, pb: float[], rb: float[]) : ConvexWitness =
        let a, b = { geom = ga; p = pa; r = ra }, { geom = gb; p = pb; r = rb }
        let scale = Broadphase.boundRadius ga + Broadphase.boundRadius gb + sqrt (dot (sub pa pb) (sub pa pb)) + 1e-9
        let simplex, overlap = gjk a b scale
        if not overlap then witness simplex false
        else
            let tet = if simplex.Length = 4 then Some simplex else tetrahedron a b simplex scale
            match tet with
            | Some t -> witness (epa a b t scale) true
            | None -> witness simplex false
