namespace Genesis.Physics

open System
open System.Runtime.CompilerServices
open System.Runtime.ExceptionServices
open System.Threading.Tasks
open Genesis
open Genesis.Physics.FastMath
open Genesis.Real
open Genesis.HomogeneousArithmetic

/// Physics.step on plain float64 arrays (MuJoCo style): the same stages (kinematics, CRBA, RNEA, passive, actuation,
/// contact with its implicit damping, Euler with implicit damping or RK4, quaternion integration) without tensors and
/// without allocation per step, batched over envs with Parallel.For. Not differentiable: Scene.step uses it when
/// SimOptions(requiresGrad = false); the Tensor path stays the reference it is tested against (to 1e-10).
module FastStep =
    /// Envs per call from which the batch is split over the cores.
    let private parallelFrom = 8

    /// w.rhs = actuation + passive + tendons + contact (+ joint limits) - bias (the contact forces already in w.qfrcContact).
    let inline internal forces (m: FastModel< ^T>) (w: FastWork< ^T>) (sp: SimParams) (modes: DriveCode[]) (qpos: ^T[]) (qvel: ^T[]) (ctrl: ^T[]) =
        let limits = sp.enableJointLimits && m.hasLimits
        let h = sp.dt / float sp.substeps
        let anyPos = Array.contains DriveCode.Position modes
        let anyVel = Array.contains DriveCode.Velocity modes
        let zero = lift 0.0
        for k in 0 .. m.nv - 1 do
            let qa = m.dofQposAdr[k]
            let q = if qa >= 0 then qpos[qa] else zero
            let v, qv, mode = ctrl[k], qvel[k], modes[k]
            let struct (tau, pdDiag) = ActuationKernel.torque m k mode anyPos anyVel h v q qv
            w.limitDiag[k] <- zero
            let passive = PassiveKernel.torque m k q qv
            let smooth = tau + passive + (if sp.enableContact then w.qfrcContact[k] else zero)
            let smooth = if limits then smooth + JointLimitsKernel.limitTorque m w k q qv h else smooth
            w.limitDiag[k] <- w.limitDiag[k] + pdDiag
            w.rhs[k] <- smooth - w.bias[k]
        if m.tendons.Length > 0 then TendonsKernel.forces m w sp.enableJointLimits h qpos qvel

    /// Kinematics, dynamics and forces at (qpos, qvel): w.qM (M, or M + h C when needC), w.rhs = f - bias.
    let inline internal evaluate (m: FastModel< ^T>) (w: FastWork< ^T>) (sp: SimParams) (h: float) (needC: bool) (modes: DriveCode[]) (qpos: ^T[]) (qvel: ^T[]) (ctrl: ^T[]) =
        KinematicsKernel.kinematicsInto m w qpos
        for b in 0 .. m.nbody - 1 do InertiaKernel.spatialInertia m w b
        RneaKernel.rnea m w qvel
        if sp.enableContact then ContactKernel.compute m w sp.contact h needC
        CrbaKernel.crba m w (if needC then h else 0.0)
        forces m w sp modes qpos qvel ctrl
        PassiveKernel.quatSprings m w qpos

    /// Semi-implicit Euler with implicit joint and contact damping: (M + h D + h C) qacc = f - bias (w.qpos, w.qvel in
    /// place); `ev` is `evaluate` instantiated for the scalar type (one method, so that the steps stay small) and `solve`
    /// is ldlSolve or a replacement with the same result.
    let inline internal eulerStepWith ([<InlineIfLambda>] ev) ([<InlineIfLambda>] solve) (m: FastModel< ^T>) (w: FastWork< ^T>) (sp: SimParams) (h: float) (modes: DriveCode[]) =
        let nv = m.nv
        let withC = sp.enableContact
        ev m w sp h withC modes w.qpos w.qvel w.ctrl
        let a, p = w.qM, m.pattern
        let hT = lift h
        // damping, joint limits and PD control, treated implicitly as on the Tensor path
        for k in 0 .. nv - 1 do
            let d = TreePattern.diag p k
            a[d] <- a[d] + m.dofDamping[k] * hT
            a[d] <- a[d] + w.limitDiag[k] * hT
        // contacts coupling trees: the islands dense (their dofs only), the other trees by `solve`; equality
        // constraints add J^T lambda to w.rhs, lambda from the same matrix (solved on copies of a)
        if withC && w.cross.Count > 0 then
            EqualityKernel.constrain (fun mat x -> IslandSolveKernel.solveWith solve p w mat x) m w w.qpos w.qvel a h
            IslandSolveKernel.solveWith solve p w a w.rhs
        else
            EqualityKernel.constrain (fun mat x -> solve p mat x) m w w.qpos w.qvel a h
            solve p a w.rhs
        for k in 0 .. nv - 1 do
            w.qvel[k] <- w.qvel[k] + w.rhs[k] * hT
        IntegrateKernel.integratePos m w.qpos w.qvel h w.qpos

    /// qacc = M^-1 (f - bias) at (qpos, qvel) into acc (explicit damping, for RK4).
    let inline internal accelerationWith ([<InlineIfLambda>] ev) ([<InlineIfLambda>] solve) (m: FastModel< ^T>) (w: FastWork< ^T>) (sp: SimParams) (h: float) (modes: DriveCode[]) (qpos: ^T[]) (qvel: ^T[]) (acc: ^T[]) =
        ev m w sp h false modes qpos qvel w.ctrl
        EqualityKernel.constrain (fun mat x -> solve m.pattern mat x) m w qpos qvel w.qM h
        solve m.pattern w.qM w.rhs
        Array.blit w.rhs 0 acc 0 m.nv

    /// Classic RK4 (Physics.step's scheme) on w.qpos, w.qvel in place.
    let inline internal rk4StepWith ([<InlineIfLambda>] ev) ([<InlineIfLambda>] solve) (m: FastModel< ^T>) (w: FastWork< ^T>) (sp: SimParams) (h: float) (modes: DriveCode[]) =
        let nv = m.nv
        let v, a, qv, q = w.v, w.a, w.qvel, w.qposTmp
        let half, whole, two, six = lift (h / 2.0), lift h, lift 2.0, lift 6.0
        Array.blit qv 0 v[0] 0 nv
        accelerationWith ev solve m w sp h modes w.qpos v[0] a[0]
        for k in 0 .. nv - 1 do v[1][k] <- qv[k] + a[0][k] * half
        IntegrateKernel.integratePos m w.qpos v[0] (h / 2.0) q
        accelerationWith ev solve m w sp h modes q v[1] a[1]
        for k in 0 .. nv - 1 do v[2][k] <- qv[k] + a[1][k] * half
        IntegrateKernel.integratePos m w.qpos v[1] (h / 2.0) q
        accelerationWith ev solve m w sp h modes q v[2] a[2]
        for k in 0 .. nv - 1 do v[3][k] <- qv[k] + a[2][k] * whole
        IntegrateKernel.integratePos m w.qpos v[2] h q
        accelerationWith ev solve m w sp h modes q v[3] a[3]
        for k in 0 .. nv - 1 do
            qv[k] <- qv[k] + (a[0][k] + two * a[1][k] + two * a[2][k] + a[3][k]) * lift (h / 6.0)
            v[0][k] <- (v[0][k] + two * v[1][k] + two * v[2][k] + v[3][k]) / six
        IntegrateKernel.integratePos m w.qpos v[0] h w.qpos

    /// evaluate on float64.
    let internal evaluateFloat (m: FastModel<float>) (w: FastWork<float>) (sp: SimParams) (h: float) (needC: bool) (modes: DriveCode[]) (qpos: float[]) (qvel: float[]) (ctrl: float[]) =
        evaluate m w sp h needC modes qpos qvel ctrl

    /// The generic stage kernels instantiated on float64 and on the scalar tape, for callers outside this assembly's
    /// inlining (the stage contract tests): each forwards to the one kernel above.
    module internal Instances =
        /// kinematicsInto on the tape.
        let kinematicsTape (m: FastModel<TapeReal>) (w: FastWork<TapeReal>) (qpos: TapeReal[]) = KinematicsKernel.kinematicsInto m w qpos
        /// spatialInertia of every body on the tape.
        let spatialInertiaTape (m: FastModel<TapeReal>) (w: FastWork<TapeReal>) = for b in 0 .. m.nbody - 1 do InertiaKernel.spatialInertia m w b
        /// rnea on the tape.
        let rneaTape (m: FastModel<TapeReal>) (w: FastWork<TapeReal>) (qvel: TapeReal[]) = RneaKernel.rnea m w qvel
        /// crba on the tape.
        let crbaTape (m: FastModel<TapeReal>) (w: FastWork<TapeReal>) (hK: float) = CrbaKernel.crba m w hK
        /// ldlSolve on the tape.
        let ldlSolveTape (p: TreePattern) (a: TapeReal[]) (x: TapeReal[]) = SolveKernel.ldlSolve p a x
        /// ldlSolve on float64.
        let ldlSolveFloat (p: TreePattern) (a: float[]) (x: float[]) = SolveKernel.ldlSolve p a x
        /// ldlFactor on float64.
        let ldlFactorFloat (p: TreePattern) (a: float[]) = SolveKernel.ldlFactor p a
        /// ldlSolveFactored on float64.
        let ldlSolveFactoredFloat (p: TreePattern) (a: float[]) (x: float[]) = SolveKernel.ldlSolveFactored p a x
        /// The kernel broad phase at qpos on float64 (kinematics, geom frames, ContactKernel.candidates): the pairs (A, B).
        let broadphaseFloat (m: FastModel<float>) (w: FastWork<float>) (cp: ContactParams) (qpos: float[]) =
            KinematicsKernel.kinematicsInto m w qpos
            ContactPointKernel.geomFrames m w
            ContactKernel.candidates m w cp
            Array.init w.candCount (fun c -> w.candA[c], w.candB[c])
        /// TendonsKernel.forces on the tape (adding into w.rhs).
        let tendonsTape (m: FastModel<TapeReal>) (w: FastWork<TapeReal>) (limits: bool) (h: float) (qpos: TapeReal[]) (qvel: TapeReal[]) = TendonsKernel.forces m w limits h qpos qvel
        /// IslandSolveKernel.solveWith with the tree LDL on float64 (a, rhs: the system in w's islands' form).
        let islandSolveFloat (p: TreePattern) (w: FastWork<float>) (a: float[]) (rhs: float[]) =
            IslandSolveKernel.solveWith (fun p a x -> SolveKernel.ldlSolve p a x) p w a rhs
        /// integratePos on float64.
        let integratePosFloat (m: FastModel<float>) (qpos: float[]) (qvel: float[]) (dt: float) (out: float[]) = IntegrateKernel.integratePos m qpos qvel dt out

    /// Contact forces (and their stiffness) on the scalar tape.
    [<MethodImpl(MethodImplOptions.NoInlining)>]
    let internal contactTape (m: FastModel<TapeReal>) (w: FastWork<TapeReal>) (sp: SimParams) (h: float) (needC: bool) = ContactKernel.compute m w sp.contact h needC
    /// The contact points of the candidate pairs not differentiated by hand (ContactKernel.candidates, then pairs with
    /// skipHand) on the scalar tape, from the geom frames in w.
    [<MethodImpl(MethodImplOptions.NoInlining)>]
    let internal contactPairsTape (m: FastModel<TapeReal>) (w: FastWork<TapeReal>) (sp: SimParams) (h: float) =
        ContactKernel.candidates m w sp.contact
        ContactKernel.pairs m w sp.contact h true true
    /// The springs of ball and free joints (quatSprings) on the scalar tape.
    [<MethodImpl(MethodImplOptions.NoInlining)>]
    let internal quatSpringsTape (m: FastModel<TapeReal>) (w: FastWork<TapeReal>) (qpos: TapeReal[]) = PassiveKernel.quatSprings m w qpos
    /// Actuation, passive forces, limits and quaternion springs on the scalar tape.
    [<MethodImpl(MethodImplOptions.NoInlining)>]
    let internal forcesTape (m: FastModel<TapeReal>) (w: FastWork<TapeReal>) (sp: SimParams) (modes: DriveCode[]) (qpos: TapeReal[]) (qvel: TapeReal[]) (ctrl: TapeReal[]) =
        forces m w sp modes qpos qvel ctrl
        PassiveKernel.quatSprings m w qpos

    /// One sub-step of w.qpos, w.qvel under w.ctrl on float64.
    let private subStepFloat (m: FastModel<float>) (w: FastWork<float>) (sp: SimParams) (h: float) (modes: DriveCode[]) =
        match sp.integrator with
        | Integrator.Euler -> eulerStepWith evaluateFloat (fun p a x -> SolveKernel.ldlSolve p a x) m w sp h modes
        | Integrator.RK4 -> rk4StepWith evaluateFloat (fun p a x -> SolveKernel.ldlSolve p a x) m w sp h modes

    /// One step of w.qpos, w.qvel under w.ctrl on float64, in place, in sp.substeps sub-steps.
    let internal stepWork (m: FastModel<float>) (w: FastWork<float>) (sp: SimParams) (modes: DriveCode[]) =
        let h = sp.dt / float sp.substeps
        for _ in 1 .. sp.substeps do
            subStepFloat m w sp h modes

    /// Steps envs [e0, e1) of the batch in place, in sp.substeps sub-steps.
    let private stepRange (m: FastModel<float>) (w: FastWork<float>) (sp: SimParams) (modes: DriveCode[]) (qpos: float[]) (qvel: float[]) (ctrl: float[]) (e0: int) (e1: int) =
        let nq, nv = m.nq, m.nv
        for e in e0 .. e1 - 1 do
            Array.blit qpos (e * nq) w.qpos 0 nq
            Array.blit qvel (e * nv) w.qvel 0 nv
            Array.blit ctrl (e * nv) w.ctrl 0 nv
            stepWork m w sp modes
            Array.blit w.qpos 0 qpos (e * nq) nq
            Array.blit w.qvel 0 qvel (e * nv) nv

    /// stepBatch with the modes as kernel codes (ActuationKernel.modeCode): no allocation per step.
    let internal stepBatchCodes (m: FastModel<float>) (sp: SimParams) (codes: DriveCode[]) (nEnvs: int) (qpos: float[]) (qvel: float[]) (ctrl: float[]) =
        let cores = Environment.ProcessorCount
        if nEnvs < parallelFrom || cores = 1 then
            let w = FastModelBuild.rent m
            try stepRange m w sp codes qpos qvel ctrl 0 nEnvs
            finally FastModelBuild.giveBack m w
        else
            let chunks = min nEnvs (4 * cores)
            try
                Parallel.For(0, chunks, fun c ->
                    let w = FastModelBuild.rent m
                    try stepRange m w sp codes qpos qvel ctrl (c * nEnvs / chunks) ((c + 1) * nEnvs / chunks)
                    finally FastModelBuild.giveBack m w)
                |> ignore
            with :? AggregateException as e when e.InnerExceptions.Count > 0 -> ExceptionDispatchInfo.Throw(e.InnerExceptions[0])

    /// Steps nEnvs envs in place: qpos [nEnvs * nq], qvel [nEnvs * nv], ctrl [nEnvs * nv] row-major, over the cores when large.
    let internal stepBatch (m: FastModel<float>) (sp: SimParams) (modes: ControlMode[]) (nEnvs: int) (qpos: float[]) (qvel: float[]) (ctrl: float[]) =
        stepBatchCodes m sp (modes |> Array.map ActuationKernel.modeCode) nEnvs qpos qvel ctrl

    let private cache = ConditionalWeakTable<Model, FastModel<float>>()

    /// The fast-path constants of a model, read once and re-read when a parameter tensor was replaced in place.
    let internal prepare (model: Model) : FastModel<float> =
        let fm = cache.GetValue(model, fun m -> KernelModelBuild.build m)
        if KernelModelBuild.readFrom model.parameters fm.source then fm
        else
            let fresh = KernelModelBuild.build model
            cache.AddOrUpdate(model, fresh)
            fresh

    /// Physics.step on the fast path: the same state after sp.dt, as constant tensors of the state's dtype (no graph).
    let step (model: Model) (sp: SimParams) (state: State) (control: Control) : State =
        let m = prepare model
        let scene = Apply.sceneOf [| state.qpos; state.qvel; control.values |]
        let b = state.qpos.shape[0]
        let qpos, qvel = state.qpos.toFloatArray(), state.qvel.toFloatArray()
        let ctrl = control.values.expand([ b; m.nv ]).toFloatArray()
        stepBatch m sp control.modes b qpos qvel ctrl
        let out (like: Tensor) (values: float[]) = (Tensor.Constant(like, values, like.shape)).WithScene scene
        let h = sp.dt / float sp.substeps
        let mutable time = state.time
        for _ in 1 .. sp.substeps do time <- time + h
        { qpos = out state.qpos qpos; qvel = out state.qvel qvel; time = time }

    /// Kinematics.compute on the fast path: poses and motion subspaces as constant tensors of qpos' dtype (no graph).
    let kinematics (model: Model) (qpos: Tensor) : Kinematics =
        let m = prepare model
        let b, nb, nv = qpos.shape[0], m.nbody, m.nv
        let q = qpos.toFloatArray()
        let xpos, xmat, xipos, cdof = Array.zeroCreate (b * nb * 3), Array.zeroCreate (b * nb * 9), Array.zeroCreate (b * nb * 3), Array.zeroCreate (b * nv * 6)
        let w = FastModelBuild.rent m
        try
            for e in 0 .. b - 1 do
                Array.blit q (e * m.nq) w.qpos 0 m.nq
                KinematicsKernel.kinematicsInto m w w.qpos
                Array.blit w.xpos 0 xpos (e * nb * 3) (nb * 3)
                Array.blit w.xmat 0 xmat (e * nb * 9) (nb * 9)
                Array.blit w.xipos 0 xipos (e * nb * 3) (nb * 3)
                Array.blit w.cdof 0 cdof (e * nv * 6) (nv * 6)
        finally FastModelBuild.giveBack m w
        let t (values: float[]) (shape: int[]) = Tensor.Constant(qpos, values, shape).WithScene qpos.scene
        { xpos = t xpos [| b; nb; 3 |]; xmat = t xmat [| b; nb; 3; 3 |]; xipos = t xipos [| b; nb; 3 |]; cdof = t cdof [| b; nv; 6 |] }

