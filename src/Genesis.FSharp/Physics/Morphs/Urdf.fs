namespace Genesis.Physics

open System
open System.Collections.Generic
open System.IO
open System.Xml.Linq
open Genesis
open Genesis.Physics.MorphXml

/// URDF reading (see Urdf.load and docs/morphs.md).
module internal UrdfReader =
    type private JointInfo =
        { elem: XElement; name: string; jtype: string; parent: string; child: string }

    /// Reads <origin xyz rpy> of an element: position (scaled) and quaternion (rpy = fixed-axis XYZ).
    let private origin (file: string) (scale: float) (e: XElement) =
        match child "origin" e with
        | None -> [| 0.0; 0.0; 0.0 |], SpecMath.quatIdentity ()
        | Some o ->
            let xyz = floatsN file o "xyz" 3 |> Option.defaultValue [| 0.0; 0.0; 0.0 |]
            let rpy = floatsN file o "rpy" 3 |> Option.defaultValue [| 0.0; 0.0; 0.0 |]
            SpecMath.scale scale xyz, SpecMath.eulerQuat "XYZ" rpy

    /// Finds a mesh file named in a URDF: relative to the URDF folder; package:// paths are also
    /// looked up in the folders above it (with and without the package name).
    let private resolveMesh (baseDir: string) (filename: string) =
        let strip (prefix: string) (s: string) =
            if s.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) then Some(s.Substring prefix.Length) else None
        let candidates =
            match strip "package://" filename, strip "file://" filename with
            | Some rel, _ ->
                let rest = match rel.IndexOf '/' with -1 -> rel | k -> rel.Substring(k + 1)
                [ let mutable dir = DirectoryInfo(baseDir)
                  while not (isNull dir) do
                      yield Path.Combine(dir.FullName, rel)
                      yield Path.Combine(dir.FullName, rest)
                      dir <- dir.Parent ]
            | None, Some abs -> [ abs ]
            | None, None when Path.IsPathRooted filename -> [ filename ]
            | None, None -> [ Path.Combine(baseDir, filename) ]
        candidates |> List.tryFind File.Exists |> Option.map Path.GetFullPath

    /// Converts one <collision> element into a geom in the link frame.
    let private collisionGeom (file: string) (baseDir: string) (scale: float) (link: string) (c: XElement) =
        let geometry =
            match child "geometry" c with
            | Some g -> g
            | None -> failAt file c "link '%s': <collision> has no <geometry>" link
        let shape =
            match geometry.Elements() |> Seq.tryHead with
            | Some s -> s
            | None -> failAt file geometry "link '%s': <geometry> is empty" link
        let need (name: string) =
            match float1 file shape name with
            | Some v when v > 0.0 -> v
            | Some v -> failAt file shape "link '%s': <%s> '%s' must be > 0, got %g" link shape.Name.LocalName name v
            | None -> failAt file shape "link '%s': <%s> needs '%s'" link shape.Name.LocalName name
        let name = attr "name" c |> Option.defaultValue ""
        let pos, quat = origin file scale c
        let g =
            match shape.Name.LocalName with
            | "box" ->
                let s = match floatsN file shape "size" 3 with Some s -> s | None -> failAt file shape "link '%s': <box> needs 'size'" link
                if s |> Array.exists (fun v -> not (v > 0.0)) then failAt file shape "link '%s': <box> 'size' values must be > 0, got %g %g %g" link s.[0] s.[1] s.[2]
                GeomSpec.create name Box (SpecMath.scale (0.5 * scale) s)
            | "sphere" -> GeomSpec.create name Sphere [| scale * need "radius" |]
            | "cylinder" -> GeomSpec.create name Cylinder [| scale * need "radius"; 0.5 * scale * need "length" |]
            | "capsule" -> GeomSpec.create name Capsule [| scale * need "radius"; 0.5 * scale * need "length" |]
            | "mesh" ->
                let fn = required file shape "filename"
                let meshScale =
                    match attr "scale" shape |> Option.map (parseFloats file shape "scale") with
                    | None -> [| 1.0; 1.0; 1.0 |]
                    | Some [| s |] -> [| s; s; s |]
                    | Some [| a; b; c |] -> [| a; b; c |]
                    | Some _ -> failAt file shape "link '%s': mesh 'scale' needs 1 or 3 numbers" link
                if meshScale |> Array.exists (fun v -> v = 0.0) then failAt file shape "link '%s': mesh 'scale' must be nonzero" link
                let path =
                    match resolveMesh baseDir fn with
                    | Some p -> p
                    | None -> failAt file shape "link '%s': mesh file not found: '%s' (relative to %s)" link fn baseDir
                let hull =
                    try
                        let raw = MeshFile.loadVertices path
                        if raw |> Array.exists (fun v -> not (abs v <= MaxMagnitude)) then Errors.fail "a vertex coordinate is not finite or too large"
                        ConvexHull.solid (raw |> Array.mapi (fun k v -> v * meshScale.[k % 3] * scale))
                    with :? GenesisException as ex -> failAt file shape "link '%s': mesh '%s': %s" link fn ex.Message
                let size = Array.init 3 (fun ax -> Seq.init (hull.Length / 3) (fun i -> abs hull.[3 * i + ax]) |> Seq.max)
                { GeomSpec.create name Mesh size with meshVertices = Some hull; meshFile = Some path }
            | other -> failAt file shape "link '%s': unknown geometry type <%s>" link other
        { g with pos = pos; quat = quat }

    /// The robot's named colours: top-level <material name><color rgba/></material>.
    let private materials (file: string) (robot: XElement) =
        let d = Dictionary<string, float[]>()
        for m in children "material" robot do
            match attr "name" m, child "color" m |> Option.bind (fun c -> floatsN file c "rgba" 4) with
            | Some n, Some c -> d.[n] <- c
            | _ -> ()
        d

    /// Converts one <visual> element into a visual in the link frame: primitives as collisionGeom
    /// reads them, meshes with all their triangles, colour from <material> (inline or named); an
    /// unsupported shape is skipped with a warning (None).
    let private visualGeom (file: string) (baseDir: string) (scale: float) (mats: Dictionary<string, float[]>) (warnings: ResizeArray<string>) (link: string) (v: XElement) =
        let rgba =
            match child "material" v with
            | None -> VisualSpec.defaultRgba
            | Some m ->
                match child "color" m |> Option.bind (fun c -> floatsN file c "rgba" 4), attr "name" m with
                | Some c, _ -> c
                | None, Some n when mats.ContainsKey n -> mats.[n]
                | _ -> VisualSpec.defaultRgba
        match child "geometry" v |> Option.bind (fun g -> g.Elements() |> Seq.tryHead) with
        | None -> failAt file v "link '%s': <visual> has no geometry" link
        | Some shape when shape.Name.LocalName = "mesh" ->
            let fn = required file shape "filename"
            let path =
                match resolveMesh baseDir fn with
                | Some p -> p
                | None -> failAt file shape "link '%s': visual mesh file not found: '%s' (relative to %s)" link fn baseDir
            let s3 =
                match attr "scale" shape |> Option.map (parseFloats file shape "scale") with
                | Some [| s |] -> [| s; s; s |]
                | Some [| a; b; c |] -> [| a; b; c |]
                | _ -> [| 1.0; 1.0; 1.0 |]
            let raw, faces = MeshFile.loadTriangles path
            let verts = raw |> Array.mapi (fun k x -> x * s3.[k % 3] * scale)
            let size = Array.init 3 (fun ax -> Seq.init (verts.Length / 3) (fun i -> abs verts.[3 * i + ax]) |> Seq.fold max 0.0)
            let pos, quat = origin file scale v
            Some { VisualSpec.ofGeom rgba { GeomSpec.create (attr "name" v |> Option.defaultValue "") Mesh size with pos = pos; quat = quat } with
                     meshVertices = verts; meshFaces = faces; meshFile = path }
        | Some shape when List.contains shape.Name.LocalName [ "box"; "sphere"; "cylinder"; "capsule" ] ->
            Some(VisualSpec.ofGeom rgba (collisionGeom file baseDir scale link v))
        | Some shape ->
            warnings.Add(sprintf "%s (line %d): link '%s': visual geometry <%s> is not supported; skipped" file (lineOf shape) link shape.Name.LocalName)
            None

    /// Reads <inertial>: mass (scaled by s^3), COM (scaled) and the full inertia (scaled by s^5),
    /// rotated from the inertial frame (origin rpy) into the link frame.
    let private inertial (file: string) (scale: float) (node: BodyNode) (i: XElement) =
        let pos, quat = origin file scale i
        let mass =
            match child "mass" i with
            | Some m -> float1 file m "value" |> Option.defaultValue 0.0
            | None -> 0.0
        let inertia =
            match child "inertia" i with
            | None -> Array.zeroCreate 9
            | Some t ->
                let g name = float1 file t name |> Option.defaultValue 0.0
                let ixx, iyy, izz, ixy, ixz, iyz = g "ixx", g "iyy", g "izz", g "ixy", g "ixz", g "iyz"
                [| ixx; ixy; ixz; ixy; iyy; iyz; ixz; iyz; izz |]
        node.Mass <- mass * scale ** 3.0
        node.IPos <- pos
        node.Inertia <- SpecMath.scale (scale ** 5.0) (SpecMath.rotateInertia quat inertia)

    /// Builds the joint of a moving URDF joint element (None for fixed joints).
    let private makeJoint (file: string) (scale: float) (j: JointInfo) =
        let e = j.elem
        let kind =
            match j.jtype with
            | "fixed" -> None
            | "revolute" | "continuous" -> Some Hinge
            | "prismatic" -> Some Slide
            | "floating" -> Some Free
            | "planar" | "spherical" -> notSupportedAt file e "joint '%s': URDF joint type '%s' is not supported" j.name j.jtype
            | t -> failAt file e "joint '%s': unknown joint type '%s'" j.name t
        kind
        |> Option.map (fun jt ->
            let axis =
                match jt with
                | Hinge | Slide ->
                    let a = child "axis" e |> Option.bind (fun a -> floatsN file a "xyz" 3) |> Option.defaultValue [| 1.0; 0.0; 0.0 |]
                    if SpecMath.norm a < 1e-12 then failAt file e "joint '%s': axis has zero length" j.name
                    SpecMath.normalize a
                | Free | Ball -> [| 0.0; 0.0; 1.0 |]
            let limit = child "limit" e
            let lim name = limit |> Option.bind (fun l -> float1 file l name)
            let range =
                match j.jtype, lim "lower", lim "upper" with
                | ("revolute" | "prismatic"), Some lo, Some hi when lo <= hi ->
                    let s = if jt = Slide then scale else 1.0
                    Some(s * lo, s * hi)
                | _ -> None
            let dyn name = child "dynamics" e |> Option.bind (fun d -> float1 file d name) |> Option.defaultValue 0.0
            { JointSpec.create j.name jt with
                axis = axis
                range = range
                damping = dyn "damping"
                frictionloss = dyn "friction"
                effortLimit = lim "effort" |> Option.map abs
                velocityLimit = lim "velocity" |> Option.map abs })

    /// Loads a URDF file into an entity spec (see Urdf.load).
    let load (file: string) (pos: float[]) (quat: float[]) (fixedBase: bool) (scale: float) (inertiaFromGeom: bool)
             (mergeFixedLinks: bool) (linksToKeep: string[]) : EntitySpec =
        let doc = MorphXml.load "URDF" file
        let robot = doc.Root
        if robot.Name.LocalName <> "robot" then failAt file robot "the root element is <%s>, expected <robot>" robot.Name.LocalName
        let baseDir = Path.GetDirectoryName(Path.GetFullPath file)
        // links
        let links = Dictionary<string, BodyNode>()
        let linkElems = Dictionary<string, XElement>()
        let order = ResizeArray<string>()
        let mats = materials file robot
        let warnings = ResizeArray<string>()
        for l in children "link" robot do
            let name = required file l "name"
            match linkElems.TryGetValue name with
            | true, prev -> failAt file l "duplicate link name '%s' (first defined at line %d)" name (lineOf prev)
            | _ -> ()
            let node = BodyNode(name, lineOf l)
            let inertialElem = child "inertial" l
            inertialElem |> Option.iter (inertial file scale node)
            for c in children "collision" l do
                node.Geoms.Add(collisionGeom file baseDir scale name c)
            for v in children "visual" l do
                visualGeom file baseDir scale mats warnings name v |> Option.iter node.Visuals.Add
            if inertialElem.IsNone && inertiaFromGeom then
                match node.Geoms |> Seq.tryFind (fun g -> g.gtype = Mesh) with
                | Some g -> notSupportedAt file l "link '%s' has no <inertial>; inertia from the mesh geom '%s' is not supported" name g.name
                | None -> ()
                let m, c, i = TreeBuilder.inertiaFromGeoms (node.Geoms |> Seq.map (fun g -> g, 1000.0 * TreeBuilder.geomVolume g))
                node.Mass <- m
                node.IPos <- c
                node.Inertia <- i
            links.[name] <- node
            linkElems.[name] <- l
            order.Add name
        if order.Count = 0 then failAt file robot "robot '%s' has no <link>" (attr "name" robot |> Option.defaultValue "")
        // joints
        let joints = ResizeArray<JointInfo>()
        let jointNames = Dictionary<string, XElement>()
        let parentJoint = Dictionary<string, JointInfo>()
        for e in children "joint" robot do
            let name = required file e "name"
            match jointNames.TryGetValue name with
            | true, prev -> failAt file e "duplicate joint name '%s' (first defined at line %d)" name (lineOf prev)
            | _ -> jointNames.[name] <- e
            let linkOf (tag: string) =
                match child tag e with
                | Some p -> required file p "link"
                | None -> failAt file e "joint '%s' has no <%s> link" name tag
            let j = { elem = e; name = name; jtype = required file e "type"; parent = linkOf "parent"; child = linkOf "child" }
            if not (links.ContainsKey j.parent) then failAt file e "joint '%s': parent link '%s' is not defined" name j.parent
            if not (links.ContainsKey j.child) then failAt file e "joint '%s': child link '%s' is not defined" name j.child
            if j.parent = j.child then failAt file e "kinematic loop: joint '%s' connects link '%s' to itself" name j.child
            match parentJoint.TryGetValue j.child with
            | true, first ->
                failAt file e "kinematic loop: link '%s' has two parents (joint '%s' at line %d and joint '%s')" j.child first.name (lineOf first.elem) name
            | _ -> parentJoint.[j.child] <- j
            joints.Add j
        // tree
        let roots = order |> Seq.filter (fun l -> not (parentJoint.ContainsKey l)) |> Seq.toList
        let root =
            match roots with
            | [ r ] -> r
            | [] -> failAt file robot "kinematic loop: every link has a parent, so there is no root link"
            | rs -> failAt file robot "the links form %d trees (roots %s); a URDF must have one root link" rs.Length (rs |> List.map (sprintf "'%s'") |> String.concat ", ")
        for j in joints do
            let c = links.[j.child]
            let p, q = origin file scale j.elem
            c.Pos <- p
            c.Quat <- q
            match makeJoint file scale j with
            | Some js ->
                c.Joints.Add js
                c.JointLines.Add(lineOf j.elem)
            | None -> ()
            links.[j.parent].Children.Add c
        // walk the tree iteratively (a deep chain would exhaust the stack), bounding its depth
        let reached = HashSet<string>()
        let stack = Stack<BodyNode * int>([ links.[root], 0 ])
        while stack.Count > 0 do
            let n, depth = stack.Pop()
            if depth > TreeBuilder.MaxDepth then
                failAt file linkElems.[n.Name] "link '%s' is nested %d links deep; at most %d are supported" n.Name depth TreeBuilder.MaxDepth
            reached.Add n.Name |> ignore
            for c in n.Children do stack.Push((c, depth + 1))
        match order |> Seq.tryFind (fun l -> not (reached.Contains l)) with
        | Some l -> failAt file linkElems.[l] "kinematic loop: link '%s' is not connected to the root link '%s'" l root
        | None -> ()
        let rootNode = links.[root]
        let isWorld = root = "world"
        rootNode.IsWorld <- isWorld
        rootNode.Pos <- Array.copy pos
        rootNode.Quat <- SpecMath.normalize quat
        if not (fixedBase || isWorld) then
            rootNode.Joints.Insert(0, JointSpec.create (root + "_free_joint") Free)
            rootNode.JointLines.Insert(0, rootNode.Line)
        for l in linksToKeep do
            if not (links.ContainsKey l) then
                failAt file robot "linksToKeep: link '%s' is not in robot '%s' (links: %s)" l (attr "name" robot |> Option.defaultValue "") (String.Join(", ", order))
        let keep = HashSet<string>(linksToKeep)
        if mergeFixedLinks then TreeBuilder.fuseStaticExcept (fun n -> keep.Contains n.Name) rootNode
        let flat = TreeBuilder.flatten rootNode
        TreeBuilder.validate file "link" flat
        { name = attr "name" robot |> Option.defaultValue (Path.GetFileNameWithoutExtension file)
          bodies = TreeBuilder.toBodies flat
          actuators = [||]
          sites = [||]
          tendons = [||]
          equalities = [||]
          options = OptionSpec.defaults
          rootIsWorld = false
          visualWarnings = warnings.ToArray() }

