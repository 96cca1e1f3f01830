namespace Genesis

open System
open Genesis.Physics

/// Simulation options of a Scene (Genesis SimOptions + rigid options).
type SimOptions(?dt: float, ?substeps: int, ?gravity: float[], ?requiresGrad: bool, ?integrator: Integrator,
                ?enableContact: bool, ?contactStiffness: float, ?contactDamping: float, ?friction: float,
                ?checkpointEvery: int, ?checkNonFinite: bool, ?enableJointLimits: bool, ?maxStateMagnitude: float) =
    let bad (name: string) fmt = Printf.kprintf (fun msg -> raise (GenesisException(sprintf "SimOptions: %s %s" name msg))) fmt
    let finite (x: float) = not (Double.IsNaN x || Double.IsInfinity x)
    do
        match dt with
        | Some d when not (d > 0.0 && finite d) -> bad "dt" "must be finite and > 0, got %g" d
        | _ -> ()
        match substeps with
        | Some s when s < 1 -> bad "substeps" "must be >= 1, got %d" s
        | _ -> ()
        match gravity with
        | Some g when isNull g || g.Length <> 3 -> bad "gravity" "needs 3 values, got %d" (if isNull g then 0 else g.Length)
        | Some g when not (Array.forall finite g) -> bad "gravity" "must be finite, got %s" (String.Join(", ", g))
        | _ -> ()
        for name, v in [ "contactStiffness", contactStiffness; "contactDamping", contactDamping; "friction", friction ] do
            match v with
            | Some x when not (x >= 0.0 && finite x) -> bad name "must be finite and >= 0, got %g" x
            | _ -> ()
        match checkpointEvery with
        | Some c when c < 0 -> bad "checkpointEvery" "must be >= 0 (0 = automatic), got %d" c
        | _ -> ()
        match maxStateMagnitude with
        | Some b when not (b > 0.0) -> bad "maxStateMagnitude" "must be > 0 (infinity disables the bound), got %g" b
        | _ -> ()
    /// Time step (s); default 0.01, or the timestep a loaded MJCF file states when dt is not given.
    member _.dt = defaultArg dt 0.01
    /// True when the user gave dt (it then wins over a model file's timestep).
    member _.dtGiven = dt.IsSome
    /// Sub-steps per step; default 1.
    member _.substeps = defaultArg substeps 1
    /// Gravity (m/s^2); default (0, 0, -9.81), or the gravity a loaded MJCF file states when gravity is not given.
    member _.gravity = defaultArg gravity [| 0.0; 0.0; -9.81 |]
    /// True when the user gave gravity (it then wins over a model file's <option gravity>).
    member _.gravityGiven = gravity.IsSome
    /// Record steps so that loss.backward() reaches controls, initial state and parameters.
    member _.requiresGrad = defaultArg requiresGrad false
    /// Integrator (Euler default, as MuJoCo), or the one a loaded MJCF file states when integrator is not given.
    member _.integrator = defaultArg integrator Integrator.Euler
    /// True when the user gave the integrator (it then wins over a model file's <option integrator>).
    member _.integratorGiven = integrator.IsSome
    /// Joint position limits enforced (default true).
    member _.enableJointLimits = defaultArg enableJointLimits true
    /// Contacts on (default true).
    member _.enableContact = defaultArg enableContact true
    /// Contact normal stiffness (N/m).
    member _.contactStiffness = defaultArg contactStiffness 3.0e4
    /// Contact normal damping (N s/m).
    member _.contactDamping = defaultArg contactDamping 300.0
    /// Friction coefficient overriding the geoms' (0 = use geoms').
    member _.friction = defaultArg friction 0.0
    /// Steps per checkpoint segment for backward (0 = automatic, sqrt of the horizon so far; 1 = record every step).
    member _.checkpointEvery = defaultArg checkpointEvery 0
    /// Raise (naming env and dof) when a step produces a non-finite state; default true.
    member _.checkNonFinite = defaultArg checkNonFinite true
    /// Largest |qpos| or |qvel| entry a step may produce before it counts as an explosion and raises, keeping the
    /// previous state (default 1e8; infinity disables; checked with checkNonFinite).
    member _.maxStateMagnitude = defaultArg maxStateMagnitude 1e8

    /// The pure step function's parameters.
    member o.ToSimParams() : SimParams =
        { dt = o.dt
          substeps = o.substeps
          integrator = o.integrator
          enableContact = o.enableContact
          enableJointLimits = o.enableJointLimits
          contact = SimParams.defaultContact }

