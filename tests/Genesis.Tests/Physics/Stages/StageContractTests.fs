/// The stage contracts: every form of every physics stage listed in StageForms.table is tied to the reference by its
/// contract. Generic kernel = Tensor path on random valid inputs and each stage's edge cases (ValueTol); hand-written
/// adjoint = the scalar tape of the same generic kernel (AdjointTol), or central differences where the stage has no
/// generic form on the tape; Tensor path: <u, J v> = <J^T u, v> between its JVP and VJP, and J v = central
/// differences on a sample. A form listed without a contract, or a contract for a form not listed, fails.
module Genesis.Tests.Physics.StageContractTests

open System
open Expecto
open Genesis
open Genesis.Physics
open Genesis.Tests
open Genesis.Tests.Physics.MorphTestUtil

/// Generic kernel vs Tensor path, relative to max(1, the largest magnitude compared).
let ValueTol = 1e-10
/// Hand-written adjoint vs the tape of the same kernel, relative to max(1, the largest magnitude compared).
let AdjointTol = 1e-12
/// A whole Euler sub-step's hand-written adjoint vs its tape (sums over a step's stages), relative.
let StepAdjointTol = 1e-10
/// Dot-product identity, relative to |<u, J v>| + 1.
let DotTol = 1e-10
/// Central differences (h = 1e-6) vs the JVP, relative to max(1, |J v|).
let FdTol = 1e-6

let private expectClose = PhysicsTestUtil.expectClose

// ---------------------------------------------------------------------------------------------------------------
// Inputs: models, random valid states, edge cases
// ---------------------------------------------------------------------------------------------------------------

/// A random valid qpos (unit quaternions; free bodies shifted by up to `shift`) and qvel for one env.
let private randomStateShifted (shift: float) (m: Model) (rnd: Random) (posNoise: float) (velScale: float) =
    PhysicsTestUtil.randomStates shift m rnd 1 posNoise velScale

/// randomStateShifted with free bodies shifted by up to 1 cm.
let private randomState (m: Model) (rnd: Random) (posNoise: float) (velScale: float) = randomStateShifted 0.01 m rnd posNoise velScale

/// A pose near a contact scene's own (free bodies within 1 mm, rotations within ~0.01 rad): the contact stays active.
let private nearContact (m: Model) (rnd: Random) (velScale: float) = randomStateShifted 0.001 m rnd 0.0025 velScale

/// Models of every joint type: fixed arms (hinges, limits), a slide carrying a hinge, a floating quadruped, ball joints.
let private models () =
    [ "two-link arm", Model.build [| Urdf.load (asset "two_link_arm/two_link_arm.urdf", fixedBase = true) |] DType.Float64
      "cart-pole", Model.build [| Urdf.load (asset "cartpole/cartpole.urdf", fixedBase = true) |] DType.Float64
      "iiwa14", Model.build [| Urdf.load (asset "kuka_iiwa/iiwa14_spheres_collision.urdf", fixedBase = true) |] DType.Float64
      "go2 (free base)", Model.build [| Urdf.load (asset "go2/go2.urdf", pos = [| 0.0; 0.0; 0.4 |], fixedBase = false) |] DType.Float64
      "ball joints + free box", Model.build [| Mjcf.load (asset "mjcf/one_ball_joint.xml"); Primitives.box ([| 0.1; 0.2; 0.3 |], pos = [| 1.0; 0.0; 1.0 |]) |] DType.Float64 ]

let private fst3 (a, _, _) = a

let private withParams (m: Model) (f: Params -> Params) = { m with parameters = f m.parameters }

let private vec (values: float[]) = gs.tensor(values)

/// Random per-dof values in [lo, hi).
let private perDof (m: Model) (rnd: Random) (lo: float) (hi: float) = vec (Array.init m.topology.nv (fun _ -> lo + (hi - lo) * rnd.NextDouble()))

let private forceControl (m: Model) = { modes = Array.create m.topology.nv ControlMode.Force; values = gs.zeros([ 1; m.topology.nv ]) }

let private euler = { SimParams.defaults with dt = 0.01 }

// ---------------------------------------------------------------------------------------------------------------
// The generic kernel on floats at one state
// ---------------------------------------------------------------------------------------------------------------

/// FastStep.evaluate on floats at (qpos, qvel, control): the work buffer with every stage's outputs.
let private fastEvaluate (m: Model) (sp: SimParams) (control: Control) (qpos: float[]) (qvel: float[]) (needC: bool) =
    let fm = FastStep.prepare m
    let w = FastWork<float>(fm.nbody, fm.nq, fm.nv, TreePattern.nnz fm.pattern, fm.geomBody.Length, fm.nv)
    Array.blit qpos 0 w.qpos 0 qpos.Length
    Array.blit qvel 0 w.qvel 0 qvel.Length
    let ctrl = control.values.toFloatArray()
    Array.blit ctrl 0 w.ctrl 0 ctrl.Length
    let h = sp.dt / float sp.substeps
    FastStep.evaluateFloat fm w sp h needC (control.modes |> Array.map ActuationKernel.modeCode) w.qpos w.qvel w.ctrl
    fm, w

let private row (values: float[]) = gs.tensor(values).unsqueeze(0)

/// Generalised forces of the stages `forces` sums (actuation, passive, limits, quaternion springs, contact): rhs + bias.
let private fastForces (w: FastWork<float>) = Array.map2 (+) w.rhs w.bias

// ---------------------------------------------------------------------------------------------------------------
// Generic kernel = Tensor path, per stage
// ---------------------------------------------------------------------------------------------------------------

let private kinematicsValues () =
    let rnd = Random 11
    for label, m in models () do
        for _ in 1 .. 3 do
            let q, v = randomState m rnd 0.6 1.0
            let kin = Kinematics.compute m (row q)
            let _, w = fastEvaluate m { euler with enableContact = false } (forceControl m) q v false
            expectClose ValueTol (label + ": xpos") (kin.xpos.toFloatArray()) w.xpos
            expectClose ValueTol (label + ": xmat") (kin.xmat.toFloatArray()) w.xmat
            expectClose ValueTol (label + ": xipos") (kin.xipos.toFloatArray()) w.xipos
            expectClose ValueTol (label + ": cdof") (kin.cdof.toFloatArray()) w.cdof

