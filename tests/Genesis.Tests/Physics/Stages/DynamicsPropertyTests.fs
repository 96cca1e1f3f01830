/// FsCheck properties of the rigid-body stages at random states (FsCheck draws the seed of each
/// state): the mass matrix is symmetric positive definite, position integration and stepping keep
/// quaternions unit and rotation matrices orthonormal, and the bias forces at zero velocity are the
/// gradient of the potential energy (gravity torques = dV/dq by central differences on the
/// configuration manifold).
module Genesis.Tests.Physics.DynamicsPropertyTests

open System
open Expecto
open Genesis
open Genesis.Physics
open Genesis.Tests
open Genesis.Tests.Physics.MorphTestUtil

/// Cases per property (each a random state).
let Cases = 50

/// M - M^T, relative to the largest |entry| of M.
let SymmetryTol = 1e-13

/// | |quat| - 1 | and | R R^T - I | after integration.
let UnitTol = 1e-13
/// Integrated quaternions vs the closed-form exponential map.
let ExpMapTol = 1e-12

/// qfrc_bias(q, 0) vs central differences of V(q) (step FdStep), relative to max(1, max |bias|).
let GravityFdTol = 1e-7

/// Step of the central differences of the potential energy.
let FdStep = 1e-5

let private config = { FsCheckConfig.defaultConfig with maxTest = Cases }

/// A model built once: our spec and its float64 model.
let private loaded (load: unit -> EntitySpec) =
    lazy
        (GsSetup.ensure64 ()
         let e = load ()
         e, Model.build [| e |] DType.Float64)

let private arm = loaded (fun () -> Urdf.load (asset "kuka_iiwa/iiwa14_spheres_collision.urdf", fixedBase = true))
let private humanoid = loaded (fun () -> Mjcf.load (asset "mjcf/humanoid.xml"))
let private ballJoint = loaded (fun () -> Mjcf.load (asset "mjcf/one_ball_joint.xml"))
let private go2 = loaded (fun () -> Urdf.load (asset "go2/go2.urdf"))

let private uniform = GsSetup.uniform
let private randomQuat = GsSetup.randomQuat

/// Random qpos (joint ranges, +-pi when unlimited, unit quaternions, free positions in [-1, 1]^3)
/// and qvel uniform in [-vmax, vmax].
let private randomState (seed: int) (e: EntitySpec) (vmax: float) =
    let rnd = Random seed
    let qpos = GsSetup.randomQpos rnd e
    qpos, Array.init (EntitySpec.nv e) (fun _ -> uniform rnd -vmax vmax), rnd

let private row = Genesis.Tests.Physics.PhysicsTestUtil.row64

/// The quaternion blocks (qpos address) of ball and free joints.
let private quatAdrs (topo: Topology) =
    [| for j in 0 .. topo.jntType.Length - 1 do
           match topo.jntType[j] with
           | Ball -> topo.jntQposAdr[j]
           | Free -> topo.jntQposAdr[j] + 3
           | Hinge | Slide -> () |]

let private massMatrixSpd (model: Lazy<EntitySpec * Model>) (seed: int) =
    let e, m = model.Force()
    let q, v, _ = randomState seed e 2.0
    let n = m.topology.nv
    let a = (Dynamics.compute m (Kinematics.compute m (row q)) (row v)).qM.toFloatArray()
    let scale = a |> Array.map abs |> Array.max
    for i in 0 .. n - 1 do
        for j in 0 .. i - 1 do
            if abs (a[i * n + j] - a[j * n + i]) > SymmetryTol * scale then
                failtestf "seed %d: M[%d,%d] = %g but M[%d,%d] = %g" seed i j a[i * n + j] j i a[j * n + i]
    // Cholesky: every pivot positive
    let l = Array.copy a
    for k in 0 .. n - 1 do
        for p in 0 .. k - 1 do
            l[k * n + k] <- l[k * n + k] - l[k * n + p] * l[k * n + p]
        if not (l[k * n + k] > 0.0) then failtestf "seed %d: M is not positive definite (pivot %d = %g)" seed k l[k * n + k]
        l[k * n + k] <- sqrt l[k * n + k]
        for i in k + 1 .. n - 1 do
            for p in 0 .. k - 1 do
                l[i * n + k] <- l[i * n + k] - l[i * n + p] * l[k * n + p]
            l[i * n + k] <- l[i * n + k] / l[k * n + k]

