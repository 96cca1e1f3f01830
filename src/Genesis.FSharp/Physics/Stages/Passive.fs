namespace Genesis.Physics

open System
open Genesis

/// Passive joint forces (MuJoCo mj_passive): springs and viscous damping.
module Passive =
    /// Hinge/slide coordinates per dof [B; nv] (0 for ball/free dofs): qpos times a constant 0/1 selection [nq; nv]
    /// (exact: one product by 1 and zeros per dof), with no index read back on a device.
    let dofPositions (topo: Topology) (qpos: Tensor) =
        let select =
            Constants.ofValues topo Constants.DofPositionSelect qpos [| topo.nq; topo.nv |] (fun () ->
                let s = Array.zeroCreate (topo.nq * topo.nv)
                topo.dofQposAdr |> Array.iteri (fun d a -> if a >= 0 then s[a * topo.nv + d] <- 1.0)
                s)
        qpos.matmul(select)

    /// Springs of ball and free joints [B; nv] (MuJoCo mj_passive): free translations -k (x - x0); rotations
    /// -k r with r the rotation vector from the rest orientation (qpos0) to the current one (mju_subQuat).
    /// Joints whose constant stiffness is exactly zero are skipped.
    let private quatSprings (model: Model) (qpos: Tensor) =
        let topo, p = model.topology, model.parameters
        // read once per constant stiffness tensor (cached with it), not once per step
        let stiffness = if p.dofStiffness.isConstant then Some(Constants.hostValues p.dofStiffness) else None
        let mutable total: Tensor = null
        for j in 0 .. topo.jntType.Length - 1 do
            let jt = topo.jntType[j]
            if jt = Ball || jt = Free then
                let d, a, n = topo.jntDofAdr[j], topo.jntQposAdr[j], JointSpec.nvOf jt
                let isZero = stiffness |> Option.exists (fun s -> Array.forall (fun k -> s[d + k] = 0.0) [| 0 .. n - 1 |])
                if not isZero then
                    let rot = if jt = Free then a + 3 else a
                    let rest = Constants.ofValues topo (Constants.QposRest(rot, 4)) qpos [| 4 |] (fun () -> topo.qpos0[rot .. rot + 3])
                    let angular = Spatial.quatSub (qpos.narrow(1, rot, 4)) rest
                    let disp =
                        if jt = Free then
                            let rest3 = Constants.ofValues topo (Constants.QposRest(a, 3)) qpos [| 3 |] (fun () -> topo.qpos0[a .. a + 2])
                            gs.cat([| qpos.narrow(1, a, 3) - rest3; angular |], 1)
                        else angular
                    let place =
                        Constants.ofValues topo (Constants.DofPlacement(d, n)) qpos [| n; topo.nv |] (fun () ->
                            Array.init (n * topo.nv) (fun e -> if e % topo.nv = d + e / topo.nv then 1.0 else 0.0))
                    let f = (-(p.dofStiffness.narrow(0, d, n)) * disp).matmul(place)
                    total <- if isNull total then f else total + f
        total

    /// Spring and damping forces [B; nv] (damping included; the Euler integrator also treats it implicitly).
    let compute (model: Model) (qpos: Tensor) (qvel: Tensor) =
        let p = model.parameters
        let q = dofPositions model.topology qpos
        // hinge/slide springs (q and springref are 0 on ball/free dofs) and damping on every dof
        let f = -(p.dofStiffness * (q - p.dofSpringref)) - p.dofDamping * qvel
        match quatSprings model qpos with
        | null -> f
        | springs -> f + springs

/// Joint position limits: beyond a range the joint meets a smooth stiff spring-damper,
/// tau = k s softplus(v / s) - c qdot sigmoid(v / s) (v the violation, pushing back into the range), whose

/// Passive forces on arrays, generic over the scalar.
module internal PassiveKernel =
    open Genesis.Physics.FastMath
    open Genesis.Real
    open Genesis.HomogeneousArithmetic

    /// The spring and damping torque of dof k at coordinate q (0 for ball/free dofs) and velocity qv.
    let inline torque (m: FastModel< ^T>) (k: int) (q: ^T) (qv: ^T) : ^T =
        -(m.dofStiffness[k] * (q - m.dofSpringref[k])) - m.dofDamping[k] * qv

    /// Passive.quatSprings into w.rhs: free translations -k (x - x0), rotations -k r with r the rotation vector from
    /// the rest orientation (qpos0) to the current one (Spatial.quatSub), on every ball/free joint with a stiffness.
    let inline internal quatSprings (m: FastModel< ^T>) (w: FastWork< ^T>) (qpos: ^T[]) =
        for j in 0 .. m.jntType.Length - 1 do
            let jt = m.jntType[j]
            if jt = Ball || jt = Free then
                let d, a = m.jntDofAdr[j], m.jntQposAdr[j]
                let n = JointSpec.nvOf jt
                let mutable any = false
                for i in 0 .. n - 1 do any <- any || value m.dofStiffness[d + i] <> 0.0
                if any then
                    let rot, ang = (if jt = Free then a + 3, d + 3 else a, d)
                    if jt = Free then
                        for i in 0 .. 2 do
                            w.rhs[d + i] <- w.rhs[d + i] - m.dofStiffness[d + i] * (qpos[a + i] - m.qpos0[a + i])
                    // conj(q0) * (q / |q|), then its rotation vector as Spatial.quatToRotVec
                    let qw, qx, qy, qz = qpos[rot], qpos[rot + 1], qpos[rot + 2], qpos[rot + 3]
                    let nrm = sqrt (qw * qw + qx * qx + qy * qy + qz * qz)
                    let qw, qx, qy, qz = qw / nrm, qx / nrm, qy / nrm, qz / nrm
                    let struct (pw, px, py, pz) =
                        quatMul m.qpos0[rot] -m.qpos0[rot + 1] -m.qpos0[rot + 2] -m.qpos0[rot + 3] qw qx qy qz
                    let flip = lift (if value pw < 0.0 then -1.0 else 1.0)
                    let pw, px, py, pz = pw * flip, px * flip, py * flip, pz * flip
                    let s2 = px * px + py * py + pz * pz
                    let small = value s2 < 1e-24
                    let sn = sqrt (s2 + lift (if small then 1.0 else 0.0))
                    let f = if small then lift 2.0 + s2 / lift 3.0 else lift 2.0 * atan2 sn pw / sn
                    w.rhs[ang] <- w.rhs[ang] - m.dofStiffness[ang] * (px * f)
                    w.rhs[ang + 1] <- w.rhs[ang + 1] - m.dofStiffness[ang + 1] * (py * f)
                    w.rhs[ang + 2] <- w.rhs[ang + 2] - m.dofStiffness[ang + 2] * (pz * f)

/// The hand-written adjoint of the hinge/slide springs and dampers (the per-dof part of EulerAdjoint's forces adjoint;
/// the springs of ball and free joints are recorded on the tape).
module internal PassiveAdjoint =
    /// The adjoint of PassiveKernel.torque at dof k (its damping also on the implicit diagonal, adjoint gDiag): adds
    /// that of the damping into gDamping and those of q and qvel into gq, gqv.
    let inline dof (fm: FastModel<float>) (k: int) (qv: float) (g: float) (gDiag: float) (gDamping: float[]) (gq: byref<float>) (gqv: byref<float>) =
        // passive: -stiffness (q - springref) - damping qvel; damping also on A's diagonal (h damping)
        gq <- gq - fm.dofStiffness[k] * g
        gqv <- gqv - fm.dofDamping[k] * g
        gDamping[k] <- gDamping[k] - g * qv + gDiag