/// One of the dynamics stages (cinert, qM, qfrcBias) on both paths over every model, at random states and at rest.
let private dynamicsValues (pick: Dynamics -> Tensor) (fast: FastModel<float> -> FastWork<float> -> float[]) (what: string) () =
    let rnd = Random 12
    for label, m in models () do
        for trial in 0 .. 2 do
            let q, v = randomState m rnd 0.6 (if trial = 0 then 0.0 else 2.0) // zero velocity is an edge case of RNEA
            let kin = Kinematics.compute m (row q)
            let dyn = Dynamics.compute m kin (row v)
            let fm, w = fastEvaluate m { euler with enableContact = false } (forceControl m) q v false
            expectClose ValueTol (sprintf "%s (trial %d): %s" label trial what) ((pick dyn).toFloatArray()) (fast fm w)

/// The sum of the force stages on the fast path vs the Tensor path's stage alone (the others switched off).
let private forceStageValues (configure: Model -> Random -> Model * Control * SimParams) (reference: Model -> Control -> Tensor -> Tensor -> Tensor) (what: string) () =
    let rnd = Random 13
    for label, m0 in models () do
        for trial in 0 .. 3 do
            let m, control, sp = configure m0 rnd
            let q, v = randomState m rnd (if trial = 0 then 2.5 else 0.6) (if trial = 1 then 0.0 else 1.5)
            let _, w = fastEvaluate m sp control q v false
            let expected = reference m control (row q) (row v)
            expectClose ValueTol (sprintf "%s (trial %d): %s" label trial what) (expected.toFloatArray()) (fastForces w)

/// Only joint springs and damping (quaternion springs off: their own stage).
let private passiveOnly (m: Model) (rnd: Random) =
    let topo = m.topology
    let hingeOrSlide = Array.init topo.nv (fun d -> topo.dofQposAdr[d] >= 0)
    let stiff = Array.init topo.nv (fun d -> if hingeOrSlide[d] then 5.0 * rnd.NextDouble() else 0.0)
    let m = withParams m (fun p -> { p with dofStiffness = vec stiff; dofDamping = perDof m rnd 0.0 2.0; dofSpringref = perDof m rnd -0.5 0.5 })
    m, forceControl m, { euler with enableContact = false; enableJointLimits = false }

/// Only the springs of ball and free joints.
let private quatSpringsOnly (m: Model) (rnd: Random) =
    let topo = m.topology
    let stiff = Array.init topo.nv (fun d -> if topo.dofQposAdr[d] < 0 then 1.0 + 4.0 * rnd.NextDouble() else 0.0)
    let m = withParams m (fun p -> { p with dofStiffness = vec stiff; dofDamping = gs.zeros([ topo.nv ]) })
    m, forceControl m, { euler with enableContact = false; enableJointLimits = false }

/// Only the joint limits (states pushed beyond the ranges by the large position noise of trial 0).
let private limitsOnly (m: Model) (_: Random) =
    let m = withParams m (fun p -> { p with dofStiffness = gs.zeros([ m.topology.nv ]); dofDamping = gs.zeros([ m.topology.nv ]) })
    m, forceControl m, { euler with enableContact = false; enableJointLimits = true }

let private limitsReference (m: Model) (_: Control) (q: Tensor) (v: Tensor) =
    match JointLimits.compute m q v (euler.dt / float euler.substeps) with
    | Some(tau, _) -> tau
    | None -> gs.zerosLike v

/// Only tendons: the joints' own springs, dampers and ranges removed, two fixed tendons on the model's hinge and slide
/// dofs (a spring-damper over up to three dofs with a narrow range, and a limit-only one over the first dof), so that
/// the random states put the lengths inside and beyond the ranges.
let private tendonsOnly (m: Model) (rnd: Random) =
    let topo = m.topology
    let hs = Array.init topo.nv id |> Array.filter (fun d -> topo.dofQposAdr[d] >= 0)
    let tendon name (dofs: int[]) k c (range: (float * float) option) =
        let coef = dofs |> Array.map (fun _ -> 2.0 * rnd.NextDouble() - 1.0)
        { FixedTendon.name = name; dof = dofs; coef = coef; stiffness = k; damping = c; rest = rnd.NextDouble() - 0.5; range = range }
    let tendons =
        if hs.Length = 0 then [||]
        else
            [| tendon "spring" hs[.. min 2 (hs.Length - 1)] (1.0 + 4.0 * rnd.NextDouble()) (0.5 + rnd.NextDouble()) (Some(-0.3, 0.2))
               tendon "limit" hs[.. 0] 0.0 0.0 (Some(-0.1, 0.1)) |]
    let topo = { topo with tendons = tendons; jntRange = topo.jntRange |> Array.map (fun _ -> None) }
    let m = withParams { m with topology = topo } (fun p -> { p with dofStiffness = gs.zeros([ topo.nv ]); dofDamping = gs.zeros([ topo.nv ]) })
    m, forceControl m, { euler with enableContact = false; enableJointLimits = true }

let private tendonsReference (m: Model) (_: Control) (q: Tensor) (v: Tensor) =
    match Tendons.compute m q v true (euler.dt / float euler.substeps) with
    | Some(f, _) -> f
    | None -> gs.zerosLike v

/// The tendons' implicit diagonal on the fast path vs the Tensor path's (tendonsOnly: nothing else adds to it).
let private tendonsDiagonal () =
    let rnd = Random 16
    for label, m0 in models () do
        for trial in 0 .. 2 do
            let m, control, sp = tendonsOnly m0 rnd
            let q, v = randomState m rnd 0.6 1.0
            let _, w = fastEvaluate m sp control q v false
            let expected =
                match Tendons.compute m (row q) (row v) true (sp.dt / float sp.substeps) with
                | Some(_, d) -> d.toFloatArray()
                | None -> Array.zeroCreate m.topology.nv
            expectClose ValueTol (sprintf "%s (trial %d): tendons' implicit diagonal" label trial) expected w.limitDiag

