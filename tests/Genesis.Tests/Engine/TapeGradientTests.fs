module Genesis.Tests.Engine.TapeGradientTests

open System
open Expecto
open Genesis
open Genesis.Physics
open Genesis.Tests

/// d op / d operand by the scalar tape (one reverse sweep).
let private tapeDerivative (f: TapeReal[] -> TapeReal) (x: float[]) =
    let tape = ScalarTape.Current
    tape.Clear()
    let vars = x |> Array.map (fun v -> TapeReal.Variable v)
    let y = f vars
    tape.ResetAdjoints()
    tape.Seed(y.id, 1.0)
    tape.Sweep()
    let g = vars |> Array.map (fun v -> tape.Adjoint v.id)
    tape.Clear()
    y.v, g

/// The same function on floats, differentiated by central differences.
let private fdDerivative (f: float[] -> float) (x: float[]) =
    x |> Array.mapi (fun i _ ->
        let h = 1e-6 * max 1.0 (abs x[i])
        let xp, xm = Array.copy x, Array.copy x
        xp[i] <- xp[i] + h
        xm[i] <- xm[i] - h
        (f xp - f xm) / (2.0 * h))

/// Checks one function written once, generic over float and TapeReal, at x: the values agree and the tape's
/// derivative matches central differences.
let inline private check (name: string) ([<InlineIfLambda>] ft: TapeReal[] -> TapeReal) ([<InlineIfLambda>] ff: float[] -> float) (x: float[]) =
    let v, g = tapeDerivative ft x
    Expect.floatClose { absolute = 1e-15; relative = 1e-15 } v (ff x) (name + ": value")
    let fd = fdDerivative ff x
    Array.iteri2 (fun i a b -> Expect.floatClose { absolute = 1e-8; relative = 1e-6 } a b (sprintf "%s: d/dx%d" name i)) g fd

/// A robot's gradient of a loss after a controlled rollout, with respect to its initial velocity and the controls.
let private rolloutGrads (build: Scene -> RigidEntity) (opts: int -> SimOptions) (steps: int) (setup: RigidEntity -> unit)
                         (control: RigidEntity -> Tensor -> unit) (controls0: float) (checkpointEvery: int) =
    let scene = Scene(opts checkpointEvery)
    let robot = build scene
    scene.build()
    setup robot
    let n = robot.nDofs
    let rnd = Random(7)
    let init = gs.tensor(Array.init n (fun _ -> 0.2 * (rnd.NextDouble() - 0.5)), requiresGrad = true)
    let controlsLeaf = gs.tensor([ for t in 0 .. steps - 1 -> [ for j in 0 .. n - 1 -> controls0 * sin (0.37 * float (t * n + j)) ] ], requiresGrad = true)
    robot.setDofsVelocity(init)
    for t in 0 .. steps - 1 do
        control robot controlsLeaf.[t]
        scene.step()
    let loss = robot.getDofsPosition().pow(2.0).sum() + robot.getDofsVelocity().pow(2.0).sum() * 0.1 + robot.getPos().pow(2.0).sum()
    loss.backward()
    Array.append (init.grad.toFloatArray()) (controlsLeaf.grad.toFloatArray()), scene.recordedSegments

/// Checkpointed (segments differentiated on the scalar tape) against fully recorded (Tensor path) gradients.
let private sameAsRecorded (name: string) build opts steps setup control controls0 =
    GsSetup.ensure64 ()
    let taped, segments = rolloutGrads build opts steps setup control controls0 5
    let recorded, _ = rolloutGrads build opts steps setup control controls0 1
    Expect.isGreaterThan segments 1 (name + ": several checkpoint segments")
    Expect.isTrue (taped |> Array.forall Double.IsFinite) (name + ": finite")
    Expect.isGreaterThan (taped |> Array.map abs |> Array.max) 1e-6 (name + ": non-zero")
    Array.iteri2 (fun i a b -> Expect.floatClose { absolute = 1e-9; relative = 1e-8 } a b (sprintf "%s: gradient %d" name i)) taped recorded

