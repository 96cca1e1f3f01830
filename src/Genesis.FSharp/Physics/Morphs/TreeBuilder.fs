namespace Genesis.Physics

open System
open Genesis

/// A mutable body used while a loader assembles the tree (parsed, then fused, then frozen).
[<AllowNullLiteral>]
type internal BodyNode(name: string, line: int) =
    /// Body name.
    member val Name = name with get, set
    /// Line of the defining element, for error messages.
    member val Line = line with get
    /// Frame in the parent frame.
    member val Pos = [| 0.0; 0.0; 0.0 |] with get, set
    /// Orientation in the parent frame.
    member val Quat = [| 1.0; 0.0; 0.0; 0.0 |] with get, set
    /// Mass.
    member val Mass = 0.0 with get, set
    /// Centre of mass in the body frame.
    member val IPos = [| 0.0; 0.0; 0.0 |] with get, set
    /// Full inertia about the COM in the body frame (row-major 3x3).
    member val Inertia = Array.zeroCreate<float> 9 with get, set
    /// Joints, in order.
    member val Joints = ResizeArray<JointSpec>() with get
    /// Source lines of the joints, in order.
    member val JointLines = ResizeArray<int>() with get
    /// Geoms, in order.
    member val Geoms = ResizeArray<GeomSpec>() with get
    /// Visual geoms, in order.
    member val Visuals = ResizeArray<VisualSpec>() with get
    /// Child bodies, in order.
    member val Children = ResizeArray<BodyNode>() with get
    /// True for MuJoCo's world body (an MJCF worldbody): it never takes mass.
    member val IsWorld = false with get, set

