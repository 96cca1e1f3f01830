/// Equality constraints (Physics/Stages/Equality.fs): the test models (a four-bar linkage closed by a connect, a free
/// box welded to a swinging arm, joint couplings), the kernel = Tensor path contract, the constraint violation over
/// 2 s, gradients of rollouts through constraints against central differences, and the loader's errors.
module Genesis.Tests.Physics.EqualityTests

open System
open Expecto
open Genesis
open Genesis.Physics
open Genesis.Tests
open Genesis.Tests.TestUtil
open Genesis.Tests.Physics.MorphTestUtil

/// Kernel constraint force vs the Tensor path's, relative to max(1, the largest magnitude).
let ValueTol = 1e-10
/// Gradients vs central differences, relative to max(1, the largest magnitude).
let GradTol = 1e-5

/// A four-bar linkage hanging in the x-z plane (ground 0.6, crank 0.3, coupler ~0.61, rocker 0.4) closed by one connect.
let fourBarXml = """<mujoco model="fourbar">
  <option timestep="0.001"/>
  <default><geom type="capsule" size="0.02" contype="0" conaffinity="0" density="1000"/></default>
  <worldbody>
    <body name="crank">
      <joint name="a" type="hinge" axis="0 1 0"/>
      <geom fromto="0 0 0 0 0 -0.3"/>
      <body name="coupler" pos="0 0 -0.3">
        <joint name="b" type="hinge" axis="0 1 0"/>
        <geom fromto="0 0 0 0.6 0 -0.1"/>
      </body>
    </body>
    <body name="rocker" pos="0.6 0 0">
      <joint name="d" type="hinge" axis="0 1 0"/>
      <geom fromto="0 0 0 0 0 -0.4"/>
    </body>
  </worldbody>
  <equality>
    <connect name="loop" body1="coupler" body2="rocker" anchor="0.6 0 -0.1"/>
  </equality>
</mujoco>"""

/// A free box welded (at the arm's origin, relative pose as at qpos0) to an arm swinging on a hinge.
let weldXml = """<mujoco model="weld">
  <option timestep="0.001"/>
  <default><geom contype="0" conaffinity="0" density="1000"/></default>
  <worldbody>
    <body name="arm" pos="0 0 1">
      <joint name="shoulder" type="hinge" axis="0 1 0"/>
      <geom type="capsule" size="0.03" fromto="0 0 0 0.5 0 0"/>
    </body>
    <body name="box" pos="0.6 0.05 1.1" quat="0.9 0.1 0.3 0.2">
      <freejoint name="boxfree"/>
      <geom type="box" size="0.08 0.05 0.04"/>
    </body>
  </worldbody>
  <equality>
    <weld name="grip" body1="box" body2="arm" anchor="0.05 -0.1 0.2"/>
  </equality>
</mujoco>"""

/// Two pendulums coupled by a quartic polycoef (j2 with a reference angle, so the offset shows), and a slider held at
/// 0.1 m by a one-joint constraint with its own solref.
let couplingXml = """<mujoco model="coupling">
  <option timestep="0.001"/>
  <default><geom type="capsule" size="0.02" contype="0" conaffinity="0" density="1000"/></default>
  <worldbody>
    <body name="p1" pos="0 0 1">
      <joint name="j1" type="hinge" axis="0 1 0"/>
      <geom fromto="0 0 0 0.3 0 0"/>
    </body>
    <body name="p2" pos="1 0 1">
      <joint name="j2" type="hinge" axis="0 1 0" ref="0.2"/>
      <geom fromto="0 0 0 0.4 0 0.1"/>
    </body>
    <body name="s" pos="0 1 1">
      <joint name="j3" type="slide" axis="1 0 0"/>
      <geom type="sphere" size="0.05"/>
    </body>
  </worldbody>
  <equality>
    <joint name="couple" joint1="j1" joint2="j2" polycoef="0.05 -0.8 0.3 0.1 0"/>
    <joint name="fix" joint1="j3" polycoef="0.1 0 0 0 0" solref="0.05 0.8"/>
  </equality>
</mujoco>"""

