/// Go2 standing up from a crouch by analytic policy gradients over batched envs: the quadruped starts lying in a
/// crouch on the ground plane (thighs 1.3 rad, calves -2.6 rad), an MLP policy sets the 12 joints' PD position targets
/// (crouch pose + 1.2 rad tanh(net(observation)), kp 30, kv 3), and the loss is the base's height error and tilt, its
/// vertical velocity against a critically damped rise and the joints' velocities over a rollout of contact-rich physics,
/// differentiated through the simulator (scene.rollout with truncated windows). Settings and measurements in
/// docs/policy-learning.md ("go2 standing up").
module Genesis.Examples.Go2Stand

open System
open System.Diagnostics
open Genesis
open Genesis.NN

/// Base height the policy should reach (m; go2 stands at about 0.3 m).
let targetHeight = 0.3
/// An env counts as standing when its base is above this height (m) and upright at the end of a test run.
let standingHeight = 0.25
/// Upright means the base's z axis has a vertical component above this (cos 18 degrees).
let uprightCos = 0.95
/// Joint angles of the crouch (start) for hip, thigh and calf of every leg (rad).
let crouch = [| 0.0; 1.3; -2.6 |]
/// Control step (s).
let dt = 0.01
/// Test runs last this many steps (1 s: the 0.6 s of a training rollout and 0.4 s more of holding the stand).
let testSteps = 100

/// The training settings.
type Config =
    { /// PD gains of the 12 joints. The standing pose as a constant target from the crouch makes go2 jump and flip
      /// over with kp 35-80; with kp 30, kv 3 it rises smoothly and holds 0.29 m.
      kp: float
      kv: float
      /// Targets = crouch + scale tanh(net(observation)) (rad).
      scale: float
      /// Hidden sizes of the policy MLP (tanh).
      hidden: int list
      /// Adam learning rate, decayed geometrically from lr (first epoch) to lrEnd (last epoch).
      lr: float
      lrEnd: float
      /// Rollout length (steps) and the truncation windows of scene.rollout (steps).
      steps: int
      window: int
      /// Running cost weights: wHeight (z - target)^2 + wTilt tilt^2 + wVz (vz - 5 (target - z))^2
      /// + wJointVel mean joint velocity^2.
      wHeight: float
      wTilt: float
      wVz: float
      wJointVel: float
      /// Gradient norm clip.
      clip: float
      /// Seed of the start states' joint offsets.
      seed: int }

/// The example's settings (measured in docs/policy-learning.md).
let defaults =
    { kp = 30.0; kv = 3.0; scale = 1.2; hidden = [ 64 ]; lr = 0.005; lrEnd = 0.001; steps = 60; window = 20
      wHeight = 100.0; wTilt = 4.0; wVz = 2.0; wJointVel = 0.01; clip = 1.0; seed = 1 }

/// What a training run produced.
type Result =
    { /// Training loss per epoch.
      losses: float[]
      /// Mean base height at the end of the test rollouts (m), before and after training.
      heightBefore: float
      heightAfter: float
      /// Fraction of the test envs standing (base above standingHeight and upright) at the end, before and after training.
      standingBefore: float
      standingAfter: float
      /// Wall-clock seconds of training.
      trainSeconds: float }

/// A scene with the plane and go2 (floating base) over n envs, PD gains on the 12 joints.
let makeScene (cfg: Config) (n: int) (requiresGrad: bool) =
    let scene = Scene(SimOptions(dt = dt, requiresGrad = requiresGrad))
    scene.addEntity(Morphs.Plane()) |> ignore
    let robot = scene.addEntity(Morphs.URDF(Assets.path "go2/go2.urdf", pos = [| 0.0; 0.0; 0.16 |]))
    scene.build(nEnvs = n)
    let joints = Array.init 12 (fun k -> 6 + k)
    robot.setDofsKp(gs.full([ 12 ], cfg.kp), dofsIdx = joints)
    robot.setDofsKv(gs.full([ 12 ], cfg.kv), dofsIdx = joints)
    scene, robot, joints

/// The crouch pose of the 12 joints, by joint name (hip, thigh, calf of each leg).
let crouchPose (robot: RigidEntity) =
    robot.joints
    |> Array.filter (fun j -> j.dofsIdxLocal.Length = 1)
    |> Array.map (fun j ->
        if j.name.EndsWith "_hip_joint" then crouch[0]
        elif j.name.EndsWith "_thigh_joint" then crouch[1]
        else crouch[2])

/// Puts every env in the crouch at rest, base at 0.16 m (small random joint offsets from rnd).
let resetCrouch (scene: Scene) (robot: RigidEntity) (joints: int[]) (rnd: Random) =
    let n = scene.nEnvs
    let pose = crouchPose robot
    scene.reset()
    robot.setDofsPosition(gs.fromArray(Array.init (n * 12) (fun i -> pose[i % 12] + 0.05 * (rnd.NextDouble() - 0.5)), shape = [ n; 12 ]), dofsIdx = joints)

/// Observation [B; 26]: joint angles minus the crouch, joint velocities / 10, 10 (base height - target), base
/// vertical velocity.
let observe (robot: RigidEntity) (joints: int[]) (pose: Tensor) () =
    let q = robot.getDofsPosition(dofsIdx = joints)
    let v = robot.getDofsVelocity(dofsIdx = joints)
    let z = robot.getPos().narrow(1, 2, 1)
    let vz = robot.getDofsVelocity(dofsIdx = [| 2 |])
    gs.cat([ q - pose; v * 0.1; (z - targetHeight) * 10.0; vz ], 1)

