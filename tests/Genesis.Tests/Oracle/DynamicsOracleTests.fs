/// Our pure physics (Kinematics, Dynamics, Passive, Actuation, Physics.forward / step) against
/// MuJoCo 2.2.2 on every asset, at random states: mass matrix, bias forces, body poses,
/// contact-free accelerations and 1 s trajectories with Euler and RK4.
///
/// Models. Each asset is loaded by our loader and by MuJoCo exactly as in MorphOracleTests (URDFs
/// with the base assets/README.md prescribes: Go2 floats through a scratch copy with a `world`
/// link and a floating joint, so our body i = MuJoCo body i + 1; fixed bases: our body 0 = MuJoCo's
/// world; MJCF: body i = body i). plane.urdf has no dofs and is left out. Three synthetic models
/// cover what the assets do not: the loader oracle's features.xml / features.urdf (slide and ball
/// joints, ref/springref, rotated inertias, fused bodies, non-default gravity) and springs.xml
/// (stiff free and ball joints, two joints on one body).
///
/// Bugs these tests found: bias forces on bodies with several joints (cdof_dot used the whole
/// body's velocity; the humanoids were off by 1.8%) and missing ball/free joint springs.
///
/// Inertias. MuJoCo stores an inertia as principal moments plus principal axes from its Jacobi
/// solver, and those axes carry errors of up to 1.4e-6 x the largest moment (docs/morphs.md,
/// "inertia not comparable at 1e-9"); the mass matrix of our loader's exact inertias therefore
/// differs from MuJoCo's by far more than 1e-9 on Franka and Go2. So that these tests check the
/// dynamics and not the loader, every comparison at 1e-9 builds our model from MuJoCo's own
/// body_mass, body_ipos and R(body_iquat) diag(body_inertia) R(body_iquat)^T read back from the
/// oracle; everything else (frames, joints, damping, armature, springs, gravity) comes from our
/// loader. One extra check per model bounds the loader-inertia model's mass matrix by
/// LoaderInertiaTol.
///
/// What MuJoCo has and we do not (switched off on MuJoCo's side through opt.disableflags, values
/// from 2.2.2's mjmodel.h): contacts (mjDSBL_CONTACT = 1<<4; ours are off with enableContact =
/// false), joint and tendon limits (mjDSBL_LIMIT = 1<<3; we have none, and the assets humanoid's
/// hamstring tendons only add limits: their stiffness and damping are 0), friction loss
/// (mjDSBL_FRICTIONLOSS = 1<<2; only the synthetic features.xml sets it) and equality constraints
/// (mjDSBL_EQUALITY = 1<<1; none). Passive springs and damping, armature and gravity stay on both sides. The
/// humanoids' motors are driven with random controls on both sides (Tendons.actuatorForces).
module Genesis.Tests.Oracle.DynamicsOracleTests

open System
open Expecto
open Genesis
open Genesis.Physics
open Genesis.Tests
open Genesis.Tests.Physics.MorphTestUtil
open Genesis.Tests.Oracle

/// Mass matrix: max |ours - MuJoCo| over the largest |entry| of MuJoCo's matrix.
let MassTol = 1e-9

/// Bias forces qfrc_bias, relative to the largest |entry| of MuJoCo's vector.
let BiasTol = 1e-9

/// Passive forces qfrc_passive, relative to the largest |entry| (or absolute where that is below 1).
let PassiveTol = 1e-9

/// Body poses: xpos, xipos (m) and rotation matrices xmat, absolute.
let PoseTol = 1e-12

/// Contact-free accelerations qacc, relative to the largest |entry| of MuJoCo's vector.
let QaccTol = 1e-9

/// Trajectories over 1 s: qpos absolute, qvel relative to max(1, largest |qvel|).
let TrajTol = 1e-6

/// The loader-inertia model's mass matrix, relative (MuJoCo's principal axes, see above; measured
/// worst 9.6e-9 on Go2, 2.2e-9 on Franka, below 1e-14 elsewhere).
let LoaderInertiaTol = 1e-7

/// Random states per model for the pointwise comparisons.
let NStates = 20

/// MuJoCo 2.2.2 mjtDisableBit values (mjmodel.h).
let private mjDSBL_EQUALITY, mjDSBL_FRICTIONLOSS, mjDSBL_LIMIT, mjDSBL_CONTACT = 1 <<< 1, 1 <<< 2, 1 <<< 3, 1 <<< 4

