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

/// MuJoCo's qpos and qvel after n steps from (qpos, qvel; [] for rest) under ctrl ([] for none), constraints off.
let internal mujocoRunFrom (path: string) (qpos: float[]) (qvel: float[]) (ctrl: float[]) (n: int) =
    use m = MuJoCo.load path
    m.SetOption("disableflags", float disableFlags)
    m.Qpos <- qpos
    if qvel.Length > 0 then m.Qvel <- qvel
    if ctrl.Length > 0 then m.Ctrl <- ctrl
    m.Step n
    m.Qpos, m.Qvel

/// MuJoCo's (qpos, qvel) after n steps from qpos at rest under ctrl (constraints off).
let internal mujocoRun (path: string) (qpos: float[]) (ctrl: float[]) (n: int) = mujocoRunFrom path qpos [||] ctrl n


/// Every transmission and bias kind on a chain of hinges and a slide: a motor, a position actuator with gear and force
/// range, a velocity actuator, an affine general actuator, actuators on a fixed and a spatial tendon, a slider-crank;
/// tendons with springs and dampers. Controls are clamped to [-1, 1] by a class default.
let private drivesMjcf = """<mujoco model="drives">
  <option timestep="0.002"/>
  <default><general ctrllimited="true" ctrlrange="-1 1"/></default>
  <worldbody>
    <site name="anchor" pos="0.2 0.1 1.2"/>
    <site name="slider" pos="0.5 0.45 0.9" zaxis="0 1 0.3"/>
    <body name="a" pos="0 0 1">
      <joint name="h1" type="hinge" axis="0 1 0" damping="0.1"/>
      <geom type="capsule" fromto="0 0 0 0.3 0 0" size="0.03"/>
      <site name="sa" pos="0.2 0 0.02"/>
      <body name="b" pos="0.3 0 0">
        <joint name="h2" type="hinge" axis="0 0.3 1"/>
        <geom type="capsule" fromto="0 0 0 0.25 0 0" size="0.025"/>
        <site name="sb" pos="0.15 0.02 0"/>
        <body name="c" pos="0.25 0 0">
          <joint name="s3" type="slide" axis="1 0 0" damping="0.2"/>
          <geom type="box" size="0.05 0.03 0.03"/>
          <site name="sc" pos="0.05 0 0.01"/>
        </body>
      </body>
    </body>
    <body name="d" pos="0.5 0.5 1">
      <joint name="h4" type="hinge" axis="1 0 0"/>
      <geom type="capsule" fromto="0 0 0 0 0.2 0" size="0.02"/>
      <site name="crank" pos="0 0.1 0"/>
    </body>
  </worldbody>
  <tendon>
    <fixed name="couple" stiffness="2" damping="0.3" springlength="0.1">
      <joint joint="h1" coef="1"/>
      <joint joint="h2" coef="-0.5"/>
    </fixed>
    <spatial name="cable" stiffness="5" damping="0.1">
      <site site="anchor"/>
      <site site="sa"/>
      <site site="sb"/>
      <site site="sc"/>
    </spatial>
  </tendon>
  <actuator>
    <motor name="m1" joint="h1" gear="2"/>
    <position name="p2" joint="h2" gear="1.5" kp="30" forcelimited="true" forcerange="-5 5"/>
    <velocity name="v3" joint="s3" kv="4"/>
    <general name="g4" joint="h4" gainprm="3" biastype="affine" biasprm="0.5 -2 -0.4"/>
    <motor name="t1" tendon="couple" gear="1.3"/>
    <general name="t2" tendon="cable" gainprm="2" biastype="affine" biasprm="0 -1 -0.2"/>
    <position name="sc" cranksite="crank" slidersite="slider" cranklength="0.15" kp="10"/>
  </actuator>
</mujoco>
"""

/// drivesMjcf's joint-transmission actuators only (what a Scene's dof controls express), without tendons.
let internal jointDrivesMjcf =
    let cut (s: string) (a: string) (b: string) = s.Substring(0, s.IndexOf a) + s.Substring(s.IndexOf b + b.Length)
    let s = cut drivesMjcf "  <tendon>" "</tendon>\n"
    let s = cut s "    <motor name=\"t1\"" "kp=\"10\"/>\n"
    s

