module Genesis.Tests.Engine.GradientTests

open System
open Expecto
open Genesis
open Genesis.Physics
open Genesis.Tests

/// Tolerance for AD vs central finite differences (float64, h = 1e-6).
let private gradTol = 1e-6

let private armLoss (checkpointEvery: int) (nSteps: int) (init: Tensor) (controls: Tensor) =
    let scene = Scene(SimOptions(dt = 0.01, requiresGrad = true, checkpointEvery = checkpointEvery))
    let robot = scene.addEntity(Morphs.URDF(GsSetup.asset "two_link_arm/two_link_arm.urdf", fixedBase = true))
    scene.build()
    robot.setDofsPosition(init)
    for t in 0 .. nSteps - 1 do
        robot.controlDofsForce(controls.[t])
        scene.step()
    (robot.getLink("arm2").getPos() - gs.tensor([ 0.4; 0.2; -0.6 ])).pow(2.0).sum() + robot.getDofsVelocity().pow(2.0).sum() * 0.1

let private freeBody () =
    let body =
        { name = "brick"; parent = -1; pos = [| 0.0; 0.0; 1.0 |]; quat = [| 1.0; 0.0; 0.0; 0.0 |]; mass = 2.0
          ipos = [| 0.05; -0.02; 0.01 |]; inertia = [| 0.1; 0.01; 0.0; 0.01; 0.2; 0.02; 0.0; 0.02; 0.35 |]
          joints = [| JointSpec.create "free" Free |]; geoms = [||]; visuals = [||] }
    Model.build [| { name = "brick"; bodies = [| body |]; actuators = [||]; sites = [||]; tendons = [||]; equalities = [||]; options = OptionSpec.defaults; rootIsWorld = false; visualWarnings = [||] } |] DType.Float64

let private rolloutFn (m: Model) (sp: SimParams) (steps: int) (nq: int) (x: Tensor) =
    // x = [qpos | qvel] flattened; returns the final [qpos | qvel]
    let q, v = x.narrow(0, 0, nq).unsqueeze(0), x.narrow(0, nq, m.topology.nv).unsqueeze(0)
    let c = { modes = Array.create m.topology.nv ControlMode.Force; values = gs.zeros([ 1; m.topology.nv ]) }
    let mutable s = { qpos = q; qvel = v; time = 0.0 }
    for _ in 1 .. steps do s <- Physics.step m sp s c
    gs.cat([| s.qpos; s.qvel |], 1).squeeze(0)

let private checkJacobian (name: string) (f: Tensor -> Tensor) (x0: float[]) =
    let ad = gs.jacobian f (gs.tensor x0)
    let adRows = Array.init ad.shape[0] (fun i -> ad.[i].toFloatArray())
    let fd = GsSetup.fdJacobian (fun x -> (f (gs.tensor x)).toFloatArray()) x0 1e-6
    let err = GsSetup.relErr fd adRows
    Expect.isLessThan err gradTol (sprintf "%s: AD vs FD relative error" name)
    Expect.isGreaterThan (adRows |> Array.collect id |> Array.map abs |> Array.max) 1e-3 (sprintf "%s: derivative is not zero" name)

