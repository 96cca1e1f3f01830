namespace Genesis.Physics

open System
open Genesis

/// Actuation (Genesis control_dofs_*): force, PD position and velocity control, clipped to the force range.
module Actuation =
    /// Generalised actuator forces [B; nv].
    let compute (model: Model) (control: Control) (qpos: Tensor) (qvel: Tensor) =
        let topo, p = model.topology, model.parameters
        let nv = topo.nv
        let m (f: ControlMode -> bool) = Spatial.constLike qvel [| nv |] (control.modes |> Array.map (fun c -> if f c then 1.0 else 0.0))
        let force = control.values * m ((=) ControlMode.Force)
        let anyPos = control.modes |> Array.exists ((=) ControlMode.Position)
        let anyVel = control.modes |> Array.exists ((=) ControlMode.Velocity)
        let mutable tau = force
        if anyPos then
            let q = Passive.dofPositions topo qpos
            tau <- tau + (p.kp * (control.values - q) - p.kv * qvel) * m ((=) ControlMode.Position)
        if anyVel then
            tau <- tau + p.kv * (control.values - qvel) * m ((=) ControlMode.Velocity)
        tau.maximum(p.forceLo.expandAs tau).minimum(p.forceHi.expandAs tau)

    /// Generalised actuator forces [B; nv] and the diagonal of -d tau / d qvel (kv + h kp for position control,
    /// kv for velocity control, 0 where the force saturates), which the Euler step treats implicitly.
    let computeWithDamping (model: Model) (control: Control) (qpos: Tensor) (qvel: Tensor) (h: float) =
        let topo, p = model.topology, model.parameters
        let tau = compute model control qpos qvel
        let nv = topo.nv
        let m (f: ControlMode -> bool) = Spatial.constLike qvel [| nv |] (control.modes |> Array.map (fun c -> if f c then 1.0 else 0.0))
        if control.modes |> Array.forall ((=) ControlMode.Force) then tau, None
        else
            let unsaturated = (tau.gt(p.forceLo.expandAs tau).cast(tau.dtype) * tau.lt(p.forceHi.expandAs tau).cast(tau.dtype)).detach()
            let diag = ((p.kv + p.kp * h) * m ((=) ControlMode.Position) + p.kv * m ((=) ControlMode.Velocity)) * unsaturated
            tau, Some diag

/// Actuation on arrays, generic over the scalar.
module internal ActuationKernel =
    open Genesis.Physics.FastMath
    open Genesis.Real
    open Genesis.HomogeneousArithmetic

    /// A control mode as the kernels' DriveCode.
    let internal modeCode (c: ControlMode) =
        match c with
        | ControlMode.Force -> DriveCode.Force
        | ControlMode.Position -> DriveCode.Position
        | ControlMode.Velocity -> DriveCode.Velocity

    /// The actuator torque of dof k under ctrl value v in the given mode, clamped to the force range, and the
    /// diagonal -d tau / d qvel the Euler step treats implicitly (kv + h kp, kv, or 0 where saturated).
    let inline torque (m: FastModel< ^T>) (k: int) (mode: DriveCode) (anyPos: bool) (anyVel: bool) (h: float) (v: ^T) (q: ^T) (qv: ^T) =
        let zero = lift 0.0
        let mutable tau = v * lift (if mode = DriveCode.Force then 1.0 else 0.0)
        if anyPos then tau <- tau + (m.kp[k] * (v - q) - m.kv[k] * qv) * lift (if mode = DriveCode.Position then 1.0 else 0.0)
        if anyVel then tau <- tau + m.kv[k] * (v - qv) * lift (if mode = DriveCode.Velocity then 1.0 else 0.0)
        let lo, hi = m.forceLo[k], m.forceHi[k]
        tau <- if Double.IsNaN(value tau) || value tau >= value lo then tau else lo
        tau <- if Double.IsNaN(value tau) || value tau <= value hi then tau else hi
        let pdDiag =
            if mode = DriveCode.Force || not (value tau > value lo && value tau < value hi) then zero
            elif mode = DriveCode.Position then m.kv[k] + m.kp[k] * lift h
            else m.kv[k]
        struct (tau, pdDiag)

/// The hand-written adjoint of actuation (the per-dof part of EulerAdjoint's forces adjoint).
module internal ActuationAdjoint =
    /// The adjoint of ActuationKernel.torque at dof k: from g (the adjoint of tau) and gDiag (that of the implicit
    /// diagonal), adds those of ctrl, kp, kv and the force range into gCtrl, gKp, gKv, gLo, gHi, and those of q and
    /// qvel into gq, gqv.
    let inline dof (fm: FastModel<float>) (k: int) (mode: DriveCode) (h: float) (v: float) (q: float) (qv: float) (g: float) (gDiag: float)
                   (gCtrl: float[]) (gKp: float[]) (gKv: float[]) (gLo: float[]) (gHi: float[]) (gq: byref<float>) (gqv: byref<float>) =
        // actuation, passed through where not clamped to [lo, hi]
        let tau0 =
            match mode with
            | DriveCode.Force -> v
            | DriveCode.Position -> fm.kp[k] * (v - q) - fm.kv[k] * qv
            | _ -> fm.kv[k] * (v - qv)
        let lo, hi = fm.forceLo[k], fm.forceHi[k]
        let fromLo = not (Double.IsNaN tau0) && tau0 < lo
        let tau1 = if fromLo then lo else tau0
        let fromHi = not (Double.IsNaN tau1) && tau1 > hi
        let tau = if fromHi then hi else tau1
        if fromHi then gHi[k] <- gHi[k] + g
        elif fromLo then gLo[k] <- gLo[k] + g
        else
            match mode with
            | DriveCode.Force -> gCtrl[k] <- gCtrl[k] + g
            | DriveCode.Position ->
                gCtrl[k] <- gCtrl[k] + fm.kp[k] * g
                gq <- gq - fm.kp[k] * g
                gqv <- gqv - fm.kv[k] * g
                gKp[k] <- gKp[k] + g * (v - q)
                gKv[k] <- gKv[k] - g * qv
            | _ ->
                gCtrl[k] <- gCtrl[k] + fm.kv[k] * g
                gqv <- gqv - fm.kv[k] * g
                gKv[k] <- gKv[k] + g * (v - qv)
        // the PD diagonal kv + h kp (position) or kv (velocity) where the force is not saturated
        if mode <> DriveCode.Force && tau > lo && tau < hi then
            gKv[k] <- gKv[k] + gDiag
            if mode = DriveCode.Position then gKp[k] <- gKp[k] + gDiag * h
