namespace Genesis

open Genesis.Physics

/// How a model file's actuators show up in a Scene (docs/morphs.md, "Actuators in a Scene"): an actuator with a joint
/// transmission on a hinge or slide joint drives that joint's dof through the dof controls. Its force on the dof is
/// g (gain u + b0 + b1 g q + b2 g qdot) with gear g, so b1 < 0 is position control (kp = -b1 g^2, kv = -b2 g^2,
/// target = (gain u + b0) / (-b1 g)), b1 = 0 and b2 < 0 velocity control (kv = -b2 g^2, target
/// = (gain u + b0) / (-b2 g)), b1 = b2 = 0 force control (g (gain u + b0)); the force range g * forcerange.
module internal FileActuators =
    /// The dof control one actuator amounts to: mode, gains, force range and value = scale * clamp(ctrl) + offset.
    type Drive =
        { /// The driven dof (entity-local).
          dof: int
          /// The control mode it uses.
          mode: ControlMode
          /// kp written to the dof (position mode).
          kp: float option
          /// kv written to the dof (position and velocity modes).
          kv: float option
          /// The dof's force range.
          forceRange: float * float
          /// value = scale * u + offset.
          scale: float
          /// value = scale * u + offset.
          offset: float }

    /// The drive of actuator a of an entity, or why it has none (a tendon or slider-crank transmission, a ball or free
    /// joint, a destabilising bias, a dof that another actuator drives too).
    let drive (spec: EntitySpec) (a: ActuatorSpec) : Result<Drive, string> =
        let joints = EntitySpec.joints spec
        match a.transmission with
        | TendonTrn _ | SliderCrankTrn _ -> Error "its transmission is a tendon or slider-crank, which no dof control expresses"
        | JointTrn name ->
            match joints |> Array.tryFindIndex (fun (_, j) -> j.name = name) with
            | None -> Error(sprintf "joint '%s' is not in the entity" name)
            | Some ji when (match (snd joints[ji]).jtype with Hinge | Slide -> false | _ -> true) -> Error(sprintf "joint '%s' is not a hinge or slide" name)
            | Some ji ->
                let shared = spec.actuators |> Array.filter (fun b -> b.transmission = a.transmission) |> Array.length
                let g, g0, b = a.gear, a.gain, a.bias
                if shared > 1 then Error(sprintf "joint '%s' is driven by %d actuators" name shared)
                elif g = 0.0 then Error "its gear is 0"
                else
                    let dof = (EntitySpec.jointDofAdr spec)[ji]
                    let range =
                        match a.forcerange with
                        | Some(lo, hi) -> (if g > 0.0 then g * lo, g * hi else g * hi, g * lo)
                        | None -> -infinity, infinity
                    let d = { dof = dof; mode = ControlMode.Force; kp = None; kv = None; forceRange = range; scale = g * g0; offset = g * b[0] }
                    if b[1] < 0.0 && b[2] <= 0.0 then
                        let k = -b[1] * g
                        Ok { d with mode = ControlMode.Position; kp = Some(-b[1] * g * g); kv = Some(-b[2] * g * g); scale = g0 / k; offset = b[0] / k }
                    elif b[1] = 0.0 && b[2] < 0.0 then
                        let k = -b[2] * g
                        Ok { d with mode = ControlMode.Velocity; kv = Some(-b[2] * g * g); scale = g0 / k; offset = b[0] / k }
                    elif b[1] = 0.0 && b[2] = 0.0 then Ok d
                    else Error(sprintf "its bias (%g, %g) on length and velocity is not a PD law (both must be <= 0)" b[1] b[2])

    /// The parameters with the entity's actuated dofs' kp, kv and force range set from its file (dofs from dofStart).
    let applyGains (spec: EntitySpec) (dofStart: int) (p: Params) : Params =
        let drives = spec.actuators |> Array.choose (fun a -> match drive spec a with Ok d -> Some d | Error _ -> None)
        if drives.Length = 0 then p
        else
            let set (t: Tensor) (pick: Drive -> float option) =
                let v = t.toFloatArray()
                for d in drives do pick d |> Option.iter (fun x -> v[dofStart + d.dof] <- x)
                gs.fromArray(v, shape = t.shape, dtype = t.dtype)
            { p with
                kp = set p.kp (fun d -> d.kp)
                kv = set p.kv (fun d -> d.kv)
                forceLo = set p.forceLo (fun d -> Some(fst d.forceRange))
                forceHi = set p.forceHi (fun d -> Some(snd d.forceRange)) }

    /// Raises NotSupported for the entity's tendons that a Scene's step would ignore although they change the motion:
    /// springs and dampers always, limits while joint limits are enforced.
    let checkTendons (spec: EntitySpec) (limits: bool) =
        for t in spec.tendons do
            if t.stiffness <> 0.0 || t.damping <> 0.0 then
                raise (GenesisNotSupportedException(sprintf "entity '%s': tendon '%s' has stiffness or damping; a Scene's step does not compute tendon forces yet (Tendons.passive is the reference form)" spec.name t.name))
            if limits && t.range.IsSome then
                raise (GenesisNotSupportedException(sprintf "entity '%s': tendon '%s' is limited; a Scene's step does not enforce tendon limits yet (SimOptions(enableJointLimits = false) simulates without limits)" spec.name t.name))