/// Only actuation: modes by dof (force, position, velocity), gains and a force range that saturates some dofs.
let private actuationOnly (m: Model) (rnd: Random) =
    let nv = m.topology.nv
    let m =
        withParams m (fun p ->
            { p with dofStiffness = gs.zeros([ nv ]); dofDamping = gs.zeros([ nv ]); kp = perDof m rnd 0.0 50.0; kv = perDof m rnd 0.0 5.0
                     forceLo = perDof m rnd -3.0 -0.5; forceHi = perDof m rnd 0.5 3.0 })
    let control =
        { modes = Array.init nv (fun k -> match (k + rnd.Next 3) % 3 with 0 -> ControlMode.Force | 1 -> ControlMode.Position | _ -> ControlMode.Velocity)
          values = gs.tensor(Array.init nv (fun _ -> 4.0 * (rnd.NextDouble() - 0.5))).unsqueeze(0) }
    m, control, { euler with enableContact = false; enableJointLimits = false }

let private actuationReference (m: Model) (c: Control) (q: Tensor) (v: Tensor) = Actuation.compute m c q v

/// The implicit diagonal (PD and limits) of the fast path vs the Tensor path's.
let private implicitDiagonal () =
    let rnd = Random 14
    for label, m0 in models () do
        for trial in 0 .. 2 do
            let m, control, sp = actuationOnly m0 rnd
            let sp = { sp with enableJointLimits = true }
            let q, v = randomState m rnd 2.0 1.0
            let _, w = fastEvaluate m sp control q v false
            let h = sp.dt / float sp.substeps
            let _, act = Actuation.computeWithDamping m control (row q) (row v) h
            let lim = JointLimits.compute m (row q) (row v) h
            let expected =
                [ act; lim |> Option.map snd ] |> List.choose id |> List.fold (+) (gs.zeros([ 1; m.topology.nv ]))
            expectClose ValueTol (sprintf "%s (trial %d): implicit diagonal" label trial) (expected.toFloatArray()) w.limitDiag

/// The tree LDL solve vs the Tensor path's dense solve, on M + a random positive diagonal.
let private solveValues () =
    let rnd = Random 15
    for label, m in models () do
        let q, v = randomState m rnd 0.6 1.0
        let fm, w = fastEvaluate m { euler with enableContact = false } (forceControl m) q v false
        let nv = m.topology.nv
        let a = Array.copy w.qM
        for k in 0 .. nv - 1 do a[TreePattern.diag fm.pattern k] <- a[TreePattern.diag fm.pattern k] + rnd.NextDouble()
        let b = Array.init nv (fun _ -> rnd.NextDouble() - 0.5)
        let x = Array.copy b
        FastStep.Instances.ldlSolveFloat fm.pattern (Array.copy a) x
        let reference = Solve.solve (gs.tensor(TreePattern.toDense fm.pattern a).reshape([ nv; nv ])) (gs.tensor(b).reshape([ nv; 1 ]))
        expectClose ValueTol (label + ": LDL solve") (reference.toFloatArray()) x

/// Position integration (hinge/slide add, quaternions rotate) on both paths, zero velocity included.
let private integrateValues () =
    let rnd = Random 16
    for label, m in models () do
        for trial in 0 .. 2 do
            let q, v = randomState m rnd 0.6 (if trial = 0 then 0.0 else 3.0)
            let fm = FastStep.prepare m
            let out = Array.zeroCreate q.Length
            FastStep.Instances.integratePosFloat fm q v 0.01 out
            let reference = Integrate.integratePos m.topology (row q) (row v) 0.01
            expectClose ValueTol (sprintf "%s (trial %d): integratePos" label trial) (reference.toFloatArray()) out

// ---------------------------------------------------------------------------------------------------------------
// Contact pairs: generic kernel = Tensor path, per pair kind, random poses and the edge cases
// ---------------------------------------------------------------------------------------------------------------

let private tilted = [| 0.96; 0.1; -0.2; 0.15 |]
let private lying = [| cos (Math.PI / 4.0); sin (Math.PI / 4.0); 0.0; 0.0 |]

