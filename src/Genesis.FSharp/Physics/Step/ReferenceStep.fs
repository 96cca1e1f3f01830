namespace Genesis.Physics

open Genesis

/// Everything one forward evaluation computes (MuJoCo mjData's smooth and acceleration fields).
type ForwardData =
    { /// Poses and motion subspaces.
      kinematics: Kinematics
      /// Mass matrix, bias forces, velocities.
      dynamics: Dynamics
      /// Spring and damping forces [B; nv], the tendon forces (Tendons.compute, their limits included) among them.
      qfrcPassive: Tensor
      /// Actuator forces [B; nv].
      qfrcActuator: Tensor
      /// Contact forces mapped to joint space [B; nv].
      qfrcContact: Tensor
      /// -d qfrcContact / d qvel [B; nv; nv] (treated implicitly by the Euler step).
      contactDamping: Tensor
      /// -d (joint-limit, tendon-limit and PD forces) / d qvel, diagonal [B; nv] (treated implicitly), or None.
      limitDamping: Tensor option
      /// All forces except bias [B; nv].
      qfrcSmooth: Tensor
      /// Accelerations M^-1 (qfrcSmooth - qfrcBias) [B; nv].
      qacc: Tensor }

/// The pure step function step : Model -> SimParams -> State -> Control -> State, sequencing the stages.
module Physics =
    /// Forward dynamics at a state; qacc (M^-1 (f - bias)) only when asked for (the Euler step solves its own system).
    let private forwardWith (withQacc: bool) (model: Model) (sp: SimParams) (qpos: Tensor) (qvel: Tensor) (control: Control) : ForwardData =
        let h = sp.dt / float sp.substeps
        let kin = Kinematics.compute model qpos
        let dyn = Dynamics.compute model kin qvel
        let passive = Passive.compute model qpos qvel
        let tendons = Tendons.compute model qpos qvel sp.enableJointLimits h
        let passive = match tendons with Some(t, _) -> passive + t | None -> passive
        let act, actDamping = Actuation.computeWithDamping model control qpos qvel h
        let contact =
            if sp.enableContact then Contact.compute model sp.contact kin qvel h
            else { qfrc = gs.zerosLike qvel; damping = gs.zeros([ qvel.shape[0]; model.topology.nv; model.topology.nv ], dtype = qvel.dtype); points = 0 }
        let limits = if sp.enableJointLimits then JointLimits.compute model qpos qvel h else None
        let smooth = act + passive + contact.qfrc
        let smooth = match limits with Some(tau, _) -> smooth + tau | None -> smooth
        let implicitDiag =
            match [ limits |> Option.map snd; actDamping; tendons |> Option.map snd ] |> List.choose id with
            | [] -> None
            | ds -> Some(List.reduce (+) ds)
        let qacc =
            if withQacc then
                let rhs = Equality.addForce model h kin qpos qvel dyn.qM (smooth - dyn.qfrcBias)
                Solve.solve dyn.qM (rhs.unsqueeze(-1)) |> fun t -> t.squeeze(-1)
            else null
        { kinematics = kin; dynamics = dyn; qfrcPassive = passive; qfrcActuator = act; qfrcContact = contact.qfrc; contactDamping = contact.damping; limitDamping = implicitDiag; qfrcSmooth = smooth; qacc = qacc }

    /// Forward dynamics at a state (no integration).
    let forward (model: Model) (sp: SimParams) (qpos: Tensor) (qvel: Tensor) (control: Control) : ForwardData =
        forwardWith true model sp qpos qvel control

    let private eulerStep (model: Model) (sp: SimParams) (h: float) (s: State) (control: Control) =
        let fd = forwardWith false model sp s.qpos s.qvel control
        // MuJoCo's Euler treats joint damping implicitly: (M + h D) qacc = f; contact damping likewise (h C)
        let mImp = fd.dynamics.qM + Spatial.eyeLike s.qvel model.topology.nv * (model.parameters.dofDamping * h)
        let mImp = if sp.enableContact then mImp + fd.contactDamping * h else mImp
        let mImp =
            match fd.limitDamping with
            | Some d -> mImp + (d * h).unsqueeze(-1) * Spatial.eyeLike s.qvel model.topology.nv
            | None -> mImp
        // equality constraints: lambda from the same matrix (MuJoCo takes M; they agree without damping)
        let rhs = Equality.addForce model h fd.kinematics s.qpos s.qvel mImp (fd.qfrcSmooth - fd.dynamics.qfrcBias)
        let qacc = Solve.solve mImp (rhs.unsqueeze(-1)) |> fun t -> t.squeeze(-1)
        let qvel = s.qvel + qacc * h
        let qpos = Integrate.integratePos model.topology s.qpos qvel h
        { qpos = qpos; qvel = qvel; time = s.time + h }

    let private rk4Step (model: Model) (sp: SimParams) (h: float) (s: State) (control: Control) =
        let topo = model.topology
        let acc (q: Tensor) (v: Tensor) = (forward model sp q v control).qacc
        let v1 = s.qvel
        let a1 = acc s.qpos v1
        let v2 = s.qvel + a1 * (h / 2.0)
        let a2 = acc (Integrate.integratePos topo s.qpos v1 (h / 2.0)) v2
        let v3 = s.qvel + a2 * (h / 2.0)
        let a3 = acc (Integrate.integratePos topo s.qpos v2 (h / 2.0)) v3
        let v4 = s.qvel + a3 * h
        let a4 = acc (Integrate.integratePos topo s.qpos v3 h) v4
        let qvel = s.qvel + (a1 + 2.0 * a2 + 2.0 * a3 + a4) * (h / 6.0)
        let vbar = (v1 + 2.0 * v2 + 2.0 * v3 + v4) / 6.0
        { qpos = Integrate.integratePos topo s.qpos vbar h; qvel = qvel; time = s.time + h }

    /// Advances the state by sp.dt (in sp.substeps sub-steps) under a control held constant over the step.
    let step (model: Model) (sp: SimParams) (state: State) (control: Control) : State =
        let h = sp.dt / float sp.substeps
        let mutable s = state
        for _ in 1 .. sp.substeps do
            s <-
                match sp.integrator with
                | Integrator.Euler -> eulerStep model sp h s control
                | Integrator.RK4 -> rk4Step model sp h s control
        s
