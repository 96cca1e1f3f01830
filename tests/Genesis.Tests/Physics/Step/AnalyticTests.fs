module Genesis.Tests.Physics.AnalyticTests

open System
open Expecto
open Genesis
open Genesis.Physics
open Genesis.Tests

let private pendulumSpec (length: float) (mass: float) (inertia: float) =
    let hinge = { JointSpec.create "hinge" Hinge with axis = [| 0.0; 1.0; 0.0 |] }
    let body =
        { name = "bob"; parent = -1; pos = [| 0.0; 0.0; 0.0 |]; quat = [| 1.0; 0.0; 0.0; 0.0 |]; mass = mass
          ipos = [| 0.0; 0.0; -length |]; inertia = [| inertia; 0.0; 0.0; 0.0; inertia; 0.0; 0.0; 0.0; inertia |]
          joints = [| hinge |]; geoms = [||]; visuals = [||] }
    { name = "pendulum"; bodies = [| body |]; actuators = [||]; sites = [||]; tendons = [||]; equalities = [||]; options = OptionSpec.defaults; rootIsWorld = false; visualWarnings = [||] }

let private freeBodySpec () =
    let body =
        { name = "brick"; parent = -1; pos = [| 0.0; 0.0; 1.0 |]; quat = [| 1.0; 0.0; 0.0; 0.0 |]; mass = 2.0
          ipos = [| 0.0; 0.0; 0.0 |]; inertia = [| 0.1; 0.0; 0.0; 0.0; 0.2; 0.0; 0.0; 0.0; 0.35 |]
          joints = [| JointSpec.create "free" Free |]; geoms = [||]; visuals = [||] }
    { name = "brick"; bodies = [| body |]; actuators = [||]; sites = [||]; tendons = [||]; equalities = [||]; options = OptionSpec.defaults; rootIsWorld = false; visualWarnings = [||] }

let private zeroControl (m: Model) =
    { modes = Array.create m.topology.nv ControlMode.Force; values = gs.zeros([ 1; m.topology.nv ]) }

let private rollout (m: Model) (sp: SimParams) (qpos: float[]) (qvel: float[]) (steps: int) (observe: State -> unit) =
    let mutable s = { qpos = gs.tensor(qpos).unsqueeze(0); qvel = gs.tensor(qvel).unsqueeze(0); time = 0.0 }
    let c = zeroControl m
    for _ in 1 .. steps do
        s <- Physics.step m sp s c
        observe s
    s

/// Kinetic + potential energy of a model at a state.
let energy (m: Model) (s: State) =
    let kin = Kinematics.compute m s.qpos
    let dyn = Dynamics.compute m kin s.qvel
    let v = s.qvel.unsqueeze(-1)
    let ke = 0.5 * (v.transpose(1, 2).matmul(dyn.qM).matmul(v)).sum()
    let g = m.parameters.gravity
    let pe = -((kin.xipos * g).sum(-1) * m.parameters.bodyMass).sum()
    (ke + pe).item()