/// The constraint kinds our physics does not model, switched off in MuJoCo.
let private disableFlags = mjDSBL_EQUALITY ||| mjDSBL_FRICTIONLOSS ||| mjDSBL_LIMIT ||| mjDSBL_CONTACT

/// One asset: a label, our spec and MuJoCo's file (given a scratch folder), the MuJoCo body index of
/// our body 0, and how many random states the trajectory comparisons use.
type private Case =
    { label: string
      load: string -> EntitySpec * string
      offset: int
      trajStates: int }

let private urdfCase (file: string) (fixedBase: bool) (trajStates: int) =
    { label = file
      load =
        fun dir ->
            let e = Urdf.load (asset file, fixedBase = fixedBase)
            let floating = if fixedBase then None else Some e.bodies[0].name
            e, MuJoCo.scratchUrdf dir (asset file) false floating
      offset = (if fixedBase then 0 else 1)
      trajStates = trajStates }

let private mjcfCase (label: string) (path: string) (trajStates: int) =
    { label = label; load = (fun _ -> Mjcf.load path, path); offset = 0; trajStates = trajStates }

/// Springs and damping on every joint kind: a free body (rest pose = its body pose, rotated), a ball
/// joint off the body origin, and a hinge and a slide with ref and springref on one body.
let private springsMjcf = """<mujoco model="springs">
  <option timestep="0.005" gravity="0.3 -0.2 -9.81"/>
  <worldbody>
    <body name="base" pos="0.1 -0.2 0.5" quat="0.8 0.2 -0.3 0.1">
      <joint name="free" type="free" stiffness="4" damping="0.3" armature="0.05"/>
      <geom type="box" size="0.1 0.15 0.05" density="800"/>
      <body name="arm" pos="0.1 0 0.05" euler="10 20 30">
        <joint name="ball" type="ball" pos="0 0 0.02" stiffness="2" damping="0.05" armature="0.01"/>
        <geom type="capsule" fromto="0 0 0 0.2 0.05 0" size="0.03"/>
        <body name="tip" pos="0.2 0.05 0">
          <joint name="hinge" type="hinge" axis="0 1 1" ref="15" springref="30" stiffness="1" damping="0.02"/>
          <joint name="slide" type="slide" axis="1 0 0" ref="0.05" springref="0.1" stiffness="3"/>
          <geom type="sphere" size="0.04" pos="0.05 0 0"/>
        </body>
      </body>
    </body>
  </worldbody>
</mujoco>
"""

let private cases =
    [ for file, fixedBase in urdfAssets do
          if file <> "plane/plane.urdf" then
              let big = file.StartsWith "go2" || file.StartsWith "franka"
              urdfCase file fixedBase (if big then 5 else NStates)
      mjcfCase "mjcf/humanoid.xml" (asset "mjcf/humanoid.xml") 5
      mjcfCase "mjcf/one_ball_joint.xml" (asset "mjcf/one_ball_joint.xml") NStates
      mjcfCase "humanoid.xml (Debian)" debianHumanoid 5
      // the loader oracle's synthetic files: slide/hinge/ball joints with ref, springref, stiffness,
      // armature and damping, rotated inertias, fused bodies, a floating URDF base, non-default gravity
      { label = "synthetic features.xml"
        load = (fun dir -> let p = writeFile dir "features.xml" MorphOracleTests.featureMjcf in Mjcf.load p, p)
        offset = 0
        trajStates = NStates }
      { label = "synthetic springs.xml"
        load = (fun dir -> let p = writeFile dir "springs.xml" springsMjcf in Mjcf.load p, p)
        offset = 0
        trajStates = NStates }
      for fixedBase in [ true; false ] do
          { label = sprintf "synthetic features.urdf (fixedBase=%b)" fixedBase
            load =
              fun dir ->
                  let src = writeFile dir "features.urdf" MorphOracleTests.featureUrdf
                  let scratch = IO.Path.Combine(dir, "mujoco")
                  IO.Directory.CreateDirectory scratch |> ignore
                  Urdf.load (src, fixedBase = fixedBase), MuJoCo.scratchUrdf scratch src false (if fixedBase then None else Some "root")
            offset = (if fixedBase then 0 else 1)
            trajStates = NStates } ]

