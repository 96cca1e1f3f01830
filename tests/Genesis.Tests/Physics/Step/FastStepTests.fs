/// The array fast path (FastStep) against the Tensor path (Physics.step), which stays the reference: every asset and
/// the contact scenes, single and batched, Euler and RK4, every control mode.
module Genesis.Tests.Physics.FastStepTests

open System
open System.IO
open Expecto
open Genesis
open Genesis.Physics
open Genesis.Tests
open Genesis.Tests.Physics.MorphTestUtil

/// The fast path must reproduce the Tensor path to this, relative to max(1, the largest magnitude compared): both
/// assemble M + h C and the forces to rounding (1e-16 relative), and the solve amplifies that by the condition number.
let Tol = 1e-10

let private expectClose = PhysicsTestUtil.expectClose Tol

/// qpos and qvel of b envs around qpos0 (free positions shifted by up to 1 cm).
let private randomState (m: Model) (rnd: Random) (b: int) (posNoise: float) (velScale: float) =
    PhysicsTestUtil.randomStates 0.01 m rnd b posNoise velScale

/// The model with PD gains that are stable at dt = 0.01 (kp = 10 M_kk, kv = 2 M_kk at qpos0).
let private stableGains (m: Model) =
    let topo = m.topology
    let kin = Kinematics.compute m (gs.tensor(topo.qpos0).unsqueeze(0))
    let qM = (Dynamics.compute m kin (gs.zeros([ 1; topo.nv ]))).qM.squeeze(0)
    let diag = Array.init topo.nv (fun k -> qM.[k, k].item())
    { m with parameters = { m.parameters with kp = gs.tensor(diag |> Array.map ((*) 10.0)); kv = gs.tensor(diag |> Array.map ((*) 2.0)) } }

/// Dof k driven by force, position or velocity in turn, with random values.
let private mixedControl (m: Model) (rnd: Random) (b: int) =
    let nv = m.topology.nv
    { modes = Array.init nv (fun k -> match k % 3 with 0 -> ControlMode.Force | 1 -> ControlMode.Position | _ -> ControlMode.Velocity)
      values = gs.tensor(Array.init (b * nv) (fun _ -> rnd.NextDouble() - 0.5)).reshape([ b; nv ]) }

/// Along `steps` steps of the Tensor path from a state, the fast path's step from each state must give the Tensor
/// path's next state (one step each: chaotic contact scenes would amplify rounding over a chained rollout).
let private compareSteps (label: string) (m: Model) (sp: SimParams) (qpos: float[]) (qvel: float[]) (b: int) (control: Control) (steps: int) =
    let topo = m.topology
    let mutable reference = { qpos = gs.tensor(qpos).reshape([ b; topo.nq ]); qvel = gs.tensor(qvel).reshape([ b; topo.nv ]); time = 0.0 }
    for i in 1 .. steps do
        let fast = FastStep.step m sp reference control
        reference <- Physics.step m sp reference control
        expectClose (sprintf "%s, step %d, qpos" label i) (reference.qpos.toFloatArray()) (fast.qpos.toFloatArray())
        expectClose (sprintf "%s, step %d, qvel" label i) (reference.qvel.toFloatArray()) (fast.qvel.toFloatArray())
        Expect.floatClose Accuracy.veryHigh fast.time reference.time (sprintf "%s, step %d, time" label i)

let private euler = { SimParams.defaults with dt = 0.01 }
// explicit RK4 is unstable with the stiff joint-limit spring, as with penalty contact: no limits under RK4 here
let private rk4 = { SimParams.defaults with dt = 0.01; integrator = Integrator.RK4; substeps = 2; enableJointLimits = false }

/// Every asset (floating bases near the ground).
let private assetModels () =
    [ for file, fixedBase in urdfAssets do
          let pos = if fixedBase then [| 0.0; 0.0; 0.0 |] else [| 0.0; 0.0; 0.3 |]
          yield file, Urdf.load (asset file, pos = pos, fixedBase = fixedBase)
      for file in mjcfAssets () do
          yield file, Mjcf.load (asset file)
      if File.Exists debianHumanoid then
          yield "humanoid.xml (Debian)", Mjcf.load debianHumanoid ]

let private box (size: float[]) (pos: float[]) = Primitives.box (size, pos = pos, quat = [| 0.96; 0.1; -0.2; 0.15 |])

