namespace Genesis.Physics

open System
open Genesis

/// Single-body entities made of one primitive geom (Genesis' gs.morphs.Box, Sphere, ...).
[<AbstractClass; Sealed>]
type Primitives =
    static member private Make(name: string, geom: GeomSpec, pos: float[] option, quat: float[] option, fixedBase: bool, density: float option, mass: float option) =
        let pos = defaultArg pos [| 0.0; 0.0; 0.0 |]
        let quat = defaultArg quat [| 1.0; 0.0; 0.0; 0.0 |]
        if pos.Length <> 3 then invalidArg "pos" (sprintf "pos needs 3 values, got %d" pos.Length)
        if quat.Length <> 4 || SpecMath.norm quat < 1e-12 then invalidArg "quat" "quat needs 4 values [w; x; y; z], not all zero"
        if not (Array.forall Double.IsFinite pos) then invalidArg "pos" (sprintf "pos must be finite, got %A" pos)
        if not (Array.forall Double.IsFinite quat) then invalidArg "quat" (sprintf "quat must be finite, got %A" quat)
        let volume = TreeBuilder.geomVolume geom
        let m =
            match mass, density with
            | Some _, Some _ -> invalidArg "mass" "give either mass or density, not both"
            | Some m, None -> m
            | None, d -> defaultArg d 1000.0 * volume
        if not (Double.IsFinite m) then invalidArg "mass" (sprintf "%s: mass must be finite, got %g" name m)
        if not (m > 0.0) && not fixedBase then invalidArg "mass" (sprintf "%s: mass must be > 0 for a moving body, got %g" name m)
        let joints = if fixedBase then [||] else [| JointSpec.create (name + "_free_joint") Free |]
        let body =
            { name = name; parent = -1; pos = Array.copy pos; quat = SpecMath.normalize quat; mass = m
              ipos = [| 0.0; 0.0; 0.0 |]; inertia = SpecMath.diag (TreeBuilder.geomInertia geom m)
              joints = joints; geoms = [| geom |]; visuals = [| VisualSpec.ofGeom VisualSpec.defaultRgba geom |] }
        { name = name; bodies = [| body |]; actuators = [||]; sites = [||]; tendons = [||]; equalities = [||]; options = OptionSpec.defaults; rootIsWorld = false; visualWarnings = [||] }

    static member private Positive(what: string, v: float) =
        if not (v > 0.0 && Double.IsFinite v) then invalidArg what (sprintf "%s must be finite and > 0, got %g" what v)

    /// Box with full side lengths size = [lx; ly; lz]; free joint unless fixedBase; mass from density (default 1000) or mass.
    static member box(size: float[], ?pos: float[], ?quat: float[], ?fixedBase: bool, ?density: float, ?mass: float, ?name: string) : EntitySpec =
        if size.Length <> 3 then invalidArg "size" "size needs 3 values"
        size |> Array.iter (fun s -> Primitives.Positive("size", s))
        let name = defaultArg name "box"
        Primitives.Make(name, GeomSpec.create name Box (SpecMath.scale 0.5 size), pos, quat, defaultArg fixedBase false, density, mass)

    /// Sphere of the given radius; free joint unless fixedBase; mass from density (default 1000) or mass.
    static member sphere(radius: float, ?pos: float[], ?quat: float[], ?fixedBase: bool, ?density: float, ?mass: float, ?name: string) : EntitySpec =
        Primitives.Positive("radius", radius)
        let name = defaultArg name "sphere"
        Primitives.Make(name, GeomSpec.create name Sphere [| radius |], pos, quat, defaultArg fixedBase false, density, mass)

    /// Cylinder along the body z axis with radius and full height; free joint unless fixedBase.
    static member cylinder(radius: float, height: float, ?pos: float[], ?quat: float[], ?fixedBase: bool, ?density: float, ?mass: float, ?name: string) : EntitySpec =
        Primitives.Positive("radius", radius)
        Primitives.Positive("height", height)
        let name = defaultArg name "cylinder"
        Primitives.Make(name, GeomSpec.create name Cylinder [| radius; height / 2.0 |], pos, quat, defaultArg fixedBase false, density, mass)

    /// Capsule along the body z axis: radius and height of the cylindrical part (total length height + 2 radius).
    static member capsule(radius: float, height: float, ?pos: float[], ?quat: float[], ?fixedBase: bool, ?density: float, ?mass: float, ?name: string) : EntitySpec =
        Primitives.Positive("radius", radius)
        Primitives.Positive("height", height)
        let name = defaultArg name "capsule"
        Primitives.Make(name, GeomSpec.create name Capsule [| radius; height / 2.0 |], pos, quat, defaultArg fixedBase false, density, mass)

    /// Static ground plane through pos with normal along the rotated z axis (always fixed; massless).
    static member plane(?pos: float[], ?quat: float[], ?size: float[], ?name: string) : EntitySpec =
        let size = defaultArg size [| 0.0; 0.0; 1.0 |]
        if size.Length <> 3 || not (size |> Array.forall (fun v -> v >= 0.0 && Double.IsFinite v)) then
            invalidArg "size" "size needs 3 finite values >= 0 [hx; hy; spacing] (0 = infinite)"
        let name = defaultArg name "plane"
        Primitives.Make(name, GeomSpec.create name Plane size, pos, quat, true, None, Some 0.0)
