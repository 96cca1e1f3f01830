/// The MJCF features of issue 20 against MuJoCo 2.2.2, through the Scene where the Scene is what users touch:
/// <option timestep/gravity/integrator>, the file's actuators (motor, position, velocity, general), tendons.
/// MuJoCo runs with the constraints we do not model switched off (opt.disableflags, as DynamicsOracleTests).
module Genesis.Tests.Oracle.MjcfOracleTests

open System
open Expecto
open Genesis
open Genesis.Physics
open Genesis.Tests
open Genesis.Tests.Physics.MorphTestUtil
open Genesis.Tests.Oracle

/// Contact-free trajectories: qpos and qvel, absolute.
let TrajTol = 1e-9

/// MuJoCo 2.2.2 mjtDisableBit: equality, friction loss, limits, contact.
let internal disableFlags = (1 <<< 1) ||| (1 <<< 2) ||| (1 <<< 3) ||| (1 <<< 4)

let internal skipUnlessMuJoCo () =
    match MuJoCo.availability.Force() with
    | Ok _ -> ()
    | Error e -> skiptest e

/// A double pendulum whose <option> states a timestep, a gravity and the integrator.
let private optionsTemplate = """<mujoco model="options">
  <option timestep="0.004" gravity="0.5 -0.3 -7" integrator="INTEGRATOR"/>
  <worldbody>
    <body name="a" pos="0 0 1">
      <joint name="j1" type="hinge" axis="0 1 0" damping="0.05"/>
      <geom type="capsule" fromto="0 0 0 0.3 0 0" size="0.03"/>
      <body name="b" pos="0.3 0 0">
        <joint name="j2" type="hinge" axis="1 0 1"/>
        <geom type="capsule" fromto="0 0 0 0 0.25 -0.1" size="0.025"/>
      </body>
    </body>
  </worldbody>
</mujoco>
"""

let private optionsMjcf (integrator: string) = optionsTemplate.Replace("INTEGRATOR", integrator)

/// MuJoCo's qpos and qvel after n steps from qpos (qvel 0), with the file's own options.
let internal mujocoRun (path: string) (qpos: float[]) (ctrl: float[]) (n: int) =
    use m = MuJoCo.load path
    m.SetOption("disableflags", float disableFlags)
    m.Qpos <- qpos
    if ctrl.Length > 0 then m.Ctrl <- ctrl
    m.Step n
    m.Qpos, m.Qvel

[<Tests>]
let tests =
    testSequenced (
        testList "Oracle.Mjcf" [
            for integrator in [ "Euler"; "RK4" ] do
                test (sprintf "<option timestep gravity integrator=%s>: a Scene's 250-step trajectory equals MuJoCo's to 1e-9" integrator) {
                    skipUnlessMuJoCo ()
                    GsSetup.ensure64 ()
                    withTempDir (fun dir ->
                        let path = writeFile dir "options.xml" (optionsMjcf integrator)
                        let q0 = [| 0.7; -1.1 |]
                        let mq, mv = mujocoRun path q0 [||] 250
                        let scene = Scene(SimOptions(enableContact = false, enableJointLimits = false))
                        let e = scene.addEntity (Morphs.MJCF path)
                        scene.build ()
                        Expect.equal scene.dt 0.004 "the file's timestep"
                        Expect.equal scene.SimParams.integrator (if integrator = "RK4" then Integrator.RK4 else Integrator.Euler) "the file's integrator"
                        near 0.0 "the file's gravity" (scene.model.parameters.gravity.toFloatArray ()) [| 0.5; -0.3; -7.0 |]
                        e.setDofsPosition (gs.tensor q0)
                        for _ in 1 .. 250 do scene.step ()
                        let q, v = e.getDofsPosition().toFloatArray (), e.getDofsVelocity().toFloatArray ()
                        printfn "Oracle.Mjcf options %s: qpos %.1e, qvel %.1e" integrator (maxDiff q mq) (maxDiff v mv)
                        near TrajTol "qpos" q mq
                        near TrajTol "qvel" v mv
                        // SimOptions wins over the file
                        let s2 = Scene(SimOptions(gravity = [| 0.0; 0.0; -9.81 |], integrator = Integrator.Euler, dt = 0.01))
                        s2.addEntity (Morphs.MJCF path) |> ignore
                        s2.build ()
                        Expect.equal (s2.dt, s2.SimParams.integrator) (0.01, Integrator.Euler) "SimOptions' dt and integrator"
                        near 0.0 "SimOptions' gravity" (s2.model.parameters.gravity.toFloatArray ()) [| 0.0; 0.0; -9.81 |])
                }
        ])