/// What an entity is made from (Genesis gs.morphs).
type Morph =
    /// A loaded description.
    | MorphSpec of spec: EntitySpec

/// Morph constructors (Genesis gs.morphs.*).
[<AbstractClass; Sealed>]
type Morphs =
    /// A URDF robot; fixedBase = false gives the root a free joint (Genesis `fixed`); euler (degrees, xyz) or quat; links
    /// joined by fixed joints are merged unless mergeFixedLinks = false or named in linksToKeep (Genesis
    /// merge_fixed_links, links_to_keep). A relative file not found relative to the current folder is looked up in
    /// gs.assetsDir.
    static member URDF(file: string, ?pos: float[], ?quat: float[], ?euler: float[], ?fixedBase: bool, ?scale: float,
                       ?mergeFixedLinks: bool, ?linksToKeep: string[]) =
        let quat = Morphs.Orientation(quat, euler)
        MorphSpec(Urdf.load (ShippedAssets.resolve "URDF" file, ?pos = pos, quat = quat, ?fixedBase = fixedBase, ?scale = scale,
                             ?mergeFixedLinks = mergeFixedLinks, ?linksToKeep = linksToKeep))
    /// An MJCF (MuJoCo XML) model (tendons and actuators read, see docs/morphs.md); <equality> raises
    /// GenesisNotSupportedException unless ignoreTendonsAndEqualities = true, which skips it with a warning
    /// (EntitySpec.options.warnings). A relative
    /// file not found relative to the current folder is looked up in gs.assetsDir.
    static member MJCF(file: string, ?ignoreTendonsAndEqualities: bool) =
        MorphSpec(Mjcf.load (ShippedAssets.resolve "MJCF" file, ?ignoreTendonsAndEqualities = ignoreTendonsAndEqualities))
    /// A static ground plane at z = 0 (or pos/quat).
    static member Plane(?pos: float[], ?quat: float[]) = MorphSpec(Primitives.plane (?pos = pos, ?quat = quat))
    /// A box of full side lengths size.
    static member Box(size: float[], ?pos: float[], ?quat: float[], ?euler: float[], ?fixedBase: bool, ?density: float, ?mass: float) =
        MorphSpec(Primitives.box (size, ?pos = pos, quat = Morphs.Orientation(quat, euler), ?fixedBase = fixedBase, ?density = density, ?mass = mass))
    /// A sphere.
    static member Sphere(radius: float, ?pos: float[], ?quat: float[], ?fixedBase: bool, ?density: float, ?mass: float) =
        MorphSpec(Primitives.sphere (radius, ?pos = pos, ?quat = quat, ?fixedBase = fixedBase, ?density = density, ?mass = mass))
    /// A cylinder along z.
    static member Cylinder(radius: float, height: float, ?pos: float[], ?quat: float[], ?fixedBase: bool, ?density: float, ?mass: float) =
        MorphSpec(Primitives.cylinder (radius, height, ?pos = pos, ?quat = quat, ?fixedBase = fixedBase, ?density = density, ?mass = mass))
    /// A capsule along z.
    static member Capsule(radius: float, height: float, ?pos: float[], ?quat: float[], ?fixedBase: bool, ?density: float, ?mass: float) =
        MorphSpec(Primitives.capsule (radius, height, ?pos = pos, ?quat = quat, ?fixedBase = fixedBase, ?density = density, ?mass = mass))

    static member private Orientation(quat: float[] option, euler: float[] option) =
        match quat, euler with
        | Some q, _ -> q
        | None, Some e ->
            if e.Length <> 3 then raise (System.ArgumentException(sprintf "euler needs 3 angles (degrees), got %d" e.Length, "euler"))
            // extrinsic xyz rotations in degrees (Genesis convention): q = qz * qy * qx
            let h (a: float) = a * System.Math.PI / 360.0
            let cx, sx = cos (h e[0]), sin (h e[0])
            let cy, sy = cos (h e[1]), sin (h e[1])
            let cz, sz = cos (h e[2]), sin (h e[2])
            [| cz * cy * cx + sz * sy * sx; cz * cy * sx - sz * sy * cx; cz * sy * cx + sz * cy * sx; sz * cy * cx - cz * sy * sx |]
        | None, None -> [| 1.0; 0.0; 0.0; 0.0 |]