/// Scenes of each pair kind (label, entities), edge cases included.
let private pairScenes (kind: PairKind) =
    match kind with
    | PairKind.ProbePlane ->
        [ "sphere on plane", [| Primitives.plane (); Primitives.sphere (0.1, pos = [| 0.0; 0.0; 0.098 |]) |]
          "sphere exactly touching the plane", [| Primitives.plane (); Primitives.sphere (0.1, pos = [| 0.0; 0.0; 0.1 |]) |]
          "capsule lying on plane", [| Primitives.plane (); Primitives.capsule (0.05, 0.3, pos = [| 0.0; 0.0; 0.049 |], quat = lying) |]
          "box face-down on plane (parallel face)", [| Primitives.plane (); Primitives.box ([| 0.2; 0.3; 0.4 |], pos = [| 0.0; 0.0; 0.199 |]) |]
          "tilted box on plane", [| Primitives.plane (); Primitives.box ([| 0.2; 0.3; 0.4 |], pos = [| 0.0; 0.0; 0.24 |], quat = tilted) |]
          "cylinder on plane", [| Primitives.plane (); Primitives.cylinder (0.1, 0.2, pos = [| 0.0; 0.0; 0.0995 |], quat = [| 0.999; 0.03; 0.0; 0.0 |]) |] ]
    | PairKind.SegmentSegment ->
        [ "sphere on sphere", [| Primitives.sphere (0.1, pos = [| 0.0; 0.0; 0.0 |]); Primitives.sphere (0.1, pos = [| 0.03; 0.0; 0.19 |]) |]
          "concentric spheres (zero distance)", [| Primitives.sphere (0.1, pos = [| 0.0; 0.0; 0.0 |]); Primitives.sphere (0.05, pos = [| 0.0; 0.0; 0.0 |]) |]
          "capsule across capsule", [| Primitives.capsule (0.05, 0.3, pos = [| 0.0; 0.0; 0.0 |], quat = lying); Primitives.capsule (0.05, 0.3, pos = [| 0.0; 0.0; 0.099 |], quat = [| 0.5; 0.5; 0.5; 0.5 |]) |]
          "parallel capsules", [| Primitives.capsule (0.05, 0.3, pos = [| 0.0; 0.0; 0.0 |], quat = lying); Primitives.capsule (0.05, 0.3, pos = [| 0.0; 0.0; 0.099 |], quat = lying) |]
          "degenerate capsule (zero half-length) on a sphere", [| Primitives.sphere (0.1, pos = [| 0.0; 0.0; 0.0 |]); Primitives.capsule (0.05, 1e-9, pos = [| 0.02; 0.0; 0.148 |], quat = tilted) |] ]
    | PairKind.SegmentBox ->
        // Primitives.box takes full sizes: the large box's top face is at z = 0.1
        [ "sphere on box", [| Primitives.box ([| 0.4; 0.4; 0.2 |], pos = [| 0.0; 0.0; 0.0 |]); Primitives.sphere (0.1, pos = [| 0.05; 0.0; 0.198 |]) |]
          "sphere whose centre is inside the box", [| Primitives.box ([| 0.4; 0.4; 0.2 |], pos = [| 0.0; 0.0; 0.0 |]); Primitives.sphere (0.1, pos = [| 0.05; 0.02; 0.05 |]) |]
          "sphere exactly touching a box face", [| Primitives.box ([| 0.4; 0.4; 0.2 |], pos = [| 0.0; 0.0; 0.0 |]); Primitives.sphere (0.1, pos = [| 0.0; 0.0; 0.2 |]) |]
          "sphere at a box corner", [| Primitives.box ([| 0.2; 0.2; 0.2 |], pos = [| 0.0; 0.0; 0.0 |]); Primitives.sphere (0.1, pos = [| 0.15; 0.15; 0.15 |]) |]
          "capsule on box", [| Primitives.box ([| 0.4; 0.4; 0.2 |], pos = [| 0.0; 0.0; 0.0 |]); Primitives.capsule (0.05, 0.2, pos = [| 0.0; 0.0; 0.149 |], quat = lying) |] ]
    | PairKind.BoxBox ->
        [ "box on box (parallel faces)", [| Primitives.box ([| 0.4; 0.4; 0.2 |], pos = [| 0.0; 0.0; 0.0 |]); Primitives.box ([| 0.2; 0.2; 0.1 |], pos = [| 0.03; 0.0; 0.149 |]) |]
          "tilted box on box", [| Primitives.box ([| 0.4; 0.4; 0.2 |], pos = [| 0.0; 0.0; 0.0 |]); Primitives.box ([| 0.2; 0.2; 0.2 |], pos = [| 0.05; 0.0; 0.23 |], quat = tilted) |]
          "equal boxes stacked exactly touching", [| Primitives.box ([| 0.2; 0.2; 0.2 |], pos = [| 0.0; 0.0; 0.0 |]); Primitives.box ([| 0.2; 0.2; 0.2 |], pos = [| 0.0; 0.0; 0.2 |]) |] ]
    | PairKind.Convex ->
        // a mesh hull with a flat top at z = 0.05 (a box on a pyramid); the box's lowest corner 2 mm into it
        let mesh = PhysicsTestUtil.meshGeom [| for x in [ -0.2; 0.2 ] do for y in [ -0.2; 0.2 ] do for z in [ -0.05; 0.05 ] do yield! [ x; y; z ]
                                               yield! [ 0.0; 0.0; -0.15 ] |]
        let hull = PhysicsTestUtil.bodyOf mesh [| 0.0; 0.0; 0.0 |] [| 1.0; 0.0; 0.0; 0.0 |]
        let r = SpecMath.quatToMat (SpecMath.normalize tilted)
        let cornerDrop = 0.1 * (abs r[6] + abs r[7] + abs r[8])
        let rimDrop = 0.1 * abs r[8] + 0.1 * sqrt (r[6] * r[6] + r[7] * r[7])
        [ "capsule end on a mesh hull face", [| hull; Primitives.capsule (0.05, 0.2, pos = [| 0.0; 0.0; 0.098 + 0.1 * r[8] |], quat = tilted) |]
          "sphere centre inside a mesh hull (EPA)", [| hull; Primitives.sphere (0.1, pos = [| 0.02; 0.01; 0.0 |]) |]
          "box corner on a mesh hull face", [| hull; Primitives.box ([| 0.2; 0.2; 0.2 |], pos = [| 0.01; 0.0; 0.048 + cornerDrop |], quat = tilted) |]
          "capsule on an ellipsoid (curved)", [| PhysicsTestUtil.bodyOf (GeomSpec.create "e" Ellipsoid [| 0.3; 0.2; 0.1 |]) [| 0.0; 0.0; 0.0 |] [| 1.0; 0.0; 0.0; 0.0 |]
                                                 Primitives.capsule (0.05, 0.2, pos = [| 0.02; 0.01; 0.248 |]) |]
          "cylinder rim on a box (curved)", [| Primitives.cylinder (0.1, 0.2, pos = [| 0.0; 0.0; 0.098 + rimDrop |], quat = tilted); Primitives.box ([| 0.6; 0.6; 0.2 |], pos = [| 0.0; 0.0; 0.0 |]) |] ]
    | _ -> []

/// Whether the Tensor path's gradient is exact on a scene (ConvexPair: a curved core's normal omits its curvature).
let private exactGradient (label: string) = not (label.Contains "(curved)")