/// A projection of the go2's final state (base position and orientation, joint positions, all velocities) after a
/// PD-controlled rollout through the Scene, as a function of the base position, the initial velocities, the
/// position targets of every step (offsets from a standing pose) and kp: x = [pos(3) | vel(18) | targets(T x 12) |
/// kp(12)]. With `grad` the scene records checkpoint segments (the hand-written Euler adjoint) and the loss is
/// returned with its gradient.
let private go2Rollout (scene: Scene) (robot: RigidEntity) (steps: int) (x: float[]) (grad: bool) =
    scene.reset()
    let nj = 12
    let leaf (a: float[]) = if grad then gs.tensor(a, requiresGrad = true) else gs.tensor(a)
    let pos = leaf x[0 .. 2]
    let vel = leaf x[3 .. 20]
    let targets = gs.fromArray(x[21 .. 21 + steps * nj - 1], shape = [ steps; nj ], requiresGrad = grad)
    let kp = leaf x[21 + steps * nj ..]
    let joints = [| 6 .. 17 |]
    let stand = gs.tensor([ for _ in 0 .. 3 do yield! [ 0.0; 0.8; -1.5 ] ])
    robot.setDofsPosition(stand, dofsIdx = joints)
    robot.setPos(pos)
    robot.setDofsVelocity(vel)
    robot.setDofsKp(kp, dofsIdx = joints)
    robot.setDofsKv(gs.full([ nj ], 0.5), dofsIdx = joints)
    for t in 0 .. steps - 1 do
        robot.controlDofsPosition(stand + targets.[t], dofsIdx = joints)
        scene.step()
    let w (n: int) (seed: int) = gs.tensor(Array.init n (fun i -> sin (float (seed + 7 * i))))
    let loss =
        (robot.getPos() * w 3 1).sum() + (robot.getQuat() * w 4 2).sum() + (robot.getDofsPosition(joints) * w 12 3).sum()
        + (robot.getDofsVelocity() * w 18 4).sum() * 0.1
    if grad then
        loss.backward()
        loss.item(), Array.concat [ pos.grad.toFloatArray(); vel.grad.toFloatArray(); targets.grad.toFloatArray(); kp.grad.toFloatArray() ]
    else loss.item(), [||]

/// The go2's rollout gradient by the checkpointed fast path against central differences of the same rollout
/// without recording, with or without the ground (at z = 0.334 the standing feet touch it: their contact set does
/// not change within h).
let private floatingRobotAgainstFd (name: string) (ground: bool) (z: float) =
    GsSetup.ensure64 ()
    let steps = 12
    let make (grad: bool) =
        let scene = Scene(SimOptions(dt = 0.005, requiresGrad = grad, gravity = (if ground then [| 0.0; 0.0; -9.81 |] else [| 0.0; 0.0; -1.0 |])))
        if ground then scene.addEntity(Morphs.Plane()) |> ignore
        let robot = scene.addEntity(Morphs.URDF(GsSetup.asset "go2/go2.urdf", pos = [| 0.0; 0.0; z |]))
        scene.build()
        scene, robot
    let rnd = Random(11)
    let x0 =
        Array.concat [ [| 0.02; -0.01; z |]
                       Array.init 18 (fun _ -> 0.4 * (rnd.NextDouble() - 0.5))
                       Array.init (steps * 12) (fun i -> 0.3 * sin (0.37 * float i))
                       Array.init 12 (fun i -> 15.0 + float i) ]
    let gScene, gRobot = make true
    let _, ad = go2Rollout gScene gRobot steps x0 true
    let fScene, fRobot = make false
    // on the ground the contact stiffness makes d3 loss / dz3 large: central differences err by ~1e-5 relative at
    // h = 1e-6 (falling as h^2: 1e-3 at h = 1e-5, 1e-7 at h = 1e-7), so h = 1e-7 there
    let h = if ground then 1e-7 else 1e-6
    let fd = GsSetup.fdJacobian (fun x -> [| fst (go2Rollout fScene fRobot steps x false) |]) x0 h
    Expect.isGreaterThan gScene.recordedSegments 1 (name + ": several checkpoint segments")
    Expect.isTrue (ad |> Array.forall Double.IsFinite) (name + ": finite")
    Expect.isLessThan (GsSetup.relErr fd [| ad |]) gradTol (name + ": AD vs FD relative error")
    let nonZero (a: int) (n: int) = ad[a .. a + n - 1] |> Array.exists (fun g -> abs g > 1e-6)
    Expect.isTrue (nonZero 0 3 && nonZero 3 18 && nonZero 21 (steps * 12) && nonZero (21 + steps * 12) 12) (name + ": every input has gradient")

