namespace Genesis.Physics

open System
open Genesis
open Genesis.Physics.AdjointArrays

/// The taped step with the heaviest stages (kinematics, spatial inertias, RNEA, CRBA, the LDL solve) recorded as one
/// tape block each (their hand adjoints, in Stages/) instead of one entry per scalar operation: a block computes its
/// outputs with the float kernels, keeps the values its adjoint needs, and its outputs become new tape leaves. The
/// contact force law is ContactLaw's block; the remaining stages are recorded entry by entry.
module internal TapeStages =
    /// The blocks of one recording, with a float work buffer for their forward values.
    [<Sealed>]
    type Stages(fm: FastModel<float>) =
        let fw = FastModelBuild.rent fm
        let crbaOutputs = TreePattern.nnz fm.pattern
        let savedFloats, savedIds = Arena<float>(), Arena<int>()
        // one scratch arena per block type: each backward asks for the same lengths in the same order every time
        let inertiaScratch, rneaScratch, crbaScratch, solveScratch = Arena<float>(), Arena<float>(), Arena<float>(), Arena<float>()
        let kinematicsScratch = Arena<float>()
        // which kinematic outputs depend on qpos at all (the others stay tape constants, as recording would leave them)
        let bodyMoves = Array.init fm.nbody (fun b -> fm.bodyDofs[b].Length > 0)
        let cdofVaries =
            let v = Array.zeroCreate (fm.nv * 6)
            for b in 0 .. fm.nbody - 1 do
                let par = fm.parent[b]
                for jj in 0 .. fm.bodyJntNum[b] - 1 do
                    let j = fm.bodyJntAdr[b] + jj
                    let d = fm.jntDofAdr[j]
                    let frameMoves = jj > 0 || (par >= 0 && bodyMoves[par])
                    match fm.jntType[j] with
                    | Slide -> for r in 3 .. 5 do v[d * 6 + r] <- frameMoves
                    | Hinge -> for r in 0 .. 5 do v[d * 6 + r] <- frameMoves
                    | Ball -> for r in 0 .. 17 do v[d * 6 + r] <- true
                    | Free -> for r in 18 .. 35 do v[d * 6 + r] <- true
            v

        /// Reuses the arrays of the blocks recorded so far: call only once they have been swept (or dropped).
        member _.Reset() =
            savedFloats.Reset()
            savedIds.Reset()

        /// Forward kinematics (xpos, xmat, xipos, cdof) from qpos into w, as one block.
        member _.Kinematics(m: FastModel<TapeReal>, w: FastWork<TapeReal>, qpos: TapeReal[]) =
            let nb, nq, nv = m.nbody, m.nq, m.nv
            let q = savedFloats.Take nq
            valuesInto qpos nq q
            KinematicsKernel.kinematicsInto fm fw q
            let tape = ScalarTape.Current
            let xposIds, xmatIds, xiposIds, cdofIds = savedIds.Take(nb * 3), savedIds.Take(nb * 9), savedIds.Take(nb * 3), savedIds.Take(nv * 6)
            let block =
                KinematicsAdjoint.KinematicsBlock(fm, kinematicsScratch, idsOf savedIds qpos nq, q, copyOf savedFloats fw.xpos (nb * 3),
                                copyOf savedFloats fw.xmat (nb * 9), xposIds, xmatIds, xiposIds, cdofIds)
            tape.Block block
            let inline output (ids: int[]) (into: TapeReal[]) (values: float[]) (i: int) (varies: bool) =
                let id = if varies then tape.Leaf() else 0
                ids[i] <- id
                into[i] <- TapeReal(values[i], id)
            for b in 0 .. nb - 1 do
                for i in b * 3 .. b * 3 + 2 do output xposIds w.xpos fw.xpos i bodyMoves[b]
                for i in b * 9 .. b * 9 + 8 do output xmatIds w.xmat fw.xmat i bodyMoves[b]
                for i in b * 3 .. b * 3 + 2 do output xiposIds w.xipos fw.xipos i bodyMoves[b]
            for i in 0 .. nv * 6 - 1 do output cdofIds w.cdof fw.cdof i cdofVaries[i]

        /// Spatial inertias into w.cinert, as one block.
        member _.Inertia(m: FastModel<TapeReal>, w: FastWork<TapeReal>) =
            let nb = m.nbody
            valuesInto w.xmat (nb * 9) fw.xmat
            valuesInto w.xipos (nb * 3) fw.xipos
            for b in 0 .. nb - 1 do InertiaKernel.spatialInertia fm fw b
            let tape = ScalarTape.Current
            let outIds = savedIds.Take(nb * 36)
            let block = InertiaAdjoint.InertiaBlock(fm, inertiaScratch, idsOf savedIds w.xmat (nb * 9), idsOf savedIds w.xipos (nb * 3), copyOf savedFloats fw.xmat (nb * 9),
                                     copyOf savedFloats fw.xipos (nb * 3), outIds)
            tape.Block block
            for b in 0 .. nb - 1 do
                for r in 0 .. 5 do
                    for c in 0 .. 5 do
                        let x = b * 36 + r * 6 + c
                        let id = if r >= 3 && c >= 3 then 0 else tape.Leaf()
                        outIds[x] <- id
                        w.cinert[x] <- TapeReal(fw.cinert[x], id)

        /// Bias forces into w.bias, as one block.
        member _.Rnea(m: FastModel<TapeReal>, w: FastWork<TapeReal>, qvel: TapeReal[]) =
            let nb, nv = m.nbody, m.nv
            let q = savedFloats.Take nv
            valuesInto qvel nv q
            valuesInto w.cdof (nv * 6) fw.cdof
            valuesInto w.cinert (nb * 36) fw.cinert
            RneaKernel.rnea fm fw q
            let tape = ScalarTape.Current
            let outIds, cvelIds = savedIds.Take nv, savedIds.Take(nb * 6)
            let block =
                RneaAdjoint.RneaBlock(fm, rneaScratch, idsOf savedIds qvel nv, idsOf savedIds w.cdof (nv * 6), idsOf savedIds w.cinert (nb * 36), q,
                          copyOf savedFloats fw.cdof (nv * 6), copyOf savedFloats fw.cinert (nb * 36), copyOf savedFloats fw.cvel (nb * 6),
                          copyOf savedFloats fw.cacc (nb * 6), copyOf savedFloats fw.cfrc (nb * 6), copyOf savedFloats fw.cdofDot (nv * 6),
                          outIds, cvelIds)
            tape.Block block
            for k in 0 .. nv - 1 do
                outIds[k] <- tape.Leaf()
                w.bias[k] <- TapeReal(fw.bias[k], outIds[k])
            for i in 0 .. nb * 6 - 1 do
                cvelIds[i] <- tape.Leaf()
                w.cvel[i] <- TapeReal(fw.cvel[i], cvelIds[i])

        /// The mass matrix (M + hK C) into w.qM, as one block.
        member _.Crba(m: FastModel<TapeReal>, w: FastWork<TapeReal>, hK: float) =
            let nb, nv = m.nbody, m.nv
            valuesInto w.cdof (nv * 6) fw.cdof
            valuesInto w.cinert (nb * 36) fw.cinert
            if hK > 0.0 then valuesInto w.kbody (nb * 36) fw.kbody
            CrbaKernel.crba fm fw hK
            let tape = ScalarTape.Current
            let outIds = savedIds.Take crbaOutputs
            let kbodyIds = if hK > 0.0 then idsOf savedIds w.kbody (nb * 36) else [||]
            let block =
                CrbaAdjoint.CrbaBlock(fm, crbaScratch, hK, idsOf savedIds w.cinert (nb * 36), kbodyIds, idsOf savedIds w.cdof (nv * 6),
                          copyOf savedFloats fw.cdof (nv * 6), copyOf savedFloats fw.icomp (nb * 36), outIds)
            tape.Block block
            for q in 0 .. crbaOutputs - 1 do
                let id = tape.Leaf()
                outIds[q] <- id
                w.qM[q] <- TapeReal(fw.qM[q], id)

        /// SolveKernel.ldlSolve of a x = b (a in the tree pattern p; x holds b, then the solution), as one block; a is
        /// left as it was.
        member _.Solve(p: TreePattern, a: TapeReal[], x: TapeReal[]) =
            let n, nnz = p.nv, TreePattern.nnz p
            let factor, sol = savedFloats.Take nnz, savedFloats.Take n
            valuesInto a nnz factor
            valuesInto x n sol
            SolveKernel.ldlSolve p factor sol
            let tape = ScalarTape.Current
            let outIds = savedIds.Take n
            tape.Block(SolveAdjoint.SolveBlock(p, solveScratch, factor, sol, idsOf savedIds a nnz, idsOf savedIds x n, outIds))
            for k in 0 .. n - 1 do
                outIds[k] <- tape.Leaf()
                x[k] <- TapeReal(sol[k], outIds[k])

        /// Returns the float work buffer to the model's pool.
        member _.Release() = FastModelBuild.giveBack fm fw

    /// FastStep.evaluate on the tape with the block stages.
    let private evaluate (st: Stages) (m: FastModel<TapeReal>) (w: FastWork<TapeReal>) (sp: SimParams) (h: float) (needC: bool) (modes: DriveCode[])
                         (qpos: TapeReal[]) (qvel: TapeReal[]) (ctrl: TapeReal[]) =
        st.Kinematics(m, w, qpos)
        st.Inertia(m, w)
        st.Rnea(m, w, qvel)
        if sp.enableContact then FastStep.contactTape m w sp h needC
        st.Crba(m, w, (if needC then h else 0.0))
        FastStep.forcesTape m w sp modes qpos qvel ctrl

    /// One sub-step of w.qpos, w.qvel under w.ctrl, recorded on the thread's scalar tape with the block stages.
    let subStep (st: Stages) (m: FastModel<TapeReal>) (w: FastWork<TapeReal>) (sp: SimParams) (h: float) (modes: DriveCode[]) =
        match sp.integrator with
        | Integrator.Euler ->
            FastStep.eulerStepWith (fun m w sp h needC modes qpos qvel ctrl -> evaluate st m w sp h needC modes qpos qvel ctrl)
                                   (fun p a x -> st.Solve(p, a, x)) m w sp h modes
        | Integrator.RK4 ->
            FastStep.rk4StepWith (fun m w sp h needC modes qpos qvel ctrl -> evaluate st m w sp h needC modes qpos qvel ctrl)
                                 (fun p a x -> st.Solve(p, a, x)) m w sp h modes