/// Contact scenes: every supported geom pair, near or in contact.
let private contactScenes () =
    let lying = [| cos (Math.PI / 4.0); sin (Math.PI / 4.0); 0.0; 0.0 |]
    [ "sphere on plane", [| Primitives.plane (); Primitives.sphere (0.1, pos = [| 0.0; 0.0; 0.098 |]) |]
      "box on plane", [| Primitives.plane (); box [| 0.2; 0.3; 0.4 |] [| 0.0; 0.0; 0.24 |] |]
      "capsule on plane", [| Primitives.plane (); Primitives.capsule (0.05, 0.3, pos = [| 0.0; 0.0; 0.049 |], quat = lying) |]
      "cylinder on plane", [| Primitives.plane (); Primitives.cylinder (0.1, 0.2, pos = [| 0.0; 0.0; 0.0995 |], quat = [| 0.999; 0.03; 0.0; 0.0 |]) |]
      "box stack", [| yield Primitives.plane (); for k in 0 .. 2 -> Primitives.box ([| 0.2; 0.2; 0.2 |], pos = [| 0.01 * float k; 0.0; 0.099 + 0.199 * float k |]) |]
      "small box resting on a large one (parallel faces)", [| Primitives.plane (); Primitives.box ([| 0.4; 0.4; 0.2 |], pos = [| 0.0; 0.0; 0.099 |]); Primitives.box ([| 0.2; 0.2; 0.1 |], pos = [| 0.03; 0.0; 0.248 |]) |]
      "tilted box on box", [| Primitives.plane (); Primitives.box ([| 0.4; 0.4; 0.2 |], pos = [| 0.0; 0.0; 0.099 |]); box [| 0.2; 0.2; 0.2 |] [| 0.05; 0.0; 0.33 |] |]
      "sphere on box", [| Primitives.plane (); Primitives.box ([| 0.4; 0.4; 0.2 |], pos = [| 0.0; 0.0; 0.1 |]); Primitives.sphere (0.1, pos = [| 0.05; 0.0; 0.298 |]) |]
      "capsule on box", [| Primitives.plane (); Primitives.box ([| 0.4; 0.4; 0.2 |], pos = [| 0.0; 0.0; 0.1 |]); Primitives.capsule (0.05, 0.2, pos = [| 0.0; 0.0; 0.249 |], quat = lying) |]
      "sphere on sphere", [| Primitives.plane (); Primitives.sphere (0.1, pos = [| 0.0; 0.0; 0.099 |]); Primitives.sphere (0.1, pos = [| 0.03; 0.0; 0.29 |]) |]
      "capsule across capsule", [| Primitives.plane (); Primitives.capsule (0.05, 0.3, pos = [| 0.0; 0.0; 0.05 |], quat = lying); Primitives.capsule (0.05, 0.3, pos = [| 0.0; 0.0; 0.149 |], quat = [| 0.5; 0.5; 0.5; 0.5 |]) |]
      "sphere on capsule", [| Primitives.plane (); Primitives.capsule (0.05, 0.3, pos = [| 0.0; 0.0; 0.05 |], quat = lying); Primitives.sphere (0.05, pos = [| 0.02; 0.05; 0.149 |]) |] ]

/// Poses and motion subspaces of both paths at a random state.
let private compareKinematics (label: string) (m: Model) (rnd: Random) =
    let qpos, _ = randomState m rnd 2 0.5 0.0
    let q = gs.tensor(qpos).reshape([ 2; m.topology.nq ])
    let reference = Kinematics.compute m q
    let fast = FastStep.kinematics m q
    expectClose (label + ": xpos") (reference.xpos.toFloatArray()) (fast.xpos.toFloatArray())
    expectClose (label + ": xmat") (reference.xmat.toFloatArray()) (fast.xmat.toFloatArray())
    expectClose (label + ": xipos") (reference.xipos.toFloatArray()) (fast.xipos.toFloatArray())
    expectClose (label + ": cdof") (reference.cdof.toFloatArray()) (fast.cdof.toFloatArray())