/// Contact forces (qfrcContact) of one scene on both paths: at the given pose, then at random poses and velocities near it.
let private pairValues (kind: PairKind) () =
    let rnd = Random 17
    let scenes = pairScenes kind
    Expect.isNonEmpty scenes "scenes of the pair kind"
    for label, specs in scenes do
        let m = Model.build specs DType.Float64
        let fm = FastStep.prepare m
        let geoms = Broadphase.collidable m.topology
        let kinds = Broadphase.staticPairs m.topology |> Array.map (fun (a, b) -> PairDispatch.kindOf (snd geoms[a]).gtype (snd geoms[b]).gtype)
        Expect.isTrue (fm.anyPairs && Array.contains kind kinds) (sprintf "%s: the scene has a %A pair" label kind)
        let mutable largest = 0.0
        for trial in 0 .. 4 do
            let q, v =
                if trial = 0 then Array.copy m.topology.qpos0, Array.zeroCreate m.topology.nv
                else nearContact m rnd (if trial = 1 then 0.0 else 1.0)
            let fd = Physics.forward m euler (row q) (row v) (forceControl m)
            let _, w = fastEvaluate m euler (forceControl m) q v false
            expectClose ValueTol (sprintf "%s (trial %d): qfrcContact" label trial) (fd.qfrcContact.toFloatArray()) w.qfrcContact
            largest <- max largest (w.qfrcContact |> Array.map abs |> Array.max)
        Expect.isGreaterThan largest 1e-3 (label + ": the bodies are in contact")

/// The regression of the drift the contracts found: a sphere whose centre is inside a box is pushed out through the
/// nearest face on both paths (the fast path's inside test compared the floored distance with 1e-12 and never ran).
let private sphereInsideBox () =
    let specs = [| Primitives.box ([| 0.4; 0.4; 0.2 |], pos = [| 0.0; 0.0; 0.0 |]); Primitives.sphere (0.1, pos = [| 0.05; 0.02; 0.05 |]) |]
    let m = Model.build specs DType.Float64
    let s0 = { qpos = row m.topology.qpos0; qvel = gs.zeros([ 1; m.topology.nv ]); time = 0.0 }
    let c = { modes = Array.create m.topology.nv ControlMode.Force; values = gs.zeros([ 1; m.topology.nv ]) }
    let reference = Physics.step m euler s0 c
    let fast = FastStep.step m euler s0 c
    expectClose ValueTol "one step, qvel" (reference.qvel.toFloatArray()) (fast.qvel.toFloatArray())
    // the sphere (second body, dofs 6..11) is pushed up through the top face
    Expect.isGreaterThan ((fast.qvel.toFloatArray())[8]) 1.0 "the sphere moves up out of the box"

// ---------------------------------------------------------------------------------------------------------------
// Hand-written adjoints = the tape of the same generic kernel
// ---------------------------------------------------------------------------------------------------------------

/// Runs f on the tape with inputs as variables, seeds the outputs it returns with u, sweeps; the inputs' adjoints.
let private tapeVjp (inputs: float[]) (f: TapeReal[] -> TapeReal[]) (u: float[]) =
    let tape = ScalarTape.Current
    tape.Clear()
    let vars = inputs |> Array.map TapeReal.Variable
    let outs = f vars
    tape.ResetAdjoints()
    Array.iteri (fun i (o: TapeReal) -> tape.Seed(o.id, u[i])) outs
    tape.Sweep()
    let g = vars |> Array.map (fun v -> tape.Adjoint v.id)
    tape.Clear()
    g

/// A block stage (TapeStages.Stages) against the same kernel recorded op by op, over every model.
let private blockVsTape (what: string) (inputsOf: FastModel<float> -> FastWork<float> -> float[])
                        (viaBlock: TapeStages.Stages -> FastModel<TapeReal> -> FastWork<TapeReal> -> TapeReal[] -> TapeReal[])
                        (viaTape: FastModel<TapeReal> -> FastWork<TapeReal> -> TapeReal[] -> TapeReal[]) () =
    let rnd = Random 18
    for label, m0 in models () do
        let m = withParams m0 (fun p -> { p with dofArmature = perDof m0 rnd 0.0 0.1 })
        let q, v = randomState m rnd 0.6 1.5
        let fm, w = fastEvaluate m { euler with enableContact = false } (forceControl m) q v false
        let tm = FastModelBuild.toTape fm
        let inputs = inputsOf fm w
        let stages = TapeStages.Stages fm
        try
            let tw = FastModelBuild.rent tm
            let nOut = (viaTape tm tw (inputs |> Array.map TapeReal.Const)).Length
            let u = Array.init nOut (fun _ -> rnd.NextDouble() - 0.5)
            let byTape = tapeVjp inputs (viaTape tm tw) u
            stages.Reset()
            let byBlock = tapeVjp inputs (viaBlock stages tm tw) u
            Expect.isGreaterThan (byTape |> Array.map abs |> Array.max) 1e-6 (sprintf "%s: %s adjoint non-zero" label what)
            expectClose AdjointTol (sprintf "%s: %s adjoint, block vs tape" label what) byTape byBlock
        finally stages.Release()

let private kinematicsInputs (fm: FastModel<float>) (w: FastWork<float>) = Array.copy w.qpos
let private kinematicsOutputs (w: FastWork<TapeReal>) = Array.concat [ w.xpos; w.xmat; w.xipos; w.cdof ]

let private inertiaInputs (fm: FastModel<float>) (w: FastWork<float>) = Array.append w.xmat w.xipos
let private loadInertiaInputs (m: FastModel<TapeReal>) (w: FastWork<TapeReal>) (x: TapeReal[]) =
    Array.blit x 0 w.xmat 0 (m.nbody * 9)
    Array.blit x (m.nbody * 9) w.xipos 0 (m.nbody * 3)

let private rneaInputs (fm: FastModel<float>) (w: FastWork<float>) = Array.concat [ w.qvel; w.cdof; w.cinert ]
let private loadRneaInputs (m: FastModel<TapeReal>) (w: FastWork<TapeReal>) (x: TapeReal[]) =
    let nv, nb = m.nv, m.nbody
    Array.blit x nv w.cdof 0 (nv * 6)
    Array.blit x (nv + nv * 6) w.cinert 0 (nb * 36)
    x[0 .. nv - 1]

let private crbaInputs (fm: FastModel<float>) (w: FastWork<float>) = Array.append w.cdof w.cinert
let private loadCrbaInputs (m: FastModel<TapeReal>) (w: FastWork<TapeReal>) (x: TapeReal[]) =
    Array.blit x 0 w.cdof 0 (m.nv * 6)
    Array.blit x (m.nv * 6) w.cinert 0 (m.nbody * 36)
