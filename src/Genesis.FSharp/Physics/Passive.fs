namespace Genesis.Physics

open System
open Genesis

/// Passive joint forces (MuJoCo mj_passive): springs and viscous damping.
module Passive =
    /// Hinge/slide coordinates per dof [B; nv] (0 for ball/free dofs).
    let dofPositions (topo: Topology) (qpos: Tensor) =
        let b = qpos.shape[0]
        let idx = topo.dofQposAdr |> Array.map (fun a -> max a 0)
        let index = gs.tensor(idx, dtype = DType.Int64).unsqueeze(0).expand([ b; topo.nv ])
        let mask = Spatial.constLike qpos [| topo.nv |] (topo.dofQposAdr |> Array.map (fun a -> if a >= 0 then 1.0 else 0.0))
        qpos.gather(1, index) * mask

    /// Spring and damping forces [B; nv] (damping included; the Euler integrator also treats it implicitly).
    let compute (model: Model) (qpos: Tensor) (qvel: Tensor) =
        let p = model.parameters
        let q = dofPositions model.topology qpos
        -(p.dofStiffness * (q - p.dofSpringref)) - p.dofDamping * qvel

/// Joint position limits: beyond a range the joint meets a smooth stiff spring-damper,
/// tau = k s softplus(v / s) - c qdot sigmoid(v / s) (v the violation, pushing back into the range), whose
/// velocity derivative the Euler step treats implicitly (like contact). Not MuJoCo's soft constraint.
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