let private skipUnlessMuJoCo () =
    match MuJoCo.availability.Force() with
    | Ok _ -> ()
    | Error e -> skiptest e

/// Our spec with MuJoCo's mass, COM and inertia tensor on every body MuJoCo has (see the header).
let internal withMuJoCoInertia (e: EntitySpec) (m: MuJoCo.Model) (offset: int) =
    let mass, ipos = m.Model "body_mass", m.Model "body_ipos"
    let inertia, iquat = m.Model "body_inertia", m.Model "body_iquat"
    { e with
        bodies =
            e.bodies
            |> Array.mapi (fun i b ->
                let k = i + offset
                if k = 0 then b // MuJoCo's world: static, holds no mass
                else
                    { b with
                        mass = mass[k]
                        ipos = ipos[3 * k .. 3 * k + 2]
                        inertia = SpecMath.rotateInertia iquat[4 * k .. 4 * k + 3] (SpecMath.diag inertia[3 * k .. 3 * k + 2]) }) }

/// Loads a case in both engines (MuJoCo with the unmodelled constraints off) and runs f.
let private withCase (c: Case) (f: EntitySpec -> MuJoCo.Model -> unit) =
    skipUnlessMuJoCo ()
    if c.label.Contains "Debian" && not (IO.File.Exists debianHumanoid) then skiptest "libmujoco-samples is not installed"
    GsSetup.ensure64 ()
    withTempDir (fun dir ->
        let e, path = c.load dir
        use m = MuJoCo.load path
        m.SetOption("disableflags", float disableFlags)
        Expect.equal (m.nq, m.nv) (EntitySpec.nq e, EntitySpec.nv e) (c.label + ": nq, nv")
        near 0.0 (c.label + ": gravity") m.Gravity e.options.gravity
        f e m)

let private uniform = GsSetup.uniform

/// A random state: hinge/slide positions uniform in their range (+-pi / +-0.5 m when unlimited),
/// random unit quaternions for ball and free joints, free positions in [-1, 1]^3, velocities
/// uniform in [-vmax, vmax], controls uniform in the control range ([-1, 1] when unclamped).
type private RandomState = { qpos: float[]; qvel: float[]; ctrl: float[] }

let private randomState (rnd: Random) (e: EntitySpec) (vmax: float) =
    { RandomState.qpos = GsSetup.randomQpos rnd e
      qvel = Array.init (EntitySpec.nv e) (fun _ -> uniform rnd -vmax vmax)
      ctrl = e.actuators |> Array.map (fun a -> let lo, hi = defaultArg a.ctrlrange (-1.0, 1.0) in uniform rnd lo hi) }

let private rows (xs: float[][]) = gs.fromArray(Array.concat xs, shape = [| xs.Length; xs[0].Length |], dtype = DType.Float64)

/// Our control: the motors' generalised forces (Tendons.actuatorForces at the states) as force control on every dof.
let private control (model: Model) (e: EntitySpec) (states: RandomState[]) =
    let nv, b = model.topology.nv, states.Length
    let values =
        if e.actuators.Length = 0 then gs.zeros([ b; nv ], dtype = DType.Float64)
        else
            let qpos, qvel = rows (states |> Array.map (fun s -> s.qpos)), rows (states |> Array.map (fun s -> s.qvel))
            Tendons.actuatorForces model.topology e (Kinematics.compute model qpos) qpos qvel (rows (states |> Array.map (fun s -> s.ctrl)))
    { modes = Array.create nv ControlMode.Force; values = values }

// MuJoCo runs with limits disabled too (the comparisons use random states that may lie outside the ranges)
let private noContact = { SimParams.defaults with enableContact = false; enableJointLimits = false }

/// MuJoCo's quantities at one state after mj_forward.
type private MjForward =
    { fullM: float[]; bias: float[]; passive: float[]; qacc: float[]; xpos: float[]; xmat: float[]; xipos: float[]; xquat: float[] }

let private mjForward (m: MuJoCo.Model) (s: RandomState) =
    m.Qpos <- s.qpos
    m.Qvel <- s.qvel
    if s.ctrl.Length > 0 then m.Ctrl <- s.ctrl
    m.Forward()
    { fullM = m.FullM(); bias = m.Data "qfrc_bias"; passive = m.Data "qfrc_passive"; qacc = m.Data "qacc"
      xpos = m.Data "xpos"; xmat = m.Data "xmat"; xipos = m.Data "xipos"; xquat = m.Data "xquat" }