/// qM in the tree's pattern (each symmetric pair once).
let private qMOutputs (m: FastModel<TapeReal>) (w: FastWork<TapeReal>) = Array.copy w.qM

let private solveInputs (fm: FastModel<float>) (w: FastWork<float>) =
    let nv = fm.nv
    let a = Array.copy w.qM
    for k in 0 .. nv - 1 do a[TreePattern.diag fm.pattern k] <- a[TreePattern.diag fm.pattern k] + 0.5
    Array.append a (Array.init nv (fun k -> 0.3 - 0.1 * float k))

let private handAdjointOfBlocks =
    [ Stage.Kinematics,
      blockVsTape "kinematics" kinematicsInputs
          (fun st m w x -> st.Kinematics(m, w, x); kinematicsOutputs w)
          (fun m w x -> FastStep.Instances.kinematicsTape m w x; kinematicsOutputs w)
      Stage.SpatialInertia,
      blockVsTape "spatial inertia" inertiaInputs
          (fun st m w x -> loadInertiaInputs m w x; st.Inertia(m, w); Array.copy w.cinert)
          (fun m w x -> loadInertiaInputs m w x; FastStep.Instances.spatialInertiaTape m w; Array.copy w.cinert)
      Stage.Rnea,
      blockVsTape "RNEA" rneaInputs
          (fun st m w x -> let qv = loadRneaInputs m w x in st.Rnea(m, w, qv); Array.append w.bias w.cvel)
          (fun m w x -> let qv = loadRneaInputs m w x in FastStep.Instances.rneaTape m w qv; Array.append w.bias w.cvel)
      Stage.Crba,
      blockVsTape "CRBA" crbaInputs
          (fun st m w x -> loadCrbaInputs m w x; st.Crba(m, w, 0.0); qMOutputs m w)
          (fun m w x -> loadCrbaInputs m w x; FastStep.Instances.crbaTape m w 0.0; qMOutputs m w)
      Stage.Solve,
      blockVsTape "LDL solve" solveInputs
          (fun st m w x -> let nnz = TreePattern.nnz m.pattern in let b = x[nnz ..] |> Array.copy in st.Solve(m.pattern, x[.. nnz - 1], b); b)
          (fun m w x -> let nnz = TreePattern.nnz m.pattern in let b = x[nnz ..] |> Array.copy in FastStep.Instances.ldlSolveTape m.pattern (Array.copy x[.. nnz - 1]) b; b) ]

/// Euler segments differentiated by hand (EulerAdjoint) against the same sub-steps on the tape (SegmentVjp's taped
/// path): the gradients of the start state and the controls, for a scene that exercises the stage.
let private eulerVsTape (label: string) (m: Model) (sp: SimParams) (modes: ControlMode[]) (q: float[]) (v: float[]) (rnd: Random) =
    let fm = FastStep.prepare m
    let tm = FastModelBuild.toTape fm
    let k = 3
    let codes = Array.init k (fun _ -> modes |> Array.map ActuationKernel.modeCode)
    let ctrls = Array.init k (fun _ -> Array.init fm.nv (fun _ -> rnd.NextDouble() - 0.5))
    let aQ, aV = Array.init fm.nq (fun _ -> rnd.NextDouble() - 0.5), Array.init fm.nv (fun _ -> rnd.NextDouble() - 0.5)
    let hq, hv, hc, _ = EulerAdjoint.segmentVjp fm tm sp codes 1 q v ctrls aQ aV
    let tq, tv, tc = SegmentVjp.tapedSegmentVjp fm tm sp codes 1 q v ctrls aQ aV
    Expect.isGreaterThan (Array.append hq hv |> Array.map abs |> Array.max) 1e-6 (label + ": adjoint non-zero")
    expectClose StepAdjointTol (label + ": d/dqpos, hand vs tape") tq hq
    expectClose StepAdjointTol (label + ": d/dqvel, hand vs tape") tv hv
    for t in 0 .. k - 1 do expectClose StepAdjointTol (sprintf "%s: d/dctrl[%d], hand vs tape" label t) tc[t] hc[t]

let private handAdjointOfForces (configure: Model -> Random -> Model * Control * SimParams) (posNoise: float) () =
    let rnd = Random 19
    for label, m0 in models () do
        let m, control, sp = configure m0 rnd
        let q, v = randomState m rnd posNoise 1.0
        eulerVsTape label m sp control.modes q v rnd

/// Probe points of a moving geom against a static plane: the hand-written probe geometry and law adjoints vs the tape.
let private handAdjointOfProbePlane () =
    let rnd = Random 20
    for label, specs in pairScenes PairKind.ProbePlane do
        let m = Model.build specs DType.Float64
        let q, v = nearContact m rnd 0.5
        eulerVsTape label m euler (Array.create m.topology.nv ControlMode.Force) q v rnd

