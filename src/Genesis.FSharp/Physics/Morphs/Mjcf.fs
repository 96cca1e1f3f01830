namespace Genesis.Physics

open System
open System.Collections.Generic
open System.IO
open System.Xml.Linq
open Genesis
open Genesis.Physics.MorphXml

/// MJCF reading (see Mjcf.load and docs/morphs.md).
module internal MjcfReader =
    /// Attribute defaults of one class: element kind (joint, geom, actuator) -> attribute -> text.
    type private ClassDefaults = Dictionary<string, Dictionary<string, string>>

    type private Compiler =
        { mutable degree: bool
          mutable eulerseq: string
          mutable inertiaFromGeom: string
          mutable autolimits: bool
          mutable fusestatic: bool }

    type private Ctx =
        { file: string
          compiler: Compiler
          classes: Dictionary<string, ClassDefaults>
          bodyNames: Dictionary<string, int>
          jointNames: Dictionary<string, int>
          /// Asset material name -> rgba (its own, else its class default, else MuJoCo's white).
          materials: Dictionary<string, float[]>
          /// Asset mesh name -> the mesh read (MjcfMesh.assets) and its element.
          meshes: Dictionary<string, MeshAsset * XElement>
          /// Site name -> line, and every site with its body node, position and orientation.
          siteNames: Dictionary<string, int>
          sites: ResizeArray<string * BodyNode * float[] * float[]> }

    let private kindOf (element: string) =
        match element with
        | "joint" -> Some "joint"
        | "geom" -> Some "geom"
        | "motor" | "general" | "position" | "velocity" | "muscle" | "cylinder" | "adhesion" -> Some "actuator"
        | "material" -> Some "material"
        | "tendon" -> Some "tendon"
        | "site" -> Some "site"
        | "equality" -> Some "equality"
        | _ -> None

    let rec private parseDefault (ctx: Ctx) (parent: ClassDefaults option) (e: XElement) =
        let cls =
            match attr "class" e, parent with
            | Some c, _ -> c
            | None, None -> "main"
            | None, Some _ -> failAt ctx.file e "a nested <default> needs a 'class'"
        if ctx.classes.ContainsKey cls then failAt ctx.file e "default class '%s' is defined twice" cls
        let d = ClassDefaults()
        parent |> Option.iter (fun p -> for KeyValue(k, v) in p do d.[k] <- Dictionary<string, string>(v))
        for c in e.Elements() do
            match kindOf c.Name.LocalName with
            | Some kind ->
                if not (d.ContainsKey kind) then d.[kind] <- Dictionary<string, string>()
                for a in c.Attributes() do d.[kind].[a.Name.LocalName] <- a.Value
            | None -> ()
        ctx.classes.[cls] <- d
        for sub in children "default" e do parseDefault ctx (Some d) sub

    /// Class of an element: its own 'class', else the inherited childclass.
    let private classOf (ctx: Ctx) (inherited: string) (e: XElement) =
        let cls = attr "class" e |> Option.defaultValue inherited
        if not (ctx.classes.ContainsKey cls) then failAt ctx.file e "unknown default class '%s'" cls
        cls

    /// Attribute text from the element, else from its class defaults.
    let private lookup (ctx: Ctx) (cls: string) (kind: string) (e: XElement) (name: string) =
        match attr name e with
        | Some v -> Some v
        | None ->
            match ctx.classes.[cls].TryGetValue kind with
            | true, d -> (match d.TryGetValue name with | true, v -> Some v | _ -> None)
            | _ -> None

    /// Float attribute via lookup, with an exact length.
    let private floatsOf (ctx: Ctx) (get: string -> string option) (e: XElement) (name: string) (n: int) =
        get name
        |> Option.map (fun t ->
            let v = parseFloats ctx.file e name t
            if v.Length <> n then failAt ctx.file e "<%s> attribute '%s' needs %d numbers, got '%s'" e.Name.LocalName name n t
            v)

    /// Vector attribute as MuJoCo reads it: class values then element values overwrite a prefix.
    let private overlay (ctx: Ctx) (cls: string) (kind: string) (e: XElement) (name: string) (builtin: float[]) =
        let v = Array.copy builtin
        let apply (t: string) =
            let vals = parseFloats ctx.file e name t
            if vals.Length > v.Length then failAt ctx.file e "<%s> attribute '%s' has more than %d numbers" e.Name.LocalName name v.Length
            Array.blit vals 0 v 0 vals.Length
        match ctx.classes.[cls].TryGetValue kind with
        | true, d -> (match d.TryGetValue name with | true, t -> apply t | _ -> ())
        | _ -> ()
        attr name e |> Option.iter apply
        v

    let private bool (ctx: Ctx) (e: XElement) (name: string) (text: string) =
        match text with
        | "true" -> true
        | "false" -> false
        | t -> failAt ctx.file e "<%s> attribute '%s' must be true or false, got '%s'" e.Name.LocalName name t

    /// Orientation from quat / axisangle / euler / xyaxes / zaxis (at most one), if any.
    let private orientation (ctx: Ctx) (get: string -> string option) (e: XElement) =
        let angle = if ctx.compiler.degree then Math.PI / 180.0 else 1.0
        let specs =
            [ "quat", 4; "axisangle", 4; "euler", 3; "xyaxes", 6; "zaxis", 3 ]
            |> List.choose (fun (n, k) -> floatsOf ctx get e n k |> Option.map (fun v -> n, v))
        match specs with
        | [] -> None
        | [ n, v ] ->
            Some(
                match n with
                | "quat" ->
                    if SpecMath.norm v < 1e-12 then failAt ctx.file e "<%s> quat is zero" e.Name.LocalName
                    SpecMath.normalize v
                | "axisangle" -> SpecMath.axisAngleQuat v.[0..2] (v.[3] * angle)
                | "euler" -> SpecMath.eulerQuat ctx.compiler.eulerseq (SpecMath.scale angle v)
                | "xyaxes" -> SpecMath.xyAxesQuat v.[0..2] v.[3..5]
                | _ -> SpecMath.z2quat v)
        | _ -> failAt ctx.file e "<%s> has several orientations (%s); give one" e.Name.LocalName (specs |> List.map fst |> String.concat ", ")

    let private register (ctx: Ctx) (names: Dictionary<string, int>) (what: string) (e: XElement) (name: string) =
        if name <> "" then
            match names.TryGetValue name with
            | true, line -> failAt ctx.file e "duplicate %s name '%s' (first defined at line %d)" what name line
            | _ -> names.[name] <- lineOf e

    let private parseJoint (ctx: Ctx) (cls: string) (body: string) (e: XElement) =
        let get = lookup ctx cls "joint" e
        let name = attr "name" e |> Option.defaultValue ""
        register ctx ctx.jointNames "joint" e name
        let jt =
            match get "type" |> Option.defaultValue "hinge" with
            | "hinge" -> Hinge
            | "slide" -> Slide
            | "ball" -> Ball
            | "free" -> Free
            | t -> failAt ctx.file e "body '%s': joint '%s' has unknown type '%s'" body name t
        let angle = if ctx.compiler.degree && (jt = Hinge || jt = Ball) then Math.PI / 180.0 else 1.0
        let f1 n = floatsOf ctx get e n 1 |> Option.map (fun v -> v.[0]) |> Option.defaultValue 0.0
        let axis =
            match jt with
            | Hinge | Slide ->
                let a = floatsOf ctx get e "axis" 3 |> Option.defaultValue [| 0.0; 0.0; 1.0 |]
                if SpecMath.norm a < 1e-12 then failAt ctx.file e "body '%s': joint '%s' has a zero axis" body name
                SpecMath.normalize a
            | Ball | Free -> [| 0.0; 0.0; 1.0 |]
        let range = floatsOf ctx get e "range" 2
        let limited =
            match get "limited" |> Option.defaultValue "auto" with
            | "auto" -> ctx.compiler.autolimits && range.IsSome
            | t -> bool ctx e "limited" t
        if limited && jt = Free then failAt ctx.file e "body '%s': free joint '%s' cannot be limited" body name
        let range =
            if not limited then None
            else
                match range with
                | Some r when r.[0] < r.[1] || (jt = Ball && r.[1] > 0.0) -> Some(angle * r.[0], angle * r.[1])
                | Some r -> failAt ctx.file e "body '%s': joint '%s' has an empty range %g %g" body name r.[0] r.[1]
                | None -> failAt ctx.file e "body '%s': joint '%s' is limited but has no range" body name
        { JointSpec.create name jt with
            axis = axis
            pos = floatsOf ctx get e "pos" 3 |> Option.defaultValue [| 0.0; 0.0; 0.0 |]
            range = range
            damping = f1 "damping"
            armature = f1 "armature"
            frictionloss = f1 "frictionloss"
            stiffness = f1 "stiffness"
            springref = angle * f1 "springref"
            ref = angle * f1 "ref" }

    /// A geom and its mass (density x volume, or the mass attribute).
    let private parseGeom (ctx: Ctx) (cls: string) (body: string) (e: XElement) =
        let get = lookup ctx cls "geom" e
        let name = attr "name" e |> Option.defaultValue ""
        let what = sprintf "body '%s': geom '%s'" body name
        let gt =
            match get "type" |> Option.defaultValue "sphere" with
            | "plane" -> Plane
            | "sphere" -> Sphere
            | "capsule" -> Capsule
            | "ellipsoid" -> Ellipsoid
            | "cylinder" -> Cylinder
            | "box" -> Box
            | "mesh" -> Mesh
            | "hfield" | "sdf" as t -> notSupportedAt ctx.file e "%s: geom type '%s' is not supported in MJCF" what t
            | t -> failAt ctx.file e "%s: unknown geom type '%s'" what t
        let size = overlay ctx cls "geom" e "size" [| 0.0; 0.0; 0.0 |]
        let pos, quat =
            match floatsOf ctx get e "fromto" 6 with
            | Some ft ->
                if not (gt = Capsule || gt = Cylinder || gt = Ellipsoid || gt = Box) then
                    failAt ctx.file e "%s: fromto needs a capsule, cylinder, ellipsoid or box" what
                if floatsOf ctx get e "pos" 3 |> Option.exists (Array.exists ((<>) 0.0)) then
                    failAt ctx.file e "%s: both pos and fromto are given" what
                let vec = SpecMath.sub ft.[0..2] ft.[3..5]
                let half = SpecMath.norm vec / 2.0
                if half < 1e-14 then failAt ctx.file e "%s: fromto points coincide" what
                match gt with
                | Ellipsoid | Box ->
                    size.[2] <- half
                    size.[1] <- size.[0]
                | _ -> size.[1] <- half
                SpecMath.scale 0.5 (SpecMath.add ft.[0..2] ft.[3..5]), SpecMath.z2quat vec
            | None ->
                floatsOf ctx get e "pos" 3 |> Option.defaultValue [| 0.0; 0.0; 0.0 |],
                orientation ctx get e |> Option.defaultValue (SpecMath.quatIdentity ())
        let needed =
            match gt with
            | Sphere -> 1
            | Capsule | Cylinder -> 2
            | Box | Ellipsoid -> 3
            | Plane | Mesh -> 0
        if size |> Array.exists (fun s -> s < 0.0) then
            failAt ctx.file e "%s: size values must be >= 0, got %g %g %g" what size.[0] size.[1] size.[2]
        if size |> Array.take needed |> Array.exists (fun s -> not (s > 0.0)) then
            failAt ctx.file e "%s: %A needs %d positive size values, got %g %g %g" what gt needed size.[0] size.[1] size.[2]
        let int1 n d = floatsOf ctx get e n 1 |> Option.map (fun v -> int v.[0]) |> Option.defaultValue d
        let g =
            { GeomSpec.create name gt size with
                pos = pos
                quat = quat
                friction = overlay ctx cls "geom" e "friction" [| 1.0; 0.005; 0.0001 |]
                contype = int1 "contype" 1
                conaffinity = int1 "conaffinity" 1
                condim = int1 "condim" 3 }
        let g = if gt = Mesh then MjcfMesh.geom ctx.file e ctx.meshes (get "mesh") g else g
        let mass =
            match floatsOf ctx get e "mass" 1 with
            | Some [| m |] -> m
            | _ -> (floatsOf ctx get e "density" 1 |> Option.map (fun v -> v.[0]) |> Option.defaultValue 1000.0) * TreeBuilder.geomVolume g
        if mass < 0.0 then failAt ctx.file e "%s: negative mass or density" what
        g, mass

    /// Reads the colours of the asset materials (after the defaults, which give material classes).
    let private parseMaterials (ctx: Ctx) (root: XElement) =
        for a in children "asset" root do
            for m in children "material" a do
                let name = match attr "name" m with Some n when n <> "" -> n | _ -> failAt ctx.file m "<material> needs a 'name'"
                if ctx.materials.ContainsKey name then failAt ctx.file m "material '%s' is defined twice" name
                let cls = classOf ctx "main" m
                ctx.materials.[name] <- floatsOf ctx (lookup ctx cls "material" m) m "rgba" 4 |> Option.defaultValue [| 1.0; 1.0; 1.0; 1.0 |]

    /// The colour MuJoCo draws a geom in: its rgba (element, else class default) when that differs from the default grey,
    /// else the rgba of its material (element, else class default), else the default grey.
    let private geomRgba (ctx: Ctx) (cls: string) (e: XElement) =
        let get = lookup ctx cls "geom" e
        match floatsOf ctx get e "rgba" 4 with
        | Some c when c <> VisualSpec.defaultRgba -> c
        | own ->
            match get "material" with
            | Some m when m <> "" ->
                match ctx.materials.TryGetValue m with
                | true, c -> c
                | _ -> failAt ctx.file e "geom refers to material '%s', which no <asset><material> defines" m
            | _ -> own |> Option.defaultValue VisualSpec.defaultRgba

    /// The visual of a parsed geom: its shape in the colour MuJoCo draws it (see geomRgba).
    let private geomVisual (ctx: Ctx) (cls: string) (e: XElement) (g: GeomSpec) =
        let v = VisualSpec.ofGeom (geomRgba ctx cls e) g
        if g.gtype = Mesh then MjcfMesh.visual ctx.meshes (lookup ctx cls "geom" e "mesh") v else v

    let private parseInertial (ctx: Ctx) (node: BodyNode) (e: XElement) =
        let get name = attr name e
        let pos = match floatsN ctx.file e "pos" 3 with Some p -> p | None -> failAt ctx.file e "body '%s': <inertial> needs 'pos'" node.Name
        let orient = orientation ctx get e
        if orient.IsSome && (attr "fullinertia" e).IsSome then
            failAt ctx.file e "body '%s': <inertial> has fullinertia and an orientation; fullinertia fixes the frame, give only one" node.Name
        let quat = orient |> Option.defaultValue (SpecMath.quatIdentity ())
        let mass = match float1 ctx.file e "mass" with Some m -> m | None -> failAt ctx.file e "body '%s': <inertial> needs 'mass'" node.Name
        let inertia =
            match floatsN ctx.file e "diaginertia" 3, floatsN ctx.file e "fullinertia" 6 with
            | Some d, None -> SpecMath.diag d
            | None, Some f -> [| f.[0]; f.[3]; f.[4]; f.[3]; f.[1]; f.[5]; f.[4]; f.[5]; f.[2] |]
            | None, None -> failAt ctx.file e "body '%s': <inertial> needs 'diaginertia' or 'fullinertia'" node.Name
            | Some _, Some _ -> failAt ctx.file e "body '%s': <inertial> has both 'diaginertia' and 'fullinertia'" node.Name
        node.Mass <- mass
        node.IPos <- pos
        node.Inertia <- SpecMath.rotateInertia quat inertia

    /// A <site>: its name, body, position and orientation (class defaults apply).
    let private parseSite (ctx: Ctx) (cls: string) (node: BodyNode) (e: XElement) =
        let get = lookup ctx cls "site" e
        let name = attr "name" e |> Option.defaultValue ""
        register ctx ctx.siteNames "site" e name
        let pos = floatsOf ctx get e "pos" 3 |> Option.defaultValue [| 0.0; 0.0; 0.0 |]
        let quat = orientation ctx get e |> Option.defaultValue (SpecMath.quatIdentity ())
        ctx.sites.Add((name, node, pos, quat))

    let rec private parseBody (ctx: Ctx) (depth: int) (parent: BodyNode) (childclass: string) (e: XElement) =
        let name = attr "name" e |> Option.defaultValue ""
        if depth > TreeBuilder.MaxDepth then
            failAt ctx.file e "body '%s' is nested %d bodies deep; at most %d are supported" name depth TreeBuilder.MaxDepth
        register ctx ctx.bodyNames "body" e name
        let node = BodyNode(name, lineOf e)
        node.Pos <- floatsN ctx.file e "pos" 3 |> Option.defaultValue [| 0.0; 0.0; 0.0 |]
        node.Quat <- orientation ctx (fun n -> attr n e) e |> Option.defaultValue (SpecMath.quatIdentity ())
        if attr "mocap" e = Some "true" then notSupportedAt ctx.file e "<body name='%s' mocap=\"true\">: mocap bodies are not supported" name
        let cc =
            match attr "childclass" e with
            | Some c -> (if not (ctx.classes.ContainsKey c) then failAt ctx.file e "unknown childclass '%s'" c); c
            | None -> childclass
        let geoms = ResizeArray<GeomSpec * float>()
        let mutable inertial = None
        for c in e.Elements() do
            match c.Name.LocalName with
            | "inertial" -> inertial <- Some c
            | "joint" ->
                node.Joints.Add(parseJoint ctx (classOf ctx cc c) name c)
                node.JointLines.Add(lineOf c)
            | "freejoint" ->
                let jn = attr "name" c |> Option.defaultValue ""
                register ctx ctx.jointNames "joint" c jn
                node.Joints.Add(JointSpec.create jn Free)
                node.JointLines.Add(lineOf c)
            | "geom" ->
                let cls = classOf ctx cc c
                let g, m = parseGeom ctx cls name c
                geoms.Add((g, m))
                node.Visuals.Add(geomVisual ctx cls c g)
            | "body" -> parseBody ctx (depth + 1) node cc c
            | "site" -> parseSite ctx (classOf ctx cc c) node c
            | "camera" | "light" | "plugin" -> ()
            | other -> notSupportedAt ctx.file c "body '%s': element <%s> is not supported" name other
        for g, _ in geoms do node.Geoms.Add g
        match ctx.compiler.inertiaFromGeom, inertial with
        | "true", _
        | "auto", None ->
            let m, c, i = TreeBuilder.inertiaFromGeoms geoms
            node.Mass <- m
            node.IPos <- c
            node.Inertia <- i
        | _, Some i -> parseInertial ctx node i
        | _, None -> ()
        parent.Children.Add node

    let private parseCompiler (ctx: Ctx) (e: XElement) =
        let c = ctx.compiler
        attr "angle" e |> Option.iter (fun a ->
            match a with
            | "degree" -> c.degree <- true
            | "radian" -> c.degree <- false
            | t -> failAt ctx.file e "compiler angle must be degree or radian, got '%s'" t)
        attr "eulerseq" e |> Option.iter (fun s ->
            if s.Length <> 3 || s |> Seq.exists (fun ch -> "xyzXYZ".IndexOf ch < 0) then failAt ctx.file e "compiler eulerseq '%s' is invalid" s
            c.eulerseq <- s)
        attr "inertiafromgeom" e |> Option.iter (fun s ->
            if s <> "auto" && s <> "true" && s <> "false" then failAt ctx.file e "compiler inertiafromgeom must be auto, true or false"
            c.inertiaFromGeom <- s)
        attr "autolimits" e |> Option.iter (fun s -> c.autolimits <- bool ctx e "autolimits" s)
        attr "fusestatic" e |> Option.iter (fun s -> c.fusestatic <- bool ctx e "fusestatic" s)
        if attr "coordinate" e = Some "global" then notSupportedAt ctx.file e "compiler coordinate=\"global\" is not supported"
        if attr "balanceinertia" e = Some "true" then notSupportedAt ctx.file e "compiler balanceinertia is not supported"
        for a in [ "boundmass"; "boundinertia"; "settotalmass" ] do
            if float1 ctx.file e a |> Option.exists (fun v -> v > 0.0) then notSupportedAt ctx.file e "compiler %s is not supported" a

    /// The <tendon> section's tendons (MjcfTendons).
    let private parseTendons (ctx: Ctx) (joints: Dictionary<string, JointType>) (e: XElement) =
        [| for t in e.Elements() ->
               let inp: MjcfTendons.Input =
                   { file = ctx.file; get = lookup ctx (classOf ctx "main" t) "tendon" t; autolimits = ctx.compiler.autolimits
                     jointIsScalar = (fun j -> match joints.TryGetValue j with | true, (Hinge | Slide) -> Some true | true, _ -> Some false | _ -> None)
                     hasSite = ctx.siteNames.ContainsKey }
               MjcfTendons.parse inp t |]

    /// The <actuator> section's actuators (MjcfActuators).
    let private parseActuators (ctx: Ctx) (tendons: TendonSpec[]) (e: XElement) =
        [| for a in e.Elements() ->
               let cls = classOf ctx "main" a
               let inp: MjcfActuators.Input =
                   { file = ctx.file; get = lookup ctx cls "actuator" a
                     gear = overlay ctx cls "actuator" a "gear" [| 1.0; 0.0; 0.0; 0.0; 0.0; 0.0 |]
                     autolimits = ctx.compiler.autolimits; hasJoint = ctx.jointNames.ContainsKey
                     hasTendon = (fun t -> tendons |> Array.exists (fun x -> x.name = t)); hasSite = ctx.siteNames.ContainsKey }
               MjcfActuators.parse inp a |]

    /// The <equality> entries of a model when ignored (ignoreTendonsAndEqualities), as "file (line n):
    /// <equality><connect name='a'>"; none otherwise (MjcfEquality reads them).
    let private unmodelled (file: string) (ignore: bool) (root: XElement) =
        [| for n in (if ignore then [ "equality" ] else []) do
               for sec in children n root do
                   for c in sec.Elements() do
                       let name = attr "name" c |> Option.map (sprintf " name='%s'") |> Option.defaultValue ""
                       if not ignore then
                           notSupportedAt file c "<%s><%s%s> is not supported (%ss are not modelled, so the motion would be wrong); Morphs.MJCF(file, ignoreTendonsAndEqualities = true) loads the model without them" n c.Name.LocalName name n
                       yield sprintf "%s: <%s><%s%s> ignored (ignoreTendonsAndEqualities = true)" (location (sourceOf file c) (lineOf c)) n c.Name.LocalName name |]

    /// Replaces every <include file="..."/> under `root` (read from `file`) by the children of the included file's
    /// root, recursively; paths are relative to the including file. `stack` holds the files being expanded (full
    /// paths), so a cycle raises naming the include's file and line, as does a missing file. Moved elements carry
    /// MorphXml.IncludedFrom, so later errors name the included file.
    let rec private expandIncludes (stack: string list) (file: string) (root: XElement) =
        for inc in root.Descendants() |> Seq.filter (isNamed "include") |> Seq.toArray do
            let name = match attr "file" inc with Some f when f.Trim() <> "" -> f | _ -> failAt file inc "<include> needs a 'file'"
            let dir = Path.GetDirectoryName(Path.GetFullPath file)
            let path = Path.GetFullPath(Path.Combine(dir, name))
            if List.contains path stack then
                let chain = (path :: stack) |> List.rev |> List.map Path.GetFileName |> String.concat " -> "
                failAt file inc "<include file='%s'> makes an include cycle (%s)" name chain
            if not (File.Exists path) then failAt file inc "<include file='%s'>: file not found: %s" name path
            let included = (MorphXml.load "MJCF" path).Root
            if included.Name.LocalName <> "mujoco" then failAt path included "an included file's root element is <%s>, expected <mujoco>" included.Name.LocalName
            expandIncludes (path :: stack) path included
            let kids = included.Elements() |> Seq.toArray
            for k in kids do
                k.Remove()
                if isNull (k.Annotation<IncludedFrom>()) then k.AddAnnotation(IncludedFrom path)
            inc.ReplaceWith(kids |> Array.map box)

    /// Loads an MJCF file into an entity spec (see Mjcf.load).
    let load (file: string) (ignoreUnmodelled: bool) : EntitySpec =
        let doc = MorphXml.load "MJCF" file
        let root = doc.Root
        expandIncludes [ Path.GetFullPath file ] file root
        if root.Name.LocalName <> "mujoco" then failAt file root "the root element is <%s>, expected <mujoco>" root.Name.LocalName
        let ctx =
            { file = file
              compiler = { degree = true; eulerseq = "xyz"; inertiaFromGeom = "auto"; autolimits = true; fusestatic = false }
              classes = Dictionary()
              bodyNames = Dictionary()
              jointNames = Dictionary()
              materials = Dictionary()
              meshes = MjcfMesh.assets file root
              siteNames = Dictionary()
              sites = ResizeArray() }
        let mutable options = OptionSpec.defaults
        for e in root.Elements() do
            match e.Name.LocalName with
            | "compiler" -> parseCompiler ctx e
            | "option" -> options <- MjcfOptions.parse file e options
            | _ -> ()
        let warnings = unmodelled file ignoreUnmodelled root
        for w in warnings do eprintfn "Genesis warning: %s" w
        options <- { options with warnings = warnings }
        // several top-level <default>s (e.g. one per included file) all extend class main, as in MuJoCo
        match children "default" root with
        | [||] -> ctx.classes.["main"] <- ClassDefaults()
        | ds ->
            parseDefault ctx None ds.[0]
            for d in ds.[1..] do
                if attr "class" d |> Option.exists ((<>) "main") then failAt file d "a top-level <default> is class main"
                let main = ctx.classes.["main"]
                for c in d.Elements() do
                    match kindOf c.Name.LocalName with
                    | Some kind ->
                        if not (main.ContainsKey kind) then main.[kind] <- Dictionary<string, string>()
                        for a in c.Attributes() do main.[kind].[a.Name.LocalName] <- a.Value
                    | None -> ()
                for sub in children "default" d do parseDefault ctx (Some main) sub
        parseMaterials ctx root
        let world = BodyNode("world", 0)
        world.IsWorld <- true
        register ctx ctx.bodyNames "body" root "world"
        for wb in children "worldbody" root do
            for c in wb.Elements() do
                match c.Name.LocalName with
                | "geom" ->
                    let g = fst (parseGeom ctx (classOf ctx "main" c) "world" c)
                    world.Geoms.Add g
                    world.Visuals.Add(geomVisual ctx (classOf ctx "main" c) c g)
                | "body" -> parseBody ctx 1 world "main" c
                | "joint" | "freejoint" -> failAt file c "joints are not allowed in <worldbody>"
                | "site" -> parseSite ctx (classOf ctx "main" c) world c
                | "camera" | "light" | "plugin" -> ()
                | other -> notSupportedAt file c "element <%s> in <worldbody> is not supported" other
        let jointTypes = Dictionary<string, JointType>()
        let rec collect (n: BodyNode) =
            for j in n.Joints do if j.name <> "" then jointTypes[j.name] <- j.jtype
            for c in n.Children do collect c
        collect world
        let tendons = children "tendon" root |> Array.collect (parseTendons ctx jointTypes)
        let actuators = children "actuator" root |> Array.collect (parseActuators ctx tendons)
        let equalities =
            if ignoreUnmodelled then [||]
            else
                let get (e: XElement) (name: string) = lookup ctx (classOf ctx "main" e) "equality" e name
                children "equality" root |> Array.collect (MjcfEquality.parse file get ctx.bodyNames.ContainsKey ctx.jointNames.ContainsKey)
        // MuJoCo skips fusestatic when other elements could refer to bodies by id
        let blocks =
            actuators.Length > 0
            || [ "contact"; "tendon"; "equality"; "sensor" ] |> List.exists (fun n -> (children n root |> Array.exists (fun c -> c.HasElements)))
            || root.Descendants() |> Seq.exists (fun d -> d.Name.LocalName = "camera" || d.Name.LocalName = "light")
        if ctx.compiler.fusestatic && not blocks then TreeBuilder.fuseStatic world
        let flat = TreeBuilder.flatten world
        TreeBuilder.validate file "body" flat
        let index = flat |> Array.mapi (fun i (n, _) -> n, i) |> dict
        let sites =
            [| for name, node, pos, quat in ctx.sites do
                   match index.TryGetValue node with
                   | true, b -> yield { SiteSpec.name = name; body = b; pos = pos; quat = quat }
                   | _ -> () |] // on a body fusestatic merged away (then nothing refers to sites)
        { name = attr "model" root |> Option.defaultValue (Path.GetFileNameWithoutExtension file)
          bodies = TreeBuilder.toBodies flat
          actuators = actuators
          sites = sites
          tendons = tendons
          equalities = equalities
          options = options
          rootIsWorld = true
          visualWarnings = [||] }

/// MJCF (MuJoCo XML) loader.
[<AbstractClass; Sealed>]
type Mjcf =
    /// Loads an MJCF file: bodies[0] is MuJoCo's world body (static, holding the worldbody geoms), so
    /// body indices equal MuJoCo's body ids; inertias come from geoms where MuJoCo computes them.
    /// Tendons, sites, actuators and <equality> connect, weld and joint constraints (EntitySpec.equalities) are read;
    /// ignoreTendonsAndEqualities (default false) skips the equality constraints with a warning each
    /// (options.warnings, and stderr).
    static member load(file: string, ?ignoreTendonsAndEqualities: bool) : EntitySpec =
        MjcfReader.load file (defaultArg ignoreTendonsAndEqualities false)