let private maxAbs (a: float[]) = if a.Length = 0 then 0.0 else a |> Array.map abs |> Array.max

/// Our per-state rows of a [B; ...] tensor.
let private split (t: Tensor) (b: int) =
    let a = t.toFloatArray()
    let n = a.Length / b
    Array.init b (fun i -> a[i * n .. i * n + n - 1])

/// MuJoCo's per-body rows (width w) for our bodies (shifted by the case offset).
let private bodyRows (a: float[]) (w: int) (nb: int) (offset: int) = a[w * offset .. w * (offset + nb) - 1]

/// The worst error of one quantity over the random states, where it occurred and both values there.
type private Worst = { err: float; state: int; detail: string }

/// The pointwise comparisons at NStates random states: the worst error of every quantity (not yet
/// checked against its tolerance).
let private pointwise (c: Case) (e: EntitySpec) (m: MuJoCo.Model) =
    let rnd = Random(17 + c.label.Length)
    let states = Array.init NStates (fun _ -> randomState rnd e 2.0)
    let mj = states |> Array.map (mjForward m)
    let model = Model.build [| withMuJoCoInertia e m c.offset |] DType.Float64
    let qposT, qvelT = rows (states |> Array.map (fun s -> s.qpos)), rows (states |> Array.map (fun s -> s.qvel))
    let fd = Physics.forward model noContact qposT qvelT (control model e states)
    let nb = e.bodies.Length
    let b = NStates
    let ours (t: Tensor) = split t b
    let qM, bias, passive, qacc = ours fd.dynamics.qM, ours fd.dynamics.qfrcBias, ours fd.qfrcPassive, ours fd.qacc
    let xpos, xmat, xipos = ours fd.kinematics.xpos, ours fd.kinematics.xmat, ours fd.kinematics.xipos
    let xquat = ours (Spatial.matToQuat fd.kinematics.xmat)
    // the loader's own inertias: equal to MuJoCo's up to MuJoCo's principal-axes error
    let loaderM = ours (Dynamics.compute (Model.build [| e |] DType.Float64) fd.kinematics qvelT).qM
    let worst = Collections.Generic.Dictionary<string, Worst>()
    let record (what: string) (i: int) (err: float) (oursV: float[]) (theirs: float[]) =
        if not (worst.ContainsKey what) || not (err <= worst[what].err) then
            worst[what] <- { err = err; state = i; detail = sprintf "ours   %A\nMuJoCo %A" oursV theirs }
    let rel (o: float[]) (t: float[]) floor = maxDiff o t / max floor (maxAbs t)
    // a fixed base's root is MuJoCo's world body, whose COM MuJoCo keeps at the origin
    let skipWorld (a: float[]) = if c.offset = 0 then a[3..] else a
    for i in 0 .. b - 1 do
        let r = mj[i]
        record "mass matrix" i (rel qM[i] r.fullM 1e-300) qM[i] r.fullM
        record "mass matrix, loader inertias" i (rel loaderM[i] r.fullM 1e-300) loaderM[i] r.fullM
        record "qfrc_bias" i (rel bias[i] r.bias 1e-300) bias[i] r.bias
        record "qfrc_passive" i (rel passive[i] r.passive 1.0) passive[i] r.passive
        record "qacc" i (rel qacc[i] r.qacc 1e-300) qacc[i] r.qacc
        let mxpos, mxmat, mxipos = bodyRows r.xpos 3 nb c.offset, bodyRows r.xmat 9 nb c.offset, bodyRows r.xipos 3 nb c.offset
        record "xpos" i (maxDiff xpos[i] mxpos) xpos[i] mxpos
        record "xmat" i (maxDiff xmat[i] mxmat) xmat[i] mxmat
        record "xipos" i (maxDiff (skipWorld xipos[i]) (skipWorld mxipos)) xipos[i] mxipos
        let mxquat = bodyRows r.xquat 4 nb c.offset
        let quatErr =
            Seq.max (seq { for k in 0 .. nb - 1 ->
                              let a, q = xquat[i][4 * k .. 4 * k + 3], mxquat[4 * k .. 4 * k + 3]
                              min (maxDiff a q) (maxDiff a (Array.map (~-) q)) })
        record "xquat (up to sign)" i quatErr xquat[i] mxquat
    worst

