/// Pendulum swing-up with a motor of half gravity's largest torque (assets/pendulum/pendulum.xml): the policy must
/// swing the bob up from hanging down and hold it upright. Trained by SHAC (short differentiable windows bootstrapped
/// by a learned critic) and, for comparison, by plain analytic policy gradients (APG: whole-episode rollouts) with the
/// same number of simulated env-steps; both are tested on 100 random starts near hanging down.
module Genesis.Examples.Pendulum

open System
open System.Diagnostics
open Genesis
open Genesis.NN

/// The motor's limit (N m): half of gravity's largest torque m g l = 9.81 N m (the asset's ctrlrange).
let maxTorque = 0.5 * 1.0 * 9.81 * 1.0
/// Simulated seconds of an evaluation run and of its final hold.
let evalSeconds, holdSeconds = 6.0, 1.0
/// Upright means |angle| below this (rad) at every step of the hold.
let uprightLimit = 0.2
/// Training episode length in steps (5 s at dt 0.05).
let episodeSteps = 100

/// What a training run produced.
type Result =
    { /// Mean reward per env-step of each epoch (SHAC: its window; APG: its episodes).
      rewards: float[]
      /// Random starts (of 100, near hanging down) swung up and held within +-uprightLimit for the last holdSeconds.
      upright: int
      /// Wall-clock seconds of training.
      trainSeconds: float
      /// Simulated env-steps of training.
      envSteps: int
      /// The deterministic policy: observations [B; 3] -> actions [B; 1] in (-1, 1).
      policy: Tensor -> Tensor }

/// A scene with the pendulum over n envs.
let makeScene (n: int) (requiresGrad: bool) =
    let scene = Scene(SimOptions(requiresGrad = requiresGrad, enableContact = false))
    let robot = scene.addEntity(Morphs.MJCF(Assets.path "pendulum/pendulum.xml"))
    scene.build(nEnvs = n)
    scene, robot

/// Observation [B; 3]: cos angle, sin angle, angular velocity.
let observe (robot: RigidEntity) () =
    let q = robot.getDofsPosition()
    gs.cat([ q.cos(); q.sin(); robot.getDofsVelocity() ], 1)

/// Reward [B] after a step: 0.1 (cos angle - 1 - 0.005 (angular velocity)^2): 0 upright at rest, -0.2 hanging. The
/// scale 0.1 keeps discounted returns (the critic's targets) within about -10 .. 0.
let reward (robot: RigidEntity) () =
    let q, v = robot.getDofsPosition(), robot.getDofsVelocity()
    ((q.cos() - 1.0 - v * v * 0.005) * 0.1).squeeze(1)

/// Applies actions in (-1, 1) as torques of up to maxTorque.
let act (robot: RigidEntity) (a: Tensor) = robot.controlDofsForce(a * maxTorque)

/// Training starts: angle uniform in [-pi, pi], velocity uniform in [-1, 1] rad/s (all of the circle).
let sampleTraining (rnd: Random) (n: int) =
    Array.init n (fun _ -> (2.0 * rnd.NextDouble() - 1.0) * Math.PI), Array.init n (fun _ -> 2.0 * rnd.NextDouble() - 1.0)

/// Test starts: hanging down (angle pi) +-0.3 rad, velocity in +-0.3 rad/s.
let sampleHanging (rnd: Random) (n: int) =
    Array.init n (fun _ -> Math.PI + (2.0 * rnd.NextDouble() - 1.0) * 0.3), Array.init n (fun _ -> (2.0 * rnd.NextDouble() - 1.0) * 0.3)

/// Runs a policy from `trials` starts near hanging down for evalSeconds: how many are within +-uprightLimit at every
/// step of the last holdSeconds.
let evaluate (policy: Tensor -> Tensor) (rnd: Random) (trials: int) =
    let scene, robot = makeScene trials false
    let q, v = sampleHanging rnd trials
    robot.setDofsPosition(gs.fromArray(q, shape = [ trials; 1 ]))
    robot.setDofsVelocity(gs.fromArray(v, shape = [ trials; 1 ]))
    let steps = int (round (evalSeconds / scene.dt))
    let hold = int (round (holdSeconds / scene.dt))
    let ok = Array.create trials true
    gs.noGrad (fun () ->
        for t in 1 .. steps do
            act robot (policy (observe robot ()))
            scene.step()
            if t > steps - hold then
                let p = robot.getDofsPosition().toFloatArray()
                for e in 0 .. trials - 1 do
                    if abs (Math.Atan2(sin p[e], cos p[e])) > uprightLimit then ok[e] <- false)
    ok |> Array.filter id |> Array.length

/// The SHAC task on a scene of n envs (training starts from sampleTraining).
let task (rnd: Random) (scene: Scene) (robot: RigidEntity) =
    { scene = scene
      observationSize = 3
      actionSize = 1
      observe = observe robot
      act = act robot
      reward = reward robot
      resetEnvs =
        fun envs ->
            let q, v = sampleTraining rnd envs.Length
            scene.reset(envsIdx = envs, qpos = gs.fromArray(q, shape = [ envs.Length; 1 ]), qvel = gs.fromArray(v, shape = [ envs.Length; 1 ]))
      episodeLength = episodeSteps }