[<Tests>]
let tests =
    testList "Physics.FastStep" [
        testList "assets" [
            for label, spec in assetModels () do
                test (sprintf "%s: kinematics" label) {
                    GsSetup.ensure64 ()
                    compareKinematics label (Model.build [| spec |] DType.Float64) (Random 1)
                }
                test (sprintf "%s on a plane: Euler steps, one env" label) {
                    GsSetup.ensure64 ()
                    let m = stableGains (Model.build [| Primitives.plane (); spec |] DType.Float64)
                    let rnd = Random 2
                    let qpos, qvel = randomState m rnd 1 0.3 1.0
                    compareSteps label m euler qpos qvel 1 (mixedControl m rnd 1) 3
                }
                // explicit RK4 is unstable with the stiff penalty contact of these light links: no plane here
                test (sprintf "%s: RK4 steps, three envs" label) {
                    GsSetup.ensure64 ()
                    let m = stableGains (Model.build [| spec |] DType.Float64)
                    let rnd = Random 3
                    let qpos, qvel = randomState m rnd 3 0.3 1.0
                    compareSteps label m rk4 qpos qvel 3 (mixedControl m rnd 3) 2
                }
        ]
        testList "contact" [
            for label, specs in contactScenes () do
                test (sprintf "%s: Euler, one env" label) {
                    GsSetup.ensure64 ()
                    let m = stableGains (Model.build specs DType.Float64)
                    let rnd = Random 4
                    let qpos, qvel = randomState m rnd 1 0.02 0.5
                    compareSteps label m euler qpos qvel 1 (mixedControl m rnd 1) 10
                }
                test (sprintf "%s: Euler, four envs, friction override" label) {
                    GsSetup.ensure64 ()
                    let m0 = stableGains (Model.build specs DType.Float64)
                    let m = { m0 with parameters = { m0.parameters with friction = gs.tensor(0.7) } }
                    let rnd = Random 5
                    let qpos, qvel = randomState m rnd 4 0.02 0.5
                    compareSteps label m euler qpos qvel 4 (mixedControl m rnd 4) 5
                }
                test (sprintf "%s: RK4, two envs" label) {
                    GsSetup.ensure64 ()
                    let m = stableGains (Model.build specs DType.Float64)
                    let rnd = Random 6
                    let qpos, qvel = randomState m rnd 2 0.02 0.5
                    compareSteps label m rk4 qpos qvel 2 (mixedControl m rnd 2) 3
                }
        ]
        test "springs on ball and free joints (every dof stiff, away from the rest pose): Euler and RK4" {
            GsSetup.ensure64 ()
            let specs = [| Mjcf.load (asset "mjcf/one_ball_joint.xml"); Primitives.box ([| 0.1; 0.2; 0.3 |], pos = [| 1.0; 0.0; 1.0 |]) |]
            // PD gains and stiffness scaled to the light capsules' inertia (explicit RK4 is stable at dt = 0.01)
            let m0 = stableGains (Model.build specs DType.Float64)
            let nv = m0.topology.nv
            // stiffness 20 - 40 M_kk: oscillation periods of about 1 s, stable at dt = 0.01
            let m = { m0 with parameters = { m0.parameters with dofStiffness = (stableGains m0).parameters.kp * gs.tensor(Array.init nv (fun k -> 2.0 + 0.2 * float k)) } }
            Expect.isTrue (m.topology.jntType |> Array.contains Ball && m.topology.jntType |> Array.contains Free) "ball and free joints"
            let rnd = Random 8
            let qpos, qvel = randomState m rnd 2 0.4 1.0
            compareSteps "quaternion springs, Euler" m { euler with enableContact = false } qpos qvel 2 (mixedControl m rnd 2) 4
            compareSteps "quaternion springs, RK4" m { rk4 with enableContact = false } qpos qvel 2 (mixedControl m rnd 2) 3
            // the springs act: the same steps without them differ
            let free = { m with parameters = { m.parameters with dofStiffness = gs.zeros([ nv ]) } }
            let s0 = { qpos = gs.tensor(qpos).reshape([ 2; m.topology.nq ]); qvel = gs.tensor(qvel).reshape([ 2; nv ]); time = 0.0 }
            let ctl = { modes = Array.create nv ControlMode.Force; values = gs.zeros([ 2; nv ]) }
            let a, b = FastStep.step m euler s0 ctl, FastStep.step free euler s0 ctl
            Expect.isGreaterThan ((a.qvel - b.qvel).abs().max().item()) 1e-3 "springs change the step"
        }
        test "humanoid.xml landed on its own worldbody floor (no added plane): Euler steps" {
            GsSetup.ensure64 ()
            let m = stableGains (Model.build [| Mjcf.load (asset "mjcf/humanoid.xml") |] DType.Float64)
            let sp = { euler with dt = 0.005 }
            let free = { modes = Array.create m.topology.nv ControlMode.Force; values = gs.zeros([ 1; m.topology.nv ]) }
            let mutable s = { qpos = gs.tensor(m.topology.qpos0).unsqueeze(0); qvel = gs.zeros([ 1; m.topology.nv ]); time = 0.0 }
            for _ in 1 .. 300 do s <- FastStep.step m sp s free
            Expect.isGreaterThan ((s.qpos.toFloatArray())[2]) 0.05 "the torso rests on the floor"
            let rnd = Random 7
            compareSteps "humanoid on its floor" m sp (s.qpos.toFloatArray()) (s.qvel.toFloatArray()) 1 (mixedControl m rnd 1) 5
        }
        test "a batch large enough to run in parallel equals the Tensor path env by env" {
            GsSetup.ensure64 ()
            let m = stableGains (Model.build [| Primitives.plane (); Urdf.load (asset "go2/go2.urdf", pos = [| 0.0; 0.0; 0.3 |], fixedBase = false) |] DType.Float64)
            let rnd = Random 7
            let qpos, qvel = randomState m rnd 32 0.3 1.0
            compareSteps "go2 x 32" m euler qpos qvel 32 (mixedControl m rnd 32) 2
        }
        test "FastSim steps its arrays like FastStep.step" {
            GsSetup.ensure64 ()
            let m = Model.build [| Primitives.plane (); Primitives.box ([| 0.2; 0.2; 0.2 |], pos = [| 0.0; 0.0; 0.099 |]) |] DType.Float64
            let sim = FastSim(m, euler, 16)
            let rnd = Random 8
            let qpos, qvel = randomState m rnd 16 0.02 0.5
            Array.blit qpos 0 sim.qpos 0 qpos.Length
            Array.blit qvel 0 sim.qvel 0 qvel.Length
            let ctrl = Array.init (16 * 6) (fun _ -> rnd.NextDouble() - 0.5)
            Array.blit ctrl 0 sim.ctrl 0 ctrl.Length
            let control = { modes = Array.create 6 ControlMode.Force; values = gs.tensor(ctrl).reshape([ 16; 6 ]) }
            let mutable s = { qpos = gs.tensor(qpos).reshape([ 16; 7 ]); qvel = gs.tensor(qvel).reshape([ 16; 6 ]); time = 0.0 }
            for _ in 1 .. 5 do
                sim.step()
                s <- FastStep.step m euler s control
            Expect.equal sim.qpos (s.qpos.toFloatArray()) "qpos"
            Expect.equal sim.qvel (s.qvel.toFloatArray()) "qvel"
            Expect.floatClose Accuracy.veryHigh sim.time 0.05 "time"
        }
        test "a parameter tensor replaced in place is re-read" {
            GsSetup.ensure64 ()
            let m = Model.build [| Primitives.sphere (0.1, pos = [| 0.0; 0.0; 1.0 |]) |] DType.Float64
            let s = { qpos = gs.tensor(m.topology.qpos0).unsqueeze(0); qvel = gs.zeros([ 1; 6 ]); time = 0.0 }
            let c = { modes = Array.create 6 ControlMode.Force; values = gs.zeros([ 1; 6 ]) }
            let before = (FastStep.step m euler s c).qvel.toFloatArray()
            m.parameters.gravity.copy_(gs.tensor([ 0.0; 0.0; -1.0 ])) |> ignore
            let after = (FastStep.step m euler s c).qvel.toFloatArray()
            Expect.floatClose Accuracy.veryHigh before[2] -0.0981 "old gravity"
            Expect.floatClose Accuracy.veryHigh after[2] -0.01 "new gravity"
        }
        test "float32 models step in float64 inside and return float32 states near the Tensor path's" {
            GsSetup.ensure64 ()
            let m = Model.build [| Primitives.plane (); Primitives.box ([| 0.2; 0.2; 0.2 |], pos = [| 0.0; 0.0; 0.099 |]) |] DType.Float32
            let f32 (v: float[]) (shape: int list) = gs.tensor(v, dtype = DType.Float32).reshape(shape)
            let s = { qpos = f32 m.topology.qpos0 [ 1; 7 ]; qvel = f32 [| 0.1; 0.0; -0.2; 0.3; 0.0; 0.1 |] [ 1; 6 ]; time = 0.0 }
            let c = { modes = Array.create 6 ControlMode.Force; values = gs.zeros([ 1; 6 ], dtype = DType.Float32) }
            let reference = Physics.step m euler s c
            let fast = FastStep.step m euler s c
            Expect.equal (fast.qpos.dtype, fast.qvel.dtype) (DType.Float32, DType.Float32) "dtype kept"
            let r, f = reference.qvel.toFloatArray(), fast.qvel.toFloatArray()
            for i in 0 .. r.Length - 1 do
                Expect.isLessThan (abs (r[i] - f[i])) 1e-3 (sprintf "qvel %d: float32 Tensor path %g, fast path %g" i r[i] f[i])
        }
        test "a sphere on a cylinder (the convex pair) steps alike on both paths and is pushed apart" {
            GsSetup.ensure64 ()
            let m = Model.build [| Primitives.cylinder (0.1, 0.2, pos = [| 0.0; 0.0; 0.1 |]); Primitives.sphere (0.1, pos = [| 0.0; 0.0; 0.29 |]) |] DType.Float64
            let s = { qpos = gs.tensor(m.topology.qpos0).unsqueeze(0); qvel = gs.zeros([ 1; 12 ]); time = 0.0 }
            let c = { modes = Array.create 12 ControlMode.Force; values = gs.zeros([ 1; 12 ]) }
            let reference = Physics.step m euler s c
            let fast = FastStep.step m euler s c
            PhysicsTestUtil.expectClose 1e-10 "qvel" (reference.qvel.toFloatArray()) (fast.qvel.toFloatArray())
            Expect.isGreaterThan ((fast.qvel.toFloatArray())[8]) 0.0 "the sphere (dofs 6..11) is pushed up"
            Expect.isLessThan ((fast.qvel.toFloatArray())[2]) -0.1 "the cylinder is pushed down beyond gravity's 0.098 m/s"
        }
        test "Scene.step without gradients takes the fast path and matches Physics.step" {
            GsSetup.ensure64 ()
            let scene = Scene(SimOptions(dt = 0.01, requiresGrad = false))
            scene.addEntity(Morphs.Plane()) |> ignore
            let ball = scene.addEntity(Morphs.Sphere(0.1, pos = [| 0.0; 0.0; 0.2 |]))
            scene.build()
            ball.controlDofsForce(gs.tensor([ 1.0; 0.0; 0.0; 0.0; 0.0; 0.0 ]))
            let m = scene.model
            let c = { modes = Array.create 6 ControlMode.Force; values = gs.tensor([ [ 1.0; 0.0; 0.0; 0.0; 0.0; 0.0 ] ]) }
            let mutable s = { qpos = gs.tensor(m.topology.qpos0).unsqueeze(0); qvel = gs.zeros([ 1; 6 ]); time = 0.0 }
            for _ in 1 .. 30 do
                scene.step()
                s <- Physics.step m euler s c
            let st = scene.getState()
            expectClose "qpos" (s.qpos.squeeze(0).toFloatArray()) (st.qpos.toFloatArray())
            expectClose "qvel" (s.qvel.squeeze(0).toFloatArray()) (st.qvel.toFloatArray())
            expectClose "links" ((Kinematics.compute m s.qpos).xpos.[0, 1].toFloatArray()) (ball.getLinksPos().toFloatArray())
        }
        test "Scene.step with PD position control takes the fast path and matches Physics.step" {
            GsSetup.ensure64 ()
            let scene = Scene(SimOptions(dt = 0.01))
            let robot = scene.addEntity(Morphs.URDF(asset "kuka_iiwa/iiwa14_spheres_collision.urdf", fixedBase = true))
            scene.build()
            robot.controlDofsPosition(gs.full([ 7 ], 0.2))
            let pd = { modes = Array.create 7 ControlMode.Position; values = gs.full([ 1; 7 ], 0.2) }
            let mutable reference = { qpos = gs.tensor(scene.model.topology.qpos0).unsqueeze(0); qvel = gs.zeros([ 1; 7 ]); time = 0.0 }
            for _ in 1 .. 5 do
                scene.step()
                reference <- Physics.step scene.model (scene.simOptions.ToSimParams()) reference pd
            expectClose "Scene on the fast path" (reference.qpos.squeeze(0).toFloatArray()) (scene.getState().qpos.toFloatArray())
        }
        test "joint limits on the fast path equal the Tensor path's, beyond the range included" {
            GsSetup.ensure64 ()
            let arm = Model.build [| Urdf.load (asset "kuka_iiwa/iiwa14_spheres_collision.urdf", fixedBase = true) |] DType.Float64
            let topo = arm.topology
            // every joint pushed 0.05 rad beyond its upper limit, moving outwards
            let q = Array.init topo.nq (fun k -> match topo.jntRange[k] with Some(_, hi) -> hi + 0.05 | None -> 0.0)
            let control = { modes = Array.create 7 ControlMode.Force; values = gs.zeros([ 1; 7 ]) }
            compareSteps "iiwa14 beyond its limits" arm euler q (Array.create 7 1.0) 1 control 3
        }
    ]