[<Tests>]
let tests =
    testList "Physics.Analytic" [
        test "pendulum: mass matrix and gravity torque in closed form" {
            GsSetup.ensure64 ()
            let m = Model.build [| pendulumSpec 0.8 1.5 0.02 |] DType.Float64
            let kin = Kinematics.compute m (gs.tensor([ [ 0.4 ] ]))
            let dyn = Dynamics.compute m kin (gs.tensor([ [ 0.7 ] ]))
            Expect.floatClose Accuracy.veryHigh (dyn.qM.item()) (1.5 * 0.8 * 0.8 + 0.02) "M = m l^2 + I"
            Expect.floatClose Accuracy.veryHigh (dyn.qfrcBias.item()) (1.5 * 9.81 * 0.8 * sin 0.4) "bias = m g l sin q"
        }
        test "pendulum: small-angle motion follows theta0 cos(w t) and the period 2 pi / w" {
            GsSetup.ensure64 ()
            let l, mass, inertia = 1.0, 1.0, 0.0
            let m = Model.build [| pendulumSpec l mass inertia |] DType.Float64
            let sp = { SimParams.defaults with dt = 0.002; integrator = Integrator.RK4; enableContact = false }
            let w = sqrt (9.81 / l)
            let theta0 = 0.01
            let samples = ResizeArray<float * float>()
            rollout m sp [| theta0 |] [| 0.0 |] 1000 (fun s -> samples.Add(s.time, (s.qpos.item()))) |> ignore
            for (t, q) in samples do
                Expect.isLessThan (abs (q - theta0 * cos (w * t))) (theta0 * 2e-4) (sprintf "theta at t = %g" t)
            // first downward zero crossing is at a quarter period
            let i = samples |> Seq.findIndex (fun (_, q) -> q < 0.0)
            let (t0, q0), (t1, q1) = samples[i - 1], samples[i]
            let tz = t0 + (t1 - t0) * q0 / (q0 - q1)
            Expect.floatClose { absolute = 1e-5; relative = 1e-4 } (4.0 * tz) (2.0 * Math.PI / w) "period"
        }
        test "free fall: semi-implicit Euler gives z_n = z0 - g h^2 n (n + 1) / 2 exactly" {
            GsSetup.ensure64 ()
            let m = Model.build [| freeBodySpec () |] DType.Float64
            let h = 0.01
            let sp = { SimParams.defaults with dt = h; enableContact = false }
            let s = rollout m sp [| 0.0; 0.0; 1.0; 1.0; 0.0; 0.0; 0.0 |] (Array.zeroCreate 6) 100 ignore
            let z = (s.qpos.toFloatArray())[2]
            Expect.floatClose Accuracy.veryHigh z (1.0 - 9.81 * h * h * 100.0 * 101.0 / 2.0) "height"
            Expect.floatClose Accuracy.veryHigh ((s.qvel.toFloatArray())[2]) (-9.81) "vertical speed after 1 s"
        }
        test "energy of an undamped double pendulum is conserved to 1e-6 over 10 s (RK4)" {
            GsSetup.ensure64 ()
            let spec = Urdf.load (GsSetup.asset "acrobot/Acrobot.urdf", fixedBase = true)
            let spec = { spec with bodies = spec.bodies |> Array.map (fun b -> { b with joints = b.joints |> Array.map (fun j -> { j with damping = 0.0 }) }) }
            let m = Model.build [| spec |] DType.Float64
            let sp = { SimParams.defaults with dt = 0.005; integrator = Integrator.RK4; enableContact = false }
            let e0 = energy m { qpos = gs.tensor([ [ 1.0; 0.5 ] ]); qvel = gs.tensor([ [ 0.0; 0.0 ] ]); time = 0.0 }
            let s = rollout m sp [| 1.0; 0.5 |] [| 0.0; 0.0 |] 2000 ignore
            let e1 = energy m s
            Expect.isLessThan (abs (e1 - e0) / abs e0) 1e-6 (sprintf "relative energy drift (E0 = %g, E1 = %g)" e0 e1)
            Expect.isGreaterThan (abs ((s.qpos.toFloatArray())[0] - 1.0)) 1e-3 "the pendulum moved"
        }
        test "a free body in zero gravity keeps its linear and angular momentum (RK4)" {
            GsSetup.ensure64 ()
            let spec = freeBodySpec ()
            let m0 = Model.build [| spec |] DType.Float64
            let m = { m0 with parameters = { m0.parameters with gravity = gs.zeros([ 3 ]) } }
            let sp = { SimParams.defaults with dt = 0.002; integrator = Integrator.RK4; enableContact = false }
            let momentum (s: State) =
                let kin = Kinematics.compute m s.qpos
                let dyn = Dynamics.compute m kin s.qvel
                // spatial momentum about the world origin: sum of I v
                (dyn.cinert.matmul(dyn.cvel.unsqueeze(-1)).squeeze(-1)).sum(1).toFloatArray()
            let s0 = { qpos = gs.tensor([ [ 0.0; 0.0; 1.0; 0.9; 0.1; 0.3; 0.2 ] ]); qvel = gs.tensor([ [ 0.3; -0.2; 0.1; 1.0; 2.0; -3.0 ] ]); time = 0.0 }
            let s0 = { s0 with qpos = Tensor.where(gs.tensor([| false; false; false; true; true; true; true |]), s0.qpos / s0.qpos.narrow(1, 3, 4).norm(), s0.qpos) }
            let h0 = momentum s0
            let s1 = rollout m sp (s0.qpos.toFloatArray()) (s0.qvel.toFloatArray()) 500 ignore
            let h1 = momentum s1
            // angular momentum: MuJoCo's RK4 composes the rotation with the averaged body velocity, which is
            // second order on SO(3), so the drift is O(h^2) (about 1e-6 here); linear momentum is exact
            for k in 0 .. 2 do
                Expect.floatClose { absolute = 1e-5; relative = 1e-5 } h1[k] h0[k] (sprintf "angular momentum component %d" k)
            for k in 3 .. 5 do
                Expect.floatClose { absolute = 1e-10; relative = 1e-10 } h1[k] h0[k] (sprintf "linear momentum component %d" k)
        }
        test "joint limits stop a hinge at its range (stable at dt = 0.01, pushed back without overshooting far)" {
            GsSetup.ensure64 ()
            let spec = pendulumSpec 0.5 1.0 0.01
            let spec = { spec with bodies = spec.bodies |> Array.map (fun b -> { b with joints = b.joints |> Array.map (fun j -> { j with range = Some(-0.3, 0.3) }) }) }
            let m = Model.build [| spec |] DType.Float64
            let sp = { SimParams.defaults with dt = 0.01; enableContact = false }
            let mutable maxQ = -infinity
            let s = rollout m sp [| 0.0 |] [| 6.0 |] 200 (fun s -> maxQ <- max maxQ (s.qpos.item()))
            // at 6 rad/s the joint travels 0.06 rad per step before the spring acts, then compresses it by ~0.03 rad
            Expect.isLessThan maxQ 0.4 "the limit holds (penetration below one step of travel plus the spring compression)"
            Expect.isGreaterThan maxQ 0.3 "the joint reached the limit"
            Expect.isTrue (Double.IsFinite(s.qvel.item())) "stable"
            let free = rollout m { sp with enableJointLimits = false } [| 0.0 |] [| 6.0 |] 20 ignore
            Expect.isGreaterThan (free.qpos.item()) 0.5 "without limits it swings past the range"
        }
    ]
