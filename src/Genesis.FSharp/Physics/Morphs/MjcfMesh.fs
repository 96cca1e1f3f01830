namespace Genesis.Physics

open System
open System.Collections.Generic
open System.IO
open System.Xml.Linq
open Genesis
open Genesis.Physics.MorphXml

/// A mesh read for a model: the triangle mesh moved to its centroid, its convex hull (what collides) and its solid.
type MeshAsset =
    { /// Asset name (the file's stem when the element names none).
      name: string
      /// The mesh file (absolute path).
      file: string
      /// Vertices (scaled, relative to the centroid), flattened [x0;y0;z0;...].
      vertices: float[]
      /// Triangles, vertex-index triples.
      faces: int[]
      /// Convex-hull vertices (relative to the centroid), flattened.
      hull: float[]
      /// The centroid of the solid in the file's (scaled) frame.
      centroid: float[]
      /// The solid per unit density: [volume; inertia about the centroid, 3 x 3 row-major].
      solid: float[] }

/// Mass properties of closed triangle meshes, and the MJCF <asset><mesh> elements.
module MeshSolid =
    /// Volume, first moment and second moments (row-major) of the pyramids from apex o over the triangles (signed by
    /// the winding; the total's sign is taken out).
    let private moments (v: float[]) (faces: int[]) (o: float[]) =
        let mutable vol = 0.0
        let first = Array.zeroCreate 3
        let second = Array.zeroCreate 9
        for t in 0 .. faces.Length / 3 - 1 do
            let p k = Array.init 3 (fun i -> v[3 * faces[3 * t + k] + i] - o[i])
            let a, b, c = p 0, p 1, p 2
            let det = SpecMath.dot a (SpecMath.cross b c)
            vol <- vol + det / 6.0
            let s = Array.init 3 (fun i -> a[i] + b[i] + c[i])
            for i in 0 .. 2 do first[i] <- first[i] + det / 24.0 * s[i]
            for i in 0 .. 2 do
                for j in 0 .. 2 do
                    second[3 * i + j] <- second[3 * i + j] + det / 120.0 * (a[i] * a[j] + b[i] * b[j] + c[i] * c[j] + s[i] * s[j])
        let sign = if vol < 0.0 then -1.0 else 1.0
        sign * vol, first |> Array.map ((*) sign), second |> Array.map ((*) sign)

    /// [volume; centroid (3); inertia about the centroid per unit density (9, row-major)] of the solid bounded by the
    /// triangles (the divergence theorem on a closed mesh, MuJoCo's exactmeshinertia): pyramids from the area-weighted
    /// face centre give the volume and centroid, pyramids from the centroid the inertia.
    let ofTriangles (v: float[]) (faces: int[]) : float * float[] * float[] =
        let mutable area = 0.0
        let facecen = Array.zeroCreate 3
        for t in 0 .. faces.Length / 3 - 1 do
            let p k = Array.init 3 (fun i -> v[3 * faces[3 * t + k] + i])
            let a, b, c = p 0, p 1, p 2
            let ar = SpecMath.norm (SpecMath.cross (SpecMath.sub b a) (SpecMath.sub c a)) / 2.0
            area <- area + ar
            for i in 0 .. 2 do facecen[i] <- facecen[i] + ar * (a[i] + b[i] + c[i]) / 3.0
        let facecen = if area > 0.0 then facecen |> Array.map (fun x -> x / area) else facecen
        let vol, first, _ = moments v faces facecen
        let com = if vol > 0.0 then Array.init 3 (fun i -> facecen[i] + first[i] / vol) else facecen
        let vol2, first2, second = moments v faces com
        // covariance about the centroid (the second pass's first moment is ~0), then I = tr(C) 1 - C
        let c2 = if vol2 > 0.0 then first2 |> Array.map (fun x -> x / vol2) else Array.zeroCreate 3
        let cov = Array.init 9 (fun k -> second[k] - vol2 * c2[k / 3] * c2[k % 3])
        let tr = cov[0] + cov[4] + cov[8]
        vol, com, Array.init 9 (fun k -> (if k / 3 = k % 3 then tr else 0.0) - cov[k])