/// Rolls c.trajStates random states over 1 s with MuJoCo's timestep and the given integrator in both
/// engines (controls held constant) and returns the worst qpos and relative qvel errors.
let private trajectory (c: Case) (integrator: Integrator) (e: EntitySpec) (m: MuJoCo.Model) =
    let rnd = Random(41 + c.label.Length)
    let states = Array.init c.trajStates (fun _ -> randomState rnd e 1.0)
    let dt = m.Timestep
    let n = int (Math.Round(1.0 / dt))
    m.SetIntegrator(match integrator with Integrator.Euler -> MuJoCo.Integrator.Euler | Integrator.RK4 -> MuJoCo.Integrator.RK4)
    let finals =
        states
        |> Array.map (fun s ->
            m.Reset()
            m.Qpos <- s.qpos
            m.Qvel <- s.qvel
            if s.ctrl.Length > 0 then m.Ctrl <- s.ctrl
            m.Step n
            m.Qpos, m.Qvel)
    let model = Model.build [| withMuJoCoInertia e m c.offset |] DType.Float64
    let sp = { noContact with dt = dt; integrator = integrator }
    let ctl = control model e states
    let mutable st = { State.qpos = rows (states |> Array.map (fun s -> s.qpos)); qvel = rows (states |> Array.map (fun s -> s.qvel)); time = 0.0 }
    for _ in 1 .. n do
        st <- Physics.step model sp st ctl
    let qpos, qvel = split st.qpos states.Length, split st.qvel states.Length
    let mutable worstQ, worstV = 0.0, 0.0
    for i in 0 .. states.Length - 1 do
        let mq, mv = finals[i]
        let eq = maxDiff qpos[i] mq
        let ev = maxDiff qvel[i] mv / max 1.0 (maxAbs mv)
        worstQ <- max worstQ eq
        worstV <- max worstV ev
        if not (eq <= TrajTol && ev <= TrajTol) then
            failtestf "%s, %A, %d steps of %g s, state %d: qpos error %g, qvel error %g (> %g)\nours qpos %A\nMuJoCo qpos %A\nours qvel %A\nMuJoCo qvel %A"
                c.label integrator n dt i eq ev TrajTol qpos[i] mq qvel[i] mv
    n, worstQ, worstV

/// The quantities each pointwise test checks, with their tolerances.
let private groups =
    [ "mass matrix (M incl. armature)", [ "mass matrix", MassTol ]
      "bias forces qfrc_bias", [ "qfrc_bias", BiasTol ]
      "body poses xpos, xmat, xquat, xipos", [ "xpos", PoseTol; "xmat", PoseTol; "xquat (up to sign)", PoseTol; "xipos", PoseTol ]
      "passive forces qfrc_passive", [ "qfrc_passive", PassiveTol ]
      "contact-free accelerations qacc", [ "qacc", QaccTol ]
      "mass matrix with the loader's own inertias", [ "mass matrix, loader inertias", LoaderInertiaTol ] ]

[<Tests>]
let tests =
    testSequenced (
        testList "Oracle.Dynamics" [
            for c in cases do
                // one MuJoCo / our evaluation per model, shared by its pointwise tests (a skip or an
                // error is cached and re-raised by each of them)
                let results =
                    lazy
                        (let r = ref None
                         withCase c (fun e m -> r.Value <- Some(pointwise c e m))
                         r.Value.Value)
                testList c.label [
                    for name, checks in groups do
                        test (sprintf "%s at %d random states" name NStates) {
                            let worst = results.Force()
                            printfn "Oracle.Dynamics %s: %s" c.label (String.Join(", ", [ for what, _ in checks -> sprintf "%s %.1e" what worst[what].err ]))
                            for what, tol in checks do
                                let w = worst[what]
                                if not (w.err <= tol) then
                                    failtestf "%s: %s at random state %d: error %g > %g\n%s" c.label what w.state w.err tol w.detail
                        }
                    for integrator in [ Integrator.Euler; Integrator.RK4 ] do
                        test (sprintf "1 s trajectories, %A, %d random states" integrator c.trajStates) {
                            withCase c (fun e m ->
                                let n, eq, ev = trajectory c integrator e m
                                printfn "Oracle.Dynamics %s: %A %d steps, %d states: qpos %.1e, qvel %.1e" c.label integrator n c.trajStates eq ev)
                        }
                ]
        ])
