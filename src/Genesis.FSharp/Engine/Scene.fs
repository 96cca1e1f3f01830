namespace Genesis

open System
open Genesis.Physics

/// A snapshot of the simulation state (Genesis SimState): tensors carry the scene.
type SimState =
    { /// Generalised positions ([nq] or [nEnvs; nq]).
      qpos: Tensor
      /// Generalised velocities ([nv] or [nEnvs; nv]).
      qvel: Tensor
      /// Simulated time (s).
      time: float
      /// Link origins ([nLinks; 3] or [nEnvs; nLinks; 3]).
      linksPos: Tensor
      /// Link orientations (w, x, y, z) ([nLinks; 4] or [nEnvs; nLinks; 4]).
      linksQuat: Tensor }

/// A simulation scene (Genesis gs.Scene): entities, build, step, reset, and gradient flow through recorded steps.
type Scene(?simOptions: SimOptions) =
    let opts = defaultArg simOptions (SimOptions())
    let entityList = ResizeArray<RigidEntity>()
    let mutable builtModel: Model option = None
    let mutable envCount = 0
    let mutable state: State option = None
    let mutable initial: State option = None
    let mutable modes: ControlMode[] = [||]
    let mutable controls: Tensor = null
    let mutable backwardDone = false
    let mutable kinCache: (State * Kinematics) option = None
    let mutable stepCount = 0
    let mutable segmentCount = 0
    // checkpointing: the values after the last step, and the controls taken since `state` (a segment)
    let mutable values: State option = None
    let pending = ResizeArray<Control>()
    // the step's parameters: SimOptions', with the time step the scene uses (SimOptions' dt, else a model file's)
    let mutable simParams = opts.ToSimParams()
    let detachState (st: State) = { st with qpos = st.qpos.detach(); qvel = st.qvel.detach() }

    /// The options this scene was created with.
    member _.simOptions = opts
    /// The time step in use (s): SimOptions' dt when given, else the timestep a loaded MJCF states, else 0.01.
    member _.dt = simParams.dt
    /// The pure step's parameters (SimOptions' with the time step in use).
    member internal _.SimParams: SimParams = simParams
    /// True after build().
    member _.isBuilt = builtModel.IsSome
    /// Number of parallel environments (0 = not batched).
    member _.nEnvs = envCount
    /// The entities in the order they were added.
    member _.entities = entityList.ToArray()
    /// Steps taken since build or the last reset.
    member _.stepsTaken = stepCount
    /// Checkpoint segments recorded since build or the last reset (requiresGrad with checkpointEvery <> 1).
    member _.recordedSegments = segmentCount

    /// The built model (raises before build).
    member s.model =
        match builtModel with
        | Some m -> m
        | None -> raise (GenesisException "Scene is not built yet: call scene.build() first")

    member internal s.State: State =
        match state with
        | Some st ->
            if pending.Count = 0 then st
            else
                let m = s.model
                let closed = Segments.segment m s.SimParams st (pending.ToArray()) values.Value
                pending.Clear()
                segmentCount <- segmentCount + 1
                state <- Some closed
                closed
        | None -> raise (GenesisException "Scene is not built yet: call scene.build() first")

    /// Steps per checkpoint segment now (automatic: about the square root of the steps taken).
    member private _.SegmentLength =
        if opts.checkpointEvery > 0 then opts.checkpointEvery
        else max 2 (int (ceil (sqrt (float (stepCount + 1)))))

    /// True when the scene's tensors live on a device (Backend.Gpu): every step then runs the Tensor path there.
    member internal s.OnDevice = s.model.parameters.gravity.device <> Device.Cpu

    /// One step of values only (no graph): the array fast path on the host, the Tensor path on a device (with the
    /// parameters detached, so that nothing is recorded).
    member private s.ValuesStep(m: Model, sp: SimParams, current: State, control: Control) : State =
        if s.OnDevice then
            let plain = { m with parameters = Rollout.paramsOfArray (Rollout.paramsToArray m.parameters |> Array.map (fun t -> t.detach())) }
            detachState (Physics.step plain sp (detachState current) { control with values = control.values.detach() })
        else FastStep.step m sp current control

    /// Runs f, turning a device out-of-memory error into one that names nEnvs and the bytes asked.
    member private _.OnDeviceMemory(what: string, n: int, f: unit -> 'a) : 'a =
        try f ()
        with :? Genesis.Gpu.GpuOutOfMemoryException as e ->
            raise (GenesisException(sprintf "%s: out of device memory with nEnvs = %d (%d bytes asked, %d held); build the scene with fewer envs" what n e.RequestedBytes e.AllocatedBytes, e))

    /// Adds an entity made from a morph; only before build.
    member s.addEntity(morph: Morph) : RigidEntity =
        if builtModel.IsSome then raise (GenesisException "addEntity: the scene is already built; add entities before scene.build()")
        let spec = match morph with MorphSpec e -> e
        let e = RigidEntity(s, entityList.Count, spec)
        entityList.Add e
        e

    /// Builds the model for nEnvs parallel environments (0 = not batched) and sets the initial state.
    member s.build(?nEnvs: int) =
        if builtModel.IsSome then raise (GenesisException "build: the scene is already built")
        let n = defaultArg nEnvs 0
        if n < 0 then raise (GenesisException(sprintf "build: nEnvs must be >= 0, got %d" n))
        let dtype = Runtime.resolve DType.Float
        let specs = entityList |> Seq.map (fun e -> e.Spec) |> Seq.toArray
        let m, sp = SceneBuild.model opts specs dtype
        for e, (b, nb, j, nj, d, nd, q, nq) in Seq.zip entityList (SceneBuild.offsets specs) do
            e.Place(b, nb, j, nj, d, nd, q, nq)
        let b = max 1 n
        // a device that cannot hold nEnvs states leaves the scene unbuilt, to build again with fewer envs
        let st, ctrl =
            s.OnDeviceMemory("build", n, fun () ->
                let qpos = gs.fromArray(m.topology.qpos0, shape = [ 1; m.topology.nq ], dtype = dtype).expand([ b; m.topology.nq ])
                { qpos = qpos; qvel = gs.zeros([ b; m.topology.nv ], dtype = dtype); time = 0.0 }, gs.zeros([ b; m.topology.nv ], dtype = dtype))
        builtModel <- Some m
        simParams <- sp
        s.SetEnvs n
        state <- Some st
        initial <- Some st
        values <- Some st
        modes <- Array.create m.topology.nv ControlMode.Force
        controls <- ctrl

    member private _.SetEnvs(n: int) = envCount <- n

    /// Advances the simulation by dt under the current controls.
    member s.step() = s.OnDeviceMemory("step", envCount, s.StepOnce)

    /// The step itself (step() reports running out of device memory).
    member private s.StepOnce() =
        let m = s.model
        if backwardDone then
            raise (GenesisException "Forward simulation not allowed after backward pass. Please reset scene state.")
        let control = { modes = Array.copy modes; values = controls }
        let sp = s.SimParams
        if opts.requiresGrad && opts.checkpointEvery <> 1 then
            // take the step on values only (on the host the array fast path, whose kernels also differentiate the
            // segment; on a device the Tensor path) and record it in the open checkpoint segment
            let current = match values with Some v -> v | None -> detachState s.State
            let next = s.ValuesStep(m, sp, current, { control with values = controls.detach() })
            if opts.checkNonFinite then s.CheckFinite next
            pending.Add control
            values <- Some next
            if pending.Count >= s.SegmentLength then s.State |> ignore
        else
            // without gradients the array fast path takes the step on the host (the Tensor path is its reference), the
            // Tensor path on a device
            let next =
                if opts.requiresGrad then Physics.step m sp s.State control
                else s.ValuesStep(m, sp, s.State, control)
            let next = if opts.requiresGrad then next else detachState next
            if opts.checkNonFinite then s.CheckFinite next
            state <- Some next
            values <- Some(detachState next)
        kinCache <- None
        stepCount <- stepCount + 1

    /// Raises (naming env, dof or qpos and joint) when a step produced a non-finite or exploded state.
    member internal s.CheckFinite(next: State) = SceneValues.checkFinite s.model.topology opts.maxStateMagnitude simParams.dt next

    /// Returns to the initial state (or simState, or qpos/qvel), clearing the recording and the backward flag; controls
    /// are zeroed. With envsIdx (Genesis' envs_idx) only those envs are reset (see ResetEnvs).
    member s.reset(?simState: SimState, ?envsIdx: int[], ?qpos: Tensor, ?qvel: Tensor) =
        if simState.IsSome && (qpos.IsSome || qvel.IsSome) then
            raise (GenesisException "reset: give either simState or qpos/qvel, not both")
        match envsIdx with
        | Some envs -> s.ResetEnvs(envs, simState, qpos, qvel)
        | None -> s.ResetAll(simState, qpos, qvel)

    /// reset without envsIdx: every env, the recording and the backward flag.
    member private s.ResetAll(simState: SimState option, qpos: Tensor option, qvel: Tensor option) =
        let m = s.model
        let time = match simState with Some ss -> ss.time | None -> 0.0
        if not (Double.IsFinite time) then raise (GenesisException(sprintf "reset: time must be finite, got %g" time))
        match simState, qpos, qvel with
        | Some ss, _, _ -> state <- Some { qpos = s.Batched(ss.qpos, m.topology.nq, "reset qpos"); qvel = s.Batched(ss.qvel, m.topology.nv, "reset qvel"); time = time }
        | None, None, None -> state <- initial
        | None, q, v ->
            let init = initial.Value
            state <-
                Some { qpos = (match q with Some q -> s.Batched(q, m.topology.nq, "reset qpos") | None -> init.qpos)
                       qvel = (match v with Some v -> s.Batched(v, m.topology.nv, "reset qvel") | None -> init.qvel)
                       time = 0.0 }
        pending.Clear()
        values <- state |> Option.map detachState
        backwardDone <- false
        kinCache <- None
        stepCount <- 0
        segmentCount <- 0
        modes <- Array.create m.topology.nv ControlMode.Force
        controls <- gs.zerosLike controls

    /// reset(envsIdx = ...): the envs in envsIdx go to simState's rows envsIdx (a whole-scene snapshot [nEnvs; n] or
    /// [n]), or to qpos/qvel ([len envsIdx; n] or [n]), or to the initial state, with their controls zeroed; the other
    /// envs keep their state and, until a backward pass, its graph (after one, every env's state is detached and the
    /// backward flag cleared, so training goes on from where the envs are).
    member private s.ResetEnvs(envsIdx: int[], simState: SimState option, qpos: Tensor option, qvel: Tensor option) =
        let topo = s.model.topology
        SceneValues.checkEnvs envCount "reset" envsIdx
        simState |> Option.iter (fun ss -> if not (Double.IsFinite ss.time) then raise (GenesisException(sprintf "reset: time must be finite, got %g" ss.time)))
        // [B; k] with row e for env e (Scatter reads rows envsIdx): a snapshot is the whole batch, qpos/qvel the rows of
        // the envs reset in envsIdx order
        let rowsOf (full: Tensor option) (given: Tensor option) (k: int) (init: float[]) (what: string) =
            match full, given with
            | Some f, _ -> s.Batched(f, k, what)
            | None, Some g -> s.ForEnvs(g, k, Some envsIdx, what)
            | None, None -> gs.fromArray(init, dtype = s.FloatType)
        let qRows = rowsOf (simState |> Option.map (fun ss -> ss.qpos)) qpos topo.nq topo.qpos0 "reset qpos"
        let vRows = rowsOf (simState |> Option.map (fun ss -> ss.qvel)) qvel topo.nv (Array.zeroCreate topo.nv) "reset qvel"
        let st = if backwardDone then detachState s.State else s.State
        let all (n: int) = Array.init n id
        let next = { st with qpos = s.Scatter(st.qpos, qRows, all topo.nq, Some envsIdx); qvel = s.Scatter(st.qvel, vRows, all topo.nv, Some envsIdx) }
        if backwardDone then
            controls <- controls.detach()
            backwardDone <- false
        controls <- s.Scatter(controls, gs.zeros([ topo.nv ], dtype = s.FloatType), all topo.nv, Some envsIdx)
        state <- Some next
        values <- Some(detachState next)
        kinCache <- None

    /// The current state (tensors carry this scene).
    member s.getState() : SimState =
        let st = s.State
        let kin = s.Kin
        { qpos = s.Out st.qpos
          qvel = s.Out st.qvel
          time = st.time
          linksPos = s.Out kin.xpos
          linksQuat = s.Out(Spatial.matToQuat kin.xmat) }

    /// Number of active equality constraints (MJCF <equality>) of the built model.
    member s.nEqualities = s.model.topology.equality.Length

    /// The violation of each equality constraint at the current state ([nEq], or [nEnvs; nEq]): the norm of its residual
    /// (m for connect, m and sin(angle / 2) for weld, rad or m for joint), differentiable.
    member s.getEqualityViolation() : Tensor = s.Out(Equality.violation s.model s.Kin s.State.qpos)

    /// Replaces the current state (qpos/qvel shaped [nq] or [nEnvs; nq]).
    member s.setState(simState: SimState) =
        let m = s.model
        if not (Double.IsFinite simState.time) then raise (GenesisException(sprintf "setState: time must be finite, got %g" simState.time))
        let next = { qpos = s.Batched(simState.qpos, m.topology.nq, "qpos"); qvel = s.Batched(simState.qvel, m.topology.nv, "qvel"); time = simState.time }
        pending.Clear()
        state <- Some next
        values <- state |> Option.map detachState
        kinCache <- None

    /// Kinematics of the current state (cached until the next step).
    member internal s.Kin: Kinematics =
        let st = s.State
        match kinCache with
        | Some(k, kin) when Object.ReferenceEquals(k, st) -> kin
        | _ ->
            let kin =
                if not opts.requiresGrad && st.qpos.isConstant && not s.OnDevice then FastStep.kinematics s.model st.qpos
                else Kinematics.compute s.model st.qpos
            kinCache <- Some(st, kin)
            kin

    /// Attaches this scene to an output tensor and drops the env dimension when not batched.
    member internal s.Out(t: Tensor) =
        let t = if envCount = 0 then t.squeeze(0) else t
        t.WithScene(s)

    /// The float type of the built model and its states (read from the model: reading s.State would close the open
    /// checkpoint segment).
    member private s.FloatType = s.model.parameters.gravity.dtype

    /// A value given as [k] or [nEnvs; k] as [B; k] (SceneValues.batched).
    member internal s.Batched(values: Tensor, k: int, what: string) : Tensor = SceneValues.batched envCount s.FloatType (s.OnSceneDevice(values, what)) k what

    /// A value tensor in the scene's float type (SceneValues.asFloat).
    member internal s.AsFloat(values: Tensor, what: string) : Tensor = SceneValues.asFloat s.FloatType (s.OnSceneDevice(values, what)) what

    /// A value on the scene's device (SceneValues.onDevice: a constant from another device is copied once).
    member private s.OnSceneDevice(values: Tensor, what: string) : Tensor = SceneValues.onDevice s.model.parameters.gravity values what

    /// Writes values [B; k] into columns cols of full [B; n] (SceneValues.scatter).
    member internal s.Scatter(full: Tensor, values: Tensor, cols: int[], envs: int[] option) : Tensor = SceneValues.scatter full values cols envs

    /// A value given for some envs as [B; k] rows (SceneValues.forEnvs).
    member internal s.ForEnvs(values: Tensor, k: int, envsIdx: int[] option, what: string) : Tensor =
        SceneValues.forEnvs envCount s.FloatType (s.OnSceneDevice(values, what)) k envsIdx what

    member internal s.SetQpos(v: Tensor, cols: int[], envs: int[] option) =
        let st = s.State
        state <- Some { st with qpos = s.Scatter(st.qpos, v, cols, envs) }
        values <- state |> Option.map detachState
        kinCache <- None

    member internal s.SetQvel(v: Tensor, cols: int[], envs: int[] option) =
        let st = s.State
        state <- Some { st with qvel = s.Scatter(st.qvel, v, cols, envs) }
        values <- state |> Option.map detachState
        kinCache <- None

    member internal s.SetControl(mode: ControlMode, values: Tensor, cols: int[], envs: int[] option) =
        let next = s.Scatter(controls, values, cols, envs)
        for c in cols do modes[c] <- mode
        controls <- next

    member internal s.Controls = controls

    /// Closed-loop rollouts (NN.ClosedLoop): the current state, settable without recording (the loop records its own
    /// segments); reading closes an open checkpoint segment.
    member internal s.LoopState
        with get () = s.State
        and set (st: State) =
            pending.Clear()
            state <- Some st
            values <- Some(detachState st)
            kinCache <- None

    /// Closed-loop rollouts: the control values [B; nv] and modes, settable to restore them.
    member internal _.LoopControls
        with get () = controls, Array.copy modes
        and set ((c: Tensor), (m: ControlMode[])) =
            controls <- c
            modes <- Array.copy m

    /// Closed-loop rollouts: counts steps and segments the loop took; raises after backward like step().
    member internal _.LoopAdvance(steps: int, segments: int) =
        stepCount <- stepCount + steps
        segmentCount <- segmentCount + segments

    /// Closed-loop rollouts: raises the error step() raises after a backward pass without reset.
    member internal _.LoopCheckForward() =
        if backwardDone then
            raise (GenesisException "Forward simulation not allowed after backward pass. Please reset scene state.")

    /// Sets gravity ([3]); a tensor that requires grad receives d loss / d gravity through backward.
    member s.setGravity(gravity: Tensor) =
        if gravity.shape <> [| 3 |] then raise (GenesisException(sprintf "setGravity: expected shape [3], got %s" (Shape.format gravity.shape)))
        let g = s.AsFloat(gravity, "setGravity")
        if g.toFloatArray() |> Array.exists (fun x -> Double.IsNaN x || Double.IsInfinity x) then
            raise (GenesisException(sprintf "setGravity: gravity must be finite, got %s" (String.Join(", ", g.toFloatArray()))))
        s.State |> ignore
        s.SetModel { s.model with parameters = { s.model.parameters with gravity = g } }

    /// Sets contact stiffness, damping and friction (scalar tensors; any may require grad).
    member s.setContactParams(?stiffness: Tensor, ?damping: Tensor, ?friction: Tensor) =
        let p = s.model.parameters
        let check (name: string) (t: Tensor) =
            if t.numel <> 1 then raise (GenesisException(sprintf "setContactParams: %s must be a scalar, got shape %s" name (Shape.format t.shape)))
            let v = s.AsFloat(t, "setContactParams " + name)
            let x = v.toFloatArray()[0]
            if not (x >= 0.0 && x < infinity) then raise (GenesisException(sprintf "setContactParams: %s must be finite and >= 0, got %g" name x))
            v.reshape([||])
        s.State |> ignore
        s.SetModel
            { s.model with
                parameters =
                    { p with
                        contactStiffness = stiffness |> Option.map (check "stiffness") |> Option.defaultValue p.contactStiffness
                        contactDamping = damping |> Option.map (check "damping") |> Option.defaultValue p.contactDamping
                        friction = friction |> Option.map (check "friction") |> Option.defaultValue p.friction } }

    /// A parameter tensor to update entries of: its values when a backward pass has used up its graph (it was set
    /// from a leaf before that pass), so that setting parameters every epoch after reset() starts a fresh graph.
    static member internal Unconsumed(t: Tensor) = if Reverse.isConsumed t then t.detach() else t

    /// The differentiable model parameters (masses, inertias, damping, gains, gravity, contact).
    member s.parameters = s.model.parameters

    member internal s.SetModel(m: Model) =
        builtModel <- Some m
        kinCache <- None

    /// The forward data (forces, accelerations) of the current state under the current controls.
    member internal s.ForwardData() =
        let st = s.State
        Physics.forward s.model s.SimParams st.qpos st.qvel { modes = Array.copy modes; values = controls }

    /// Net contact force on every body (world frame) [B; nbody; 3] at the current state; zeros without contact.
    member internal s.BodyContactForces() =
        let sp = s.SimParams
        let st = s.State
        if sp.enableContact then Contact.bodyForces s.model sp.contact s.Kin st.qvel
        else gs.zeros([ st.qvel.shape[0]; s.model.topology.nbody; 3 ], dtype = st.qvel.dtype)

    interface IBackwardObserver with
        member _.BeforeBackward() = ()
        member _.AfterBackward() = backwardDone <- true

/// A link (body) of an entity.
and RigidLink internal (entity: RigidEntity, index: int, name: string) =
    /// The link name.
    member _.name = name
    /// The link index within its entity.
    member _.idx = index
    /// The link index within the scene.
    member _.idxGlobal = entity.BodyStart + index
    /// World position of the link origin ([3] or [nEnvs; 3]).
    member l.getPos() = entity.Scene.Out(entity.Scene.Kin.xpos.narrow(1, l.idxGlobal, 1).squeeze(1))
    /// World orientation (w, x, y, z) of the link ([4] or [nEnvs; 4]).
    member l.getQuat() = entity.Scene.Out(Spatial.matToQuat (entity.Scene.Kin.xmat.narrow(1, l.idxGlobal, 1).squeeze(1)))

/// A joint of an entity.
and RigidJoint internal (entity: RigidEntity, index: int, name: string, jtype: JointType, dofStart: int, nDofs: int) =
    /// The joint name.
    member _.name = name
    /// The joint index within its entity.
    member _.idx = index
    /// The joint kind.
    member _.jointType = jtype
    /// Indices (within the entity) of this joint's dofs.
    member _.dofsIdxLocal = Array.init nDofs (fun k -> dofStart + k)
    /// The entity.
    member _.entity = entity

/// A rigid entity (articulated body) of a scene (Genesis RigidEntity).
and RigidEntity internal (scene: Scene, index: int, spec: EntitySpec) =
    let mutable bodyStart, nBodies, jntStart, nJnts, dofStart, dofCount, qposStart, nQ = 0, 0, 0, 0, 0, 0, 0, 0
    let nv, nq = EntitySpec.nv spec, EntitySpec.nq spec
    let allDofs = Array.init nv id

    member internal _.Spec = spec
    member internal _.Scene: Scene = scene
    member internal _.BodyStart = bodyStart
    member internal _.Place(b, nb, j, nj, d, nd, q, nq) =
        bodyStart <- b
        nBodies <- nb
        jntStart <- j
        nJnts <- nj
        dofStart <- d
        dofCount <- nd
        qposStart <- q
        nQ <- nq

    /// The entity's index in the scene.
    member _.idx = index
    /// The entity (model) name.
    member _.name = spec.name
    /// Number of degrees of freedom.
    member _.nDofs = nv
    /// Number of position coordinates.
    member _.nQpos = nq
    /// Number of links (bodies).
    member _.nLinks = spec.bodies.Length
    /// Number of joints.
    member _.nJoints = EntitySpec.njnt spec
    /// The links.
    member e.links = spec.bodies |> Array.mapi (fun i b -> RigidLink(e, i, b.name))
    /// The joints.
    member e.joints =
        let adr = EntitySpec.jointDofAdr spec
        EntitySpec.joints spec |> Array.mapi (fun i (_, j) -> RigidJoint(e, i, j.name, j.jtype, adr[i], JointSpec.nvOf j.jtype))
    /// The link with a name (raises naming the known links).
    member e.getLink(name: string) =
        match spec.bodies |> Array.tryFindIndex (fun b -> b.name = name) with
        | Some i -> RigidLink(e, i, name)
        | None -> raise (GenesisException(sprintf "entity '%s' has no link '%s' (links: %s)" spec.name name (String.Join(", ", spec.bodies |> Array.map (fun b -> b.name)))))
    /// The joint with a name (raises naming the known joints).
    member e.getJoint(name: string) =
        match e.joints |> Array.tryFind (fun j -> j.name = name) with
        | Some j -> j
        | None -> raise (GenesisException(sprintf "entity '%s' has no joint '%s' (joints: %s)" spec.name name (String.Join(", ", e.joints |> Array.map (fun j -> j.name)))))

    member private e.Built() =
        if not scene.isBuilt then raise (GenesisException "the scene is not built yet: call scene.build() first")

    member private e.DofCols(dofsIdx: int[] option, what: string) =
        e.Built()
        let idx = defaultArg dofsIdx allDofs
        for i in idx do
            if i < 0 || i >= nv then raise (GenesisException(sprintf "%s: dof index %d out of range for entity '%s' with %d dofs" what i spec.name nv))
        SetterIndex.check idx what "dofsIdx"
        idx |> Array.map (fun i -> dofStart + i)

    /// Before a per-dof value of the whole entity (no dofsIdx) is shaped: on a floating-base entity a last dimension
    /// of nDofs minus the base's dofs is the common mistake of leaving the base out; the error says so and how.
    member private e.CheckWholeEntity(values: Tensor, dofsIdx: int[] option, what: string) =
        if dofsIdx.IsNone && values.dim >= 1 then
            let topo = scene.model.topology
            let baseDofs = Seq.initInfinite id |> Seq.takeWhile (fun i -> i < nv && topo.dofQposAdr[dofStart + i] < 0) |> Seq.length
            let last = values.shape[values.dim - 1]
            if baseDofs > 0 && last = nv - baseDofs then
                raise (GenesisException(
                    sprintf "%s: expected shape [%d] (or [nEnvs; %d]), got %s: entity '%s' has %d dofs, the first %d of them its floating base (free/ball joint); to address only the %d joint dofs pass dofsIdx = [| %d .. %d |]"
                        what nv nv (Shape.format values.shape) spec.name nv baseDofs (nv - baseDofs) baseDofs (nv - 1)))

    member private e.FreeJointAdr(what: string) =
        e.Built()
        let topo = scene.model.topology
        if nJnts = 0 || topo.jntType[jntStart] <> Free then
            raise (GenesisException(sprintf "%s: entity '%s' has no free base joint (load it with fixedBase = false)" what spec.name))
        topo.jntQposAdr[jntStart]

    /// Sets joint positions of hinge/slide dofs ([k] or [nEnvs; k]); differentiable in the values.
    member e.setDofsPosition(position: Tensor, ?dofsIdx: int[], ?envsIdx: int[]) =
        let cols = e.DofCols(dofsIdx, "setDofsPosition")
        let topo = scene.model.topology
        let qcols =
            cols |> Array.map (fun d ->
                let a = topo.dofQposAdr[d]
                if a < 0 then raise (GenesisException(sprintf "setDofsPosition: dof %d of entity '%s' belongs to a free/ball joint; use setPos/setQuat" (d - dofStart) spec.name))
                a)
        scene.SetQpos(scene.ForEnvs(position, cols.Length, envsIdx, "setDofsPosition"), qcols, envsIdx)
    /// Sets dof velocities ([k] or [nEnvs; k]).
    member e.setDofsVelocity(velocity: Tensor, ?dofsIdx: int[], ?envsIdx: int[]) =
        let cols = e.DofCols(dofsIdx, "setDofsVelocity")
        e.CheckWholeEntity(velocity, dofsIdx, "setDofsVelocity")
        scene.SetQvel(scene.ForEnvs(velocity, cols.Length, envsIdx, "setDofsVelocity"), cols, envsIdx)
    /// Sets the base position of a floating entity ([3] or [nEnvs; 3]).
    member e.setPos(pos: Tensor, ?envsIdx: int[]) =
        let a = e.FreeJointAdr "setPos"
        scene.SetQpos(scene.ForEnvs(pos, 3, envsIdx, "setPos"), [| a; a + 1; a + 2 |], envsIdx)
    /// Sets the base orientation (w, x, y, z) of a floating entity ([4] or [nEnvs; 4]).
    member e.setQuat(quat: Tensor, ?envsIdx: int[]) =
        let a = e.FreeJointAdr "setQuat"
        scene.SetQpos(scene.ForEnvs(quat, 4, envsIdx, "setQuat"), [| a + 3; a + 4; a + 5; a + 6 |], envsIdx)

    /// Applies generalised forces to dofs (held until changed).
    member e.controlDofsForce(force: Tensor, ?dofsIdx: int[], ?envsIdx: int[]) =
        let cols = e.DofCols(dofsIdx, "controlDofsForce")
        e.CheckWholeEntity(force, dofsIdx, "controlDofsForce")
        scene.SetControl(ControlMode.Force, scene.ForEnvs(force, cols.Length, envsIdx, "controlDofsForce"), cols, envsIdx)
    /// Drives dofs to target positions with the PD gains (setDofsKp/Kv).
    member e.controlDofsPosition(position: Tensor, ?dofsIdx: int[], ?envsIdx: int[]) =
        let cols = e.DofCols(dofsIdx, "controlDofsPosition")
        e.CheckWholeEntity(position, dofsIdx, "controlDofsPosition")
        scene.SetControl(ControlMode.Position, scene.ForEnvs(position, cols.Length, envsIdx, "controlDofsPosition"), cols, envsIdx)
    /// Drives dofs to target velocities with the velocity gain (setDofsKv).
    member e.controlDofsVelocity(velocity: Tensor, ?dofsIdx: int[], ?envsIdx: int[]) =
        let cols = e.DofCols(dofsIdx, "controlDofsVelocity")
        e.CheckWholeEntity(velocity, dofsIdx, "controlDofsVelocity")
        scene.SetControl(ControlMode.Velocity, scene.ForEnvs(velocity, cols.Length, envsIdx, "controlDofsVelocity"), cols, envsIdx)

    /// Drives the dofs of the file's actuators with controls ctrl ([nu] or [nEnvs; nu], one per actuator in file order,
    /// clamped to each ctrlrange): each actuator's force equals MuJoCo's at the state the step starts from (the rule in
    /// FileActuators and docs/morphs.md); differentiable in ctrl. Raises naming an actuator no dof control expresses.
    member e.controlActuators(ctrl: Tensor, ?envsIdx: int[]) =
        e.Built()
        let nu = spec.actuators.Length
        if nu = 0 then raise (GenesisException(sprintf "controlActuators: entity '%s' has no actuators" spec.name))
        let drives =
            spec.actuators |> Array.map (fun a ->
                match FileActuators.drive spec a with
                | Ok d -> a, d
                | Error why -> raise (GenesisNotSupportedException(sprintf "controlActuators: actuator '%s' of entity '%s' has no dof control: %s" a.name spec.name why)))
        let u = scene.ForEnvs(ctrl, nu, envsIdx, "controlActuators")
        for mode in [ ControlMode.Force; ControlMode.Position; ControlMode.Velocity ] do
            let mine = drives |> Array.indexed |> Array.filter (fun (_, (_, d)) -> d.mode = mode)
            if mine.Length > 0 then
                let cols =
                    mine |> Array.map (fun (i, (a, d)) ->
                        let ui = u.narrow(1, i, 1)
                        let ui = match a.ctrlrange with Some(lo, hi) -> ui.clamp(min = lo, max = hi) | None -> ui
                        ui * d.scale + d.offset)
                scene.SetControl(mode, gs.cat(cols, 1), mine |> Array.map (fun (_, (_, d)) -> dofStart + d.dof), envsIdx)
    /// Sets position gains ([k]).
    member e.setDofsKp(kp: Tensor, ?dofsIdx: int[]) = e.SetParam((fun p v -> { p with kp = v }), (fun p -> p.kp), kp, dofsIdx, "setDofsKp")
    /// Sets velocity gains ([k]).
    member e.setDofsKv(kv: Tensor, ?dofsIdx: int[]) = e.SetParam((fun p v -> { p with kv = v }), (fun p -> p.kv), kv, dofsIdx, "setDofsKv")
    /// Sets joint damping ([k]).
    member e.setDofsDamping(damping: Tensor, ?dofsIdx: int[]) = e.SetParam((fun p v -> { p with dofDamping = v }), (fun p -> p.dofDamping), damping, dofsIdx, "setDofsDamping")
    /// Sets the force range ([k] lower, [k] upper); infinite bounds leave a side unbounded.
    member e.setDofsForceRange(lower: Tensor, upper: Tensor, ?dofsIdx: int[]) =
        let lo = e.ParamValues(lower, dofsIdx, "setDofsForceRange")
        let hi = e.ParamValues(upper, dofsIdx, "setDofsForceRange")
        let p = scene.model.parameters
        let p = { p with forceLo = e.Updated(p.forceLo, lo, dofsIdx, "setDofsForceRange") }
        scene.SetModel { scene.model with parameters = { p with forceHi = e.Updated(p.forceHi, hi, dofsIdx, "setDofsForceRange") } }

    /// Checks a parameter setter's values ([k] for dofsIdx) and casts them; raises before anything changes.
    member private e.ParamValues(values: Tensor, dofsIdx: int[] option, what: string) =
        let cols = e.DofCols(dofsIdx, what)
        if values.shape <> [| cols.Length |] then
            raise (GenesisException(sprintf "%s: expected shape [%d], got %s" what cols.Length (Shape.format values.shape)))
        scene.AsFloat(values, what)

    /// A parameter vector with the dofsIdx entries replaced by values (checked by ParamValues).
    member private e.Updated(current: Tensor, values: Tensor, dofsIdx: int[] option, what: string) =
        let cols = e.DofCols(dofsIdx, what)
        scene.State |> ignore // close the open checkpoint segment: it was simulated with the old parameters
        let full = Scene.Unconsumed current
        scene.Scatter(full.unsqueeze(0), values.cast(full.dtype).unsqueeze(0), cols, None).squeeze(0)

    member private e.SetParam(update: Params -> Tensor -> Params, get: Params -> Tensor, values: Tensor, dofsIdx: int[] option, what: string) =
        let v = e.ParamValues(values, dofsIdx, what)
        let p = scene.model.parameters
        scene.SetModel { scene.model with parameters = update p (e.Updated(get p, v, dofsIdx, what)) }

    /// Sets link masses ([k] for linksIdx, default all links); differentiable in the values.
    member e.setLinksMass(mass: Tensor, ?linksIdx: int[]) =
        e.Built()
        let idx = defaultArg linksIdx (Array.init nBodies id)
        if mass.shape <> [| idx.Length |] then
            raise (GenesisException(sprintf "setLinksMass: expected shape [%d], got %s" idx.Length (Shape.format mass.shape)))
        for i in idx do
            if i < 0 || i >= nBodies then raise (GenesisException(sprintf "setLinksMass: link index %d out of range for entity '%s' with %d links" i spec.name nBodies))
        SetterIndex.check idx "setLinksMass" "linksIdx"
        let mass = scene.AsFloat(mass, "setLinksMass")
        match mass.toFloatArray() |> Array.tryFindIndex (fun x -> not (x >= 0.0 && x < infinity)) with
        | Some i -> raise (GenesisException(sprintf "setLinksMass: mass must be finite and >= 0, got %g for link %d" (mass.toFloatArray()[i]) idx[i]))
        | None -> ()
        scene.State |> ignore
        let p = scene.model.parameters
        let full = Scene.Unconsumed p.bodyMass
        let updated = scene.Scatter(full.unsqueeze(0), mass.cast(full.dtype).unsqueeze(0), idx |> Array.map (fun i -> bodyStart + i), None).squeeze(0)
        scene.SetModel { scene.model with parameters = { p with bodyMass = updated } }
    /// Link masses ([nLinks]).
    member e.getLinksMass() = e.Built(); scene.model.parameters.bodyMass.narrow(0, bodyStart, nBodies)

    /// Joint positions of the hinge/slide dofs ([k] or [nEnvs; k]).
    member e.getDofsPosition(?dofsIdx: int[]) =
        let cols = e.DofCols(dofsIdx, "getDofsPosition")
        let q = Passive.dofPositions scene.model.topology scene.State.qpos
        scene.Out(gs.stack([| for c in cols -> q.narrow(1, c, 1).squeeze(1) |], 1))
    /// Dof velocities ([k] or [nEnvs; k]).
    member e.getDofsVelocity(?dofsIdx: int[]) =
        let cols = e.DofCols(dofsIdx, "getDofsVelocity")
        scene.Out(gs.stack([| for c in cols -> scene.State.qvel.narrow(1, c, 1).squeeze(1) |], 1))
    /// Actuator forces the current controls produce at the current state ([k] or [nEnvs; k]).
    member e.getDofsForce(?dofsIdx: int[]) =
        let cols = e.DofCols(dofsIdx, "getDofsForce")
        let f = (scene.ForwardData()).qfrcActuator
        scene.Out(gs.stack([| for c in cols -> f.narrow(1, c, 1).squeeze(1) |], 1))
    /// The base link's index in links: 0, or 1 in an MJCF entity, whose links[0] is the world body of <worldbody>.
    member private e.BaseIndex = if spec.rootIsWorld && nBodies > 1 then 1 else 0
    /// Base link position ([3] or [nEnvs; 3]); in an MJCF entity the first body under <worldbody>.
    member e.getPos() = e.links[e.BaseIndex].getPos()
    /// Base link orientation ([4] or [nEnvs; 4]).
    member e.getQuat() = e.links[e.BaseIndex].getQuat()
    /// Link origins ([nLinks; 3] or [nEnvs; nLinks; 3]).
    member e.getLinksPos() = e.Built(); scene.Out(scene.Kin.xpos.narrow(1, bodyStart, nBodies))
    /// Link orientations ([nLinks; 4] or [nEnvs; nLinks; 4]).
    member e.getLinksQuat() = e.Built(); scene.Out(Spatial.matToQuat (scene.Kin.xmat.narrow(1, bodyStart, nBodies)))
    /// Linear velocity of the base link origin in the world frame ([3] or [nEnvs; 3]).
    member e.getVel() =
        e.Built()
        let b = bodyStart + e.BaseIndex
        let v = e.BodyVelocity b
        let p = scene.Kin.xpos.narrow(1, b, 1).squeeze(1)
        scene.Out(v.narrow(-1, 3, 3) + Spatial.cross (v.narrow(-1, 0, 3)) p)
    /// Angular velocity of the base link in the world frame ([3] or [nEnvs; 3]).
    member e.getAng() = e.Built(); scene.Out((e.BodyVelocity(bodyStart + e.BaseIndex)).narrow(-1, 0, 3))
    /// Net contact force on each link in the world frame ([nLinks; 3] or [nEnvs; nLinks; 3]; Genesis'
    /// get_links_net_contact_force): the contact law at the current state, before a step's implicit update.
    member e.getLinksNetContactForce() = e.Built(); scene.Out(scene.BodyContactForces().narrow(1, bodyStart, nBodies))

    member private e.BodyVelocity(body: int) : Tensor =
        let kin = scene.Kin
        let topo = scene.model.topology
        let row = (Model.ancestorDofMask topo).[body * topo.nv .. (body + 1) * topo.nv - 1]
        let mask = Spatial.constLike scene.State.qvel [| topo.nv |] row
        (kin.cdof * (scene.State.qvel * mask).unsqueeze(-1)).sum(1)

    /// The Jacobian of a link origin w.r.t. this entity's dofs: [6; nDofs] rows (linear; angular), or [nEnvs; 6; nDofs].
    member e.getJacobian(link: RigidLink) =
        e.Built()
        let kin = scene.Kin
        let topo = scene.model.topology
        let body = link.idxGlobal
        let maskRow = (Model.ancestorDofMask topo)[body * topo.nv .. (body + 1) * topo.nv - 1]
        let cols = Array.init dofCount (fun k -> dofStart + k)
        let cd = kin.cdof.narrow(1, dofStart, dofCount) * Spatial.constLike kin.cdof [| dofCount; 1 |] (cols |> Array.map (fun c -> maskRow[c]))
        let ang = cd.narrow(-1, 0, 3)
        let lin0 = cd.narrow(-1, 3, 3)
        let p = kin.xpos.narrow(1, body, 1)
        let lin = lin0 + Spatial.cross ang (p.expandAs ang)
        scene.Out(gs.cat([| lin; ang |], -1).transpose(1, 2))