/// Gradients of a rollout loss with respect to kp, kv, damping, the force range (each a leaf of the robot's dofs),
/// gravity, the link masses and the contact parameters, with checkpoint segments of k steps (1: fully recorded).
let private parameterGrads (build: Scene -> RigidEntity) (dt: float) (steps: int) (q0: float list) (kp0: float) (kv0: float)
                           (range: float) (control: RigidEntity -> Tensor -> unit) (controls0: float) (k: int) =
    let scene = Scene(SimOptions(dt = dt, requiresGrad = true, checkpointEvery = k))
    let robot = build scene
    scene.build()
    let n = robot.nDofs
    if not q0.IsEmpty then robot.setDofsPosition(gs.tensor(q0))
    let kp = gs.full([ n ], kp0, requiresGrad = true)
    let kv = gs.full([ n ], kv0, requiresGrad = true)
    let damping = gs.full([ n ], 0.3, requiresGrad = true)
    let lo = gs.full([ n ], -range, requiresGrad = true)
    let hi = gs.full([ n ], range, requiresGrad = true)
    let gravity = gs.tensor([ 0.3; -0.2; -9.81 ], requiresGrad = true)
    let mass = gs.tensor(robot.getLinksMass().toFloatArray() |> Array.mapi (fun i m -> m * (1.0 + 0.05 * float (i % 3))), requiresGrad = true)
    robot.setLinksMass(mass)
    let stiffness, contactDamping, friction = gs.tensor(2.5e4, requiresGrad = true), gs.tensor(250.0, requiresGrad = true), gs.tensor(0.8, requiresGrad = true)
    scene.setContactParams(stiffness = stiffness, damping = contactDamping, friction = friction)
    robot.setDofsKp(kp)
    robot.setDofsKv(kv)
    robot.setDofsDamping(damping)
    robot.setDofsForceRange(lo, hi)
    scene.setGravity(gravity)
    for t in 0 .. steps - 1 do
        control robot (gs.tensor([ for j in 0 .. n - 1 -> controls0 * sin (0.37 * float (t * n + j)) ]))
        scene.step()
    let loss = robot.getDofsPosition().pow(2.0).sum() + robot.getDofsVelocity().pow(2.0).sum() * 0.1 + robot.getPos().pow(2.0).sum()
    loss.backward()
    // a leaf the loss does not reach (contact parameters without contact) has no grad: zeros
    [ kp; kv; damping; lo; hi; gravity; mass; stiffness; contactDamping; friction ]
    |> List.map (fun t -> if isNull (box t.grad) then Array.zeroCreate t.numel else t.grad.toFloatArray()), scene.recordedSegments

/// Parameter gradients through checkpoint segments (fast path) against the fully recorded Tensor path (1e-8).
let private sameParameterGrads (name: string) build dt steps q0 kp0 kv0 range control controls0 =
    GsSetup.ensure64 ()
    let taped, segments = parameterGrads build dt steps q0 kp0 kv0 range control controls0 5
    let recorded, _ = parameterGrads build dt steps q0 kp0 kv0 range control controls0 1
    Expect.isGreaterThan segments 1 (name + ": several checkpoint segments")
    let names = [ "kp"; "kv"; "damping"; "force lower"; "force upper"; "gravity"; "link masses"; "contact stiffness"; "contact damping"; "friction" ]
    List.zip3 names taped recorded |> List.iter (fun (what, a, b) ->
        Expect.isTrue (a |> Array.forall Double.IsFinite) (sprintf "%s: %s finite" name what)
        Array.iteri2 (fun i x y -> Expect.floatClose { absolute = 1e-9; relative = 1e-8 } x y (sprintf "%s: d/d%s[%d]" name what i)) a b)
    taped