/// A batch of envs of one model stepped on the fast path over float64 arrays it owns (no tensors): set qpos, qvel and
/// ctrl (row-major [nEnvs * n]) and the modes, then step().
[<Sealed>]
type FastSim(model: Model, simParams: SimParams, nEnvs: int) =
    do if nEnvs < 1 then raise (ArgumentException(sprintf "FastSim: nEnvs must be >= 1, got %d" nEnvs, "nEnvs"))
    let m = FastStep.prepare model
    let qpos0 = Array.init (nEnvs * m.nq) (fun i -> m.qpos0[i % m.nq])
    let qvel0: float[] = Array.zeroCreate (nEnvs * m.nv)
    let ctrl0: float[] = Array.zeroCreate (nEnvs * m.nv)
    let mutable modes0 = Array.create m.nv ControlMode.Force
    let mutable codes0 = modes0 |> Array.map ActuationKernel.modeCode
    let mutable time0 = 0.0
    /// Number of envs.
    member _.nEnvs = nEnvs
    /// Generalised positions [nEnvs * nq] (row-major; starts at qpos0).
    member _.qpos = qpos0
    /// Generalised velocities [nEnvs * nv] (starts at 0).
    member _.qvel = qvel0
    /// Control values [nEnvs * nv]: forces or targets by mode.
    member _.ctrl = ctrl0
    /// The control mode of each dof (Force by default).
    member _.modes
        with get () = modes0
        and set (v: ControlMode[]) =
            if v.Length <> m.nv then raise (ArgumentException(sprintf "FastSim.modes: expected %d modes, got %d" m.nv v.Length, "modes"))
            modes0 <- v
            codes0 <- v |> Array.map ActuationKernel.modeCode
    /// Simulated time (s).
    member _.time = time0
    /// Advances every env by dt.
    member _.step() =
        FastStep.stepBatchCodes m simParams codes0 nEnvs qpos0 qvel0 ctrl0
        time0 <- time0 + simParams.dt
