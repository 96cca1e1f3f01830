/// Equality constraints against MuJoCo 2.2.2 (mj_forward, mj_step with its Newton solver, contacts off): the
/// accelerations at random violated states, and 2 s trajectories of the four-bar (connect), the welded box (weld) and
/// the coupled joints (joint) of EqualityTests. The issue's rule for the trajectories: ours must agree with MuJoCo's
/// default-solref trajectory within the band MuJoCo itself shows between its default solref and a 10x stiffer one
/// (timeconst / 10); both numbers were measured with these tests and are stated below.
module Genesis.Tests.Oracle.EqualityOracleTests

open System
open Expecto
open Genesis
open Genesis.Physics
open Genesis.Tests
open Genesis.Tests.Physics
open Genesis.Tests.Physics.MorphTestUtil
open Genesis.Tests.Oracle

/// qacc at random states (violated constraints), relative to max(1, the largest |qacc|).
let QaccTol = 1e-9

/// Trajectory length (s).
let Seconds = 2.0

/// Measured over 2 s (largest |qpos| difference over all steps and coordinates): MuJoCo default vs 10x stiffer solref
/// (the band), and ours vs MuJoCo default. Our error must stay below the band (the issue's rule) and below OursBound.
let Measured =
    [ "four-bar (connect)", (1.26e-2, 6.7e-16)
      "welded box (weld)", (4.68e-2, 3.4e-15)
      "coupled joints (joint)", (9.10e-2, 3.5e-14) ]

/// Our trajectories agree with MuJoCo's to this (float64 round-off over 2,000 steps; the inertias are MuJoCo's): the
/// same soft-constraint solution, MuJoCo's Newton solver converging on the quadratic of equality rows alone.
let OursBound = 1e-9

let private mjDSBL_CONTACT = 1 <<< 4

/// MuJoCo's qpos after every step from qpos0 with velocity v0, with every constraint's time constant scaled.
let private mjTrajectoryWith (integrator: MuJoCo.Integrator) (path: string) (v0: float[]) (steps: int) (timeconstScale: float) =
    use m = MuJoCo.load path
    m.SetOption("disableflags", float mjDSBL_CONTACT)
    m.SetIntegrator integrator
    let solref = m.Model "eq_solref"
    m.SetModel("eq_solref", solref |> Array.mapi (fun i x -> if i % 2 = 0 then x * timeconstScale else x))
    m.Reset()
    m.Qvel <- v0
    Array.init steps (fun _ ->
        m.Step 1
        m.Qpos)

/// mjTrajectoryWith under MuJoCo's default (semi-implicit Euler) integrator.
let private mjTrajectory = mjTrajectoryWith MuJoCo.Integrator.Euler

/// Our qpos after every step (kernel path, MuJoCo's inertias).
let private ourTrajectoryWith (integrator: Integrator) (model: Model) (v0: float[]) (steps: int) =
    let sim = FastSim(model, { EqualityTests.simParams with integrator = integrator }, 1)
    Array.blit v0 0 sim.qvel 0 v0.Length
    Array.init steps (fun _ ->
        sim.step ()
        Array.copy sim.qpos)

/// ourTrajectoryWith under Euler.
let private ourTrajectory = ourTrajectoryWith Integrator.Euler

/// Largest |a - b| over all steps and coordinates.
let private worst (a: float[][]) (b: float[][]) = Array.map2 maxDiff a b |> Array.max

let private skipUnlessMuJoCo () =
    match MuJoCo.availability.Force() with
    | Ok _ -> ()
    | Error e -> skiptest e

[<Tests>]
let tests =
    testSequenced (
        testList "Oracle.Equality" [
            for label, xml, v0 in EqualityTests.cases do
                test (sprintf "%s: qacc = MuJoCo's at random violated states" label) {
                    skipUnlessMuJoCo ()
                    GsSetup.ensure64 ()
                    EqualityTests.withModelFile xml (fun path ->
                        use m = MuJoCo.load path
                        m.SetOption("disableflags", float mjDSBL_CONTACT)
                        let model = Model.build [| DynamicsOracleTests.withMuJoCoInertia (Mjcf.load path) m 0 |] DType.Float64
                        let rnd = Random 7
                        for _ in 1 .. 10 do
                            let q, v = EqualityTests.randomState model rnd
                            m.Qpos <- q
                            m.Qvel <- v
                            m.Forward()
                            let ctl = { modes = Array.create model.topology.nv ControlMode.Force; values = gs.zeros([ 1; model.topology.nv ], dtype = DType.Float64) }
                            let row (a: float[]) = gs.fromArray(a, shape = [| 1; a.Length |], dtype = DType.Float64)
                            let ours = (Physics.forward model EqualityTests.simParams (row q) (row v) ctl).qacc.toFloatArray()
                            let theirs = m.Data "qacc"
                            Expect.isGreaterThan (maxDiff theirs (m.Data "qacc_smooth")) 1.0 "the constraint changes qacc"
                            PhysicsTestUtil.expectClose QaccTol (label + ": qacc") theirs ours)
                }
                test (sprintf "%s: 2 s trajectory within MuJoCo's default-vs-10x-stiffer band" label) {
                    skipUnlessMuJoCo ()
                    GsSetup.ensure64 ()
                    EqualityTests.withModelFile xml (fun path ->
                        let steps = int (Math.Round(Seconds / EqualityTests.simParams.dt))
                        let mjDefault = mjTrajectory path v0 steps 1.0
                        let mjStiff = mjTrajectory path v0 steps 0.1
                        use m = MuJoCo.load path
                        let model = Model.build [| DynamicsOracleTests.withMuJoCoInertia (Mjcf.load path) m 0 |] DType.Float64
                        let ours = ourTrajectory model v0 steps
                        let band, err = worst mjStiff mjDefault, worst ours mjDefault
                        let statedBand, statedErr = Measured |> List.find (fst >> (=) label) |> snd
                        printfn "Oracle.Equality %s: band (MuJoCo default vs 10x stiffer) %.2e, ours vs MuJoCo %.2e" label band err
                        Expect.isLessThan err band (label + ": ours vs MuJoCo within MuJoCo's own solref band")
                        Expect.isLessThan err OursBound (label + ": ours vs MuJoCo")
                        Expect.isLessThan (abs (log10 band - log10 statedBand)) 0.3 (sprintf "%s: band %.2e vs the stated %.2e" label band statedBand)
                        Expect.isLessThan err (max OursBound (100.0 * statedErr)) (sprintf "%s: error %.2e vs the stated %.2e" label err statedErr))
                }
                test (sprintf "%s: 2 s RK4 trajectory = MuJoCo's RK4" label) {
                    skipUnlessMuJoCo ()
                    GsSetup.ensure64 ()
                    EqualityTests.withModelFile xml (fun path ->
                        let steps = int (Math.Round(Seconds / EqualityTests.simParams.dt))
                        let theirs = mjTrajectoryWith MuJoCo.Integrator.RK4 path v0 steps 1.0
                        use m = MuJoCo.load path
                        let model = Model.build [| DynamicsOracleTests.withMuJoCoInertia (Mjcf.load path) m 0 |] DType.Float64
                        let err = worst (ourTrajectoryWith Integrator.RK4 model v0 steps) theirs
                        printfn "Oracle.Equality %s: RK4 ours vs MuJoCo %.2e" label err
                        Expect.isLessThan err OursBound (label + ": RK4 ours vs MuJoCo"))
                }
        ])