/// Mass properties and the fuse-static pass shared by the URDF and MJCF loaders.
module internal TreeBuilder =
    /// MuJoCo's mjMINVAL: masses below it count as zero.
    [<Literal>]
    let MinVal = 1e-15

    /// Deepest body nesting a loader accepts (deeper trees raise instead of exhausting the stack).
    [<Literal>]
    let MaxDepth = 1000

    /// Combined mass, COM and inertia (about the combined COM) of two rigid parts in one frame.
    let combine (m1: float, c1: float[], i1: float[]) (m2: float, c2: float[], i2: float[]) =
        let m = m1 + m2
        if m < MinVal then 0.0, [| 0.0; 0.0; 0.0 |], Array.zeroCreate 9
        else
            let c = SpecMath.scale (1.0 / m) (SpecMath.add (SpecMath.scale m1 c1) (SpecMath.scale m2 c2))
            let part mi ci ii = SpecMath.add ii (SpecMath.parallelAxis mi (SpecMath.sub ci c))
            m, c, SpecMath.symmetrize (SpecMath.add (part m1 c1 i1) (part m2 c2 i2))

    /// Volume of a primitive geom (MuJoCo's formulas; 0 for planes and meshes).
    let geomVolume (g: GeomSpec) =
        let s = g.size
        match g.gtype with
        | Sphere -> 4.0 * Math.PI * s.[0] ** 3.0 / 3.0
        | Capsule -> Math.PI * (s.[0] * s.[0] * 2.0 * s.[1] + 4.0 * s.[0] ** 3.0 / 3.0)
        | Cylinder -> Math.PI * s.[0] * s.[0] * 2.0 * s.[1]
        | Ellipsoid -> 4.0 * Math.PI * s.[0] * s.[1] * s.[2] / 3.0
        | Box -> 8.0 * s.[0] * s.[1] * s.[2]
        | Mesh -> g.meshSolid |> Option.map (fun m -> m.[0]) |> Option.defaultValue 0.0
        | Plane -> 0.0

    /// Principal moments of a primitive geom of the given mass about its centre, in the geom frame
    /// (MuJoCo's formulas; the capsule is a cylinder plus two hemispheres, exactly).
    let geomInertia (g: GeomSpec) (mass: float) =
        let s = g.size
        match g.gtype with
        | Sphere -> Array.create 3 (2.0 * mass * s.[0] * s.[0] / 5.0)
        | Capsule ->
            let r, h = s.[0], 2.0 * s.[1]
            let ms = mass * 4.0 * r / (4.0 * r + 3.0 * h)
            let mc = mass - ms
            let sph = 2.0 * ms * r * r / 5.0
            let ixx = mc * (3.0 * r * r + h * h) / 12.0 + sph + ms * h * (3.0 * r + 2.0 * h) / 8.0
            [| ixx; ixx; mc * r * r / 2.0 + sph |]
        | Cylinder ->
            let r, h = s.[0], 2.0 * s.[1]
            let ixx = mass * (3.0 * r * r + h * h) / 12.0
            [| ixx; ixx; mass * r * r / 2.0 |]
        | Ellipsoid ->
            [| mass * (s.[1] * s.[1] + s.[2] * s.[2]) / 5.0
               mass * (s.[0] * s.[0] + s.[2] * s.[2]) / 5.0
               mass * (s.[0] * s.[0] + s.[1] * s.[1]) / 5.0 |]
        | Box ->
            [| mass * (s.[1] * s.[1] + s.[2] * s.[2]) / 3.0
               mass * (s.[0] * s.[0] + s.[2] * s.[2]) / 3.0
               mass * (s.[0] * s.[0] + s.[1] * s.[1]) / 3.0 |]
        | Plane | Mesh -> [| 0.0; 0.0; 0.0 |]

    /// Mass, COM and inertia (body frame) of a set of geoms, each with its mass.
    let inertiaFromGeoms (geoms: (GeomSpec * float) seq) =
        geoms
        |> Seq.filter (fun (_, m) -> m > 0.0)
        |> Seq.fold
            (fun acc (g, m) ->
                let local =
                    match g.gtype, g.meshSolid with
                    | Mesh, Some s when s.[0] > 0.0 -> Array.init 9 (fun k -> s.[1 + k] * m / s.[0])
                    | _ -> SpecMath.diag (geomInertia g m)
                combine acc (m, g.pos, SpecMath.rotateInertia g.quat local))
            (0.0, [| 0.0; 0.0; 0.0 |], Array.zeroCreate 9)

    /// Moves a static body into its parent, as MuJoCo's fusestatic: mass, COM and inertia are
    /// combined with the parallel-axis theorem (unless the parent is the world), geoms are moved to
    /// the parent frame and appended, and children take the body's place in the parent's list.
    let private fuseInto (parent: BodyNode) (index: int) =
        let b = parent.Children.[index]
        if not parent.IsWorld && b.Mass >= MinVal then
            let ipos, iquat = SpecMath.frameAccum b.Pos b.Quat b.IPos [| 1.0; 0.0; 0.0; 0.0 |]
            let inertia = SpecMath.rotateInertia iquat b.Inertia
            let m, c, i = combine (parent.Mass, parent.IPos, parent.Inertia) (b.Mass, ipos, inertia)
            parent.Mass <- m
            parent.IPos <- c
            parent.Inertia <- i
        for g in b.Geoms do
            let pos, quat = SpecMath.frameAccum b.Pos b.Quat g.pos g.quat
            parent.Geoms.Add { g with pos = pos; quat = quat }
        for v in b.Visuals do
            let pos, quat = SpecMath.frameAccum b.Pos b.Quat v.pos v.quat
            parent.Visuals.Add { v with pos = pos; quat = quat }
        for c in b.Children do
            let pos, quat = SpecMath.frameAccum b.Pos b.Quat c.Pos c.Quat
            c.Pos <- pos
            c.Quat <- quat
        parent.Children.RemoveAt index
        parent.Children.InsertRange(index, b.Children)

    /// Fuses every body without joints into its parent, in MuJoCo's (depth-first) order, except the bodies `keep`
    /// accepts (Genesis links_to_keep): those stay as bodies welded to their parent.
    let rec fuseStaticExcept (keep: BodyNode -> bool) (node: BodyNode) =
        let mutable i = 0
        while i < node.Children.Count do
            if node.Children.[i].Joints.Count = 0 && not (keep node.Children.[i]) then fuseInto node i
            else
                fuseStaticExcept keep node.Children.[i]
                i <- i + 1

    /// Fuses every body without joints into its parent, in MuJoCo's (depth-first) order.
    let fuseStatic (node: BodyNode) = fuseStaticExcept (fun _ -> false) node

    /// Bodies in depth-first order with their parent indices (root parent -1).
    let flatten (root: BodyNode) : (BodyNode * int)[] =
        let out = ResizeArray<BodyNode * int>()
        let rec go (n: BodyNode) parent =
            let me = out.Count
            out.Add((n, parent))
            for c in n.Children do go c me
        go root -1
        out.ToArray()

    /// Checks the moving bodies (mass > 0, positive-definite inertia satisfying the triangle
    /// inequality), free-joint placement and plane placement; raises naming file, line and body.
    let validate (file: string) (kind: string) (bodies: (BodyNode * int)[]) =
        let moving = Array.zeroCreate<bool> bodies.Length
        bodies |> Array.iteri (fun i (b, p) -> moving.[i] <- b.Joints.Count > 0 || (p >= 0 && moving.[p]))
        let where (b: BodyNode) = sprintf "%s (line %d): %s '%s'" file b.Line kind b.Name
        let rootIsWorld =
            let r = fst bodies.[0]
            r.Joints.Count = 0 && (r.IsWorld || (r.Pos = [| 0.0; 0.0; 0.0 |] && r.Quat = [| 1.0; 0.0; 0.0; 0.0 |]))
        bodies
        |> Array.iteri (fun i (b, p) ->
            for j in 0 .. b.Joints.Count - 1 do
                let jt = b.Joints.[j]
                if jt.jtype = Free then
                    if not (p < 0 || (p = 0 && rootIsWorld)) then
                        Errors.fail "%s (line %d): free joint '%s' of %s '%s': a free joint is allowed only on a body attached to the world" file b.JointLines.[j] jt.name kind b.Name
                    if b.Joints.Count > 1 then
                        Errors.fail "%s (line %d): free joint '%s' of %s '%s' must be the body's only joint" file b.JointLines.[j] jt.name kind b.Name
            if b.Joints.Count > 0 then
                let jn = b.Joints.[0].name
                if not (b.Mass > MinVal) then
                    Errors.fail "%s moves (joint '%s') but its mass is %g; a moving body needs mass > %g (MuJoCo's mjMINVAL)" (where b) jn b.Mass MinVal
                let ev = SpecMath.symEigenvalues (SpecMath.symmetrize b.Inertia)
                if not (ev.[0] > MinVal) then
                    Errors.fail "%s moves (joint '%s') but its inertia is not positive definite (principal moments %g, %g, %g; each must be > %g)" (where b) jn ev.[0] ev.[1] ev.[2] MinVal
                let tol = 1e-9 * ev.[2]
                if ev.[0] + ev.[1] < ev.[2] - tol then
                    Errors.fail "%s: inertia violates the triangle inequality A + B >= C (principal moments %g, %g, %g)" (where b) ev.[0] ev.[1] ev.[2]
            if moving.[i] then
                match b.Geoms |> Seq.tryFind (fun g -> g.gtype = Plane) with
                | Some g -> Errors.fail "%s: plane geom '%s' is only allowed on a static body" (where b) g.name
                | None -> ())

    /// Freezes the flattened tree into body specs.
    let toBodies (bodies: (BodyNode * int)[]) : BodySpec[] =
        bodies
        |> Array.map (fun (b, p) ->
            { name = b.Name; parent = p; pos = Array.copy b.Pos; quat = SpecMath.normalize b.Quat; mass = b.Mass
              ipos = Array.copy b.IPos; inertia = SpecMath.symmetrize b.Inertia; joints = b.Joints.ToArray()
              geoms = b.Geoms.ToArray(); visuals = b.Visuals.ToArray() })
