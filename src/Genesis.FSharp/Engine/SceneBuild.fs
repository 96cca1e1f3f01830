namespace Genesis

open Genesis.Physics

/// Building a scene's model from its entities, as pure functions: the options' gravity and contact parameters applied,
/// the time step chosen, the supported contact pairs checked, and each entity's place in the model's arrays.
module internal SceneBuild =
    /// One option: SimOptions' value when the user gave it, else the value the entities' files state (they must agree),
    /// else SimOptions' default; `what` names the option in the error.
    let private fromFiles (what: string) (given: bool) (value: 'T) (stated: EntitySpec -> 'T option) (specs: seq<EntitySpec>) =
        if given then value
        else
            match specs |> Seq.choose (fun e -> stated e |> Option.map (fun v -> e.name, v)) |> Seq.distinctBy snd |> Seq.toList with
            | [] -> value
            | [ _, v ] -> v
            | (a, va) :: (b, vb) :: _ ->
                raise (GenesisException(sprintf "build: entity '%s' states %s %A and entity '%s' states %A; give SimOptions(%s = ...) to choose" a what va b vb what))

    /// The time step: SimOptions' dt when the user gave one, else the timestep the entities' files state (they must
    /// agree), else SimOptions' default.
    let timeStep (o: SimOptions) (specs: seq<EntitySpec>) =
        fromFiles "dt" o.dtGiven o.dt (fun e -> if e.options.timestepGiven then Some e.options.timestep else None) specs

    /// The gravity: SimOptions' when given, else the files' <option gravity> (they must agree), else the default.
    let gravity (o: SimOptions) (specs: seq<EntitySpec>) =
        fromFiles "gravity" o.gravityGiven o.gravity (fun e -> if e.options.gravityGiven then Some e.options.gravity else None) specs

    /// The integrator: SimOptions' when given, else the files' <option integrator> (they must agree), else Euler.
    let integrator (o: SimOptions) (specs: seq<EntitySpec>) =
        fromFiles "integrator" o.integratorGiven o.integrator (fun e -> e.options.integrator) specs

    /// The model of the entities (with the options' gravity and contact parameters) and the step's parameters; raises
    /// at build for a contact pair without a narrow phase.
    let model (opts: SimOptions) (entities: EntitySpec[]) (dtype: DType) : Model * SimParams =
        let g = gravity opts entities
        let specs = entities |> Array.map (fun e -> { e with options = { e.options with gravity = g } })
        let sp = { opts.ToSimParams() with dt = timeStep opts entities; integrator = integrator opts entities }
        for e in entities do FileActuators.checkTendons e opts.enableJointLimits
        let m0 = Model.build specs dtype
        let starts = entities |> Array.map EntitySpec.nv |> Array.scan (+) 0
        let m0 = { m0 with parameters = Array.fold2 (fun p e d -> FileActuators.applyGains e d p) m0.parameters entities starts[.. entities.Length - 1] }
        if opts.enableContact then Broadphase.checkSupportedPairs m0.topology
        let scalar (v: float) = gs.tensor(v, dtype = dtype)
        let m =
            { m0 with
                parameters =
                    { m0.parameters with
                        contactStiffness = scalar opts.contactStiffness
                        contactDamping = scalar opts.contactDamping
                        friction = scalar opts.friction } }
        m, sp

    /// Each entity's first body, joint, dof and qpos entry in the model and their counts, in order.
    let offsets (entities: EntitySpec[]) =
        let mutable body, jnt, dof, qp = 0, 0, 0, 0
        [| for e in entities do
               let nb, nj, nd, nq = e.bodies.Length, EntitySpec.njnt e, EntitySpec.nv e, EntitySpec.nq e
               yield body, nb, jnt, nj, dof, nd, qp, nq
               body <- body + nb
               jnt <- jnt + nj
               dof <- dof + nd
               qp <- qp + nq |]