[<Tests>]
let tests =
    testList "Engine.TapeGradients" [
        test "every TapeReal operation: value as on floats, derivative equal to central differences" {
            let x = [| 0.7; -1.3 |]
            check "add" (fun v -> v[0] + v[1]) (fun v -> v[0] + v[1]) x
            check "sub" (fun v -> v[0] - v[1]) (fun v -> v[0] - v[1]) x
            check "mul" (fun v -> v[0] * v[1]) (fun v -> v[0] * v[1]) x
            check "div" (fun v -> v[0] / v[1]) (fun v -> v[0] / v[1]) x
            check "neg" (fun v -> -v[0]) (fun v -> -v[0]) x
            check "sqrt" (fun v -> sqrt v[0]) (fun v -> sqrt v[0]) x
            check "sin" (fun v -> sin v[1]) (fun v -> sin v[1]) x
            check "cos" (fun v -> cos v[1]) (fun v -> cos v[1]) x
            check "exp" (fun v -> exp v[1]) (fun v -> exp v[1]) x
            check "log" (fun v -> log v[0]) (fun v -> log v[0]) x
            check "abs" (fun v -> abs v[1]) (fun v -> abs v[1]) x
            check "atan2" (fun v -> atan2 v[0] v[1]) (fun v -> atan2 v[0] v[1]) x
            check "softplus" (fun v -> Real.softplus v[1]) (fun v -> Real.softplus v[1]) x
            check "sigmoid" (fun v -> Real.sigmoid v[0]) (fun v -> Real.sigmoid v[0]) x
            check "relu" (fun v -> Real.relu v[0]) (fun v -> Real.relu v[0]) x
            check "tmax" (fun v -> Real.tmax v[0] v[1]) (fun v -> Real.tmax v[0] v[1]) x
            check "dot3 (one entry; strided operands, a constant factor)"
                (fun v -> Real.dot3 [| v[0]; Real.lift 9.0; v[1]; Real.lift 9.0; v[0] * v[1] |] 0 2 [| v[1]; Real.lift 0.5; v[0] |] 0 1)
                (fun v -> Real.dot3 [| v[0]; 9.0; v[1]; 9.0; v[0] * v[1] |] 0 2 [| v[1]; 0.5; v[0] |] 0 1) x
            check "dot6 (one entry; repeated operands)"
                (fun v -> Real.dot6 [| v[0]; v[1]; v[0]; Real.lift 2.0; v[1]; v[0] |] 0 [| v[1]; v[1]; v[0]; v[0]; Real.lift -1.0; sin v[1] |] 0)
                (fun v -> Real.dot6 [| v[0]; v[1]; v[0]; 2.0; v[1]; v[0] |] 0 [| v[1]; v[1]; v[0]; v[0]; -1.0; sin v[1] |] 0) x
            check "a composite (shared subexpressions, constants)" (fun v -> sin (v[0] * v[1]) / sqrt (v[0] * v[0] + Real.lift 2.0) - v[1] * v[1] * Real.lift 0.5)
                (fun v -> sin (v[0] * v[1]) / sqrt (v[0] * v[0] + Real.lift 2.0) - v[1] * v[1] * Real.lift 0.5) x
        }
        test "operations on constants record nothing; a zero-initialised TapeReal is the constant 0" {
            let tape = ScalarTape.Current
            tape.Clear()
            let c = TapeReal.Const 2.0 * TapeReal.Const 3.0 + sin (TapeReal.Const 1.0)
            Expect.equal tape.Count 0 "no entries for constants"
            Expect.equal c.id 0 "a constant result"
            let z: TapeReal[] = Array.zeroCreate 1
            Expect.equal z[0].id 0 "default is a constant"
            let x = TapeReal.Variable 1.5
            let y = x * TapeReal.Const 2.0 + z[0]
            Expect.equal tape.Count 3 "leaf, product, sum"
            Expect.floatClose Accuracy.veryHigh y.v 3.0 "value"
            tape.Clear()
        }
        test "a block (hand-written adjoint) between recorded entries: the sweep calls it once its outputs are final" {
            let tape = ScalarTape.Current
            tape.Clear()
            let x = TapeReal.Variable 0.8
            let y = TapeReal.Variable -1.1
            let u = x * y
            // block: (p, q) = (u^2, u + y), written by hand
            let outIds = Array.zeroCreate 2
            let calls = ref 0
            let block =
                { new TapeBlock() with
                    member _.Backward(adj) =
                        calls.Value <- calls.Value + 1
                        let pb, qb = adj[outIds[0] - 1], adj[outIds[1] - 1]
                        adj[u.id - 1] <- adj[u.id - 1] + 2.0 * u.v * pb + qb
                        adj[y.id - 1] <- adj[y.id - 1] + qb }
            tape.Block block
            outIds[0] <- tape.Leaf()
            outIds[1] <- tape.Leaf()
            let p, q = TapeReal(u.v * u.v, outIds[0]), TapeReal(u.v + y.v, outIds[1])
            let z = p * q + sin p
            tape.ResetAdjoints()
            tape.Seed(z.id, 1.0)
            tape.Sweep()
            let f (a: float) (b: float) = let uu = a * b in let pp, qq = uu * uu, uu + b in pp * qq + sin pp
            let fd = fdDerivative (fun v -> f v[0] v[1]) [| 0.8; -1.1 |]
            Expect.equal calls.Value 1 "Backward called once"
            Expect.floatClose { absolute = 1e-8; relative = 1e-6 } (tape.Adjoint x.id) fd[0] "dz/dx"
            Expect.floatClose { absolute = 1e-8; relative = 1e-6 } (tape.Adjoint y.id) fd[1] "dz/dy"
            tape.Clear()
        }
        test "quadruped in ground contact under position targets: taped segments = recorded Tensor path" {
            let build (scene: Scene) =
                scene.addEntity(Morphs.Plane()) |> ignore
                scene.addEntity(Morphs.URDF(GsSetup.asset "go2/go2.urdf", pos = [| 0.0; 0.0; 0.3 |]))
            let opts k = SimOptions(dt = 0.005, requiresGrad = true, checkpointEvery = k)
            let setup (robot: RigidEntity) = robot.setDofsKp(gs.full([ robot.nDofs ], 20.0))
            let control (robot: RigidEntity) (c: Tensor) = robot.controlDofsPosition(c)
            sameAsRecorded "go2" build opts 30 setup control 0.3
        }
        test "two-link arm with RK4 and two substeps under force control: taped segments = recorded" {
            let build (scene: Scene) = scene.addEntity(Morphs.URDF(GsSetup.asset "two_link_arm/two_link_arm.urdf", fixedBase = true))
            let opts k = SimOptions(dt = 0.01, substeps = 2, integrator = Integrator.RK4, requiresGrad = true, checkpointEvery = k)
            let setup (robot: RigidEntity) = robot.setDofsPosition(gs.tensor([ 0.4; -0.7 ]))
            let control (robot: RigidEntity) (c: Tensor) = robot.controlDofsForce(c)
            sameAsRecorded "two-link arm" build opts 20 setup control 0.5
        }
        test "two-link arm with Euler and three substeps under position control: taped segments = recorded" {
            let build (scene: Scene) = scene.addEntity(Morphs.URDF(GsSetup.asset "two_link_arm/two_link_arm.urdf", fixedBase = true))
            let opts k = SimOptions(dt = 0.01, substeps = 3, requiresGrad = true, checkpointEvery = k)
            let setup (robot: RigidEntity) =
                robot.setDofsPosition(gs.tensor([ 0.4; -0.7 ]))
                robot.setDofsKp(gs.full([ 2 ], 30.0))
            let control (robot: RigidEntity) (c: Tensor) = robot.controlDofsPosition(c)
            sameAsRecorded "two-link arm, substeps" build opts 20 setup control 0.5
        }
        test "free box falling onto a plane (free joint, box corners in contact), force control: taped = recorded" {
            let build (scene: Scene) =
                scene.addEntity(Morphs.Plane()) |> ignore
                scene.addEntity(Morphs.Box([| 0.2; 0.1; 0.1 |], pos = [| 0.0; 0.0; 0.06 |], euler = [| 5.0; 3.0; 0.0 |]))
            let opts k = SimOptions(dt = 0.005, requiresGrad = true, checkpointEvery = k)
            let control (robot: RigidEntity) (c: Tensor) = robot.controlDofsForce(c)
            sameAsRecorded "box" build opts 25 ignore control 1.0
        }
        test "free box on a tilted plane (a normal with x, y and z components), force control: taped = recorded" {
            let build (scene: Scene) =
                let half = 0.1
                let sn = sin half / sqrt 2.0
                scene.addEntity(Morphs.Plane(quat = [| cos half; sn; sn; 0.0 |])) |> ignore
                scene.addEntity(Morphs.Box([| 0.2; 0.1; 0.1 |], pos = [| 0.0; 0.0; 0.06 |], euler = [| 4.0; -2.0; 10.0 |]))
            let opts k = SimOptions(dt = 0.005, requiresGrad = true, checkpointEvery = k)
            let control (robot: RigidEntity) (c: Tensor) = robot.controlDofsForce(c)
            sameAsRecorded "tilted plane" build opts 25 ignore control 1.0
        }
        test "cart-pole (a slide joint carrying a hinge), force control: taped segments = recorded" {
            let build (scene: Scene) = scene.addEntity(Morphs.URDF(GsSetup.asset "cartpole/cartpole.urdf", fixedBase = true))
            let opts k = SimOptions(dt = 0.01, requiresGrad = true, checkpointEvery = k)
            let setup (robot: RigidEntity) = robot.setDofsPosition(gs.tensor([ 0.1; 0.3 ]))
            let control (robot: RigidEntity) (c: Tensor) = robot.controlDofsForce(c)
            sameAsRecorded "cart-pole" build opts 20 setup control 0.5
        }
        test "a free box landing on another free box (contact between two moving bodies), force control: taped = recorded" {
            let build (scene: Scene) =
                scene.addEntity(Morphs.Plane()) |> ignore
                scene.addEntity(Morphs.Box([| 0.3; 0.3; 0.1 |], pos = [| 0.0; 0.0; 0.05 |])) |> ignore
                scene.addEntity(Morphs.Box([| 0.1; 0.1; 0.1 |], pos = [| 0.01; 0.0; 0.154 |], euler = [| 3.0; 2.0; 0.0 |]))
            let opts k = SimOptions(dt = 0.005, requiresGrad = true, checkpointEvery = k)
            let control (robot: RigidEntity) (c: Tensor) = robot.controlDofsForce(c)
            sameAsRecorded "stacked boxes" build opts 25 ignore control 0.5
        }
        test "iiwa14 under velocity control saturating its force range, joints at an upper and a lower limit: taped = recorded" {
            let build (scene: Scene) = scene.addEntity(Morphs.URDF(GsSetup.asset "kuka_iiwa/iiwa14_spheres_collision.urdf", fixedBase = true))
            let opts k = SimOptions(dt = 0.01, requiresGrad = true, checkpointEvery = k)
            let setup (robot: RigidEntity) =
                robot.setDofsPosition(gs.tensor([ 0.1; 2.0944; -0.2; -2.0944; 0.0; 0.2; 0.1 ]))
                robot.setDofsKv(gs.full([ 7 ], 50.0))
                robot.setDofsForceRange(gs.full([ 7 ], -20.0), gs.full([ 7 ], 20.0))
            let control (robot: RigidEntity) (c: Tensor) = robot.controlDofsVelocity(c)
            sameAsRecorded "iiwa14 velocity" build opts 20 setup control 1.0
        }
        test "ball joint with a spring (quaternion spring), force control: taped segments = recorded" {
            let xml = IO.File.ReadAllText(GsSetup.asset "mjcf/one_ball_joint.xml").Replace("stiffness=\"0\"", "stiffness=\"0.5\"")
            let path = IO.Path.Combine(IO.Path.GetTempPath(), sprintf "ball_spring_%d.xml" Environment.ProcessId)
            IO.File.WriteAllText(path, xml)
            try
                let build (scene: Scene) = scene.addEntity(Morphs.MJCF(path))
                let opts k = SimOptions(dt = 0.01, requiresGrad = true, checkpointEvery = k)
                let control (robot: RigidEntity) (c: Tensor) = robot.controlDofsForce(c)
                sameAsRecorded "ball spring" build opts 20 ignore control 0.05
            finally IO.File.Delete path
        }
        test "parameter gradients (kp, kv, damping, force range, gravity, link masses) through segments = recorded: iiwa14, PD position control" {
            let build (scene: Scene) = scene.addEntity(Morphs.URDF(GsSetup.asset "kuka_iiwa/iiwa14_spheres_collision.urdf", fixedBase = true))
            let control (robot: RigidEntity) (c: Tensor) = robot.controlDofsPosition(c)
            let g = sameParameterGrads "iiwa14" build 0.01 20 [ 0.1; 0.5; -0.2; -1.0; 0.0; 0.2; 0.1 ] 200.0 5.0 40.0 control 0.6
            // some forces saturate, some do not: both force-range sides and kp receive gradient
            Expect.isTrue (g[0] |> Array.exists (fun x -> abs x > 1e-9)) "some kp gradient"
            Expect.isTrue (g[3] |> Array.exists (fun x -> abs x > 1e-9) || g[4] |> Array.exists (fun x -> abs x > 1e-9)) "some force-range gradient"
        }
        test "parameter gradients through segments = recorded: quadruped in ground contact, velocity control" {
            let build (scene: Scene) =
                scene.addEntity(Morphs.Plane()) |> ignore
                scene.addEntity(Morphs.URDF(GsSetup.asset "go2/go2.urdf", pos = [| 0.0; 0.0; 0.3 |]))
            let control (robot: RigidEntity) (c: Tensor) = robot.controlDofsVelocity(c)
            let g = sameParameterGrads "go2" build 0.005 20 [] 20.0 2.0 15.0 control 1.0
            for i, what in [ 7, "stiffness"; 8, "damping"; 9, "friction" ] do
                Expect.isGreaterThan (abs g.[i].[0]) 1e-9 (sprintf "some contact %s gradient" what)
        }
        test "contact parameter gradients through segments = recorded: a free box landing on another (pairs on the tape)" {
            let build (scene: Scene) =
                scene.addEntity(Morphs.Plane()) |> ignore
                scene.addEntity(Morphs.Box([| 0.3; 0.3; 0.1 |], pos = [| 0.0; 0.0; 0.05 |])) |> ignore
                scene.addEntity(Morphs.Box([| 0.1; 0.1; 0.1 |], pos = [| 0.01; 0.0; 0.154 |], euler = [| 3.0; 2.0; 0.0 |]))
            let control (robot: RigidEntity) (c: Tensor) = robot.controlDofsForce(c)
            let g = sameParameterGrads "stacked boxes" build 0.005 20 [] 0.0 0.0 1e3 control 0.5
            for i, what in [ 7, "stiffness"; 8, "damping"; 9, "friction" ] do
                Expect.isGreaterThan (abs g.[i].[0]) 1e-9 (sprintf "some contact %s gradient" what)
        }
        test "ball joint (one_ball_joint.xml), force control: taped segments = recorded" {
            let build (scene: Scene) = scene.addEntity(Morphs.MJCF(GsSetup.asset "mjcf/one_ball_joint.xml"))
            let opts k = SimOptions(dt = 0.01, requiresGrad = true, checkpointEvery = k)
            let control (robot: RigidEntity) (c: Tensor) = robot.controlDofsForce(c)
            sameAsRecorded "ball joint" build opts 20 ignore control 0.05
        }
        test "humanoid (free base, bodies with two and three hinges, ground contact): taped segments = recorded" {
            let build (scene: Scene) = scene.addEntity(Morphs.MJCF(GsSetup.asset "mjcf/humanoid.xml"))
            let opts k = SimOptions(dt = 0.005, requiresGrad = true, checkpointEvery = k)
            let control (robot: RigidEntity) (c: Tensor) = robot.controlDofsForce(c)
            sameAsRecorded "humanoid" build opts 10 ignore control 2.0
        }
        test "batched envs with one shared control row: the taped gradient sums over envs as recorded" {
            GsSetup.ensure64 ()
            let grads k =
                let scene = Scene(SimOptions(dt = 0.01, requiresGrad = true, checkpointEvery = k))
                let robot = scene.addEntity(Morphs.URDF(GsSetup.asset "acrobot/Acrobot.urdf", fixedBase = true))
                scene.build(nEnvs = 3)
                robot.setDofsPosition(gs.tensor([ [ 0.1; 0.2 ]; [ -0.3; 0.1 ]; [ 0.5; -0.4 ] ]))
                let torque = gs.tensor([ 0.3; -0.2 ], requiresGrad = true)
                for _ in 1 .. 12 do
                    robot.controlDofsForce(torque)
                    scene.step()
                robot.getDofsVelocity().pow(2.0).sum().backward()
                torque.grad.toFloatArray()
            let taped, recorded = grads 4, grads 1
            Array.iteri2 (fun i a b -> Expect.floatClose { absolute = 1e-10; relative = 1e-9 } a b (sprintf "torque %d" i)) taped recorded
            Expect.isGreaterThan (abs taped[0]) 1e-6 "non-zero"
        }
    ]
