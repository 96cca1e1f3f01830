/// Go2 standing up from a crouch by analytic policy gradients over batched envs: the quadruped starts lying in a
/// crouch on the ground plane (thighs 1.3 rad, calves -2.6 rad), an MLP policy sets the 12 joints' PD position targets
/// (crouch pose + 1.2 rad tanh(net(observation))), and the loss is the base's height error and tilt over a rollout of
/// contact-rich physics, differentiated through the simulator (scene.rollout with truncated windows).
module Genesis.Examples.Go2Stand

open System
open System.Diagnostics
open Genesis
open Genesis.NN

/// Base height the policy should reach (m; go2 stands at about 0.3 m).
let targetHeight = 0.3
/// An env counts as standing when its base is above this height (m) at the end of a test run.
let standingHeight = 0.25
/// Joint angles of the crouch (start) for hip, thigh and calf of every leg (rad).
let crouch = [| 0.0; 1.3; -2.6 |]
/// Control step (s) and rollout length (steps).
let dt, steps = 0.01, 60

/// What a training run produced.
type Result =
    { /// Training loss per epoch.
      losses: float[]
      /// Mean base height at the end of the test rollouts (m), before and after training.
      heightBefore: float
      heightAfter: float
      /// Fraction of the test envs standing (base above standingHeight) at the end, before and after training.
      standingBefore: float
      standingAfter: float
      /// Wall-clock seconds of training.
      trainSeconds: float }

/// A scene with the plane and go2 (floating base) over n envs, PD gains on the 12 joints.
let makeScene (n: int) (requiresGrad: bool) =
    let scene = Scene(SimOptions(dt = dt, requiresGrad = requiresGrad))
    scene.addEntity(Morphs.Plane()) |> ignore
    let robot = scene.addEntity(Morphs.URDF(Assets.path "go2/go2.urdf", pos = [| 0.0; 0.0; 0.16 |]))
    scene.build(nEnvs = n)
    let joints = Array.init 12 (fun k -> 6 + k)
    robot.setDofsKp(gs.full([ 12 ], 40.0), dofsIdx = joints)
    robot.setDofsKv(gs.full([ 12 ], 1.0), dofsIdx = joints)
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

/// Observation [B; 26]: joint angles minus the crouch, joint velocities / 10, base height, base vertical velocity.
let observe (robot: RigidEntity) (joints: int[]) (pose: Tensor) () =
    let q = robot.getDofsPosition(dofsIdx = joints)
    let v = robot.getDofsVelocity(dofsIdx = joints)
    let z = robot.getPos().narrow(1, 2, 1)
    let vz = robot.getDofsVelocity(dofsIdx = [| 2 |])
    gs.cat([ q - pose; v * 0.1; z; vz ], 1)

/// The policy: PD targets = crouch + 1.2 tanh(net(observation)).
let act (robot: RigidEntity) (joints: int[]) (pose: Tensor) (net: Module) () =
    robot.controlDofsPosition(pose + net.forward(observe robot joints pose ()).tanh() * 1.2, dofsIdx = joints)

/// Running cost [B]: (height - target)^2 + tilt (the base z axis' horizontal part, from the quaternion)^2.
let cost (robot: RigidEntity) () =
    let z = robot.getPos().narrow(1, 2, 1).squeeze(1)
    let quat = robot.getQuat()
    let x, y = quat.narrow(1, 1, 1).squeeze(1), quat.narrow(1, 2, 1).squeeze(1)
    (z - targetHeight).pow(2.0) * 100.0 + (x * x + y * y) * 4.0

/// Runs the policy from crouches for `steps` steps without gradients: mean final base height, fraction standing.
let test (net: Module) (n: int) =
    let scene, robot, joints = makeScene n false
    let pose = gs.fromArray(crouchPose robot)
    resetCrouch scene robot joints (Random(99))
    gs.noGrad (fun () ->
        for _ in 1 .. steps do
            act robot joints pose net ()
            scene.step())
    let z = robot.getPos().narrow(1, 2, 1).toFloatArray()
    Array.average z, float (z |> Array.filter (fun h -> h > standingHeight) |> Array.length) / float n

/// Trains for `epochs` epochs over nEnvs envs (rollouts of `steps` steps in windows of 20), then tests on 64 envs.
let run (epochs: int) (nEnvs: int) (pngPath: string option) =
    let scene, robot, joints = makeScene nEnvs true
    let pose = gs.fromArray(crouchPose robot)
    let net = NN.mlp([ 26; 64; 12 ], ActivationKind.Tanh, lastInit = Init.Uniform(-0.01, 0.01))
    let adam = Adam(net.parameters(), lr = 0.01)
    let hb, sb = test net 64
    let rnd = Random(1)
    let losses = ResizeArray<float>()
    let clock = Stopwatch.StartNew()
    for epoch in 0 .. epochs - 1 do
        resetCrouch scene robot joints rnd
        adam.zeroGrad()
        let total = scene.rollout(steps, act robot joints pose net, net.parameters(), cost = cost robot, truncateEvery = 20)
        let loss = total.mean() / float steps
        loss.backward()
        NN.clipGradNorm(net.parameters(), 1.0) |> ignore
        adam.step()
        losses.Add(loss.item())
        printfn "go2 epoch %3d/%d  loss %.4f  (%.1f s)" (epoch + 1) epochs (loss.item()) clock.Elapsed.TotalSeconds
    let seconds = clock.Elapsed.TotalSeconds
    let ha, sa = test net 64
    pngPath |> Option.iter (fun file ->
        Plots.saveLogCurve file (sprintf "go2 stand-up (APG, %d envs): base %.2f m -> %.2f m" nEnvs hb ha) "log10 mean running cost" losses)
    { losses = losses.ToArray(); heightBefore = hb; heightAfter = ha; standingBefore = sb; standingAfter = sa; trainSeconds = seconds }
