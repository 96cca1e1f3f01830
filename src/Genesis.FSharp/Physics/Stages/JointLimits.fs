namespace Genesis.Physics

open System
open Genesis

module JointLimits =
    /// Stiffness (N m/rad or N/m) of the limit spring.
    let stiffness = 1.0e4
    /// Damping (N m s/rad or N s/m) of the limit spring.
    let damping = 100.0
    /// Softness (rad or m) of the onset.
    let softness = 1.0e-4

    /// Limit forces [B; nv] and their diagonal velocity derivative [B; nv] (c + h k while violated); None without limits.
    let compute (model: Model) (qpos: Tensor) (qvel: Tensor) (h: float) =
        let topo = model.topology
        let nv = topo.nv
        let lo = Array.create nv -infinity
        let hi = Array.create nv infinity
        for d in 0 .. nv - 1 do
            if topo.dofQposAdr[d] >= 0 then
                match topo.jntRange[topo.dofJoint[d]] with
                | Some(a, b) ->
                    lo[d] <- a
                    hi[d] <- b
                | None -> ()
        let limited = Array.init nv (fun d -> not (Double.IsInfinity lo[d] && Double.IsInfinity hi[d]))
        if not (Array.exists id limited) then None
        else
            let finite (v: float[]) = v |> Array.map (fun x -> if Double.IsInfinity x then 0.0 else x)
            let mask = Spatial.constLike qvel [| nv |] (limited |> Array.map (fun l -> if l then 1.0 else 0.0))
            let hasLo = Spatial.constLike qvel [| nv |] (lo |> Array.map (fun x -> if Double.IsInfinity x then 0.0 else 1.0))
            let hasHi = Spatial.constLike qvel [| nv |] (hi |> Array.map (fun x -> if Double.IsInfinity x then 0.0 else 1.0))
            let q = Passive.dofPositions topo qpos
            let s = softness
            let below = (Spatial.constLike qvel [| nv |] (finite lo) - q) / s
            let above = (q - Spatial.constLike qvel [| nv |] (finite hi)) / s
            let actLo = below.sigmoid() * hasLo
            let actHi = above.sigmoid() * hasHi
            let tau = (below.softplus() * hasLo - above.softplus() * hasHi) * (stiffness * s) - (actLo + actHi) * qvel * damping
            let diag = (actLo + actHi) * (damping + h * stiffness)
            Some(tau * mask, diag * mask)

/// Joint limits on arrays, generic over the scalar.
module internal JointLimitsKernel =
    open Genesis.Physics.FastMath
    open Genesis.Real
    open Genesis.HomogeneousArithmetic

    /// JointLimits.compute for dof k: the limit torque, with its velocity derivative (c + h k while violated) in w.limitDiag.
    let inline internal limitTorque (m: FastModel< ^T>) (w: FastWork< ^T>) (k: int) (q: ^T) (qv: ^T) (h: float) : ^T =
        let lo, hi = m.dofLimitLo[k], m.dofLimitHi[k]
        let zero = lift 0.0
        if Double.IsNaN(value lo) && Double.IsNaN(value hi) then
            w.limitDiag[k] <- zero
            zero
        else
            let s = lift JointLimits.softness
            let spLo, actLo = if Double.IsNaN(value lo) then zero, zero else (let b = (lo - q) / s in softplus b, sigmoid b)
            let spHi, actHi = if Double.IsNaN(value hi) then zero, zero else (let a = (q - hi) / s in softplus a, sigmoid a)
            w.limitDiag[k] <- (actLo + actHi) * lift (JointLimits.damping + h * JointLimits.stiffness)
            (spLo - spHi) * (lift JointLimits.stiffness * s) - (actLo + actHi) * qv * lift JointLimits.damping

/// The hand-written adjoint of the joint limits (the per-dof part of EulerAdjoint's forces adjoint).
module internal JointLimitsAdjoint =
    /// The adjoint of JointLimitsKernel.limitTorque at dof k (torque adjoint g, implicit diagonal adjoint gDiag): adds
    /// those of q and qvel into gq, gqv.
    let inline dof (fm: FastModel<float>) (k: int) (h: float) (q: float) (qv: float) (g: float) (gDiag: float) (gq: byref<float>) (gqv: byref<float>) =
        // limits: tau = (sp(b) - sp(c)) k s - (act_b + act_c) qvel d, diag = (act_b + act_c) (d + h k), with
        // b = (lo - q) / s, c = (q - hi) / s, act = sigmoid
        let llo, lhi = fm.dofLimitLo[k], fm.dofLimitHi[k]
        let sL, kL, dL = JointLimits.softness, JointLimits.stiffness, JointLimits.damping
        let actLo = if Double.IsNaN llo then 0.0 else RealOps.Sigmoid((llo - q) / sL)
        let actHi = if Double.IsNaN lhi then 0.0 else RealOps.Sigmoid((q - lhi) / sL)
        let gAct = gDiag * (dL + h * kL) - g * qv * dL
        gqv <- gqv - g * (actLo + actHi) * dL
        if not (Double.IsNaN llo) then
            let gb = g * kL * sL * actLo + gAct * actLo * (1.0 - actLo)
            gq <- gq - gb / sL
        if not (Double.IsNaN lhi) then
            let gc = -g * kL * sL * actHi + gAct * actHi * (1.0 - actHi)
            gq <- gq + gc / sL