/// Random qpos (hinges +-1 rad, the slide +-0.1 m), qvel in +-1 and ctrl in +-1.5 (beyond the ctrlrange).
let private randomInputs (rnd: Random) (e: EntitySpec) =
    let u lo hi = lo + (hi - lo) * rnd.NextDouble()
    EntitySpec.joints e |> Array.map (fun (_, j) -> if j.jtype = Slide then u -0.1 0.1 else u -1.0 1.0),
    Array.init (EntitySpec.nv e) (fun _ -> u -1.0 1.0),
    Array.init e.actuators.Length (fun _ -> u -1.5 1.5)

let private row = Genesis.Tests.Physics.PhysicsTestUtil.row64

/// Tendon spring-dampers plus actuator forces at a state [1; nv] (what MuJoCo adds to the joints' own forces).
let private tendonAndActuatorForces (model: Model) (e: EntitySpec) (qpos: Tensor) (qvel: Tensor) (ctrl: Tensor) =
    let kin = Kinematics.compute model qpos
    Tendons.passive model e kin qpos qvel + Tendons.actuatorForces model.topology e kin qpos qvel ctrl

/// The entity with its spatial tendons only: the forces of the fixed ones are part of Physics.step (Tendons.compute).
let internal spatialTendonsOnly (e: EntitySpec) =
    { e with tendons = e.tendons |> Array.filter (fun t -> match t.path with SpatialPath _ -> true | FixedPath _ -> false) }

/// The tendon and actuator forces a step adds as controls to match MuJoCo: spatial tendons' spring-dampers (the fixed
/// ones are in the step) and the actuators'.
let private forcesBesideStep (model: Model) (e: EntitySpec) (qpos: Tensor) (qvel: Tensor) (ctrl: Tensor) =
    let kin = Kinematics.compute model qpos
    Tendons.passive model (spatialTendonsOnly e) kin qpos qvel + Tendons.actuatorForces model.topology e kin qpos qvel ctrl

/// MuJoCo's and our tendon and actuator quantities at 10 random states: the largest difference of each.
let private pointwise (e: EntitySpec) (m: MuJoCo.Model) =
    let model = Model.build [| e |] DType.Float64
    let rnd = Random(5)
    let worst = Collections.Generic.Dictionary<string, float>()
    let record k (a: float[]) (b: float[]) = worst[k] <- max (if worst.ContainsKey k then worst[k] else 0.0) (maxDiff a b)
    for _ in 1 .. 10 do
        let q, v, u = randomInputs rnd e
        m.Qpos <- q
        m.Qvel <- v
        m.Ctrl <- u
        m.Forward()
        let qpos, qvel = row q, row v
        let kin = Kinematics.compute model qpos
        for i, t in Array.indexed e.tendons do
            let l, j = Tendons.lengthAndMoment model.topology e kin qpos t
            record "ten_length" (l.toFloatArray ()) [| (m.Data "ten_length")[i] |]
            record "ten_J" (j.toFloatArray ()) ((m.Data "ten_J").[i * model.topology.nv .. (i + 1) * model.topology.nv - 1])
        for i, a in Array.indexed e.actuators do
            let l, j = Tendons.transmission model.topology e kin qpos a
            record "actuator_length" (l.toFloatArray ()) [| (m.Data "actuator_length")[i] |]
            record "actuator_moment" (j.toFloatArray ()) ((m.Data "actuator_moment").[i * model.topology.nv .. (i + 1) * model.topology.nv - 1])
        record "qfrc_actuator" ((Tendons.actuatorForces model.topology e kin qpos qvel (row u)).toFloatArray ()) (m.Data "qfrc_actuator")
        let passive = Passive.compute model qpos qvel + Tendons.passive model e kin qpos qvel
        record "qfrc_passive" (passive.toFloatArray ()) (m.Data "qfrc_passive")
    worst

/// n explicit Euler steps of our reference step (the fixed tendons' forces in it) with the spatial tendon and
/// actuator forces evaluated at each step's start state (as MuJoCo 2.2.2's Euler does: only joint damping is implicit) against mj_step; the worst qpos, qvel errors.
let private explicitTrajectory (e: EntitySpec) (path: string) (n: int) =
    use m = MuJoCo.load path
    m.SetOption("disableflags", float disableFlags)
    let e = DynamicsOracleTests.withMuJoCoInertia e m 0
    let model = Model.build [| e |] DType.Float64
    let q, v, u = randomInputs (Random(9)) e
    m.Qpos <- q
    m.Qvel <- v
    m.Ctrl <- u
    m.Step n
    let sp = { SimParams.defaults with dt = m.Timestep; enableContact = false; enableJointLimits = false }
    let modes = Array.create model.topology.nv ControlMode.Force
    let mutable st = { State.qpos = row q; qvel = row v; time = 0.0 }
    for _ in 1 .. n do
        st <- Physics.step model sp st { modes = modes; values = forcesBesideStep model e st.qpos st.qvel (row u) }
    maxDiff (st.qpos.toFloatArray ()) m.Qpos, maxDiff (st.qvel.toFloatArray ()) m.Qvel