[<Tests>]
let tests =
    testList "Engine.Gradients" [
        test "two-link arm: backward grads of initial position and controls equal central FD" {
            GsSetup.ensure64 ()
            let nSteps = 20
            let init0 = [| 0.3; -0.2 |]
            let ctrl0 = Array.init (nSteps * 2) (fun i -> 0.3 * sin (float i))
            let init = gs.tensor(init0, requiresGrad = true)
            let controls = gs.fromArray(ctrl0, shape = [ nSteps; 2 ], requiresGrad = true)
            let loss = armLoss 0 nSteps init controls
            loss.backward()
            let lossAt (i: float[]) (c: float[]) = (armLoss 1 nSteps (gs.tensor i) (gs.fromArray(c, shape = [ nSteps; 2 ]))).item()
            let fdInit = GsSetup.fdJacobian (fun x -> [| lossAt x ctrl0 |]) init0 1e-6
            let fdCtrl = GsSetup.fdJacobian (fun c -> [| lossAt init0 c |]) ctrl0 1e-6
            Expect.isLessThan (GsSetup.relErr fdInit [| init.grad.toFloatArray() |]) gradTol "initialPos.grad"
            Expect.isLessThan (GsSetup.relErr fdCtrl [| controls.grad.reshape([ -1 ]).toFloatArray() |]) gradTol "controls.grad"
        }
        test "checkpointed and fully recorded rollouts give the same gradients (1e-10)" {
            GsSetup.ensure64 ()
            let grads k =
                let init = gs.tensor([ 0.2; 0.1 ], requiresGrad = true)
                let controls = gs.full([ 300; 2 ], 0.2, requiresGrad = true)
                (armLoss k 300 init controls).backward()
                Array.append (init.grad.toFloatArray()) (controls.grad.reshape([ -1 ]).toFloatArray())
            let full = grads 1
            for k in [ 0; 7; 50 ] do
                let g = grads k
                Array.iter2 (fun a b -> Expect.floatClose { absolute = 1e-10; relative = 1e-10 } b a (sprintf "checkpointEvery = %d" k)) full g
        }
        test "controls set every step do not cut checkpoint segments: k per segment, about 2 sqrt T automatically" {
            GsSetup.ensure64 ()
            let segments k =
                let scene = Scene(SimOptions(dt = 0.01, requiresGrad = true, checkpointEvery = k))
                let robot = scene.addEntity(Morphs.URDF(GsSetup.asset "two_link_arm/two_link_arm.urdf", fixedBase = true))
                scene.build()
                let controls = gs.full([ 100; 2 ], 0.2, requiresGrad = true)
                for t in 0 .. 99 do
                    robot.controlDofsForce(controls.[t])
                    scene.step()
                robot.getDofsPosition() |> ignore // closes the last segment
                scene.recordedSegments
            Expect.equal (segments 10) 10 "checkpointEvery = 10: 100 steps in 10 segments"
            let auto = segments 0
            // lengths ceil(sqrt(n + 1)) as the rollout grows: 100 steps in about 2 sqrt(100) segments
            Expect.isGreaterThanOrEqual auto 10 "automatic: at least sqrt T segments"
            Expect.isLessThanOrEqual auto 20 "automatic: at most 2 sqrt T segments"
        }
        test "pendulum-like arm: d(final state)/d(initial state) by jacobian equals FD" {
            GsSetup.ensure64 ()
            let spec = Urdf.load (GsSetup.asset "acrobot/Acrobot.urdf", fixedBase = true)
            let m = Model.build [| spec |] DType.Float64
            let sp = { SimParams.defaults with dt = 0.01; enableContact = false }
            checkJacobian "acrobot 30 steps" (rolloutFn m sp 30 2) [| 0.4; -0.3; 0.5; 0.2 |]
        }
        test "floating body in free space: d(final state)/d(initial state) equals FD" {
            GsSetup.ensure64 ()
            let m = freeBody ()
            let sp = { SimParams.defaults with dt = 0.01; enableContact = false }
            let q = [| 0.1; 0.2; 1.0; 0.9; 0.1; -0.3; 0.2 |]
            let n = sqrt (q[3 ..] |> Array.sumBy (fun v -> v * v))
            let q = Array.append q[.. 2] (q[3 ..] |> Array.map (fun v -> v / n))
            checkJacobian "free body 20 steps" (rolloutFn m sp 20 7) (Array.append q [| 0.3; -0.2; 0.5; 1.0; -2.0; 0.7 |])
        }
        test "forward mode through the simulator: jvp of a rollout equals FD" {
            GsSetup.ensure64 ()
            let spec = Urdf.load (GsSetup.asset "acrobot/Acrobot.urdf", fixedBase = true)
            let m = Model.build [| spec |] DType.Float64
            let sp = { SimParams.defaults with dt = 0.01; enableContact = false }
            let f = rolloutFn m sp 25 2
            let x0 = [| 0.4; -0.3; 0.5; 0.2 |]
            let v = [| 0.3; -0.7; 0.2; 0.5 |]
            let jv = (gs.jvp f (gs.tensor x0) (gs.tensor v)).toFloatArray()
            let h = 1e-6
            let fp = (f (gs.tensor (Array.map2 (fun a b -> a + h * b) x0 v))).toFloatArray()
            let fm = (f (gs.tensor (Array.map2 (fun a b -> a - h * b) x0 v))).toFloatArray()
            let fd = Array.map2 (fun a b -> (a - b) / (2.0 * h)) fp fm
            Expect.isLessThan (GsSetup.relErr [| fd |] [| jv |]) gradTol "jvp"
        }
        test "forward mode through a scene rollout: jvp w.r.t. the controls and the initial position equals FD" {
            GsSetup.ensure64 ()
            let nSteps = 12
            // final dof positions and velocities of the arm as a function of [initial position (2) | controls (T x 2)]
            let final (x: Tensor) =
                let scene = Scene(SimOptions(dt = 0.01, requiresGrad = true))
                let robot = scene.addEntity(Morphs.URDF(GsSetup.asset "two_link_arm/two_link_arm.urdf", fixedBase = true))
                scene.build()
                robot.setDofsPosition(x.narrow(0, 0, 2))
                let controls = x.narrow(0, 2, nSteps * 2).reshape([| nSteps; 2 |])
                for t in 0 .. nSteps - 1 do
                    robot.controlDofsForce(controls.[t])
                    scene.step()
                gs.cat([| robot.getDofsPosition(); robot.getDofsVelocity() |], 0).sceneless()
            let x0 = Array.append [| 0.3; -0.2 |] (Array.init (nSteps * 2) (fun i -> 0.4 * sin (float i)))
            let v = Array.init x0.Length (fun i -> cos (0.7 * float i))
            let jv = (gs.jvp final (gs.tensor x0) (gs.tensor v)).toFloatArray()
            let h = 1e-6
            let at (s: float) = (final (gs.tensor (Array.map2 (fun a b -> a + s * h * b) x0 v))).toFloatArray()
            let fd = Array.map2 (fun a b -> (a - b) / (2.0 * h)) (at 1.0) (at -1.0)
            Expect.isLessThan (GsSetup.relErr [| fd |] [| jv |]) gradTol "jvp through the scene"
            Expect.isGreaterThan (jv |> Array.map abs |> Array.max) 1e-3 "non-zero"
        }
        test "forward over reverse through a checkpointed scene rollout: hvp equals FD of the gradient" {
            GsSetup.ensure64 ()
            let loss (x: Tensor) = armLoss 0 15 x (gs.full([ 15; 2 ], 0.1))
            let x0 = [| 0.3; -0.2 |]
            let v = [| 0.6; -0.8 |]
            let hv = (gs.hvp loss (gs.tensor x0) (gs.tensor v)).toFloatArray()
            let h = 1e-5
            let g (x: float[]) = (gs.grad loss (gs.tensor x)).toFloatArray()
            let fd = Array.map2 (fun a b -> (a - b) / (2.0 * h)) (g (Array.map2 (fun a b -> a + h * b) x0 v)) (g (Array.map2 (fun a b -> a - h * b) x0 v))
            Expect.isLessThan (GsSetup.relErr [| fd |] [| hv |]) 1e-5 "hvp"
        }
        test "batched scenes: the gradient of env i equals the single-env gradient" {
            GsSetup.ensure64 ()
            let nSteps = 10
            let inits = [| [| 0.3; -0.2 |]; [| -0.5; 0.4 |]; [| 0.1; 0.9 |] |]
            let single (i: float[]) =
                let x = gs.tensor(i, requiresGrad = true)
                (armLoss 0 nSteps x (gs.full([ nSteps; 2 ], 0.2))).backward()
                x.grad.toFloatArray()
            let scene = Scene(SimOptions(dt = 0.01, requiresGrad = true))
            let robot = scene.addEntity(Morphs.URDF(GsSetup.asset "two_link_arm/two_link_arm.urdf", fixedBase = true))
            scene.build(nEnvs = 3)
            let x = gs.tensor(inits, requiresGrad = true)
            robot.setDofsPosition(x)
            for _ in 1 .. nSteps do
                robot.controlDofsForce(gs.full([ 2 ], 0.2))
                scene.step()
            let loss = ((robot.getLink("arm2").getPos() - gs.tensor([ 0.4; 0.2; -0.6 ])).pow(2.0).sum(1) + robot.getDofsVelocity().pow(2.0).sum(1) * 0.1).sum()
            loss.backward()
            for i in 0 .. 2 do
                let gi = x.grad.[i].toFloatArray()
                Array.iter2 (fun a b -> Expect.floatClose { absolute = 1e-12; relative = 1e-10 } a b (sprintf "env %d" i)) (single inits[i]) gi
        }
        test "model parameters receive gradients equal to FD: link mass, damping, kp, gravity, contact stiffness and friction" {
            GsSetup.ensure64 ()
            // arm: masses, damping, kp, gravity under PD control
            let armLossP (mass: Tensor) (damping: Tensor) (kp: Tensor) (gravity: Tensor) =
                let scene = Scene(SimOptions(dt = 0.01, requiresGrad = true))
                let robot = scene.addEntity(Morphs.URDF(GsSetup.asset "two_link_arm/two_link_arm.urdf", fixedBase = true))
                scene.build()
                robot.setLinksMass(mass, linksIdx = [| 1; 2 |])
                robot.setDofsDamping(damping)
                robot.setDofsKp(kp)
                scene.setGravity(gravity)
                for _ in 1 .. 15 do
                    robot.controlDofsPosition(gs.tensor([ 0.5; -0.3 ]))
                    scene.step()
                (robot.getLink("arm2").getPos() - gs.tensor([ 0.6; 0.1; -0.5 ])).pow(2.0).sum()
            let x0 = [| 1.2; 0.8; 0.3; 0.2; 80.0; 60.0; 0.5; -0.2; -9.0 |]
            let split (x: float[]) = gs.tensor(x[0 .. 1]), gs.tensor(x[2 .. 3]), gs.tensor(x[4 .. 5]), gs.tensor(x[6 .. 8])
            let leaves = [| gs.tensor(x0[0 .. 1], requiresGrad = true); gs.tensor(x0[2 .. 3], requiresGrad = true); gs.tensor(x0[4 .. 5], requiresGrad = true); gs.tensor(x0[6 .. 8], requiresGrad = true) |]
            (armLossP leaves[0] leaves[1] leaves[2] leaves[3]).backward()
            let ad = leaves |> Array.collect (fun l -> l.grad.toFloatArray())
            let fd = GsSetup.fdJacobian (fun x -> let a, b, c, d = split x in [| (armLossP a b c d).item() |]) x0 1e-6
            Expect.isLessThan (GsSetup.relErr fd [| ad |]) gradTol "arm parameters"
            Expect.isTrue (ad |> Array.forall (fun g -> abs g > 1e-9)) "every parameter gradient is non-zero"
            // sliding sphere: contact stiffness and friction
            let slideLoss (stiffness: Tensor) (friction: Tensor) =
                let scene = Scene(SimOptions(dt = 0.01, requiresGrad = true))
                scene.addEntity(Morphs.Plane()) |> ignore
                let ball = scene.addEntity(Morphs.Sphere(0.1, pos = [| 0.0; 0.0; 0.099 |]))
                scene.build()
                scene.setContactParams(stiffness = stiffness, friction = friction)
                ball.setDofsVelocity(gs.tensor([ 1.0; 0.0; 0.0; 0.0; 0.0; 0.0 ]))
                for _ in 1 .. 10 do scene.step()
                ball.getPos().pow(2.0).sum() + ball.getVel().pow(2.0).sum()
            let y0 = [| 2.0e4; 0.3 |]
            let k = gs.tensor(y0[0], requiresGrad = true)
            let mu = gs.tensor(y0[1], requiresGrad = true)
            (slideLoss k mu).backward()
            let fdc = GsSetup.fdJacobian (fun y -> [| (slideLoss (gs.tensor y[0]) (gs.tensor y[1])).item() |]) y0 1e-6
            let adc = [| k.grad.item(); mu.grad.item() |]
            for i in 0 .. 1 do
                Expect.floatClose { absolute = 1e-9; relative = 1e-5 } adc.[i] fdc.[0].[i] (sprintf "contact parameter %d" i)
            Expect.isGreaterThan (abs adc.[1]) 1e-3 "friction gradient is non-zero"
        }
        test "floating-base robot (go2) in free space, scene fast path: d(final state)/d(initial state, controls, kp) equals FD" {
            floatingRobotAgainstFd "go2 in free space" false 0.6
        }
        test "floating-base robot (go2) standing on the ground, scene fast path: d(final state)/d(initial state, controls, kp) equals FD" {
            floatingRobotAgainstFd "go2 on the ground" true 0.334
        }
        test "a 10,000-step rollout has finite gradients equal to the fully recorded ones (1e-10)" {
            GsSetup.ensure64 ()
            let steps = 10000
            let grads (k: int) =
                let scene = Scene(SimOptions(dt = 0.001, requiresGrad = true, checkpointEvery = k))
                let robot = scene.addEntity(Morphs.URDF(GsSetup.asset "acrobot/Acrobot.urdf", fixedBase = true))
                scene.build()
                let init = gs.tensor([ 0.3; -0.2 ], requiresGrad = true)
                let torque = gs.tensor([ 0.05; -0.02 ], requiresGrad = true)
                robot.setDofsPosition(init)
                robot.controlDofsForce(torque)
                for _ in 1 .. steps do scene.step()
                (robot.getDofsPosition().pow(2.0).sum() + robot.getDofsVelocity().pow(2.0).sum()).backward()
                Array.append (init.grad.toFloatArray()) (torque.grad.toFloatArray())
            let checkpointed = grads 0
            Expect.isTrue (checkpointed |> Array.forall Double.IsFinite) "finite"
            Expect.isGreaterThan (checkpointed |> Array.map abs |> Array.max) 1e-6 "non-zero"
            let full = grads 1
            Array.iter2 (fun a b -> Expect.floatClose { absolute = 1e-10; relative = 1e-10 } b a "checkpointed vs full") full checkpointed
        }
    ]
