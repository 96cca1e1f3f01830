namespace Genesis.Physics

open System.Runtime.CompilerServices
open Genesis

/// Vector-Jacobian products of fast-path segments: the k steps are replayed on TapeReal values (the same kernels as
/// FastStep, recorded on the thread's scalar tape) and swept backwards once per env. This is the derivative of a
/// checkpoint segment with respect to its start state and controls when no model parameter is differentiated.
module internal FastAdjoint =
    let private tapeModels = ConditionalWeakTable<FastModel<float>, FastModel<TapeReal>>()

    /// The model's constants as tape constants (built once per fast model).
    let private tapeModel (m: FastModel<float>) = tapeModels.GetValue(m, fun fm -> FastModelBuild.toTape fm)

    /// Gradients of <adjQpos, qpos_k> + <adjQvel, qvel_k> after k steps from (qpos, qvel) under ctrls[t] (each
    /// [nEnvs * nv], modes[t]), with respect to qpos, qvel and every ctrls[t]; arrays are row-major per env.
    [<MethodImpl(MethodImplOptions.AggressiveOptimization)>]
    let segmentVjp (fm: FastModel<float>) (sp: SimParams) (modes: ControlMode[][]) (nEnvs: int) (qpos: float[]) (qvel: float[])
                   (ctrls: float[][]) (adjQpos: float[]) (adjQvel: float[]) =
        let m = tapeModel fm
        let nq, nv, k = m.nq, m.nv, ctrls.Length
        let codes = modes |> Array.map (Array.map FastStep.modeCode)
        let h = sp.dt / float sp.substeps
        let gQpos, gQvel = Array.zeroCreate (nEnvs * nq), Array.zeroCreate (nEnvs * nv)
        let gCtrl = Array.init k (fun _ -> Array.zeroCreate (nEnvs * nv))
        let tape = ScalarTape.Current
        let w = FastModelBuild.rent m
        let stages = StageAdjoints.Stages fm
        let qposIds, qvelIds, ctrlIds = Array.zeroCreate nq, Array.zeroCreate nv, Array.init k (fun _ -> Array.zeroCreate nv)
        try
            for e in 0 .. nEnvs - 1 do
                tape.Clear()
                for i in 0 .. nq - 1 do
                    w.qpos[i] <- TapeReal.Variable(qpos[e * nq + i])
                    qposIds[i] <- w.qpos[i].id
                for i in 0 .. nv - 1 do
                    w.qvel[i] <- TapeReal.Variable(qvel[e * nv + i])
                    qvelIds[i] <- w.qvel[i].id
                for t in 0 .. k - 1 do
                    for i in 0 .. nv - 1 do
                        w.ctrl[i] <- TapeReal.Variable(ctrls[t][e * nv + i])
                        ctrlIds[t][i] <- w.ctrl[i].id
                    for _ in 1 .. sp.substeps do
                        StageAdjoints.subStep stages m w sp h codes[t]
                tape.ResetAdjoints()
                for i in 0 .. nq - 1 do tape.Seed(w.qpos[i].id, adjQpos[e * nq + i])
                for i in 0 .. nv - 1 do tape.Seed(w.qvel[i].id, adjQvel[e * nv + i])
                tape.Sweep()
                for i in 0 .. nq - 1 do gQpos[e * nq + i] <- tape.Adjoint(qposIds[i])
                for i in 0 .. nv - 1 do gQvel[e * nv + i] <- tape.Adjoint(qvelIds[i])
                for t in 0 .. k - 1 do
                    for i in 0 .. nv - 1 do gCtrl[t][e * nv + i] <- tape.Adjoint(ctrlIds[t][i])
        finally
            tape.Clear()
            stages.Release()
            FastModelBuild.giveBack m w
        gQpos, gQvel, gCtrl
