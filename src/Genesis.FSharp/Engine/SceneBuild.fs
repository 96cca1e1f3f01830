namespace Genesis

open Genesis.Physics

/// Building a scene's model from its entities, as pure functions: the options' gravity and contact parameters applied,
/// the time step chosen, the supported contact pairs checked, and each entity's place in the model's arrays.
module internal SceneBuild =
    /// The time step: SimOptions' dt when the user gave one, else the timestep the entities' files state (they must
    /// agree), else SimOptions' default.
    let timeStep (o: SimOptions) (specs: seq<EntitySpec>) =
        if o.dtGiven then o.dt
        else
            match specs |> Seq.filter (fun e -> e.options.timestepGiven) |> Seq.map (fun e -> e.name, e.options.timestep) |> Seq.distinctBy snd |> Seq.toList with
            | [] -> o.dt
            | [ _, t ] -> t
            | (a, ta) :: (b, tb) :: _ ->
                raise (GenesisException(sprintf "build: entity '%s' states timestep %g and entity '%s' states %g; give SimOptions(dt = ...) to choose" a ta b tb))

    /// The model of the entities (with the options' gravity and contact parameters) and the step's parameters; raises
    /// at build for a contact pair without a narrow phase.
    let model (opts: SimOptions) (entities: EntitySpec[]) (dtype: DType) : Model * SimParams =
        let specs = entities |> Array.map (fun e -> { e with options = { e.options with gravity = opts.gravity } })
        let sp = { opts.ToSimParams() with dt = timeStep opts entities }
        let m0 = Model.build specs dtype
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