/// The SHAC settings of this example: the defaults with a window of `horizon` steps, 32-32 actor and critic, gamma 0.98
/// (a 2.5 s horizon at dt 0.05), critic lr 5e-3 and 4 critic passes of 2 minibatches (the critic's passes dominate an
/// epoch's time on a CPU).
let shacConfig (horizon: int) =
    { ShacConfig.defaults with
        horizon = horizon; actorHidden = [ 32; 32 ]; criticHidden = [ 32; 32 ]; gamma = 0.98; criticLr = 5e-3
        criticIterations = 4; criticMinibatches = 2 }

/// Trains by SHAC for `epochs` windows of `horizon` steps over nEnvs envs, then evaluates on 100 starts.
let runShac (epochs: int) (nEnvs: int) (horizon: int) =
    let scene, robot = makeScene nEnvs true
    let trainer = ShacTrainer(task (Random(1)) scene robot, shacConfig horizon)
    let clock = Stopwatch.StartNew()
    let stats =
        trainer.train(epochs, fun i s ->
            if i % 25 = 0 || i = epochs - 1 then
                printfn "SHAC epoch %4d/%d  mean reward %.3f  critic loss %.4f  (%.1f s)" (i + 1) epochs s.meanReward s.criticLoss clock.Elapsed.TotalSeconds)
    let seconds = clock.Elapsed.TotalSeconds
    let upright = evaluate trainer.act (Random(12345)) 100
    { rewards = stats |> Array.map (fun s -> s.meanReward); upright = upright; trainSeconds = seconds
      envSteps = epochs * nEnvs * horizon; policy = trainer.act }

/// Trains by plain APG: whole episodes (episodeSteps steps from sampleTraining starts) through scene.rollout, the
/// mean reward's gradient, Adam (SHAC's actor settings), until `envSteps` env-steps are spent; then evaluates.
let runApg (envSteps: int) (nEnvs: int) =
    let cfg = shacConfig 32
    let rnd = Random(1)
    let scene, robot = makeScene nEnvs true
    let net = NN.mlp(3 :: cfg.actorHidden @ [ 1 ], cfg.activation)
    let policy (obs: Tensor) = net.forward(obs).tanh()
    let adam = Adam(net.parameters(), lr = cfg.actorLr, beta1 = fst cfg.betas, beta2 = snd cfg.betas)
    let epochs = max 1 (envSteps / (nEnvs * episodeSteps))
    let rewards = ResizeArray<float>()
    let clock = Stopwatch.StartNew()
    for epoch in 0 .. epochs - 1 do
        let q, v = sampleTraining rnd nEnvs
        scene.reset(qpos = gs.fromArray(q, shape = [ nEnvs; 1 ]), qvel = gs.fromArray(v, shape = [ nEnvs; 1 ]))
        adam.zeroGrad()
        let total = scene.rollout(episodeSteps, (fun () -> act robot (policy (observe robot ()))), net.parameters(), cost = reward robot)
        let meanReward = total.mean() / float episodeSteps
        (-meanReward).backward()
        NN.clipGradNorm(net.parameters(), cfg.maxGradNorm) |> ignore
        adam.step()
        rewards.Add(meanReward.item())
        if epoch % 10 = 0 || epoch = epochs - 1 then
            printfn "APG  epoch %4d/%d  mean reward %.3f  (%.1f s)" (epoch + 1) epochs (meanReward.item()) clock.Elapsed.TotalSeconds
    let seconds = clock.Elapsed.TotalSeconds
    let upright = evaluate policy (Random(12345)) 100
    { rewards = rewards.ToArray(); upright = upright; trainSeconds = seconds; envSteps = epochs * nEnvs * episodeSteps; policy = policy }

/// Runs the policy from 9 hanging starts with a recorder: prefix.html (viewer) and prefix.gif (the first start).
let show (policy: Tensor -> Tensor) (prefix: string) =
    let scene, robot = makeScene 9 false
    let q, v = sampleHanging (Random(7)) 9
    robot.setDofsPosition(gs.fromArray(q, shape = [ 9; 1 ]))
    robot.setDofsVelocity(gs.fromArray(v, shape = [ 9; 1 ]))
    let recorder = Vis.Recorder(scene, every = 1)
    gs.noGrad (fun () ->
        recorder.capture()
        for _ in 1 .. int (round (evalSeconds / scene.dt)) do
            act robot (policy (observe robot ()))
            scene.step()
            recorder.capture())
    Pictures.saveViewerAndGif prefix "Pendulum swung up by a SHAC policy (motor: half of gravity's torque)"
        recorder.recording [| 0.0; -3.5; 0.3 |] [| 0.0; 0.0; 0.0 |] 50
