namespace Genesis.Physics

open System.Collections.Concurrent
open System.Runtime.CompilerServices
open Genesis

/// The forward half of EulerAdjoint: a checkpoint segment's Euler sub-steps re-run on floats (FastStep.eulerStepWith),
/// each saving into a Slot the values its adjoint reads. Slots are pooled per model: a segment of k steps takes
/// k x substeps and gives them back, so the memory is O(k), linear in the model per sub-step (M in the tree's pattern,
/// and C's cross terms between trees, linear in the contacts).
module internal EulerTrace =
    /// One env's smooth quantities of a sub-step, sized for a model: a Slot saves their values, EulerAdjoint
    /// accumulates their adjoints in one of its own.
    [<AllowNullLiteral>]
    type SmoothArrays(fm: FastModel<float>) =
        let nb, nv, ng = fm.nbody, fm.nv, fm.geomBody.Length
        /// Body frame origins (nbody x 3; KinematicsKernel.kinematicsInto).
        member val xpos: float[] = Array.zeroCreate (nb * 3)
        /// Body frame orientations (nbody x 9).
        member val xmat: float[] = Array.zeroCreate (nb * 9)
        /// Body COM positions (nbody x 3).
        member val xipos: float[] = Array.zeroCreate (nb * 3)
        /// Motion subspaces (nv x 6).
        member val cdof: float[] = Array.zeroCreate (nv * 6)
        /// Spatial inertias (nbody x 36).
        member val cinert: float[] = Array.zeroCreate (nb * 36)
        /// CRBA's composite inertias (nbody x 36).
        member val icomp: float[] = Array.zeroCreate (nb * 36)
        /// Body velocities (nbody x 6).
        member val cvel: float[] = Array.zeroCreate (nb * 6)
        /// Bias forces (nv).
        member val bias: float[] = Array.zeroCreate nv
        /// Geom frame origins (ngeom x 3).
        member val geomXpos: float[] = Array.zeroCreate (ng * 3)
        /// Geom frame orientations (ngeom x 9).
        member val geomXmat: float[] = Array.zeroCreate (ng * 9)
        /// Generalised contact forces (nv).
        member val qfrcContact: float[] = Array.zeroCreate nv

    /// The values of one sub-step that its adjoint reads, saved by the forward re-run.
    [<Sealed; AllowNullLiteral>]
    type Slot(fm: FastModel<float>) =
        inherit SmoothArrays(fm)
        let nb, nq, nv, ng = fm.nbody, fm.nq, fm.nv, fm.geomBody.Length
        /// Start state.
        member val qpos: float[] = Array.zeroCreate nq
        member val qvel: float[] = Array.zeroCreate nv
        /// RNEA's intermediates.
        member val cacc: float[] = Array.zeroCreate (nb * 6)
        member val cfrc: float[] = Array.zeroCreate (nb * 6)
        member val cdofDot: float[] = Array.zeroCreate (nv * 6)
        /// The LDL factor of the system matrix in the tree pattern (fm.pattern; the islands' rows the identity).
        member val factor: float[] = Array.zeroCreate (TreePattern.nnz fm.pattern)
        /// True when contacts coupled trees into islands (IslandSolveKernel): C's cross terms in cross, M + h C's
        /// pattern part before the diagonal terms in system.
        member val coupled = false with get, set
        /// The cross terms of a coupled sub-step.
        member val cross = CrossTerms<float>()
        /// M + h C's pattern part of a coupled sub-step (allocated by the first one saved in this slot, else null).
        member val system: float[] = null with get, set
        /// The implicit diagonal of limits and PD control (without h).
        member val limitDiag: float[] = Array.zeroCreate nv
        /// The solution qacc and the end velocity.
        member val qacc: float[] = Array.zeroCreate nv
        member val qvelNext: float[] = Array.zeroCreate nv
        /// Contacts: geom frames, subtree wrenches, generalised forces and the probe-plane points (geom A, geom B, probe).
        member val wsub: float[] = Array.zeroCreate (nb * 6)
        member val probeLog = ResizeArray<int>()
        /// Whether some candidate pair is not differentiated by hand (ContactKernel.isHandPair): the adjoint records those on the tape.
        member val tapePairs = false with get, set

        /// Copies what FastStep.evaluate left in w (withC: contacts were evaluated, so w.cross is current).
        member s.SaveEvaluation(w: FastWork<float>, withC: bool) =
            Array.blit w.xpos 0 s.xpos 0 (nb * 3)
            Array.blit w.xmat 0 s.xmat 0 (nb * 9)
            Array.blit w.xipos 0 s.xipos 0 (nb * 3)
            Array.blit w.cdof 0 s.cdof 0 (nv * 6)
            Array.blit w.cinert 0 s.cinert 0 (nb * 36)
            Array.blit w.cvel 0 s.cvel 0 (nb * 6)
            Array.blit w.cacc 0 s.cacc 0 (nb * 6)
            Array.blit w.cfrc 0 s.cfrc 0 (nb * 6)
            Array.blit w.cdofDot 0 s.cdofDot 0 (nv * 6)
            Array.blit w.bias 0 s.bias 0 nv
            Array.blit w.icomp 0 s.icomp 0 (nb * 36)
            Array.blit w.limitDiag 0 s.limitDiag 0 nv
            s.coupled <- withC && w.cross.Count > 0
            s.tapePairs <- false
            if withC && fm.anyPairs then
                for c in 0 .. w.candCount - 1 do
                    if not (ContactKernel.isHandPair fm w.candA[c] w.candB[c]) then s.tapePairs <- true
                Array.blit w.geomXpos 0 s.geomXpos 0 (ng * 3)
                Array.blit w.geomXmat 0 s.geomXmat 0 (ng * 9)
                Array.blit w.wbody 0 s.wsub 0 (nb * 6)
                Array.blit w.qfrcContact 0 s.qfrcContact 0 nv
            if s.coupled then
                if isNull s.system then s.system <- Array.zeroCreate s.factor.Length
                Array.blit w.qM 0 s.system 0 s.factor.Length
                s.cross.CopyFrom(w.cross, id)

    /// Slots no segment is using, per model (a segment of k steps takes k x substeps and gives them back).
    let private freeSlots = ConditionalWeakTable<FastModel<float>, ConcurrentBag<Slot>>()

    /// n slots of the model's pool.
    let internal rentSlots (fm: FastModel<float>) (n: int) =
        let bag = freeSlots.GetValue(fm, fun _ -> ConcurrentBag<Slot>())
        Array.init n (fun _ -> match bag.TryTake() with | true, s -> s | _ -> Slot fm)

    /// Returns slots to the model's pool.
    let internal giveBackSlots (fm: FastModel<float>) (slots: Slot[]) =
        let bag = freeSlots.GetValue(fm, fun _ -> ConcurrentBag<Slot>())
        for s in slots do bag.Add s

    /// One Euler sub-step of fw.qpos, fw.qvel under fw.ctrl (FastStep.eulerStepWith on floats), saving into slot.
    let internal subStepSaving (fm: FastModel<float>) (fw: FastWork<float>) (sp: SimParams) (h: float) (modes: DriveCode[]) (slot: Slot) =
        Array.blit fw.qpos 0 slot.qpos 0 fm.nq
        Array.blit fw.qvel 0 slot.qvel 0 fm.nv
        slot.probeLog.Clear()
        fw.probeLog <- slot.probeLog
        try
            FastStep.eulerStepWith (fun m w sp h needC modes qpos qvel ctrl ->
                                        FastStep.evaluateFloat m w sp h needC modes qpos qvel ctrl
                                        slot.SaveEvaluation(w, needC))
                                   (fun p a x -> SolveKernel.ldlSolve p a x) fm fw sp h modes
        finally fw.probeLog <- null
        Array.blit fw.qM 0 slot.factor 0 slot.factor.Length
        Array.blit fw.rhs 0 slot.qacc 0 fm.nv
        Array.blit fw.qvel 0 slot.qvelNext 0 fm.nv
