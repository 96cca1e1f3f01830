module Genesis.Tests.NN.ClosedLoopTests

open System
open Expecto
open Genesis
open Genesis.NN
open Genesis.Tests
open Genesis.Tests.TestUtil
open Genesis.Tests.NN.NNTestUtil

/// The functional rollout and the imperative loop run the same arithmetic in another order.
let private sameTol = 1e-10
/// Central differences (h = 1e-6) of a 20-step closed loop.
let private fdTol = 1e-6

let private cartpole (nEnvs: int) (integrator: Physics.Integrator) =
    let scene = Scene(SimOptions(dt = 0.02, requiresGrad = true, enableContact = false, integrator = integrator))
    let robot = scene.addEntity(Morphs.MJCF(GsSetup.asset "cartpole/cartpole_classic.xml"))
    scene.build(nEnvs = nEnvs)
    scene, robot

/// Start states [nEnvs; 2] (cart, pole angle) and velocities.
let private starts (n: int) =
    Array.init (2 * n) (fun i -> 0.05 * float (i % 5) - 0.1 + 0.03 * float i), Array.init (2 * n) (fun i -> 0.1 * sin (float i))

let private setStart (scene: Scene) (robot: RigidEntity) (q0: Tensor) (v0: Tensor) =
    scene.reset()
    robot.setDofsPosition(q0)
    robot.setDofsVelocity(v0)

/// Observation -> MLP -> force on the cart (10 N scale), the body of both loops.
let private policyOf (robot: RigidEntity) (net: Module) () =
    let obs = gs.cat([ robot.getDofsPosition(); robot.getDofsVelocity() ], 1)
    robot.controlDofsForce(net.forward(obs) * 10.0, dofsIdx = [| 0 |])

/// Running cost on the state after each step: pole angle, cart position and velocities, per env.
let private costOf (robot: RigidEntity) () =
    let q = robot.getDofsPosition()
    let v = robot.getDofsVelocity()
    (q * q * gs.tensor([| 0.1; 1.0 |])).sum(1) + (v * v).sum(1) * 0.01

/// Imperative loop: read state, set controls, step, accumulate the cost; detach every K steps when truncating.
let private imperative (scene: Scene) (robot: RigidEntity) (net: Module) (steps: int) (truncate: int option) =
    let mutable total = null
    for t in 0 .. steps - 1 do
        match truncate with
        | Some k when t > 0 && t % k = 0 -> scene.detachState()
        | _ -> ()
        policyOf robot net ()
        scene.step()
        let c = costOf robot ()
        total <- if isNull total then c else total + c
    total

