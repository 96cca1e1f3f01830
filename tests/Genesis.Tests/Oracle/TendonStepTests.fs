/// Issue 20 part 2: fixed tendons in the step. A Scene's trajectory (the fast path) and the reference step's against
/// MuJoCo 2.2.2 on a chain coupled by damped, sprung fixed tendons; rollout gradients through a tendon whose spring,
/// damper and limit act, by the hand-written Euler adjoint and by the Tensor path, against central differences; what
/// a Scene still rejects.
module Genesis.Tests.Oracle.TendonStepTests

open System
open Expecto
open Genesis
open Genesis.Physics
open Genesis.Tests
open Genesis.Tests.Physics.MorphTestUtil
open Genesis.Tests.Oracle

/// Contact-free trajectories: qpos and qvel, absolute.
let TrajTol = 1e-9

/// AD vs central differences (h = 1e-6), relative.
let GradTol = 1e-6

/// Two hinges and a slide coupled by two fixed tendons with springs and dampers (one with a springlength, one resting
/// at its qpos0 length) and a limited one on the first hinge (limits are off in the MuJoCo comparison).
let private chainMjcf = """<mujoco model="coupled">
  <option timestep="0.002"/>
  <worldbody>
    <body name="a" pos="0 0 1">
      <joint name="h1" type="hinge" axis="0 1 0" damping="0.05"/>
      <geom type="capsule" fromto="0 0 0 0.3 0 0" size="0.03"/>
      <body name="b" pos="0.3 0 0">
        <joint name="h2" type="hinge" axis="0 0.3 1"/>
        <geom type="capsule" fromto="0 0 0 0.25 0 0" size="0.025"/>
        <body name="c" pos="0.25 0 0">
          <joint name="s3" type="slide" axis="1 0 0"/>
          <geom type="box" size="0.05 0.03 0.03"/>
        </body>
      </body>
    </body>
  </worldbody>
  <tendon>
    <fixed name="couple" stiffness="3" damping="0.2" springlength="0.1">
      <joint joint="h1" coef="1"/>
      <joint joint="h2" coef="-0.5"/>
      <joint joint="s3" coef="2"/>
    </fixed>
    <fixed name="pair" stiffness="1.5" damping="0.05">
      <joint joint="h2" coef="0.7"/>
      <joint joint="h1" coef="0.4"/>
    </fixed>
    <fixed name="stop" limited="true" range="-0.5 0.3">
      <joint joint="h1" coef="1"/>
    </fixed>
  </tendon>
</mujoco>
"""

let private row = Genesis.Tests.Physics.PhysicsTestUtil.row64

let private q0, v0 = [| 0.4; -0.7; 0.05 |], [| 0.3; -0.5; 0.2 |]

/// MuJoCo's state after n steps from (q0, v0) of the file at path (constraints off).
let private mujocoRun (path: string) (n: int) = MjcfOracleTests.mujocoRunFrom path q0 v0 [||] n

/// The final [qpos | qvel] of a Scene rollout from x = [qpos | qvel] of the chain (limits on), and with `grad` the
/// gradient of a weighted sum of it by the Scene's checkpointed Euler adjoint.
let private sceneRollout (path: string) (steps: int) (grad: bool) (x: float[]) =
    let scene = Scene(SimOptions(enableContact = false, enableJointLimits = true, requiresGrad = grad))
    let e = scene.addEntity (Morphs.MJCF path)
    scene.build ()
    let q = gs.tensor (x[0..2], requiresGrad = grad)
    let v = gs.tensor (x[3..5], requiresGrad = grad)
    e.setDofsPosition q
    e.setDofsVelocity v
    for _ in 1 .. steps do scene.step ()
    let w = gs.tensor [| 0.3; -1.1; 0.7 |]
    let loss = (e.getDofsPosition () * w).sum () + (e.getDofsVelocity () * w).sum () * 0.1
    if grad then
        loss.backward ()
        loss.item (), Array.append (q.grad.toFloatArray ()) (v.grad.toFloatArray ())
    else loss.item (), [||]