/// The law's hand-written adjoint (ContactAdjoint.pointAdjoint) against central differences of the law on floats,
/// at depths from separated to deep and velocities from rest to sliding (it has no generic form to tape).
let private handAdjointOfLaw () =
    let rnd = Random 21
    let cs: ContactAdjoint.Constants = { s = 1e-3; k = 2e4; c = 200.0; eps = 1e-2; h = 0.01 }
    let law (x: float[]) (k: float) (c: float) =
        let wr, kk = Array.zeroCreate 6, Array.zeroCreate 36
        let settings = { softness = cs.s; frictionVelocity = cs.eps; step = cs.h; withK = true }
        ContactLaw.Point(settings, k, c, ContactLaw.PointOf x, x, wr, kk)
        Array.append wr kk
    for depth in [ -5e-3; -1e-3; 0.0; 1e-3; 5e-3 ] do
        for speed in [ 0.0; 0.005; 0.5 ] do
            let n = SpecMath.normalize [| rnd.NextDouble() - 0.5; rnd.NextDouble() - 0.5; 1.0 |]
            let x = Array.zeroCreate ContactAdjoint.Inputs
            for i in 0 .. 2 do x[i] <- rnd.NextDouble() - 0.5
            Array.blit n 0 x 3 3
            x[6] <- depth
            x[7] <- 0.8
            for i in 8 .. 19 do x[i] <- speed * (rnd.NextDouble() - 0.5)
            let u = Array.init 42 (fun _ -> rnd.NextDouble() - 0.5)
            let g = Array.zeroCreate ContactAdjoint.Adjoints
            ContactAdjoint.pointAdjoint cs x u[.. 5] u[6 ..] g
            let f (x: float[]) (k: float) (c: float) = Array.fold2 (fun s a b -> s + a * b) 0.0 u (law x k c)
            let fd = Array.init ContactAdjoint.Adjoints (fun i ->
                let step = 1e-6 * (if i = 20 then cs.k elif i = 21 then cs.c elif i = 6 then 1e-3 else 1.0)
                let at (sgn: float) =
                    let xx = Array.copy x
                    if i < 20 then xx[i] <- xx[i] + sgn * step
                    f xx (if i = 20 then cs.k + sgn * step else cs.k) (if i = 21 then cs.c + sgn * step else cs.c)
                (at 1.0 - at -1.0) / (2.0 * step))
            let scale = fd |> Array.fold (fun m e -> max m (abs e)) 1.0
            for i in 0 .. fd.Length - 1 do
                if not (abs (g[i] - fd[i]) <= 1e-5 * scale) then
                    failtestf "depth %g, speed %g: d/dx[%d] = %.12g, central differences %.12g (scale %g)" depth speed i g[i] fd[i] scale

// ---------------------------------------------------------------------------------------------------------------
// The Tensor path: JVP and VJP agree (<u, J v> = <J^T u, v>), and J v = central differences
// ---------------------------------------------------------------------------------------------------------------

/// Checks f (a Tensor path stage as a function of a flat input) at x: dot-product identity and central differences;
/// returns max |J v| (the callers check that some input moves the stage).
let private tensorContract (label: string) (f: Tensor -> Tensor) (x: float[]) (rnd: Random) =
    let xt = gs.tensor(x)
    let y = f xt
    let v = gs.tensor(Array.init x.Length (fun _ -> rnd.NextDouble() - 0.5))
    let u = gs.tensor(Array.init y.numel (fun _ -> rnd.NextDouble() - 0.5)).reshape(List.ofArray y.shape)
    let jv = gs.jvp f xt v
    let jtu = gs.vjp f xt u
    let lhs = (u * jv).sum().item()
    let rhs = (jtu * v).sum().item()
    Expect.isLessThan (abs (lhs - rhs)) (DotTol * (abs lhs + 1.0)) (sprintf "%s: <u, J v> = %.15g, <J^T u, v> = %.15g" label lhs rhs)
    let h = 1e-6
    let fd = (f (xt + v * h) - f (xt - v * h)) / (2.0 * h)
    expectClose FdTol (label + ": J v vs central differences") (fd.toFloatArray()) (jv.toFloatArray())
    jv.abs().max().item()

/// Every model's stage as a function of (qpos, qvel) flattened, through `output`.
let private tensorStage (output: Model -> Tensor -> Tensor -> Tensor) (velScale: float) () =
    let rnd = Random 22
    let moved =
        [ for label, m in models () do
              let nq = m.topology.nq
              let q, v = randomState m rnd 2.5 velScale
              let f (x: Tensor) = output m (x.narrow(0, 0, nq).unsqueeze(0)) (x.narrow(0, nq, x.shape[0] - nq).unsqueeze(0))
              // quaternion directions leave the unit sphere; the stage functions are smooth there too (normalised inside)
              yield tensorContract label f (Array.append q v) rnd ]
    Expect.isGreaterThan (List.max moved) 1e-8 "J v non-zero on some model"

let private tensorPair (kind: PairKind) () =
    let rnd = Random 23
    for label, specs in pairScenes kind |> List.filter (fst >> exactGradient) do
        let m = Model.build specs DType.Float64
        let nq = m.topology.nq
        // slow enough that the damping never cancels the spring (the normal force's clamp at 0 has no gradient)
        let q, v = nearContact m rnd 0.01
        let f (x: Tensor) =
            let fd = Physics.forward m euler (x.narrow(0, 0, nq).unsqueeze(0)) (x.narrow(0, nq, x.shape[0] - nq).unsqueeze(0)) (forceControl m)
            fd.qfrcContact
        let moved = tensorContract label f (Array.append q v) rnd
        Expect.isGreaterThan moved 1e-8 (label + ": J v non-zero")

/// The equality constraint force of each EqualityTests case as a function of (qpos, qvel), with M and the bias in the graph.
let private tensorEquality () =
    let rnd = Random 25
    for label, xml, _ in EqualityTests.cases do
        let m = EqualityTests.modelOf xml
        let nq = m.topology.nq
        let q, v = EqualityTests.randomState m rnd
        let f (x: Tensor) =
            let q, v = x.narrow(0, 0, nq).unsqueeze(0), x.narrow(0, nq, x.shape[0] - nq).unsqueeze(0)
            let kin = Kinematics.compute m q
            let dyn = Dynamics.compute m kin v
            Equality.force m 0.001 kin q v dyn.qM (-dyn.qfrcBias)
        let moved = tensorContract label f (Array.append q v) rnd
        Expect.isGreaterThan moved 1e-6 (label + ": J v non-zero")

let private tensorSolve () =
    let rnd = Random 24
    let n = 5
    let a0 = Array.init (n * n) (fun _ -> rnd.NextDouble() - 0.5)
    let spd = Array.init (n * n) (fun k -> let i, j = k / n, k % n in (Array.init n (fun r -> a0[r * n + i] * a0[r * n + j]) |> Array.sum) + (if i = j then 1.0 else 0.0))
    let b = Array.init n (fun _ -> rnd.NextDouble())
    let f (x: Tensor) = Solve.solve (x.narrow(0, 0, n * n).reshape([ n; n ])) (x.narrow(0, n * n, n).reshape([ n; 1 ]))
    Expect.isGreaterThan (tensorContract "dense solve" f (Array.append spd b) rnd) 1e-8 "J v non-zero"

