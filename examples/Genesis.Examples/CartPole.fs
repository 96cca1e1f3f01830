/// Cart-pole balancing by analytic policy gradients: an MLP policy (observation -> force on the cart) is trained
/// through the differentiable simulator over batched envs with random starts, in closed-loop rollouts with truncated
/// windows (scene.rollout), Adam and gradient clipping; the trained policy is then tested on 100 random starts.
module Genesis.Examples.CartPole

open System
open System.Diagnostics
open Genesis
open Genesis.NN

/// What a training run produced.
type Result =
    { /// Training loss per epoch (mean running cost per env-step).
      losses: float[]
      /// Random starts (of 100) held for 5 s with the pole within +-0.2 rad and the cart within +-2.4 m.
      balanced: int
      /// Wall-clock seconds of training.
      trainSeconds: float
      /// The trained policy.
      policy: Module }

/// Force limit of the classic task (N): the policy's output is maxForce tanh(net(obs)).
let maxForce = 10.0
/// Rail half-length (m) and pole angle limit (rad) of the success test.
let railLimit, angleLimit = 2.4, 0.2

/// Random start states [n; 2] (cart position, pole angle) and velocities: x in +-1 m, angle in +-0.15 rad,
/// velocities in +-0.2.
let sampleStarts (rnd: Random) (n: int) =
    let u (a: float) = (2.0 * rnd.NextDouble() - 1.0) * a
    let q = Array.init n (fun _ -> [| u 1.0; u 0.15 |]) |> Array.concat
    let v = Array.init n (fun _ -> [| u 0.2; u 0.2 |]) |> Array.concat
    q, v

/// A scene with the classic cart-pole (assets/cartpole/cartpole_classic.xml) over n envs.
let makeScene (n: int) (requiresGrad: bool) =
    let scene = Scene(SimOptions(dt = 0.02, requiresGrad = requiresGrad, enableContact = false))
    let robot = scene.addEntity(Morphs.MJCF(Assets.path "cartpole/cartpole_classic.xml"))
    scene.build(nEnvs = n)
    scene, robot

/// Observation [B; 4]: cart position, pole angle, their velocities.
let observe (robot: RigidEntity) = gs.cat([ robot.getDofsPosition(); robot.getDofsVelocity() ], 1)

/// The policy's force on the cart for the current state.
let act (robot: RigidEntity) (net: Module) () =
    robot.controlDofsForce(net.forward(observe robot).tanh() * maxForce, dofsIdx = [| 0 |])

/// Tests a policy on `trials` random starts for `seconds`: how many keep the pole within +-angleLimit and the cart
/// within +-railLimit the whole time.
let evaluate (net: Module) (rnd: Random) (trials: int) (seconds: float) =
    let scene, robot = makeScene trials false
    let q, v = sampleStarts rnd trials
    robot.setDofsPosition(gs.fromArray(q, shape = [ trials; 2 ]))
    robot.setDofsVelocity(gs.fromArray(v, shape = [ trials; 2 ]))
    let ok = Array.create trials true
    gs.noGrad (fun () ->
        for _ in 1 .. int (round (seconds / 0.02)) do
            act robot net ()
            scene.step()
            let p = robot.getDofsPosition().toFloatArray()
            for e in 0 .. trials - 1 do
                if abs p[2 * e] > railLimit || abs p[2 * e + 1] > angleLimit then ok[e] <- false)
    ok |> Array.filter id |> Array.length

/// Runs the policy from `starts` random starts for `seconds` s with a recorder and writes what a person looks at:
/// prefix.html (the offline viewer, one cart-pole per start in a grid) and prefix.gif (the first start, side view).
let show (net: Module) (rnd: Random) (starts: int) (seconds: float) (prefix: string) =
    let scene, robot = makeScene starts false
    let q, v = sampleStarts rnd starts
    robot.setDofsPosition(gs.fromArray(q, shape = [ starts; 2 ]))
    robot.setDofsVelocity(gs.fromArray(v, shape = [ starts; 2 ]))
    let recorder = Vis.Recorder(scene, every = 2)
    gs.noGrad (fun () ->
        recorder.capture()
        for _ in 1 .. int (round (seconds / 0.02)) do
            act robot net ()
            scene.step()
            recorder.capture())
    Pictures.saveViewerAndGif prefix (sprintf "Cart-pole balanced by a policy trained through the simulator (%d starts)" starts)
        recorder.recording [| 0.0; -2.6; 0.6 |] [| 0.0; 0.0; 0.45 |] 40

/// Trains for `epochs` epochs (nEnvs random starts each, `horizon` steps in windows of `window`) and evaluates on 100
/// random starts for 5 s; writes the learning curve when given a PNG path.
let run (epochs: int) (nEnvs: int) (pngPath: string option) =
    let horizon, window = 100, 50
    let rnd = Random(1)
    let scene, robot = makeScene nEnvs true
    let net = NN.mlp([ 4; 32; 1 ], ActivationKind.Tanh)
    let adam = Adam(net.parameters(), lr = 0.01)
    // running cost on the state after each step: pole angle, cart position, velocities
    let weights = gs.tensor([| 0.1; 1.0 |])
    let cost () =
        let q = robot.getDofsPosition()
        let v = robot.getDofsVelocity()
        (q * q * weights).sum(1) + (v * v).sum(1) * 0.01
    let losses = ResizeArray<float>()
    let clock = Stopwatch.StartNew()
    for epoch in 0 .. epochs - 1 do
        scene.reset()
        let q, v = sampleStarts rnd nEnvs
        robot.setDofsPosition(gs.fromArray(q, shape = [ nEnvs; 2 ]))
        robot.setDofsVelocity(gs.fromArray(v, shape = [ nEnvs; 2 ]))
        adam.zeroGrad()
        let total = scene.rollout(horizon, act robot net, net.parameters(), cost = cost, truncateEvery = window)
        let loss = total.mean() / float horizon
        loss.backward()
        NN.clipGradNorm(net.parameters(), 1.0) |> ignore
        adam.step()
        losses.Add(loss.item())
        if epoch % 10 = 0 || epoch = epochs - 1 then
            printfn "epoch %3d/%d  loss %.4f  (%.1f s)" (epoch + 1) epochs (loss.item()) clock.Elapsed.TotalSeconds
    let trainSeconds = clock.Elapsed.TotalSeconds
    let balanced = evaluate net (Random(12345)) 100 5.0
    pngPath |> Option.iter (fun file ->
        Plots.saveLogCurve file (sprintf "Cart-pole APG, %d envs: %d/100 balanced" nEnvs balanced) "log10 mean running cost" losses)
    { losses = losses.ToArray(); balanced = balanced; trainSeconds = trainSeconds; policy = net }
