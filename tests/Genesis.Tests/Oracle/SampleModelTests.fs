/// Issue 20, part 6: every MJCF sample MuJoCo 2.2.2 ships (libmujoco-samples, /usr/share/mujoco/model) either loads
/// and steps finitely in a Scene, or raises a GenesisException naming the file, line and unsupported element; each
/// model that loads follows MuJoCo's contact-free trajectory (constraints off on both sides) to 1e-9.
module Genesis.Tests.Oracle.SampleModelTests

open System
open System.IO
open Expecto
open Genesis
open Genesis.Physics
open Genesis.Tests
open Genesis.Tests.Physics.MorphTestUtil
open Genesis.Tests.Oracle

/// MuJoCo's sample folder (the CI installs libmujoco-samples).
let SampleDir = "/usr/share/mujoco/model"

/// Contact-free trajectories: qpos and qvel, absolute.
let TrajTol = 1e-9

/// The outcome of loading one sample.
type private Outcome =
    | Loaded of EntitySpec
    | Rejected of exn

let private samples () =
    if Directory.Exists SampleDir then Directory.GetFiles(SampleDir, "*.xml", SearchOption.AllDirectories) |> Array.sort else [||]

let private row = Genesis.Tests.Physics.PhysicsTestUtil.row64

/// Steps from qpos0 with a small random velocity and random controls in both engines (our reference step with its
/// fixed tendons, spatial tendon and actuator forces explicit as in MuJoCo 2.2.2's Euler); the worst qpos and qvel differences.
let private trajectory (e: EntitySpec) (m: MuJoCo.Model) (n: int) =
    let e = DynamicsOracleTests.withMuJoCoInertia e m 0
    let model = Model.build [| e |] DType.Float64
    let rnd = Random(11)
    let v = Array.init model.topology.nv (fun _ -> 0.2 * (rnd.NextDouble() - 0.5))
    let u = Array.init e.actuators.Length (fun _ -> rnd.NextDouble() - 0.5)
    let q = model.topology.qpos0
    m.Reset()
    m.Qpos <- q
    m.Qvel <- v
    if u.Length > 0 then m.Ctrl <- u
    m.Step n
    let integrator = match int (m.Option "integrator") with 1 -> Integrator.RK4 | _ -> Integrator.Euler
    if integrator = Integrator.RK4 && (e.actuators.Length > 0 || e.tendons.Length > 0) then
        failtestf "%s: RK4 with state-dependent actuator or tendon forces is not compared (they are explicit per step here)" e.name
    let sp = { SimParams.defaults with dt = m.Timestep; integrator = integrator; enableContact = false; enableJointLimits = false }
    let modes = Array.create model.topology.nv ControlMode.Force
    let mutable st = { State.qpos = row q; qvel = row v; time = 0.0 }
    for _ in 1 .. n do
        let kin = Kinematics.compute model st.qpos
        let f = Tendons.passive model (MjcfOracleTests.spatialTendonsOnly e) kin st.qpos st.qvel + Tendons.actuatorForces model.topology e kin st.qpos st.qvel (if u.Length > 0 then row u else gs.zeros([ 1; 0 ], dtype = DType.Float64))
        st <- Physics.step model sp st { modes = modes; values = f }
    maxDiff (st.qpos.toFloatArray ()) m.Qpos, maxDiff (st.qvel.toFloatArray ()) m.Qvel

[<Tests>]
let tests =
    testSequenced (
        testList "Oracle.SampleModels" [
            test "MuJoCo's samples are installed (libmujoco-samples)" {
                Expect.isGreaterThan (samples ()).Length 10 (sprintf "XML files under %s" SampleDir)
            }
            for path in samples () do
                let name = Path.GetRelativePath(SampleDir, path)
                test (sprintf "%s loads and matches MuJoCo without contacts, or names what it does not support" name) {
                    GsSetup.ensure64 ()
                    let outcome = try Loaded(Mjcf.load path) with :? GenesisException as ex -> Rejected ex
                    match outcome with
                    | Rejected ex ->
                        printfn "Oracle.SampleModels %s: rejected: %s" name ex.Message
                        // the file holding the element (this one or one it includes) and its line, and what is not supported
                        Expect.isTrue (ex.Message.Contains ".xml (line " && ex.Message.Contains "not supported") (sprintf "the message names file, line and feature: %s" ex.Message)
                    | Loaded e ->
                        // a Scene steps it finitely (or names the tendon feature its step lacks)
                        let scene = Scene(SimOptions(enableContact = false, enableJointLimits = false))
                        scene.addEntity (MorphSpec e) |> ignore
                        let built = try scene.build (); None with :? GenesisNotSupportedException as ex -> Some ex.Message
                        match built with
                        | Some why -> Expect.stringContains why "tendon" "a Scene names the tendon it cannot step"
                        | None ->
                            for _ in 1 .. 5 do scene.step ()
                        match MuJoCo.availability.Force() with
                        | Error why -> skiptest why
                        | Ok _ ->
                            use m = MuJoCo.load path
                            m.SetOption("disableflags", float MjcfOracleTests.disableFlags)
                            Expect.equal (m.nq, m.nv, m.nu) (EntitySpec.nq e, EntitySpec.nv e, e.actuators.Length) "nq, nv, nu"
                            let n = if m.nv > 100 then 3 else 100
                            let eq, ev = trajectory e m n
                            printfn "Oracle.SampleModels %s: %d steps, qpos %.1e, qvel %.1e (built in a Scene: %s)" name n eq ev (match built with None -> "yes" | Some w -> w)
                            Expect.isLessThanOrEqual eq TrajTol "qpos"
                            Expect.isLessThanOrEqual ev TrajTol "qvel"
                }
        ])
