namespace Genesis.Physics

open System
open Genesis

/// Passive joint forces (MuJoCo mj_passive): springs and viscous damping.
module Passive =
    /// Hinge/slide coordinates per dof [B; nv] (0 for ball/free dofs).
    let dofPositions (topo: Topology) (qpos: Tensor) =
        let b = qpos.shape[0]
        let index =
            Constants.get topo (Constants.DofQposIndex b) qpos (fun () ->
                let idx = topo.dofQposAdr |> Array.map (fun a -> max a 0)
                gs.tensor(idx, dtype = DType.Int64).unsqueeze(0).expand([ b; topo.nv ]))
        let mask = Constants.ofValues topo Constants.DofHasPosition qpos [| topo.nv |] (fun () -> topo.dofQposAdr |> Array.map (fun a -> if a >= 0 then 1.0 else 0.0))
        qpos.gather(1, index) * mask

    /// Springs of ball and free joints [B; nv] (MuJoCo mj_passive): free translations -k (x - x0); rotations
    /// -k r with r the rotation vector from the rest orientation (qpos0) to the current one (mju_subQuat).
    /// Joints whose constant stiffness is exactly zero are skipped.
    let private quatSprings (model: Model) (qpos: Tensor) =
        let topo, p = model.topology, model.parameters
        let stiffness = if p.dofStiffness.isConstant then Some(p.dofStiffness.toFloatArray()) else None
        let mutable total: Tensor = null
        for j in 0 .. topo.jntType.Length - 1 do
            let jt = topo.jntType[j]
            if jt = Ball || jt = Free then
                let d, a, n = topo.jntDofAdr[j], topo.jntQposAdr[j], JointSpec.nvOf jt
                let isZero = stiffness |> Option.exists (fun s -> Array.forall (fun k -> s[d + k] = 0.0) [| 0 .. n - 1 |])
                if not isZero then
                    let rot = if jt = Free then a + 3 else a
                    let rest = Spatial.constLike qpos [| 4 |] topo.qpos0[rot .. rot + 3]
                    let angular = Spatial.quatSub (qpos.narrow(1, rot, 4)) rest
                    let disp =
                        if jt = Free then gs.cat([| qpos.narrow(1, a, 3) - Spatial.constLike qpos [| 3 |] topo.qpos0[a .. a + 2]; angular |], 1)
                        else angular
                    let place = Spatial.constLike qpos [| n; topo.nv |] (Array.init (n * topo.nv) (fun e -> if e % topo.nv = d + e / topo.nv then 1.0 else 0.0))
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

    /// Generalised forces [B; nv] of MuJoCo motor actuators (joint transmission: force = gear * ctrl on the
    /// joint's dof, ctrl clamped to ctrlrange where given) from controls ctrl [B; nu]; hinge and slide joints only.
    let motorForces (topo: Topology) (actuators: ActuatorSpec[]) (ctrl: Tensor) =
        let nu, nv = actuators.Length, topo.nv
        if ctrl.dim <> 2 || ctrl.shape[1] <> nu then
            invalidArg "ctrl" (sprintf "motorForces: ctrl must be [B; %d] (one column per actuator), got %A" nu ctrl.shape)
        let gear = Array.zeroCreate (nu * nv)
        actuators
        |> Array.iteri (fun a act ->
            match Array.tryFindIndex ((=) act.joint) topo.jntName with
            | None -> raise (GenesisException(sprintf "actuator '%s': joint '%s' is not in the model" act.name act.joint))
            | Some j ->
                match topo.jntType[j] with
                | Hinge | Slide -> gear[a * nv + topo.jntDofAdr[j]] <- act.gear
                | t -> raise (GenesisNotSupportedException(sprintf "actuator '%s': motors on %A joints ('%s') are not supported" act.name t act.joint)))
        let bound (pick: float * float -> float) (none: float) =
            Spatial.constLike ctrl [| nu |] (actuators |> Array.map (fun a -> match a.ctrlrange with Some r -> pick r | None -> none))
        let clamped = if nu = 0 then ctrl else ctrl.maximum((bound fst -infinity).expandAs ctrl).minimum((bound snd infinity).expandAs ctrl)
        clamped.matmul(Spatial.constLike ctrl [| nu; nv |] gear)