/// integratePos rotates every ball and free quaternion by the exact exponential map of its (body-frame) angular
/// velocity, q' = q * [cos(|w| dt / 2), sin(|w| dt / 2) w / |w|], and keeps it unit, for large rotations too (a
/// first-order update followed by normalisation, or a world-frame product, fails this).
let private quaternionExpMap (model: Lazy<EntitySpec * Model>) (seed: int) =
    let e, m = model.Force()
    let q, v, rnd = randomState seed e 10.0
    let topo = m.topology
    let dt = uniform rnd 1e-4 0.2
    let after = (Integrate.integratePos topo (row q) (row v) dt).toFloatArray()
    for j in 0 .. topo.jntType.Length - 1 do
        let qa, da =
            match topo.jntType[j] with
            | Ball -> topo.jntQposAdr[j], topo.jntDofAdr[j]
            | Free -> topo.jntQposAdr[j] + 3, topo.jntDofAdr[j] + 3
            | Hinge | Slide -> -1, -1
        if qa >= 0 then
            let w = v[da .. da + 2]
            let speed = sqrt (Array.sumBy (fun x -> x * x) w)
            let half = speed * dt / 2.0
            let axis = if speed > 0.0 then w |> Array.map (fun x -> x / speed) else [| 0.0; 0.0; 0.0 |]
            let expected = SpecMath.quatMul q[qa .. qa + 3] [| cos half; sin half * axis[0]; sin half * axis[1]; sin half * axis[2] |]
            let actual = after[qa .. qa + 3]
            let norm = sqrt (Array.sumBy (fun x -> x * x) actual)
            if abs (norm - 1.0) > UnitTol then failtestf "seed %d: |quat at qpos %d| = %.17g" seed qa norm
            // q and -q are one rotation
            let sign = if Array.fold2 (fun s x y -> s + x * y) 0.0 expected actual < 0.0 then -1.0 else 1.0
            for i in 0 .. 3 do
                if abs (sign * actual[i] - expected[i]) > ExpMapTol then
                    failtestf "seed %d, dt %g: quat at qpos %d is %A, the exponential map gives %A" seed dt qa actual expected

let private gravityIsDvDq (model: Lazy<EntitySpec * Model>) (seed: int) =
    let e, m = model.Force()
    let q, _, _ = randomState seed e 0.0
    let topo, p = m.topology, m.parameters
    let nv = topo.nv
    let bias = (Dynamics.compute m (Kinematics.compute m (row q)) (gs.zeros([ 1; nv ], dtype = DType.Float64))).qfrcBias.toFloatArray()
    // V at q moved by +-FdStep along each dof (integratePos: the tangent space of quaternions too)
    let qs = gs.fromArray(Array.concat (Array.create (2 * nv) q), shape = [| 2 * nv; q.Length |], dtype = DType.Float64)
    let dirs = Array.init (2 * nv) (fun r -> Array.init nv (fun k -> if k = r % nv then (if r < nv then 1.0 else -1.0) else 0.0))
    let moved = Integrate.integratePos topo qs (gs.fromArray(Array.concat dirs, shape = [| 2 * nv; nv |], dtype = DType.Float64)) FdStep
    let xipos = (Kinematics.compute m moved).xipos
    let v = (-((xipos * p.gravity).sum(-1) * p.bodyMass).sum(-1)).toFloatArray()
    let fd = Array.init nv (fun k -> (v[k] - v[nv + k]) / (2.0 * FdStep))
    let scale = max 1.0 (bias |> Array.map abs |> Array.max)
    let err = maxDiff bias fd / scale
    if err > GravityFdTol then failtestf "seed %d: qfrc_bias(q, 0) %A vs dV/dq %A (relative error %g)" seed bias fd err

[<Tests>]
let tests =
    testList "Physics.DynamicsProperties" [
        testPropertyWithConfig config "mass matrix symmetric positive definite: iiwa14 arm" (massMatrixSpd arm)
        testPropertyWithConfig config "mass matrix symmetric positive definite: humanoid" (massMatrixSpd humanoid)
        testPropertyWithConfig config "quaternion integration is the exact exponential map: humanoid (free joint)" (quaternionExpMap humanoid)
        testPropertyWithConfig config "quaternion integration is the exact exponential map: one_ball_joint (ball joint)" (quaternionExpMap ballJoint)
        testPropertyWithConfig config "bias at zero velocity = dV/dq: iiwa14 arm" (gravityIsDvDq arm)
        testPropertyWithConfig config "bias at zero velocity = dV/dq: humanoid" (gravityIsDvDq humanoid)
        testPropertyWithConfig config "bias at zero velocity = dV/dq: go2 (floating)" (gravityIsDvDq go2)
        testPropertyWithConfig config "bias at zero velocity = dV/dq: one_ball_joint" (gravityIsDvDq ballJoint)
    ]