[<Tests>]
let tests =
    testSequenced (
        testList "Oracle.TendonStep" [
            test "fixed tendons with stiffness, damping and springlength: a Scene (fast path) and Physics.step follow MuJoCo's 500-step Euler trajectory to 1e-9" {
                MjcfOracleTests.skipUnlessMuJoCo ()
                GsSetup.ensure64 ()
                withTempDir (fun dir ->
                    let path = writeFile dir "coupled.xml" chainMjcf
                    let n = 500
                    let mq, mv = mujocoRun path n
                    // the tendons matter: without them MuJoCo ends elsewhere
                    let cut = chainMjcf.Substring(0, chainMjcf.IndexOf "  <tendon>") + chainMjcf.Substring(chainMjcf.IndexOf "</tendon>\n" + 10)
                    let fq, _ = mujocoRun (writeFile dir "free.xml" cut) n
                    Expect.isGreaterThan (maxDiff fq mq) 1e-2 "the tendons change MuJoCo's trajectory"
                    let scene = Scene(SimOptions(enableContact = false, enableJointLimits = false))
                    let e = scene.addEntity (Morphs.MJCF path)
                    scene.build ()
                    Expect.equal scene.model.topology.tendons.Length 3 "three fixed tendons in the model"
                    e.setDofsPosition (gs.tensor q0)
                    e.setDofsVelocity (gs.tensor v0)
                    for _ in 1 .. n do scene.step ()
                    let q, v = e.getDofsPosition().toFloatArray (), e.getDofsVelocity().toFloatArray ()
                    printfn "Oracle.TendonStep Scene: qpos %.1e, qvel %.1e" (maxDiff q mq) (maxDiff v mv)
                    near TrajTol "Scene qpos" q mq
                    near TrajTol "Scene qvel" v mv
                    let model = scene.model
                    let sp = scene.SimParams
                    let control = { modes = Array.create 3 ControlMode.Force; values = gs.zeros ([ 1; 3 ], dtype = DType.Float64) }
                    let mutable st = { State.qpos = row q0; qvel = row v0; time = 0.0 }
                    for _ in 1 .. n do st <- Physics.step model sp st control
                    let rq, rv = st.qpos.toFloatArray (), st.qvel.toFloatArray ()
                    printfn "Oracle.TendonStep Physics.step: qpos %.1e, qvel %.1e" (maxDiff rq mq) (maxDiff rv mv)
                    near TrajTol "Physics.step qpos" rq mq
                    near TrajTol "Physics.step qvel" rv mv)
            }
            test "rollout gradients through fixed tendons (spring, damper, limit reached): the Scene's Euler adjoint and the Tensor path equal central differences" {
                GsSetup.ensure64 ()
                withTempDir (fun dir ->
                    let path = writeFile dir "coupled.xml" chainMjcf
                    let steps = 60
                    // h1 starts at 0.25 moving up at 2 rad/s: it passes the stop tendon's upper limit 0.3 within the rollout
                    let x0 = [| 0.25; -0.4; 0.03; 2.0; -0.5; 0.2 |]
                    let _, ad = sceneRollout path steps true x0
                    let fd = GsSetup.fdJacobian (fun x -> [| fst (sceneRollout path steps false x) |]) x0 1e-6
                    let err = GsSetup.relErr fd [| ad |]
                    printfn "Oracle.TendonStep Scene gradient vs FD: relative error %.1e" err
                    Expect.isLessThan err GradTol "Scene (Euler adjoint) vs FD"
                    Expect.isGreaterThan (ad |> Array.map abs |> Array.max) 1e-3 "non-zero gradient"
                    // the limit is reached: the final h1 is held near 0.3 rather than far beyond it
                    let scene = Scene(SimOptions(enableContact = false, enableJointLimits = true))
                    let e = scene.addEntity (Morphs.MJCF path)
                    scene.build ()
                    e.setDofsPosition (gs.tensor (x0[0..2]))
                    e.setDofsVelocity (gs.tensor (x0[3..5]))
                    let mutable peak = 0.0
                    for _ in 1 .. steps do
                        scene.step ()
                        peak <- max peak (e.getDofsPosition().toFloatArray ()).[0]
                    Expect.isLessThan peak 0.33 "h1 is stopped near the tendon's upper limit 0.3"
                    Expect.isGreaterThan peak 0.3 "h1 reaches the limit"
                    // the Tensor path (Physics.step, differentiated by reverse AD) on the same model
                    let model, sp = scene.model, scene.SimParams
                    let control = { modes = Array.create 3 ControlMode.Force; values = gs.zeros ([ 1; 3 ], dtype = DType.Float64) }
                    let w = gs.tensor [| 0.3; -1.1; 0.7 |]
                    let lossOf (x: Tensor) =
                        let mutable st = { State.qpos = x.narrow(0, 0, 3).unsqueeze 0; qvel = x.narrow(0, 3, 3).unsqueeze 0; time = 0.0 }
                        for _ in 1 .. steps do st <- Physics.step model sp st control
                        (st.qpos.squeeze 0 * w).sum () + (st.qvel.squeeze 0 * w).sum () * 0.1
                    let x = gs.tensor (x0, requiresGrad = true)
                    let loss = lossOf x
                    loss.backward ()
                    let tensorErr = GsSetup.relErr fd [| x.grad.toFloatArray () |]
                    printfn "Oracle.TendonStep Tensor gradient vs FD: relative error %.1e" tensorErr
                    Expect.isLessThan tensorErr GradTol "Tensor path vs FD")
            }
            test "a Scene steps limited fixed tendons with joint limits on, and names a spatial tendon with a spring as unsupported" {
                GsSetup.ensure64 ()
                withTempDir (fun dir ->
                    let scene = Scene(SimOptions(enableContact = false))
                    scene.addEntity (Morphs.MJCF(writeFile dir "coupled.xml" chainMjcf)) |> ignore
                    scene.build ()
                    scene.step ()
                    let spatial =
                        chainMjcf
                            .Replace("<geom type=\"box\" size=\"0.05 0.03 0.03\"/>", "<geom type=\"box\" size=\"0.05 0.03 0.03\"/><site name=\"sc\"/>")
                            .Replace("<tendon>", "<tendon><spatial name=\"cable\" stiffness=\"2\"><site site=\"sa\"/><site site=\"sc\"/></spatial>")
                            .Replace("<worldbody>", "<worldbody><site name=\"sa\" pos=\"0.1 0 1.2\"/>")
                    let s2 = Scene(SimOptions(enableContact = false))
                    s2.addEntity (Morphs.MJCF(writeFile dir "spatial.xml" spatial)) |> ignore
                    let msg = try s2.build (); "" with :? GenesisNotSupportedException as ex -> ex.Message
                    Expect.stringContains msg "spatial tendon 'cable'" "the Scene names the spatial tendon it cannot step")
            }
        ])