/// MJCF meshes: <asset><mesh name file scale>, found under <compiler meshdir/assetdir>, read as MuJoCo compiles them.
module MjcfMesh =
    /// The mesh assets of an MJCF document by name; errors name the file and line of the <mesh> element.
    let assets (file: string) (root: XElement) : Dictionary<string, MeshAsset * XElement> =
        let dir = Path.GetDirectoryName(Path.GetFullPath file)
        let meshdir =
            children "compiler" root
            |> Array.tryPick (fun c -> match attr "meshdir" c with Some d -> Some d | None -> attr "assetdir" c)
            |> Option.defaultValue ""
        let d = Dictionary<string, MeshAsset * XElement>()
        for a in children "asset" root do
            for m in children "mesh" a do
                let fn = match attr "file" m with Some f -> f | None -> notSupportedAt file m "<mesh> without a 'file' (inline vertices) is not supported"
                let name = attr "name" m |> Option.defaultValue (Path.GetFileNameWithoutExtension fn)
                if d.ContainsKey name then failAt file m "mesh '%s' is defined twice" name
                let path = Path.GetFullPath(Path.Combine(dir, meshdir, fn))
                let scale =
                    match floatsN file m "scale" 3 with
                    | Some s when s |> Array.exists (fun x -> x = 0.0 || not (Double.IsFinite x)) -> failAt file m "mesh '%s': scale must be finite and nonzero" name
                    | Some s -> s
                    | None -> [| 1.0; 1.0; 1.0 |]
                let asset =
                    try
                        let raw, faces = MeshFile.loadTriangles path
                        if raw |> Array.exists (fun x -> not (Double.IsFinite x)) then Errors.fail "a vertex coordinate is not finite"
                        let scaled = raw |> Array.mapi (fun k x -> x * scale[k % 3])
                        let hull = ConvexHull.solid scaled
                        let vol, com, inertia = MeshSolid.ofTriangles scaled faces
                        // an open or inconsistently wound mesh: the hull's solid instead
                        let vol, com, inertia =
                            if vol > 0.0 then vol, com, inertia
                            else let hv, ht = ConvexHull.compute scaled in MeshSolid.ofTriangles hv ht
                        let shift (pts: float[]) = pts |> Array.mapi (fun k x -> x - com[k % 3])
                        { name = name; file = path; vertices = shift scaled; faces = faces; hull = shift hull; centroid = com
                          solid = Array.append [| vol |] inertia }
                    with :? GenesisException as ex -> failAt file m "mesh '%s' (%s): %s" name fn ex.Message
                d[name] <- (asset, m)
        d

    /// A mesh geom: its frame moved to the mesh's centroid, the hull as its collision shape, the solid for its mass.
    let geom (file: string) (e: XElement) (meshes: Dictionary<string, MeshAsset * XElement>) (meshName: string option) (g: GeomSpec) =
        match meshName with
        | None -> failAt file e "geom '%s' of type mesh needs a 'mesh' attribute" g.name
        | Some n ->
            match meshes.TryGetValue n with
            | true, (m, _) ->
                let r = SpecMath.quatToMat g.quat
                let pos = Array.init 3 (fun i -> g.pos[i] + r[3 * i] * m.centroid[0] + r[3 * i + 1] * m.centroid[1] + r[3 * i + 2] * m.centroid[2])
                let size = Array.init 3 (fun ax -> Seq.init (m.hull.Length / 3) (fun i -> abs m.hull[3 * i + ax]) |> Seq.max)
                { g with pos = pos; size = size; meshVertices = Some m.hull; meshFile = Some m.file; meshSolid = Some m.solid }
            | _ -> failAt file e "geom '%s' refers to mesh '%s', which no <asset><mesh> defines" g.name n

    /// The visual of a mesh geom: all its triangles.
    let visual (meshes: Dictionary<string, MeshAsset * XElement>) (meshName: string option) (v: VisualSpec) =
        match meshName |> Option.bind (fun n -> match meshes.TryGetValue n with | true, (m, _) -> Some m | _ -> None) with
        | Some m -> { v with meshVertices = m.vertices; meshFaces = m.faces; meshFile = m.file }
        | None -> v
