module Genesis.Tests.NN.ShacTests

open System
open Expecto
open Genesis
open Genesis.NN
open Genesis.Tests
open Genesis.Tests.TestUtil
open Genesis.Tests.NN.NNTestUtil
open Genesis.Examples

/// Hand-computed TD(lambda) targets are exact up to rounding.
let private tdTol = 1e-12
/// Central differences (h = 1e-6) of a short window, float64.
let private fdTol = 1e-6

/// The pendulum over n envs with requiresGrad, through the example's task; resets go to fixed states (deterministic).
let private pendulumTask (n: int) (episodeLength: int) =
    let scene, robot = Pendulum.makeScene n true
    let task = Pendulum.task (Random(5)) scene robot
    let reset (envs: int[]) =
        let q = envs |> Array.map (fun e -> 2.5 + 0.1 * float e)
        scene.reset(envsIdx = envs, qpos = gs.fromArray(q, shape = [ envs.Length; 1 ]), qvel = gs.zeros([ envs.Length; 1 ]))
    scene, { task with resetEnvs = reset; episodeLength = episodeLength }

[<Tests>]
let tests =
    testList "NN.Shac" [
        test "TD(lambda) targets equal a hand-computed case (an episode end inside the window), lambda 0 is one-step TD" {
            let rewards = [| [| 1.0; 2.0 |]; [| 3.0; 4.0 |]; [| 5.0; 6.0 |] |]
            let values = [| [| 10.0; 20.0 |]; [| 30.0; 40.0 |]; [| 50.0; 60.0 |] |]
            let dones = [| [| false; false |]; [| false; true |]; [| false; false |] |]
            let g = Shac.tdLambdaTargets 0.9 0.5 rewards values dones
            // env 0: G2 = 5 + .9 50 = 50; G1 = 3 + .9 (.5 30 + .5 50) = 39; G0 = 1 + .9 (.5 10 + .5 39) = 23.05
            // env 1: G2 = 6 + .9 60 = 60; G1 = 4 + .9 40 = 40 (episode ended); G0 = 2 + .9 (.5 20 + .5 40) = 29
            let expected = [| [| 23.05; 29.0 |]; [| 39.0; 40.0 |]; [| 50.0; 60.0 |] |]
            for t in 0 .. 2 do
                for e in 0 .. 1 do
                    Expect.floatClose { absolute = tdTol; relative = tdTol } (g[t][e]) (expected[t][e]) (sprintf "G[%d][%d]" t e)
            let g0 = Shac.tdLambdaTargets 0.9 0.0 rewards values dones
            for t in 0 .. 2 do
                for e in 0 .. 1 do
                    Expect.floatClose { absolute = tdTol; relative = tdTol } (g0[t][e]) (rewards[t][e] + 0.9 * values[t][e]) (sprintf "lambda 0: G[%d][%d]" t e)
            throwsWith<GenesisException> [ "tdLambdaTargets"; "3 steps"; "nextValues 2" ] (fun () -> Shac.tdLambdaTargets 0.9 0.5 rewards values[0..1] dones |> ignore)
        }
        test "the actor loss's gradient w.r.t. the policy parameters equals central differences (3 envs, 5 steps, episode ends and resets inside)" {
            GsSetup.ensure64 ()
            let n, h = 3, 5
            let scene, task = pendulumTask n 3
            let actor = NN.mlp([ 3; 4; 1 ], ActivationKind.Tanh)
            let logStd = gs.tensor([| -0.7 |], requiresGrad = true)
            let critic = NN.mlp([ 3; 4; 1 ], ActivationKind.Tanh)
            let ps = Array.append (actor.parameters()) [| logStd |]
            let rnd = Random(11)
            let noise = Array.init h (fun _ -> Array.init n (fun _ -> rnd.NextDouble() - 0.5))
            let q0 = gs.tensor([| 3.0; -0.4; 1.2 |]).reshape([ n; 1 ])
            let v0 = gs.tensor([| 0.3; -1.0; 0.5 |]).reshape([ n; 1 ])
            let run () =
                scene.reset(qpos = q0, qvel = v0)
                Shac.window task 0.95 (Shac.action actor.forward logStd) critic.forward noise [| 0; 1; 2 |] (Array.zeroCreate n)
            let w = run ()
            Expect.isGreaterThan (w.dones |> Array.concat |> Array.filter id |> Array.length) 2 "episodes ended inside the window"
            for p in ps do p.zeroGrad()
            w.actorLoss.backward()
            let g = grads ps
            let fd = fdGradient ps (fun () -> gs.noGrad (fun () -> (run ()).actorLoss.item())) 1e-6
            Expect.isLessThan (maxRel fd g) fdTol "gradient vs central differences"
            Expect.isGreaterThan (g |> Array.map abs |> Array.max) 1e-4 "non-zero"
            Expect.isGreaterThan (abs (g[g.Length - 1])) 1e-8 "logStd gets a gradient"
        }
        test "fitCritic reduces the critic's loss on a fixed batch" {
            GsSetup.ensure64 ()
            let rnd = Random(2)
            let rows = 64
            let obs = Array.init (rows * 3) (fun _ -> 2.0 * rnd.NextDouble() - 1.0)
            let targets = Array.init rows (fun r -> 3.0 * obs[3 * r] - obs[3 * r + 1] * obs[3 * r + 2] + 1.0)
            let critic = NN.mlp([ 3; 16; 1 ], ActivationKind.ELU)
            let value (x: Tensor) = critic.forward(x).reshape([ x.shape[0] ])
            let mse () = gs.noGrad (fun () -> (value (gs.fromArray(obs, shape = [ rows; 3 ])) - gs.tensor(targets)).pow(2.0).mean().item())
            let before = mse ()
            let losses = Shac.fitCritic value (Adam(critic.parameters(), lr = 1e-2)) (critic.parameters()) 1.0 obs targets 30 4 (Random(3))
            let after = mse ()
            Expect.equal losses.Length 30 "one loss per pass"
            Expect.isLessThan after (0.2 * before) (sprintf "loss %g -> %g" before after)
            Expect.isLessThan (losses[29]) (losses[0]) "the pass losses fall"
        }
        test "SHAC's actor steps raise the pendulum's bootstrapped window return (fixed starts and noise); the trainer runs epochs" {
            GsSetup.ensure64 ()
            let n, h = 32, 16
            let scene, task = pendulumTask n 100
            let actor = NN.mlp([ 3; 32; 1 ], ActivationKind.ELU)
            let logStd = gs.tensor([| -1.0 |], requiresGrad = true)
            let critic = NN.mlp([ 3; 32; 1 ], ActivationKind.ELU)
            let ps = Array.append (actor.parameters()) [| logStd |]
            let adam = Adam(ps, lr = 1e-2)
            let rnd = Random(4)
            let noise = Array.init h (fun _ -> Array.init n (fun _ -> rnd.NextDouble() - 0.5))
            let q0 = gs.linspace(-3.0, 3.0, n).reshape([ n; 1 ])
            let window () =
                scene.reset(qpos = q0)
                Shac.window task 0.98 (Shac.action actor.forward logStd) critic.forward noise (Array.zeroCreate n) (Array.zeroCreate n)
            let before = gs.noGrad (fun () -> (window ()).actorLoss.item())
            for _ in 1 .. 30 do
                adam.zeroGrad()
                (window ()).actorLoss.backward()
                NN.clipGradNorm(ps, 1.0) |> ignore
                adam.step()
            let after = gs.noGrad (fun () -> (window ()).actorLoss.item())
            Expect.isLessThan after (before - 0.1 * abs before) (sprintf "actor loss %.5f -> %.5f" before after)
            // the trainer end to end: epochs counted, finite numbers, episodes ending and restarting
            let scene2, robot2 = Pendulum.makeScene 8 true
            let trainer = ShacTrainer(Pendulum.task (Random(1)) scene2 robot2, { Pendulum.shacConfig 25 with criticIterations = 2 })
            let stats = trainer.train(8)
            Expect.equal trainer.epochs 8 "epochs counted"
            Expect.isTrue (stats |> Array.forall (fun s -> Double.IsFinite s.actorLoss && Double.IsFinite s.criticLoss)) "finite losses"
            Expect.equal (stats |> Array.sumBy (fun s -> s.finishedReturns.Length)) 16 "8 envs x 2 episodes of 100 steps in 200 steps"
        }
        test "ShacTrainer refuses a scene that is not batched or does not differentiate" {
            GsSetup.ensure64 ()
            let scene, robot = Pendulum.makeScene 2 false
            throwsWith<GenesisException> [ "ShacTrainer"; "requiresGrad" ] (fun () -> ShacTrainer(Pendulum.task (Random(1)) scene robot) |> ignore)
            let scene2, robot2 = Pendulum.makeScene 2 true
            throwsWith<GenesisException> [ "ShacTrainer"; "horizon must be >= 1, got 0" ] (fun () ->
                ShacTrainer(Pendulum.task (Random(1)) scene2 robot2, { ShacConfig.defaults with horizon = 0 }) |> ignore)
        }
    ]
