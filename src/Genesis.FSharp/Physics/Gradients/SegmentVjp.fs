namespace Genesis.Physics

open System
open System.Runtime.CompilerServices
open Genesis

/// Vector-Jacobian products of fast-path segments: the k steps are replayed on TapeReal values (the same kernels as
/// FastStep, recorded on the thread's scalar tape) and swept backwards once per env. This is the derivative of a
/// checkpoint segment with respect to its start state and controls when no model parameter is differentiated.
module internal SegmentVjp =
    let private tapeModels = ConditionalWeakTable<FastModel<float>, FastModel<TapeReal>>()

    /// The model's constants as tape constants (built once per fast model).
    let private tapeModel (m: FastModel<float>) = tapeModels.GetValue(m, fun fm -> FastModelBuild.toTape fm)

    /// segmentVjp with every sub-step recorded on the tape (the stage blocks and entry by entry; RK4). Per env, the
    /// segment is first re-run on floats to recover the state before every step; then each step, from the last, is
    /// recorded on the tape alone and swept with the adjoint of its end state, giving the adjoint of its start state
    /// and control. One step's tape (~1,200 entries for the iiwa14) stays in cache however long the segment.
    let internal tapedSegmentVjp (fm: FastModel<float>) (m: FastModel<TapeReal>) (sp: SimParams) (codes: DriveCode[][]) (nEnvs: int) (qpos: float[])
                                (qvel: float[]) (ctrls: float[][]) (adjQpos: float[]) (adjQvel: float[]) =
        let nq, nv, k = m.nq, m.nv, ctrls.Length
        let h = sp.dt / float sp.substeps
        let gQpos, gQvel = Array.zeroCreate (nEnvs * nq), Array.zeroCreate (nEnvs * nv)
        let gCtrl = Array.init k (fun _ -> Array.zeroCreate (nEnvs * nv))
        let tape = ScalarTape.Current
        let w = FastModelBuild.rent m
        let fw = FastModelBuild.rent fm
        let stages = TapeStages.Stages fm
        let qposIds, qvelIds, ctrlIds = Array.zeroCreate nq, Array.zeroCreate nv, Array.zeroCreate nv
        let qposAt, qvelAt = Array.zeroCreate (k * nq), Array.zeroCreate (k * nv)
        let aQpos, aQvel = Array.zeroCreate nq, Array.zeroCreate nv
        try
            for e in 0 .. nEnvs - 1 do
                Array.blit qpos (e * nq) fw.qpos 0 nq
                Array.blit qvel (e * nv) fw.qvel 0 nv
                for t in 0 .. k - 1 do
                    Array.blit fw.qpos 0 qposAt (t * nq) nq
                    Array.blit fw.qvel 0 qvelAt (t * nv) nv
                    Array.blit ctrls[t] (e * nv) fw.ctrl 0 nv
                    FastStep.stepWork fm fw sp codes[t]
                Array.blit adjQpos (e * nq) aQpos 0 nq
                Array.blit adjQvel (e * nv) aQvel 0 nv
                for t in k - 1 .. -1 .. 0 do
                    tape.Clear()
                    for i in 0 .. nq - 1 do
                        w.qpos[i] <- TapeReal.Variable(qposAt[t * nq + i])
                        qposIds[i] <- w.qpos[i].id
                    for i in 0 .. nv - 1 do
                        w.qvel[i] <- TapeReal.Variable(qvelAt[t * nv + i])
                        qvelIds[i] <- w.qvel[i].id
                        w.ctrl[i] <- TapeReal.Variable(ctrls[t][e * nv + i])
                        ctrlIds[i] <- w.ctrl[i].id
                    for _ in 1 .. sp.substeps do
                        TapeStages.subStep stages m w sp h codes[t]
                    tape.ResetAdjoints()
                    for i in 0 .. nq - 1 do tape.Seed(w.qpos[i].id, aQpos[i])
                    for i in 0 .. nv - 1 do tape.Seed(w.qvel[i].id, aQvel[i])
                    tape.Sweep()
                    for i in 0 .. nq - 1 do aQpos[i] <- tape.Adjoint(qposIds[i])
                    for i in 0 .. nv - 1 do
                        aQvel[i] <- tape.Adjoint(qvelIds[i])
                        gCtrl[t][e * nv + i] <- tape.Adjoint(ctrlIds[i])
                    stages.Reset()
                Array.blit aQpos 0 gQpos (e * nq) nq
                Array.blit aQvel 0 gQvel (e * nv) nv
        finally
            tape.Clear()
            stages.Release()
            FastModelBuild.giveBack fm fw
            FastModelBuild.giveBack m w
        gQpos, gQvel, gCtrl

    /// Gradients of <adjQpos, qpos_k> + <adjQvel, qvel_k> after k steps from (qpos, qvel) under ctrls[t] (each
    /// [nEnvs * nv], modes[t]), with respect to qpos, qvel and every ctrls[t] (arrays row-major per env) and, with
    /// Euler, the parameters of EulerAdjoint.parameters (summed over envs; empty with RK4 or equality constraints). Euler
    /// sub-steps go through EulerAdjoint (hand-written stage adjoints on saved values), RK4 and models with equality
    /// constraints (EqualityKernel has no hand-written adjoint) through the tape.
    let segmentVjp (fm: FastModel<float>) (sp: SimParams) (modes: ControlMode[][]) (nEnvs: int) (qpos: float[]) (qvel: float[])
                   (ctrls: float[][]) (adjQpos: float[]) (adjQvel: float[]) =
        let m = tapeModel fm
        let codes = modes |> Array.map (Array.map ActuationKernel.modeCode)
        match sp.integrator with
        | Integrator.Euler when fm.equality.rows = 0 -> EulerAdjoint.segmentVjp fm m sp codes nEnvs qpos qvel ctrls adjQpos adjQvel
        | _ ->
            let gq, gv, gc = tapedSegmentVjp fm m sp codes nEnvs qpos qvel ctrls adjQpos adjQvel
            gq, gv, gc, Array.empty

    /// Whether segmentVjp also gives the gradient of parameter p: Euler only, for
    /// the parameters of EulerAdjoint.parameters (damping, gravity, kp, kv, force range).
    let differentiatesParameter (sp: SimParams) (p: Param) = sp.integrator = Integrator.Euler && EulerAdjoint.differentiates p

    /// The index of parameter p in segmentVjp's parameter gradients.
    let parameterSlot (p: Param) = Array.IndexOf(EulerAdjoint.parameters, p)