[<Tests>]
let tests =
    testList "NN.ClosedLoop" [
        test "the functional rollout's gradient equals the imperative loop's (1e-10), with and without truncated windows, Euler and RK4" {
            GsSetup.ensure64 ()
            for integrator, truncate, segment in [ Physics.Integrator.Euler, None, None; Physics.Integrator.Euler, Some 7, None; Physics.Integrator.RK4, Some 5, Some 3 ] do
                let scene, robot = cartpole 3 integrator
                let net = NN.mlp([ 4; 6; 1 ], ActivationKind.Tanh)
                let qs, vs = starts 3
                let q0 = gs.fromArray(qs, shape = [ 3; 2 ], requiresGrad = true)
                let leaves = Array.append (net.parameters()) [| q0 |]
                let run (functional: bool) =
                    for l in leaves do l.zeroGrad()
                    setStart scene robot q0 (gs.tensor(vs).reshape([ 3; 2 ]))
                    let total =
                        if functional then scene.rollout(23, policyOf robot net, net.parameters(), cost = costOf robot, ?truncateEvery = truncate, ?segmentLength = segment)
                        else imperative scene robot net 23 truncate
                    let loss = total.sum() + (robot.getDofsPosition().pow(2.0)).sum()
                    loss.backward()
                    loss.item(), grads (Array.append (net.parameters()) [| q0 |])
                let lf, gf = run true
                let li, gi = run false
                let what = sprintf "%A truncate %A" integrator truncate
                Expect.floatClose { absolute = 0.0; relative = sameTol } lf li (what + ": loss")
                Expect.isLessThan (maxRel gi gf) sameTol (what + ": gradients")
                Expect.isGreaterThan (gi |> Array.map abs |> Array.max) 1e-4 (what + ": non-zero")
        }
        test "policy gradients of a closed loop equal central finite differences (small MLP, 3 envs, 20 steps)" {
            GsSetup.ensure64 ()
            let scene, robot = cartpole 3 Physics.Integrator.Euler
            let net = NN.mlp([ 4; 4; 1 ], ActivationKind.Tanh, weightInit = Uniform(-0.8, 0.8))
            let qs, vs = starts 3
            let ps = net.parameters()
            let lossOnce () =
                setStart scene robot (gs.tensor(qs).reshape([ 3; 2 ])) (gs.tensor(vs).reshape([ 3; 2 ]))
                let total = scene.rollout(20, policyOf robot net, ps, cost = costOf robot)
                total.sum() + (robot.getDofsVelocity().pow(2.0)).sum()
            net.zeroGrad()
            (lossOnce ()).backward()
            let g = grads ps
            let fd = fdGradient ps (fun () -> (lossOnce ()).item()) 1e-6
            Expect.isLessThan (maxRel fd g) fdTol "backward vs central FD"
            Expect.isGreaterThan (g |> Array.map abs |> Array.max) 1e-3 "non-zero"
        }
        test "memory: the functional rollout's graph grows as sqrt T (segments), the imperative loop's as T" {
            GsSetup.ensure64 ()
            let scene, robot = cartpole 2 Physics.Integrator.Euler
            let net = NN.mlp([ 4; 8; 1 ])
            let qs, vs = starts 2
            let measure (steps: int) (functional: bool) =
                setStart scene robot (gs.tensor(qs).reshape([ 2; 2 ])) (gs.tensor(vs).reshape([ 2; 2 ]))
                let total, longest =
                    if functional then
                        let total, stats = scene.rolloutWithStats(steps, policyOf robot net, net.parameters(), cost = costOf robot)
                        total, stats.longestSegment
                    else imperative scene robot net steps None, 1
                let nodes, bytes = ClosedLoop.graphSize (total.sum())
                nodes, bytes, longest
            let n1, b1, l1 = measure 64 true
            let n2, b2, l2 = measure 256 true
            let i1, ib1, _ = measure 64 false
            let i2, ib2, _ = measure 256 false
            // 4x the horizon: sqrt T -> 2x nodes, 2x bytes, 2x the segment states held in backward; T -> 4x
            Expect.isLessThan (float n2 / float n1) 2.3 (sprintf "functional nodes %d -> %d" n1 n2)
            Expect.isLessThan (float b2 / float b1) 2.3 (sprintf "functional bytes %d -> %d" b1 b2)
            Expect.equal (l1, l2) (8, 16) "segment length sqrt T"
            Expect.isGreaterThan (float i2 / float i1) 3.7 (sprintf "imperative nodes %d -> %d" i1 i2)
            Expect.isGreaterThan (float ib2 / float ib1) 3.7 (sprintf "imperative bytes %d -> %d" ib1 ib2)
            Expect.isLessThan (float n2) (float i2 / 10.0) "the functional graph is far smaller at T = 256"
        }
        test "bad input: a policy output of the wrong shape names expected and actual; NaN actions raise the non-finite error naming the env; the scene is left at its start" {
            GsSetup.ensure64 ()
            let scene, robot = cartpole 3 Physics.Integrator.Euler
            let qs, vs = starts 3
            setStart scene robot (gs.tensor(qs).reshape([ 3; 2 ])) (gs.tensor(vs).reshape([ 3; 2 ]))
            let w = gs.tensor([| 1.0; 2.0; 3.0 |], requiresGrad = true)
            let wrong () = robot.controlDofsForce(gs.ones([ 3; 3 ]) * w, dofsIdx = [| 0 |])
            throwsWith<GenesisException> [ "controlDofsForce"; "[3; 1]"; "got [3; 3]" ] (fun () -> scene.rollout(10, wrong, [ w ]) |> ignore)
            Expect.equal scene.stepsTaken 0 "no step counted"
            let nanAt1 () =
                let f = gs.tensor([| 1.0; nan; 0.0 |]).reshape([ 3; 1 ]) * w.sum()
                if scene.stepsTaken >= 0 then robot.controlDofsForce(f, dofsIdx = [| 0 |])
            throwsWith<GenesisException> [ "non-finite"; "env 1"; "slider" ] (fun () -> scene.rollout(10, nanAt1, [ w ]) |> ignore)
            Expect.sequenceEqual (robot.getDofsPosition().toFloatArray()) qs "the start state is kept"
            Expect.equal scene.stepsTaken 0 "no step counted"
            // a parameter listed twice gets one gradient and stays a requiresGrad leaf
            let push () = robot.controlDofsForce(gs.ones([ 3; 1 ]) * w.sum(), dofsIdx = [| 0 |])
            scene.rollout(4, push, [ w; w ], cost = costOf robot).sum().backward()
            Expect.isTrue (w.isLeaf && w.requiresGrad) "still a leaf"
            let g = w.grad.toFloatArray()
            Expect.isTrue (g[0] <> 0.0 && g[0] = g[1] && g[1] = g[2]) (sprintf "one gradient per entry, equal (w enters through its sum): %A" g)
        }
        test "scene.reset(envsIdx) sets the chosen envs' state (given or initial), keeps the others and their gradient" {
            GsSetup.ensure64 ()
            let scene, robot = cartpole 3 Physics.Integrator.Euler
            let qs, vs = starts 3
            let q0 = gs.fromArray(qs, shape = [ 3; 2 ], requiresGrad = true)
            robot.setDofsPosition(q0)
            robot.setDofsVelocity(gs.fromArray(vs, shape = [ 3; 2 ]))
            scene.reset(envsIdx = [| 2 |], qpos = gs.tensor([| 0.3; -0.4 |]))
            scene.resetEnvs([| 0 |]) // the former name
            let q = robot.getDofsPosition()
            Expect.sequenceEqual (q.toFloatArray()) [| 0.0; 0.0; qs[2]; qs[3]; 0.3; -0.4 |] "positions"
            Expect.sequenceEqual (robot.getDofsVelocity().toFloatArray()) [| 0.0; 0.0; vs[2]; vs[3]; 0.0; 0.0 |] "velocities (zero after a reset)"
            q.sum().backward()
            Expect.sequenceEqual (q0.grad.toFloatArray()) [| 0.0; 0.0; 1.0; 1.0; 0.0; 0.0 |] "gradient only through the env kept"
        }
        test "scene.reset(envsIdx) with sampled states after stepping changes only those envs (bitwise), from a snapshot or rows; after backward it goes on" {
            GsSetup.ensure64 ()
            let n = 5
            let scene, robot = cartpole n Physics.Integrator.Euler
            let rnd = Random(3)
            let sample (k: int) = gs.fromArray(Array.init (2 * k) (fun _ -> rnd.NextDouble() - 0.5), shape = [ k; 2 ])
            robot.setDofsPosition(sample n)
            robot.setDofsVelocity(sample n)
            let w = gs.tensor([| 0.7 |], requiresGrad = true)
            for _ in 1 .. 7 do
                robot.controlDofsForce(gs.ones([ n; 1 ]) * w, dofsIdx = [| 0 |])
                scene.step()
            let before = scene.getState()
            let qb, vb = before.qpos.toFloatArray(), before.qvel.toFloatArray()
            let envs = [| 3; 1 |]
            let qNew, vNew = sample 2, sample 2
            scene.reset(envsIdx = envs, qpos = qNew, qvel = vNew)
            let after = scene.getState()
            let qa, va = after.qpos.toFloatArray(), after.qvel.toFloatArray()
            for e in 0 .. n - 1 do
                let row (x: float[]) = x[2 * e .. 2 * e + 1]
                match Array.IndexOf(envs, e) with
                | -1 ->
                    Expect.sequenceEqual (row qa) (row qb) (sprintf "env %d qpos kept bitwise" e)
                    Expect.sequenceEqual (row va) (row vb) (sprintf "env %d qvel kept bitwise" e)
                | i ->
                    Expect.sequenceEqual (row qa) (qNew.toFloatArray()[2 * i .. 2 * i + 1]) (sprintf "env %d qpos from row %d" e i)
                    Expect.sequenceEqual (row va) (vNew.toFloatArray()[2 * i .. 2 * i + 1]) (sprintf "env %d qvel from row %d" e i)
            // the kept envs still carry the graph to w; the reset ones do not
            let xs = robot.getDofsPosition().narrow(1, 0, 1).squeeze(1)
            xs.sum().backward()
            let g = w.grad.item()
            Expect.isGreaterThan (abs g) 1e-6 "gradient through the kept envs"
            // a snapshot resets envs to its rows envsIdx; after the backward pass the partial reset lets stepping go on
            scene.reset(envsIdx = [| 0 |], simState = before)
            let q2 = scene.getState().qpos.toFloatArray()
            Expect.sequenceEqual q2[0..1] qb[0..1] "env 0 from the snapshot's row 0"
            Expect.sequenceEqual q2[2..] qa[2..] "other envs unchanged"
            scene.step()
            Expect.notEqual (robot.getDofsPosition().toFloatArray()) q2 "stepping goes on after the partial reset"
        }
        test "scene.reset(envsIdx) with a bad envsIdx or mixed arguments raises naming the problem" {
            GsSetup.ensure64 ()
            let scene, robot = cartpole 3 Physics.Integrator.Euler
            throwsWith<GenesisException> [ "reset"; "env index 3"; "out of range for 3 envs" ] (fun () -> scene.reset(envsIdx = [| 3 |]))
            throwsWith<GenesisException> [ "reset"; "env index -1" ] (fun () -> scene.reset(envsIdx = [| -1 |]))
            throwsWith<GenesisException> [ "reset"; "index 1 appears more than once in envsIdx" ] (fun () -> scene.reset(envsIdx = [| 1; 1 |]))
            throwsWith<GenesisException> [ "reset"; "envsIdx is empty" ] (fun () -> scene.reset(envsIdx = [||]))
            throwsWith<GenesisException> [ "reset qpos"; "[1; 2]"; "got [3]" ] (fun () -> scene.reset(envsIdx = [| 1 |], qpos = gs.zeros([ 3 ])))
            throwsWith<GenesisException> [ "reset"; "either simState or qpos/qvel" ] (fun () -> scene.reset(simState = scene.getState(), qpos = gs.zeros([ 2 ])))
            let single = Scene(SimOptions(dt = 0.02, enableContact = false))
            single.addEntity(Morphs.MJCF(GsSetup.asset "cartpole/cartpole_classic.xml")) |> ignore
            single.build()
            throwsWith<GenesisException> [ "reset"; "not batched" ] (fun () -> single.reset(envsIdx = [| 0 |]))
            Expect.equal robot.nDofs 2 "the batched scene is untouched"
        }
    ]