/// URDF loader.
[<AbstractClass; Sealed>]
type Urdf =
    /// Loads a URDF file: links fused across fixed joints (MuJoCo's fusestatic) unless mergeFixedLinks = false (default
    /// true) or they are named in linksToKeep (Genesis merge_fixed_links, links_to_keep: kept links stay bodies welded to
    /// their parent, with their own poses and contacts), a free root joint unless fixedBase (default false), root pose
    /// pos/quat, lengths scaled by `scale` (masses by scale^3, inertias by scale^5); links without <inertial> are
    /// massless unless inertiaFromGeom.
    static member load(file: string, ?pos: float[], ?quat: float[], ?fixedBase: bool, ?scale: float, ?inertiaFromGeom: bool,
                       ?mergeFixedLinks: bool, ?linksToKeep: string[]) : EntitySpec =
        let pos = defaultArg pos [| 0.0; 0.0; 0.0 |]
        let quat = defaultArg quat [| 1.0; 0.0; 0.0; 0.0 |]
        let scale = defaultArg scale 1.0
        if pos.Length <> 3 then invalidArg "pos" (sprintf "pos needs 3 values, got %d" pos.Length)
        if quat.Length <> 4 || SpecMath.norm quat < 1e-12 then invalidArg "quat" "quat needs 4 values [w; x; y; z], not all zero"
        if not (scale > 0.0 && Double.IsFinite scale) then invalidArg "scale" (sprintf "scale must be finite and > 0, got %g" scale)
        if not (Array.forall Double.IsFinite pos && Array.forall Double.IsFinite quat) then invalidArg "pos" "pos and quat must be finite"
        UrdfReader.load file pos quat (defaultArg fixedBase false) scale (defaultArg inertiaFromGeom false) (defaultArg mergeFixedLinks true)
                        (defaultArg linksToKeep [||])
