namespace Genesis.Physics

open Genesis

/// Passive joint forces (MuJoCo mj_passive): springs and viscous damping.
module Passive =
    /// Hinge/slide coordinates per dof [B; nv] (0 for ball/free dofs).
    let dofPositions (topo: Topology) (qpos: Tensor) =
        let b = qpos.shape[0]
        let index =
            Constants.get topo (1000000 + b) qpos (fun () ->
                let idx = topo.dofQposAdr |> Array.map (fun a -> max a 0)
                gs.tensor(idx, dtype = DType.Int64).unsqueeze(0).expand([ b; topo.nv ]))
        let mask = Constants.ofValues topo 3 qpos [| topo.nv |] (fun () -> topo.dofQposAdr |> Array.map (fun a -> if a >= 0 then 1.0 else 0.0))
        qpos.gather(1, index) * mask

    /// Spring and damping forces [B; nv] (damping included; the Euler integrator also treats it implicitly).
    let compute (model: Model) (qpos: Tensor) (qvel: Tensor) =
        let p = model.parameters
        let q = dofPositions model.topology qpos
        -(p.dofStiffness * (q - p.dofSpringref)) - p.dofDamping * qvel

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
