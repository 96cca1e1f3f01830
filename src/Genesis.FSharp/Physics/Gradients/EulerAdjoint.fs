namespace Genesis.Physics

open System
open System.Collections.Concurrent
open System.Runtime.CompilerServices
open Genesis

/// The vector-Jacobian product of semi-implicit Euler sub-steps (FastStep.eulerStepWith) written out on floats:
/// the forward re-run of a segment saves, per sub-step, the values the derivative reads (EulerTrace.Slot), and the
/// backward goes through each sub-step's stages in reverse with the stage adjoints (the XAdjoint modules of Stages/), on arrays,
/// without recording them. Contacts of probes with a static plane (a robot on the ground) are differentiated by
/// hand too (the law's ContactAdjoint.pointAdjoint and the probe geometry), and so are the actuation, passive and
/// limit forces; what has no hand-written adjoint is recorded on the scalar tape per sub-step: the other contact
/// pairs, the springs of ball and free joints, and the position integration (quaternions).
module internal EulerAdjoint =
    open EulerTrace

    /// The parameters whose gradients the Euler adjoint computes (every parameter a scene sets from tensors), in the
    /// order of Adjoints.gParams.
    let parameters =
        [| Param.DofDamping; Param.Gravity; Param.Kp; Param.Kv; Param.ForceLo; Param.ForceHi; Param.BodyMass
           Param.ContactStiffness; Param.ContactDamping; Param.Friction |]

    /// Whether a ball or free joint of the model has a spring (PassiveKernel.quatSprings, recorded on the tape).
    let hasQuatSprings (fm: FastModel<float>) =
        Array.init fm.jntType.Length id
        |> Array.exists (fun j ->
            let jt = fm.jntType[j]
            (jt = Ball || jt = Free) && Array.exists (fun i -> fm.dofStiffness[fm.jntDofAdr[j] + i] <> 0.0) [| 0 .. JointSpec.nvOf jt - 1 |])

    /// Whether the Euler adjoint gives the gradient of parameter p.
    let differentiates (p: Param) = Array.contains p parameters

    /// The adjoint arrays of one sub-step's backward (reused by every sub-step of a segment).
    [<Sealed>]
    type private Adjoints(fm: FastModel<float>) =
        let nb, nq, nv, ng = fm.nbody, fm.nq, fm.nv, fm.geomBody.Length
        /// Whether a ball or free joint has a spring (PassiveKernel.quatSprings, recorded on the tape).
        member val quatSprings = hasQuatSprings fm
        member val scratch = AdjointArrays.Arena<float>()
        /// The adjoints of the smooth quantities (of xpos in g.xpos, and so on).
        member val g = SmoothArrays(fm)
        member val gq: float[] = Array.zeroCreate nq
        member val gv: float[] = Array.zeroCreate nv
        member val gb: float[] = Array.zeroCreate nv
        /// The system matrix's adjoint in the tree pattern (fm.pattern).
        member val gA: float[] = Array.zeroCreate (TreePattern.nnz fm.pattern)
        /// Coupled sub-steps only: the islands' adjoint buffers (IslandSolveAdjoint, grown on demand).
        member val islands = IslandSolveAdjoint.Buffers()
        member val gwbody: float[] = Array.zeroCreate (nb * 6)
        /// One point's law inputs, their adjoints and its output adjoints (wrench, K).
        member val x: float[] = Array.zeroCreate ContactAdjoint.Inputs
        member val gx: float[] = Array.zeroCreate ContactAdjoint.Adjoints
        member val gK: float[] = Array.zeroCreate 36
        member val gWrench: float[] = Array.zeroCreate 6
        /// The parameters' adjoints in the order of `parameters`, summed over sub-steps and envs.
        member val gParams: float[][] = parameters |> Array.map (fun p -> Array.zeroCreate (ParamTable.lengthIn nb fm.jntType.Length nv p))
        member a.gDamping = a.gParams[0]
        member a.gGravity = a.gParams[1]
        member a.gKp = a.gParams[2]
        member a.gKv = a.gParams[3]
        member a.gForceLo = a.gParams[4]
        member a.gForceHi = a.gParams[5]
        member a.gMass = a.gParams[6]
        member a.gStiffness = a.gParams[7]
        member a.gContactDamping = a.gParams[8]
        member a.gFriction = a.gParams[9]

    /// Adjoint arrays no segment is using, per model.
    let private freeAdjoints = ConditionalWeakTable<FastModel<float>, ConcurrentBag<Adjoints>>()

    /// Sets xs[i] to a new tape leaf of value values[i] for i < n.
    let private leaves (tape: ScalarTape) (values: float[]) (xs: TapeReal[]) (n: int) =
        for i in 0 .. n - 1 do xs[i] <- TapeReal(values[i], tape.Leaf())

    /// into[i] (+)= the adjoint of xs[i] for i < n.
    let private read (tape: ScalarTape) (xs: TapeReal[]) (into: float[]) (n: int) (add: bool) =
        for i in 0 .. n - 1 do
            let g = tape.Adjoint xs[i].id
            into[i] <- if add then into[i] + g else g

    /// The solve's adjoint when contacts coupled trees into islands: A = M + h C's pattern part (s.system) + h
    /// diag(damping + limits), rebuilt as the forward built it, plus C's cross terms (s.cross); g becomes A^-1 g, A's
    /// adjoint goes to gA on M's pattern and to the cross terms (a.islands.termG, seeded on the contacts' tape).
    let private islandSolveAdjoint (fm: FastModel<float>) (h: float) (s: Slot) (a: Adjoints) =
        let p, buf = fm.pattern, a.islands
        buf.system <- IslandSolveKernel.ensure buf.system s.system.Length
        let sys = buf.system
        Array.blit s.system 0 sys 0 s.system.Length
        for k in 0 .. fm.nv - 1 do
            let d = TreePattern.diag p k
            sys[d] <- sys[d] + fm.dofDamping[k] * h
            sys[d] <- sys[d] + s.limitDiag[k] * h
        IslandSolveAdjoint.adjoint p buf s.cross sys s.factor s.qacc a.gb a.gA

    /// qfrc_k = cdof_k . wsub_body(k), wsub the subtree sums of the per-body wrenches (ContactKernel.generalised): from
    /// qfrc-bar in a.g.qfrcContact, adds cdof's adjoint into a.g.cdof and writes the per-body wrenches' into a.gwbody.
    let private generalisedAdjoint (fm: FastModel<float>) (s: Slot) (a: Adjoints) =
        let gw = a.gwbody
        Array.Clear gw
        for k in 0 .. fm.nv - 1 do
            let g = a.g.qfrcContact[k]
            if g <> 0.0 then
                let bo, ko = fm.dofBody[k] * 6, k * 6
                for i in 0 .. 5 do
                    a.g.cdof[ko + i] <- a.g.cdof[ko + i] + g * s.wsub[bo + i]
                    gw[bo + i] <- gw[bo + i] + g * s.cdof[ko + i]
        // a body's wrench reaches every ancestor's sum
        for b in 0 .. fm.nbody - 1 do
            let par = fm.parent[b]
            if par >= 0 then
                for i in 0 .. 5 do gw[b * 6 + i] <- gw[b * 6 + i] + gw[par * 6 + i]

    /// The probe-plane points of the hand-differentiated pairs (PlaneProbeKernel.probePlane, ContactLaw.Point, addPoint
    /// on A): from the adjoints of the body wrenches (a.gwbody) and stiffnesses (h a.g.icomp), adds those of the geom
    /// frames into a.g.geomXpos, a.g.geomXmat and of the body velocities into a.g.cvel.
    let private probePlaneAdjoint (fm: FastModel<float>) (cp: ContactParams) (h: float) (s: Slot) (a: Adjoints) =
        let cs: ContactAdjoint.Constants = { s = cp.softness; k = fm.contactStiffness; c = fm.contactDamping; eps = cp.frictionVelocity; h = h }
        let gx, gm, x, gIn = s.geomXpos, s.geomXmat, a.x, a.gx
        let log = s.probeLog
        for e in 0 .. 3 .. log.Count - 1 do
            let ga, gb, k = log[e], log[e + 1], log[e + 2]
            let ba = fm.geomBody[ga]
            if ContactKernel.isHandPair fm ga gb && fm.bodyDofs[ba].Length > 0 then
                let ao, am, po, pm = ga * 3, ga * 9, gb * 3, gb * 9
                let nx, ny, nz = gm[pm + 2], gm[pm + 5], gm[pm + 8]
                let probes, radius = fm.geomProbe[ga], fm.geomProbeRadius[ga]
                let lx, ly, lz = probes[3 * k], probes[3 * k + 1], probes[3 * k + 2]
                let wx = gx[ao] + (gm[am] * lx + gm[am + 1] * ly + gm[am + 2] * lz)
                let wy = gx[ao + 1] + (gm[am + 3] * lx + gm[am + 4] * ly + gm[am + 5] * lz)
                let wz = gx[ao + 2] + (gm[am + 6] * lx + gm[am + 7] * ly + gm[am + 8] * lz)
                let height = (wx - gx[po]) * nx + (wy - gx[po + 1]) * ny + (wz - gx[po + 2]) * nz
                x[0] <- wx - nx * radius; x[1] <- wy - ny * radius; x[2] <- wz - nz * radius
                x[3] <- nx; x[4] <- ny; x[5] <- nz
                x[6] <- radius - height
                x[7] <- if fm.friction > 0.0 then fm.friction else sqrt (fm.geomFriction[ga] * fm.geomFriction[gb])
                let bb = fm.geomBody[gb]
                for i in 0 .. 5 do
                    x[8 + i] <- s.cvel[ba * 6 + i]
                    x[14 + i] <- s.cvel[bb * 6 + i]
                for i in 0 .. 35 do a.gK[i] <- h * a.g.icomp[ba * 36 + i]
                Array.blit a.gwbody (ba * 6) a.gWrench 0 6
                ContactAdjoint.pointAdjoint cs x a.gWrench a.gK gIn
                a.gStiffness[0] <- a.gStiffness[0] + gIn[ContactAdjoint.Inputs]
                a.gContactDamping[0] <- a.gContactDamping[0] + gIn[ContactAdjoint.Inputs + 1]
                if fm.friction > 0.0 then a.gFriction[0] <- a.gFriction[0] + gIn[7]
                for i in 0 .. 5 do a.g.cvel[ba * 6 + i] <- a.g.cvel[ba * 6 + i] + gIn[8 + i]
                // p = w - n r, depth = r - (w - x_plane) . n, w = x_a + R_a l
                let hBar = -gIn[6]
                let wbx, wby, wbz = gIn[0] + hBar * nx, gIn[1] + hBar * ny, gIn[2] + hBar * nz
                let nbx = gIn[3] - radius * gIn[0] + hBar * (wx - gx[po])
                let nby = gIn[4] - radius * gIn[1] + hBar * (wy - gx[po + 1])
                let nbz = gIn[5] - radius * gIn[2] + hBar * (wz - gx[po + 2])
                a.g.geomXpos[po] <- a.g.geomXpos[po] - hBar * nx
                a.g.geomXpos[po + 1] <- a.g.geomXpos[po + 1] - hBar * ny
                a.g.geomXpos[po + 2] <- a.g.geomXpos[po + 2] - hBar * nz
                a.g.geomXmat[pm + 2] <- a.g.geomXmat[pm + 2] + nbx
                a.g.geomXmat[pm + 5] <- a.g.geomXmat[pm + 5] + nby
                a.g.geomXmat[pm + 8] <- a.g.geomXmat[pm + 8] + nbz
                a.g.geomXpos[ao] <- a.g.geomXpos[ao] + wbx
                a.g.geomXpos[ao + 1] <- a.g.geomXpos[ao + 1] + wby
                a.g.geomXpos[ao + 2] <- a.g.geomXpos[ao + 2] + wbz
                for c in 0 .. 2 do
                    let l = probes[3 * k + c]
                    a.g.geomXmat[am + c] <- a.g.geomXmat[am + c] + wbx * l
                    a.g.geomXmat[am + 3 + c] <- a.g.geomXmat[am + 3 + c] + wby * l
                    a.g.geomXmat[am + 6 + c] <- a.g.geomXmat[am + 6 + c] + wbz * l

    /// The geom frames R_b R_geom and x_b + R_b pos_geom (ContactPointKernel.geomFrames): adds the adjoints of a.g.geomXpos, a.g.geomXmat
    /// into those of the body frames, a.g.xpos and a.g.xmat.
    let private geomFramesAdjoint (fm: FastModel<float>) (a: Adjoints) =
        for g in 0 .. fm.geomBody.Length - 1 do
            let go, gr = g * 3, g * 9
            let mutable any = false
            for i in 0 .. 2 do any <- any || a.g.geomXpos[go + i] <> 0.0
            for i in 0 .. 8 do any <- any || a.g.geomXmat[gr + i] <> 0.0
            if any then
                let b = fm.geomBody[g]
                let bo, ro = b * 3, b * 9
                for i in 0 .. 2 do
                    let gxi = a.g.geomXpos[go + i]
                    a.g.xpos[bo + i] <- a.g.xpos[bo + i] + gxi
                    for c in 0 .. 2 do
                        let mutable sum = gxi * fm.geomPos[go + c]
                        for k in 0 .. 2 do sum <- sum + a.g.geomXmat[gr + i * 3 + k] * fm.geomR[gr + c * 3 + k]
                        a.g.xmat[ro + i * 3 + c] <- a.g.xmat[ro + i * 3 + c] + sum

    /// The adjoint of FastStep.forces (without quatSprings) at slot s under ctrl: from the adjoints of rhs (a.gb) and
    /// of the implicit diagonal (h A-bar_kk), adds those of qpos, qvel and ctrl into a.gq, a.gv and gCtrl, those of
    /// damping, kp, kv and the force range into a.gParams, and writes those of bias and qfrcContact into a.g.bias and
    /// a.g.qfrcContact.
    let private forcesAdjoint (fm: FastModel<float>) (sp: SimParams) (h: float) (modes: DriveCode[]) (s: Slot) (ctrl: float[]) (a: Adjoints) (gCtrl: float[]) =
        let nv = fm.nv
        let limits = sp.enableJointLimits && fm.hasLimits
        let tendonLimits = sp.enableJointLimits
        for k in 0 .. nv - 1 do
            let g = a.gb[k]
            let gDiag = h * a.gA[TreePattern.diag fm.pattern k]
            a.g.bias[k] <- -g
            a.g.qfrcContact[k] <- g
            let qa = fm.dofQposAdr[k]
            let q = if qa >= 0 then s.qpos[qa] else 0.0
            let v, qv, mode = ctrl[k], s.qvel[k], modes[k]
            let mutable gq, gqv = 0.0, 0.0
            ActuationAdjoint.dof fm k mode h v q qv g gDiag gCtrl a.gKp a.gKv a.gForceLo a.gForceHi &gq &gqv
            PassiveAdjoint.dof fm k qv g gDiag a.gDamping &gq &gqv
            if limits then JointLimitsAdjoint.dof fm k h q qv g gDiag &gq &gqv
            if qa >= 0 then a.gq[qa] <- a.gq[qa] + gq
            a.gv[k] <- a.gv[k] + gqv
        if fm.tendons.Length > 0 then
            TendonsAdjoint.forces fm tendonLimits h s.qpos s.qvel a.gb (fun k -> h * a.gA[TreePattern.diag fm.pattern k]) a.gq a.gv

    /// The adjoint of one sub-step at slot s under ctrl: from those of its end state in aQ, aV, writes those of its
    /// start state into aQ, aV and adds that of the control into gCtrl. m, w: the model and a work buffer on TapeReal.
    let private subStepAdjoint (a: Adjoints) (tape: ScalarTape) (fm: FastModel<float>) (m: FastModel<TapeReal>) (w: FastWork<TapeReal>) (sp: SimParams)
                               (h: float) (modes: DriveCode[]) (s: Slot) (ctrl: float[]) (aQ: float[]) (aV: float[]) (gCtrl: float[]) =
        let nb, nq, nv = fm.nbody, fm.nq, fm.nv
        let scratch = a.scratch
        scratch.Reset()
        // qpos' = integratePos(qpos, qvel', h), on the tape (quaternions)
        tape.Clear()
        leaves tape s.qpos w.qpos nq
        leaves tape s.qvelNext w.qvel nv
        IntegrateKernel.integratePos m w.qpos w.qvel h w.qposTmp
        tape.ResetAdjoints()
        for i in 0 .. nq - 1 do tape.Seed(w.qposTmp[i].id, aQ[i])
        tape.Sweep()
        read tape w.qpos a.gq nq false
        read tape w.qvel a.gv nv false
        // qvel' = qvel + h qacc: qvel-bar = qvel'-bar (aV plus the integration's), qacc-bar = h qvel'-bar
        for k in 0 .. nv - 1 do
            a.gv[k] <- a.gv[k] + aV[k]
            a.gb[k] <- h * a.gv[k]
        // qacc = A^-1 rhs: gb becomes rhs-bar, gA holds A-bar on M's pattern
        if s.coupled then islandSolveAdjoint fm h s a
        else SolveAdjoint.ldlAdjoint fm.pattern s.factor s.qacc a.gb a.gA
        // A = M (+ h C) + h diag(damping + limitDiag): M's pattern entries (CRBA's), composite inertias' adjoint in gic
        Array.Clear a.g.cdof
        CrbaAdjoint.crbaAdjoint fm scratch s.cdof s.icomp a.gA a.g.icomp a.g.cdof
        // forces (rhs = actuation + passive + limits + qfrcContact - bias, limitDiag); the springs of ball and free
        // joints recorded
        let contact = sp.enableContact && fm.anyPairs
        forcesAdjoint fm sp h modes s ctrl a gCtrl
        if a.quatSprings then
            tape.Clear()
            leaves tape s.qpos w.qpos nq
            Array.Clear w.rhs
            FastStep.quatSpringsTape m w w.qpos
            tape.ResetAdjoints()
            for k in 0 .. nv - 1 do tape.Seed(w.rhs[k].id, a.gb[k])
            tape.Sweep()
            read tape w.qpos a.gq nq true
        Array.Clear a.g.xpos
        Array.Clear a.g.xmat
        Array.Clear a.g.cvel
        if contact then
            // contacts: generalised forces, probe-plane points by hand, the other pairs on the tape, geom frames
            generalisedAdjoint fm s a
            Array.Clear a.g.geomXpos
            Array.Clear a.g.geomXmat
            probePlaneAdjoint fm sp.contact h s a
            if s.tapePairs then
                tape.Clear()
                let ng = fm.geomBody.Length
                leaves tape s.geomXpos w.geomXpos (ng * 3)
                leaves tape s.geomXmat w.geomXmat (ng * 9)
                leaves tape s.cdof w.cdof (nv * 6)
                leaves tape s.cvel w.cvel (nb * 6)
                ContactKernel.clear w true
                // the contact parameters as leaves too (their gradients)
                let mc = { m with contactStiffness = TapeReal.Variable fm.contactStiffness; contactDamping = TapeReal.Variable fm.contactDamping
                                  friction = TapeReal.Variable fm.friction }
                FastStep.contactPairsTape mc w sp h
                tape.ResetAdjoints()
                for i in 0 .. nb * 6 - 1 do tape.Seed(w.wbody[i].id, a.gwbody[i])
                for i in 0 .. nb * 36 - 1 do tape.Seed(w.kbody[i].id, h * a.g.icomp[i])
                if s.coupled then
                    if w.cross.Count <> s.cross.Count then
                        Errors.fail "EulerAdjoint: the contacts' re-run on the tape found %d cross terms, the forward %d" w.cross.Count s.cross.Count
                    for t in 0 .. s.cross.Count - 1 do tape.Seed(w.cross.Values[t].id, a.islands.termG[t])
                tape.Sweep()
                read tape w.geomXpos a.g.geomXpos (ng * 3) true
                read tape w.geomXmat a.g.geomXmat (ng * 9) true
                read tape w.cdof a.g.cdof (nv * 6) true
                read tape w.cvel a.g.cvel (nb * 6) true
                a.gStiffness[0] <- a.gStiffness[0] + tape.Adjoint mc.contactStiffness.id
                a.gContactDamping[0] <- a.gContactDamping[0] + tape.Adjoint mc.contactDamping.id
                a.gFriction[0] <- a.gFriction[0] + tape.Adjoint mc.friction.id
            geomFramesAdjoint fm a
        // bias and cvel by RNEA, cinert (and kbody, above) into the composites, kinematics
        Array.blit a.g.icomp 0 a.g.cinert 0 (nb * 36)
        RneaAdjoint.rneaAdjoint fm scratch s.qvel s.cdof s.cinert s.cvel s.cacc s.cfrc s.cdofDot a.g.bias a.g.cvel a.gv a.g.cdof a.g.cinert a.gGravity
        Array.Clear a.g.xipos
        InertiaAdjoint.inertiaAdjoint fm scratch s.xmat s.xipos a.g.cinert a.g.xmat a.g.xipos a.gMass
        KinematicsAdjoint.kinematicsAdjoint fm scratch s.qpos s.xpos s.xmat a.g.xpos a.g.xmat a.g.xipos a.g.cdof a.gq
        Array.blit a.gq 0 aQ 0 nq
        Array.blit a.gv 0 aV 0 nv

    /// SegmentVjp.segmentVjp for the Euler integrator: per env, the segment is re-run on floats saving every
    /// sub-step (O(k) slots), then each sub-step's adjoint runs from the last. Also returns the gradients of the
    /// `parameters` (summed over envs).
    let segmentVjp (fm: FastModel<float>) (m: FastModel<TapeReal>) (sp: SimParams) (codes: DriveCode[][]) (nEnvs: int) (qpos: float[]) (qvel: float[])
                   (ctrls: float[][]) (adjQpos: float[]) (adjQvel: float[]) =
        let nq, nv, k, subs = fm.nq, fm.nv, ctrls.Length, sp.substeps
        let h = sp.dt / float subs
        let gQpos, gQvel = Array.zeroCreate (nEnvs * nq), Array.zeroCreate (nEnvs * nv)
        let gCtrl = Array.init k (fun _ -> Array.zeroCreate (nEnvs * nv))
        let tape = ScalarTape.Current
        let w = FastModelBuild.rent m
        let fw = FastModelBuild.rent fm
        let slots = rentSlots fm (k * subs)
        let adjointsBag = freeAdjoints.GetValue(fm, fun _ -> ConcurrentBag<Adjoints>())
        let adjoints = match adjointsBag.TryTake() with | true, a -> a | _ -> Adjoints fm
        for g in adjoints.gParams do Array.Clear g
        let aQ, aV, ctrl, gStep = Array.zeroCreate nq, Array.zeroCreate nv, Array.zeroCreate nv, Array.zeroCreate nv
        try
            for e in 0 .. nEnvs - 1 do
                Array.blit qpos (e * nq) fw.qpos 0 nq
                Array.blit qvel (e * nv) fw.qvel 0 nv
                for t in 0 .. k - 1 do
                    Array.blit ctrls[t] (e * nv) fw.ctrl 0 nv
                    for i in 0 .. subs - 1 do subStepSaving fm fw sp h codes[t] slots[t * subs + i]
                Array.blit adjQpos (e * nq) aQ 0 nq
                Array.blit adjQvel (e * nv) aV 0 nv
                for t in k - 1 .. -1 .. 0 do
                    Array.blit ctrls[t] (e * nv) ctrl 0 nv
                    Array.Clear gStep
                    for i in subs - 1 .. -1 .. 0 do
                        subStepAdjoint adjoints tape fm m w sp h codes[t] slots[t * subs + i] ctrl aQ aV gStep
                    Array.blit gStep 0 gCtrl[t] (e * nv) nv
                Array.blit aQ 0 gQpos (e * nq) nq
                Array.blit aV 0 gQvel (e * nv) nv
            gQpos, gQvel, gCtrl, adjoints.gParams |> Array.map Array.copy
        finally
            tape.Clear()
            giveBackSlots fm slots
            adjointsBag.Add adjoints
            FastModelBuild.giveBack fm fw
            FastModelBuild.giveBack m w