/// The policy: PD targets = crouch + scale tanh(net(observation)).
let act (cfg: Config) (robot: RigidEntity) (joints: int[]) (pose: Tensor) (net: Module) () =
    robot.controlDofsPosition(pose + net.forward(observe robot joints pose ()).tanh() * cfg.scale, dofsIdx = joints)

/// Running cost [B]: wHeight (height - target)^2 + wTilt tilt^2 (the base z axis' horizontal part, from the
/// quaternion) + wVz (vertical velocity - 5 (target - height))^2 (rise like a critically damped approach, no jump)
/// + wJointVel mean joint velocity^2.
let cost (cfg: Config) (robot: RigidEntity) (joints: int[]) () =
    let z = robot.getPos().narrow(1, 2, 1).squeeze(1)
    let quat = robot.getQuat()
    let x, y = quat.narrow(1, 1, 1).squeeze(1), quat.narrow(1, 2, 1).squeeze(1)
    let vz = robot.getDofsVelocity(dofsIdx = [| 2 |]).squeeze(1)
    (z - targetHeight).pow(2.0) * cfg.wHeight
    + (x * x + y * y) * cfg.wTilt
    + (vz - (targetHeight - z) * 5.0).pow(2.0) * cfg.wVz
    + robot.getDofsVelocity(dofsIdx = joints).pow(2.0).mean(1) * cfg.wJointVel

/// Runs the policy from crouches for testSteps steps without gradients: mean final base height, fraction standing
/// (base above standingHeight and upright); with visualPrefix Some p, writes p.html and p.gif of the first 4 envs.
let testWith (cfg: Config) (net: Module) (n: int) (visualPrefix: string option) =
    let scene, robot, joints = makeScene cfg n false
    let pose = gs.fromArray(crouchPose robot)
    resetCrouch scene robot joints (Random(99))
    let recorder = visualPrefix |> Option.map (fun _ -> Vis.Recorder(scene, every = 2, envs = Array.init (min 4 n) id))
    recorder |> Option.iter (fun r -> r.capture())
    gs.noGrad (fun () ->
        for _ in 1 .. testSteps do
            act cfg robot joints pose net ()
            scene.step()
            recorder |> Option.iter (fun r -> r.capture()))
    match visualPrefix, recorder with
    | Some prefix, Some r ->
        Pictures.saveViewerAndGif prefix "go2 standing up from a crouch (APG policy, 4 test envs)" r.recording [| 0.9; -1.2; 0.5 |] [| 0.0; 0.0; 0.15 |] 40
    | _ -> ()
    let z = robot.getPos().narrow(1, 2, 1).toFloatArray()
    let q = robot.getQuat().toFloatArray()
    let standing i = z[i] > standingHeight && 1.0 - 2.0 * (q[4 * i + 1] ** 2.0 + q[4 * i + 2] ** 2.0) > uprightCos
    Array.average z, float (Array.init n standing |> Array.filter id |> Array.length) / float n

/// testWith without pictures.
let test (cfg: Config) (net: Module) (n: int) = testWith cfg net n None

/// Trains for `epochs` epochs over nEnvs envs (rollouts of cfg.steps steps in windows of cfg.window), then tests on 64
/// envs.
/// With visualPrefix, also writes the trained policy's test (its first 4 envs) to visualPrefix.html and .gif.
let runWith (cfg: Config) (epochs: int) (nEnvs: int) (pngPath: string option) (visualPrefix: string option) =
    let scene, robot, joints = makeScene cfg nEnvs true
    let pose = gs.fromArray(crouchPose robot)
    let net = NN.mlp(26 :: cfg.hidden @ [ 12 ], ActivationKind.Tanh, lastInit = Init.Uniform(-0.01, 0.01))
    let adam = Adam(net.parameters(), lr = cfg.lr)
    let hb, sb = test cfg net 64
    let rnd = Random(cfg.seed)
    let losses = ResizeArray<float>()
    let clock = Stopwatch.StartNew()
    for epoch in 0 .. epochs - 1 do
        adam.lr <- cfg.lr * (cfg.lrEnd / cfg.lr) ** (float epoch / float (max 1 (epochs - 1)))
        resetCrouch scene robot joints rnd
        adam.zeroGrad()
        let total = scene.rollout(cfg.steps, act cfg robot joints pose net, net.parameters(), cost = cost cfg robot joints, truncateEvery = cfg.window)
        let loss = total.mean() / float cfg.steps
        loss.backward()
        NN.clipGradNorm(net.parameters(), cfg.clip) |> ignore
        adam.step()
        losses.Add(loss.item())
        let z = robot.getPos().narrow(1, 2, 1).toFloatArray()
        printfn "go2 epoch %3d/%d  loss %.4f  final base height %.3f m  (%.1f s)" (epoch + 1) epochs (loss.item()) (Array.average z) clock.Elapsed.TotalSeconds
    let seconds = clock.Elapsed.TotalSeconds
    let ha, sa = testWith cfg net 64 visualPrefix
    pngPath |> Option.iter (fun file ->
        Plots.saveLogCurve file (sprintf "go2 stand-up (APG, %d envs): %.0f%% -> %.0f%% standing" nEnvs (100.0 * sb) (100.0 * sa))
            "log10 mean running cost" losses)
    { losses = losses.ToArray(); heightBefore = hb; heightAfter = ha; standingBefore = sb; standingAfter = sa; trainSeconds = seconds }

/// runWith without pictures of the test.
let run (cfg: Config) (epochs: int) (nEnvs: int) (pngPath: string option) = runWith cfg epochs nEnvs pngPath None