/// Pointwise tendon and actuator quantities (lengths, moments, forces), absolute.
let PointTol = 1e-10

let private sliderCrank = "/usr/share/mujoco/model/slider_crank/slider_crank.xml"

/// MuJoCo's arm26.xml with its tendons' wrapping geoms removed and its muscles turned into motors (on both sides):
/// six spatial tendons through sites, each driven by a motor.
let private arm26Plain () =
    IO.File.ReadAllLines "/usr/share/mujoco/model/tendon_arm/arm26.xml"
    |> Array.filter (fun l -> not (l.Trim().StartsWith "<geom geom="))
    |> Array.map (fun l -> l.Replace("<muscle ", "<motor "))
    |> String.concat "\n"

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

            for label, file in
                [ "synthetic drives.xml", (fun dir -> writeFile dir "drives.xml" drivesMjcf)
                  "MuJoCo's slider_crank.xml", (fun _ -> sliderCrank)
                  "MuJoCo's arm26.xml without wrapping, muscles as motors", (fun dir -> writeFile dir "arm26.xml" (arm26Plain ())) ] do
                let withModel (f: EntitySpec -> string -> unit) =
                    skipUnlessMuJoCo ()
                    GsSetup.ensure64 ()
                    withTempDir (fun dir ->
                        let path = file dir
                        f (Mjcf.load path) path)
                test (sprintf "%s: tendon lengths and moments, actuator lengths and moments, qfrc_actuator and qfrc_passive equal MuJoCo's at 10 random states" label) {
                    withModel (fun e path ->
                        use m = MuJoCo.load path
                        m.SetOption("disableflags", float disableFlags)
                        let worst = pointwise e m
                        printfn "Oracle.Mjcf %s: %s" label (String.Join(", ", [ for KeyValue(k, v) in worst -> sprintf "%s %.1e" k v ]))
                        Expect.isTrue (worst.ContainsKey "actuator_moment" && worst.ContainsKey "qfrc_actuator") "quantities compared"
                        Expect.isTrue (e.tendons.Length = 0 || worst.ContainsKey "ten_J") "tendons compared"
                        for KeyValue(k, v) in worst do
                            Expect.isLessThanOrEqual v PointTol (sprintf "%s: %s" label k))
                }
                test (sprintf "%s: a 0.5 s contact-free trajectory under random controls (explicit tendon and actuator forces) equals MuJoCo's to 1e-9" label) {
                    withModel (fun e path ->
                        let eq, ev = explicitTrajectory e path 250
                        printfn "Oracle.Mjcf %s trajectory: qpos %.1e, qvel %.1e" label eq ev
                        Expect.isLessThanOrEqual eq TrajTol "qpos"
                        Expect.isLessThanOrEqual ev TrajTol "qvel")
                }
            test "Tendons (Tensor reference form): J v of the tendon and actuator forces in (qpos, qvel, ctrl) equals central differences, and <u, J v> = <J^T u, v> (drives.xml: every transmission)" {
                GsSetup.ensure64 ()
                withTempDir (fun dir ->
                    let e = Mjcf.load (writeFile dir "drives.xml" drivesMjcf)
                    let model = Model.build [| e |] DType.Float64
                    let nq, nv, nu = model.topology.nq, model.topology.nv, e.actuators.Length
                    let f (x: Tensor) =
                        let part a n = x.narrow(0, a, n).unsqueeze(0)
                        (tendonAndActuatorForces model e (part 0 nq) (part nq nv) (part (nq + nv) nu)).squeeze(0)
                    let rnd = Random(21)
                    let q, v, u = randomInputs rnd e
                    // controls inside their range: the clamp's kinks are no place for central differences
                    let x = gs.tensor (Array.concat [ q; v; u |> Array.map (fun c -> 0.6 * c) ])
                    for _ in 1 .. 3 do
                        let dx = gs.tensor (Array.init x.numel (fun _ -> rnd.NextDouble() - 0.5))
                        let w = gs.tensor (Array.init nv (fun _ -> rnd.NextDouble() - 0.5))
                        let jv = gs.jvp f x dx
                        let jtw = gs.vjp f x w
                        let lhs, rhs = (w * jv).sum().item (), (jtw * dx).sum().item ()
                        Expect.isLessThan (abs (lhs - rhs)) (1e-10 * (abs lhs + 1.0)) (sprintf "<u, J v> = %.15g, <J^T u, v> = %.15g" lhs rhs)
                        let h = 1e-6
                        let fd = ((f (x + dx * h) - f (x - dx * h)) / (2.0 * h)).toFloatArray ()
                        let jva = jv.toFloatArray ()
                        let scale = max 1.0 (jva |> Array.map abs |> Array.max)
                        Expect.isLessThan (maxDiff fd jva / scale) 1e-7 "J v vs central differences"
                        Expect.isGreaterThan (jva |> Array.map abs |> Array.max) 1e-3 "the forces move")
            }
            test "Scene.controlActuators: the file's actuators' forces at a state equal MuJoCo's qfrc_actuator; controlDofsPosition on a position-actuated joint gives the same force" {
                skipUnlessMuJoCo ()
                GsSetup.ensure64 ()
                withTempDir (fun dir ->
                    let path = writeFile dir "joints.xml" jointDrivesMjcf
                    let spec = Mjcf.load path
                    Expect.equal (spec.actuators |> Array.map (fun a -> a.name)) [| "m1"; "p2"; "v3"; "g4" |] "joint actuators only"
                    use m = MuJoCo.load path
                    m.SetOption("disableflags", float disableFlags)
                    let q, v, u = randomInputs (Random(3)) spec
                    m.Qpos <- q
                    m.Qvel <- v
                    m.Ctrl <- u
                    m.Forward()
                    let scene = Scene(SimOptions(enableContact = false))
                    let e = scene.addEntity (Morphs.MJCF path)
                    scene.build ()
                    e.setDofsPosition (gs.tensor q)
                    e.setDofsVelocity (gs.tensor v)
                    e.controlActuators (gs.tensor u)
                    let f = (scene.ForwardData()).qfrcActuator.toFloatArray ()
                    printfn "Oracle.Mjcf controlActuators: qfrc_actuator %.1e" (maxDiff f (m.Data "qfrc_actuator"))
                    near 1e-12 "qfrc_actuator" f (m.Data "qfrc_actuator")
                    // p2 (kp 30, gear 1.5): target = clamp(u) / 1.5, and the dof's kp = 30 * 1.5^2
                    let target = (max -1.0 (min 1.0 u[1])) / 1.5
                    e.controlDofsPosition (gs.tensor [| target |], dofsIdx = [| 1 |])
                    let f2 = (scene.ForwardData()).qfrcActuator.toFloatArray ()
                    nearScalar 1e-12 "controlDofsPosition on p2's joint" f2[1] ((m.Data "qfrc_actuator").[1])
                    // a Scene steps kp and kv implicitly (MuJoCo 2.2.2's Euler explicitly), so 0.1 s trajectories differ by
                    // O(h): a quarter of the step must shrink the difference at least 2.5 times (both solve the same ODE)
                    let run (dt: float) =
                        m.SetOption("timestep", dt)
                        m.Reset()
                        m.Qpos <- q
                        m.Qvel <- v
                        m.Ctrl <- u
                        let n = int (Math.Round(0.1 / dt))
                        m.Step n
                        let sc = Scene(SimOptions(enableContact = false, dt = dt))
                        let ent = sc.addEntity (Morphs.MJCF path)
                        sc.build ()
                        ent.setDofsPosition (gs.tensor q)
                        ent.setDofsVelocity (gs.tensor v)
                        ent.controlActuators (gs.tensor u)
                        for _ in 1 .. n do sc.step ()
                        maxDiff (ent.getDofsPosition().toFloatArray ()) m.Qpos
                    let coarse, fine = run 0.002, run 0.0005
                    printfn "Oracle.Mjcf controlActuators: 0.1 s of Scene steps vs MuJoCo, qpos %.1e (dt 0.002), %.1e (dt 0.0005)" coarse fine
                    Expect.isLessThan coarse 0.02 "dt 0.002"
                    Expect.isLessThan fine (coarse / 2.5) "first-order convergence to MuJoCo's trajectory")
            }
        ])