/// The test models: (label, MJCF text, initial qvel).
let cases =
    [ "four-bar (connect)", fourBarXml, [| 2.0; 0.0; 0.0 |]
      "welded box (weld)", weldXml, [| 1.5; 0.0; 0.0; 0.0; 0.0; 0.0; 0.0 |]
      "coupled joints (joint)", couplingXml, [| 0.5; 0.0; 0.0 |] ]

/// Writes a case's MJCF to a scratch folder and runs f with the path.
let withModelFile (xml: string) (f: string -> 'a) =
    let mutable r = Unchecked.defaultof<'a>
    withTempDir (fun dir -> r <- f (writeFile dir "model.xml" xml))
    r

/// The case's model (float64).
let modelOf (xml: string) = withModelFile xml (fun p -> Model.build [| Mjcf.load p |] DType.Float64)

/// Simulation parameters of the cases: MuJoCo's 1 ms step, Euler, no contacts or limits.
let simParams = { SimParams.defaults with dt = 0.001; enableContact = false; enableJointLimits = false }

let private rowsT = Genesis.Tests.Physics.PhysicsTestUtil.row64

/// The Tensor path's constraint force at (q, v) for the mass matrix and forces f = -bias + extra.
let private tensorForce (m: Model) (q: float[]) (v: float[]) (extra: float[]) =
    let qt, vt = rowsT q, rowsT v
    let kin = Kinematics.compute m qt
    let dyn = Dynamics.compute m kin vt
    let f = rowsT extra - dyn.qfrcBias
    (Equality.force m simParams.dt kin qt vt dyn.qM f).toFloatArray(), f.toFloatArray()

/// The kernel's constraint force at (q, v) for the forces f (on float64, through FastStep.evaluate's kinematics and M).
let private kernelForce (m: Model) (q: float[]) (v: float[]) (f: float[]) =
    let fm = FastStep.prepare m
    let w = FastModelBuild.rent fm
    try
        let modes = Array.create fm.nv DriveCode.Force
        FastStep.evaluateFloat fm w simParams simParams.dt false modes q v (Array.zeroCreate fm.nv)
        Array.blit f 0 w.rhs 0 fm.nv
        EqualityKernel.constrainFloat fm w q v (Array.copy w.qM) simParams.dt
        Array.map2 (-) w.rhs f
    finally FastModelBuild.giveBack fm w

/// Random states near qpos0 (joints within +-0.4, velocities within +-1) of a model.
let randomState (m: Model) (rnd: Random) =
    let q, v = PhysicsTestUtil.randomStates 0.02 m rnd 1 0.4 1.0
    q, v

/// Contract (Stage.Equality, GenericKernel): EqualityKernel = Equality.force on every case at random states, violated
/// constraints included (ValueTol).
let kernelContract () =
    GsSetup.ensure64 ()
    let rnd = Random 31
    for label, xml, _ in cases do
        let m = modelOf xml
        for _ in 1 .. 5 do
            let q, v = randomState m rnd
            let extra = Array.init m.topology.nv (fun _ -> rnd.NextDouble() - 0.5)
            let reference, f = tensorForce m q v extra
            let kernel = kernelForce m q v f
            PhysicsTestUtil.expectClose ValueTol (label + ": J^T lambda, kernel vs Tensor path") reference kernel
            Expect.isGreaterThan (reference |> Array.map abs |> Array.max) 1e-3 (label + ": the constraint force is not zero")

/// The largest violation of each constraint from `settle` to `seconds` s, starting at qpos0 with velocity v0 (kernel
/// path), and the final state.
let maxViolation (m: Model) (v0: float[]) (settle: float) (seconds: float) =
    let sim = FastSim(m, simParams, 1)
    Array.blit v0 0 sim.qvel 0 v0.Length
    let worst = Array.zeroCreate m.topology.equality.Length
    for t in 1 .. int (Math.Round(seconds / simParams.dt)) do
        sim.step ()
        if float t * simParams.dt >= settle then
          let q = rowsT sim.qpos
          let viol = (Equality.violation m (Kinematics.compute m q) q).toFloatArray()
          for i in 0 .. worst.Length - 1 do worst[i] <- max worst[i] viol[i]
    worst, Array.copy sim.qpos

/// Stated bounds on the violation norm from 0.2 s to 2 s (the coupled joints start violated by 0.05 rad and 0.1 m and
/// settle first): m for connect, m and sin(angle / 2) for weld, rad and m for joint. Measured: 0.18 mm (connect), 9.3e-3
/// (weld: the 1.3 kg box at 0.6 m sags), 0.033 rad (the quartic coupling carries the heavier pendulum) and 1.4 mm (the
/// slider); a bound is 1.5x the case's largest. MuJoCo's soft constraints sag by about (acceleration) x timeconst^2.
let ViolationBound = [ "four-bar (connect)", 1.5 * 1.8e-4; "welded box (weld)", 1.5 * 9.3e-3; "coupled joints (joint)", 1.5 * 3.3e-2 ]

/// Sum of squares of the final qpos after `steps` steps from qpos0 with initial velocity v (Tensor path).
let private rolloutLoss (m: Model) (steps: int) (v: Tensor) =
    let mutable s = { State.qpos = rowsT m.topology.qpos0; qvel = v.reshape([ 1; m.topology.nv ]); time = 0.0 }
    let ctl = { modes = Array.create m.topology.nv ControlMode.Force; values = gs.zeros([ 1; m.topology.nv ], dtype = DType.Float64) }
    for _ in 1 .. steps do s <- Physics.step m simParams s ctl
    (s.qpos * s.qpos).sum()

/// Central differences of g at x (h = 1e-6).
let private centralDiff (g: float[] -> float) (x: float[]) =
    Array.init x.Length (fun i ->
        let h = 1e-6
        let xp, xm = Array.copy x, Array.copy x
        xp[i] <- xp[i] + h
        xm[i] <- xm[i] - h
        (g xp - g xm) / (2.0 * h))

[<Tests>]
let tests =
    testSequenced (
        testList "Physics.Equality" [
            test "the loader resolves connect, weld and joint constraints to MuJoCo's eq_data" {
                GsSetup.ensure64 ()
                let m = modelOf fourBarXml
                let e = m.topology.equality[0]
                Expect.equal (e.kind, m.topology.bodyName[e.body1], m.topology.bodyName[e.body2]) (Connect, "coupler", "rocker") "connect bodies"
                // the anchor (0.6, 0, -0.1) of the coupler is the rocker's tip (0, 0, -0.4) at qpos0 (MuJoCo eq_data[3..5])
                PhysicsTestUtil.expectClose 1e-12 "connect eq_data" [| 0.6; 0.0; -0.1; 0.0; 0.0; -0.4 |] e.data[0..5]
                Expect.equal (e.solref, e.solimp) ([| 0.02; 1.0 |], [| 0.9; 0.95; 0.001; 0.5; 2.0 |]) "MuJoCo's default solref and solimp"
                let w = (modelOf weldXml).topology.equality[0]
                // MuJoCo 2.2.2 compiles this weld to eq_data 0.05 -0.1 0.2 -0.518421053 0.0710526316 -0.247368421 0.923380517
                // -0.102597835 -0.307793506 -0.20519567 1 (read with mj_loadXML)
                PhysicsTestUtil.expectClose 1e-8 "weld eq_data"
                    [| 0.05; -0.1; 0.2; -0.518421053; 0.0710526316; -0.247368421; 0.923380517; -0.102597835; -0.307793506; -0.20519567; 1.0 |] w.data
                let c = (modelOf couplingXml).topology.equality
                Expect.equal (c |> Array.map (fun e -> e.joint1, e.joint2)) [| (0, 1); (2, -1) |] "joint couplings"
                Expect.equal c[1].solref [| 0.05; 0.8 |] "a constraint's own solref"
            }

            test "MuJoCo's impedance: dmin at zero violation, dmax from the width on, the power curve between" {
                let s = MjcfEquality.defaultSolimp
                Expect.equal (Equality.impedance s 0.0) 0.9 "dmin"
                Expect.equal (Equality.impedance s 0.002) 0.95 "dmax"
                // x = 0.25 <= midpoint: y = x^2 / 0.5 = 0.125; x = 0.75: y = 1 - 0.25^2 / 0.5 = 0.875
                Expect.floatClose Accuracy.veryHigh (Equality.impedance s 0.00025) (0.9 + 0.125 * 0.05) "lower branch"
                Expect.floatClose Accuracy.veryHigh (Equality.impedance s -0.00075) (0.9 + 0.875 * 0.05) "upper branch, |pos|"
                let k, b = Equality.gains { (modelOf fourBarXml).topology.equality[0] with solref = [| 0.0005; 1.0 |] } 0.001
                Expect.floatClose Accuracy.veryHigh b (2.0 / (0.95 * 0.002)) "the time constant is kept >= 2 h (MuJoCo's refsafe)"
                Expect.floatClose Accuracy.veryHigh k (1.0 / (0.95 * 0.95 * 0.002 * 0.002)) "stiffness from the clamped time constant"
            }

            test "kernel = Tensor path (the stage contract, also in StageContractTests)" { kernelContract () }

            test "the violation stays below its stated bound over 2 s (default solref)" {
                GsSetup.ensure64 ()
                for label, xml, v0 in cases do
                    let m = modelOf xml
                    let worst, q = maxViolation m v0 0.2 2.0
                    let bound = ViolationBound |> List.find (fst >> (=) label) |> snd
                    printfn "Physics.Equality %s: largest violation from 0.2 s to 2 s %A (bound %g)" label worst bound
                    for x in worst do Expect.isLessThan x bound (label + ": violation bound")
                    Expect.isGreaterThan (worst |> Array.max) 1e-7 (label + ": the constraint is loaded (a violation shows)")
                    Expect.isTrue (q |> Array.forall Double.IsFinite) (label + ": finite state")
                // without the constraint the four-bar's coupler tip leaves the rocker's by far more
                let free = modelOf (fourBarXml.Replace("<connect", "<connect active=\"false\""))
                Expect.equal free.topology.equality.Length 0 "an inactive constraint is dropped"
                let loop = modelOf fourBarXml
                let sim = FastSim(free, simParams, 1)
                sim.qvel[0] <- 2.0
                for _ in 1 .. 500 do sim.step ()
                let q = rowsT sim.qpos
                let drift = (Equality.violation loop (Kinematics.compute loop q) q).item()
                Expect.isGreaterThan drift 0.05 "unconstrained, the loop opens by > 5 cm"
            }

            test "Tensor path = kernel over a 200-step rollout, Euler and RK4" {
                GsSetup.ensure64 ()
                for label, xml, v0 in cases do
                    let m = modelOf xml
                    for integrator in [ Integrator.Euler; Integrator.RK4 ] do
                        let sp = { simParams with integrator = integrator }
                        let ctl = { modes = Array.create m.topology.nv ControlMode.Force; values = gs.zeros([ 1; m.topology.nv ], dtype = DType.Float64) }
                        let mutable s = { State.qpos = rowsT m.topology.qpos0; qvel = rowsT v0; time = 0.0 }
                        let sim = FastSim(m, sp, 1)
                        Array.blit v0 0 sim.qvel 0 v0.Length
                        for _ in 1 .. 200 do
                            s <- Physics.step m sp s ctl
                            sim.step ()
                        PhysicsTestUtil.expectClose 1e-9 (sprintf "%s, %A: qpos" label integrator) (s.qpos.toFloatArray()) sim.qpos
                        PhysicsTestUtil.expectClose 1e-9 (sprintf "%s, %A: qvel" label integrator) (s.qvel.toFloatArray()) sim.qvel
            }

            test "the gradient of a rollout loss through the constraints = central differences (Tensor path and scene tape path)" {
                GsSetup.ensure64 ()
                for label, xml, v0 in cases do
                    let m = modelOf xml
                    let steps = 60
                    let g = gs.grad (rolloutLoss m steps) (gs.tensor v0)
                    let fd = centralDiff (fun v -> (rolloutLoss m steps (gs.tensor v)).item()) v0
                    Expect.isTrue (g.toFloatArray() |> Array.forall Double.IsFinite) (label + ": finite gradient")
                    PhysicsTestUtil.expectClose GradTol (label + ": Tensor path gradient vs central differences") fd (g.toFloatArray())
                    // the scene's checkpointed fast path (the taped kernels, EqualityKernel on TapeReal)
                    withModelFile xml (fun path ->
                        let scene = Scene(SimOptions(dt = 0.001, requiresGrad = true, enableContact = false, enableJointLimits = false, checkpointEvery = 20))
                        let e = scene.addEntity(Morphs.MJCF path)
                        scene.build()
                        Expect.equal scene.nEqualities m.topology.equality.Length "the scene keeps the constraints"
                        let v = gs.tensor(v0, requiresGrad = true)
                        e.setDofsVelocity v
                        for _ in 1 .. steps do scene.step()
                        let q = scene.getState().qpos
                        let viol = scene.getEqualityViolation().toFloatArray()
                        let qt = q.detach().reshape([ 1; m.topology.nq ])
                        PhysicsTestUtil.expectClose 1e-12 (label + ": scene violation") ((Equality.violation m (Kinematics.compute m qt) qt).toFloatArray()) viol
                        Expect.isGreaterThan (Array.max viol) 0.0 (label + ": a violation shows")
                        (q * q).sum().backward()
                        PhysicsTestUtil.expectClose GradTol (label + ": scene gradient vs central differences") fd (v.grad.toFloatArray()))
            }

            test "bad input: a missing body or joint, an unknown equality type and a missing attribute name file and line" {
                withTempDir (fun dir ->
                    let bad (name: string) (eq: string) = writeFile dir name (fourBarXml.Replace("""<connect name="loop" body1="coupler" body2="rocker" anchor="0.6 0 -0.1"/>""", eq))
                    let lineOfEq = (fourBarXml.Split('\n') |> Array.findIndex (fun l -> l.Contains "<connect")) + 1
                    let at (f: string) = sprintf "%s (line %d)" f lineOfEq
                    let p = bad "nobody.xml" """<connect body1="coupler" body2="ghost" anchor="0 0 0"/>"""
                    throwsWith<GenesisException> [ at "nobody.xml"; "body2 'ghost' is not a body of the model" ] (fun () -> Mjcf.load p |> ignore)
                    let p = bad "nojoint.xml" """<joint joint1="a" joint2="zz"/>"""
                    throwsWith<GenesisException> [ at "nojoint.xml"; "joint2 'zz' is not a joint of the model" ] (fun () -> Mjcf.load p |> ignore)
                    let p = bad "tendon.xml" """<tendon tendon1="t"/>"""
                    throwsWith<GenesisNotSupportedException> [ at "tendon.xml"; "equality <tendon> is not supported" ] (fun () -> Mjcf.load p |> ignore)
                    let p = bad "distance.xml" """<distance geom1="g" geom2="h"/>"""
                    throwsWith<GenesisNotSupportedException> [ at "distance.xml"; "equality <distance> is not supported" ] (fun () -> Mjcf.load p |> ignore)
                    let p = bad "noanchor.xml" """<connect name="c" body1="coupler" body2="rocker"/>"""
                    throwsWith<GenesisException> [ at "noanchor.xml"; "<connect name='c'> needs an 'anchor'" ] (fun () -> Mjcf.load p |> ignore)
                    let p = bad "self.xml" """<weld name="w" body1="crank" body2="crank"/>"""
                    throwsWith<GenesisException> [ at "self.xml"; "joins body 'crank' to itself" ] (fun () -> Model.build [| Mjcf.load p |] DType.Float64 |> ignore))
            }
        ])