// ---------------------------------------------------------------------------------------------------------------
// The contract table
// ---------------------------------------------------------------------------------------------------------------

let private quatReference (m: Model) (_: Control) (q: Tensor) (v: Tensor) = Passive.compute m q v

/// The contract of every (stage, form).
let contracts : ((Stage * StageForm) * (unit -> unit)) list =
    let generic, hand, reference = StageForm.GenericKernel, StageForm.HandAdjoint, StageForm.TensorReference
    [ yield (Stage.Kinematics, generic), kinematicsValues
      yield (Stage.SpatialInertia, generic), dynamicsValues (fun d -> d.cinert) (fun _ w -> w.cinert) "cinert"
      yield (Stage.Crba, generic), dynamicsValues (fun d -> d.qM) (fun fm w -> TreePattern.toDense fm.pattern w.qM) "qM"
      yield (Stage.Rnea, generic), dynamicsValues (fun d -> d.qfrcBias) (fun _ w -> w.bias) "qfrcBias"
      yield (Stage.Passive, generic), forceStageValues passiveOnly (fun m _ q v -> Passive.compute m q v) "passive forces"
      yield (Stage.QuatSprings, generic), forceStageValues quatSpringsOnly quatReference "quaternion springs"
      yield (Stage.JointLimits, generic), forceStageValues limitsOnly limitsReference "joint-limit forces"
      yield (Stage.Tendons, generic), (fun () -> forceStageValues tendonsOnly tendonsReference "tendon forces" (); tendonsDiagonal ())
      yield (Stage.Actuation, generic), (fun () -> forceStageValues actuationOnly actuationReference "actuator forces" (); implicitDiagonal ())
      yield (Stage.ContactLaw, generic), pairValues PairKind.ProbePlane
      yield (Stage.Solve, generic), solveValues
      yield (Stage.Integrate, generic), integrateValues
      for kind in [ PairKind.ProbePlane; PairKind.SegmentSegment; PairKind.SegmentBox; PairKind.BoxBox; PairKind.Convex ] do
          yield (Stage.ContactPair kind, generic), pairValues kind
          yield (Stage.ContactPair kind, reference), tensorPair kind
      for stage, check in handAdjointOfBlocks -> (stage, hand), check
      yield (Stage.Passive, hand), handAdjointOfForces passiveOnly 0.6
      yield (Stage.JointLimits, hand), handAdjointOfForces limitsOnly 2.5
      yield (Stage.Tendons, hand), handAdjointOfForces tendonsOnly 0.6
      yield (Stage.Actuation, hand), handAdjointOfForces actuationOnly 0.6
      yield (Stage.ContactLaw, hand), handAdjointOfLaw
      yield (Stage.ContactPair PairKind.ProbePlane, hand), handAdjointOfProbePlane
      yield (Stage.Kinematics, reference), tensorStage (fun m q _ -> (Kinematics.compute m q).xpos) 0.0
      yield (Stage.SpatialInertia, reference), tensorStage (fun m q v -> (Dynamics.compute m (Kinematics.compute m q) v).cinert) 0.0
      yield (Stage.Crba, reference), tensorStage (fun m q v -> (Dynamics.compute m (Kinematics.compute m q) v).qM) 0.0
      yield (Stage.Rnea, reference), tensorStage (fun m q v -> (Dynamics.compute m (Kinematics.compute m q) v).qfrcBias) 1.0
      yield (Stage.Passive, reference), tensorStage (fun m q v -> Passive.compute (fst3 (passiveOnly m (Random 1))) q v) 1.0
      yield (Stage.QuatSprings, reference), tensorStage (fun m q v -> Passive.compute (fst3 (quatSpringsOnly m (Random 1))) q v) 1.0
      yield (Stage.JointLimits, reference), tensorStage (fun m q v -> limitsReference m (forceControl m) q v) 1.0
      yield (Stage.Tendons, reference), tensorStage (fun m q v -> let m, c, _ = tendonsOnly m (Random 1) in tendonsReference m c q v) 1.0
      yield (Stage.Actuation, reference), tensorStage (fun m q v -> let m, c, _ = actuationOnly m (Random 1) in Actuation.compute m c q v) 1.0
      yield (Stage.ContactLaw, reference), tensorPair PairKind.ProbePlane
      yield (Stage.Solve, reference), tensorSolve
      yield (Stage.Integrate, reference), tensorStage (fun m q v -> Integrate.integratePos m.topology q v 0.01) 1.0
      yield (Stage.Equality, generic), EqualityTests.kernelContract
      yield (Stage.Equality, reference), tensorEquality ]

[<Tests>]
let tests =
    testList "Physics.StageContracts" [
        test "every (stage, form) of StageForms.table has exactly one contract, and every contract a listed form" {
            let listed = [ for stage, forms in StageForms.table do for f in forms -> stage, f ] |> Set.ofList
            let covered = contracts |> List.map fst
            Expect.equal (covered |> List.distinct |> List.length) covered.Length "one contract per (stage, form)"
            for key in listed do
                Expect.isTrue (List.contains key covered) (sprintf "%A has no contract: add one to StageContractTests.contracts" key)
            for key in covered do
                Expect.isTrue (Set.contains key listed) (sprintf "a contract for %A, which StageForms.table does not list" key)
        }
        test "every contact pair kind the dispatch table can return has its stage in StageForms.table" {
            for (a, b), kind in PairDispatch.table do
                if kind <> PairKind.NoContact && kind <> PairKind.Unsupported then
                    Expect.isNonEmpty (StageForms.formsOf (Stage.ContactPair kind)) (sprintf "%A-%A (%A) has no stage row" a b kind)
        }
        test "regression: a sphere whose centre is inside a box is pushed out on the fast path as on the Tensor path" {
            GsSetup.ensure64 ()
            sphereInsideBox ()
        }
        for (stage, form), check in contracts do
            test (sprintf "%A: %A" stage form) {
                GsSetup.ensure64 ()
                check ()
            }
    ]
