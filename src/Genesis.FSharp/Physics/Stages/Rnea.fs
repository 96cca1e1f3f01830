namespace Genesis.Physics

open System
open Genesis

/// Bias forces by recursive Newton-Euler with qacc = 0 (MuJoCo mj_rne): qfrcBias = sum_i J_i^T (I_i a_i + v_i x* I_i v_i)
/// with v_i = J_i qvel and a_i = Jdot_i qvel - gravity, all about the world origin.
module Rnea =
    /// The body velocities cvel [B; nbody; 6] and the bias forces [B; nv] from the body Jacobians and inertias.
    let bias (model: Model) (kin: Kinematics) (jac: Tensor) (cinert: Tensor) (qvel: Tensor) : Tensor * Tensor =
        let topo, p = model.topology, model.parameters
        let nb, nv = topo.nbody, topo.nv
        let like = qvel
        let mask = Constants.ofValues topo Constants.AncestorMask like [| nb; nv |] (fun () -> Model.ancestorMask topo)
        // velocities and the velocity-product accelerations Jdot qvel
        let cvel = jac.matmul(qvel.unsqueeze(1).unsqueeze(-1)).squeeze(-1)
        // cdof_k moves with the frame that carries its axis: the parent body plus the joints of its own body up to
        // and including its joint (MuJoCo mj_comVel), not with later joints of the same body
        let frameMask = Constants.ofValues topo Constants.DofFrameMask like [| nv; nv |] (fun () -> Model.dofFrameMask topo)
        let vdof = frameMask.matmul(kin.cdof * qvel.unsqueeze(-1))
        let bodyFixed = Constants.ofValues topo Constants.DofMovingMask like [| nv; 1 |] (fun () -> topo.dofWorldFixed |> Array.map (fun w -> if w then 0.0 else 1.0))
        let cdofDot = Spatial.crossMotionMatrix(vdof).matmul(kin.cdof.unsqueeze(-1)).squeeze(-1) * bodyFixed
        let grav = gs.cat([| Constants.ofValues Constants.shared Constants.GravityHead like [| 3 |] (fun () -> Array.zeroCreate 3); -p.gravity |])
        let acc = mask.matmul(cdofDot * qvel.unsqueeze(-1)) + grav
        let iv = cinert.matmul(cvel.unsqueeze(-1)).squeeze(-1)
        let ia = cinert.matmul(acc.unsqueeze(-1)).squeeze(-1)
        let crf = -(Spatial.crossMotionMatrix cvel).transpose(-1, -2)
        let f = ia + crf.matmul(iv.unsqueeze(-1)).squeeze(-1)
        // qfrcBias_k = cdof_k . (sum of f over the subtree of dof k's body)
        let fsub = mask.T.matmul(f)
        let qfrcBias = (kin.cdof * fsub).sum(-1)
        cvel, qfrcBias

/// RNEA on arrays, generic over the scalar.
module internal RneaKernel =
    open Genesis.Physics.FastMath
    open Genesis.Real
    open Genesis.HomogeneousArithmetic

    /// Bias forces by RNEA with qacc = 0 (velocities, cdof_dot, accelerations from -gravity, subtree forces) into w.bias.
    let inline internal rnea (m: FastModel< ^T>) (w: FastWork< ^T>) (qvel: ^T[]) =
        let nb, nv = m.nbody, m.nv
        let cvel, cacc, cfrc, cdof, cdd, s = w.cvel, w.cacc, w.cfrc, w.cdof, w.cdofDot, w.scratch
        for b in 0 .. nb - 1 do
            let par = m.parent[b]
            for i in 0 .. 5 do
                cvel[b * 6 + i] <- if par < 0 then lift 0.0 else cvel[par * 6 + i]
            for k in m.bodyDofAdr[b] .. m.bodyDofAdr[b] + m.bodyDofNum[b] - 1 do
                for i in 0 .. 5 do
                    cvel[b * 6 + i] <- cvel[b * 6 + i] + cdof[k * 6 + i] * qvel[k]
        // cdof_dot = v x cdof (crm(v) m = [w x a; u x a + w x l]) with v the velocity of the frame carrying the
        // dof's axis: the parent body plus this body's joints up to and including the dof's joint (MuJoCo
        // mj_comVel); zero for axes fixed in the world
        let fv = w.frameVel
        for b in 0 .. nb - 1 do
            let par = m.parent[b]
            for i in 0 .. 5 do
                fv[i] <- if par < 0 then lift 0.0 else cvel[par * 6 + i]
            for j in m.bodyJntAdr[b] .. m.bodyJntAdr[b] + m.bodyJntNum[b] - 1 do
                let d0 = m.jntDofAdr[j]
                let nd = match m.jntType[j] with Free -> 6 | Ball -> 3 | Hinge | Slide -> 1
                for k in d0 .. d0 + nd - 1 do
                    for i in 0 .. 5 do
                        fv[i] <- fv[i] + cdof[k * 6 + i] * qvel[k]
                for k in d0 .. d0 + nd - 1 do
                    let o = k * 6
                    let wx, wy, wz, ux, uy, uz = fv[0], fv[1], fv[2], fv[3], fv[4], fv[5]
                    let ax, ay, az, lx, ly, lz = cdof[o], cdof[o + 1], cdof[o + 2], cdof[o + 3], cdof[o + 4], cdof[o + 5]
                    let mv = m.dofMoving[k]
                    cdd[o] <- (wy * az - wz * ay) * mv
                    cdd[o + 1] <- (wz * ax - wx * az) * mv
                    cdd[o + 2] <- (wx * ay - wy * ax) * mv
                    cdd[o + 3] <- ((uy * az - uz * ay) + (wy * lz - wz * ly)) * mv
                    cdd[o + 4] <- ((uz * ax - ux * az) + (wz * lx - wx * lz)) * mv
                    cdd[o + 5] <- ((ux * ay - uy * ax) + (wx * ly - wy * lx)) * mv
        for b in 0 .. nb - 1 do
            let par = m.parent[b]
            for i in 0 .. 5 do
                cacc[b * 6 + i] <- if par >= 0 then cacc[par * 6 + i] elif i < 3 then lift 0.0 else -m.gravity[i - 3]
            for k in m.bodyDofAdr[b] .. m.bodyDofAdr[b] + m.bodyDofNum[b] - 1 do
                for i in 0 .. 5 do
                    cacc[b * 6 + i] <- cacc[b * 6 + i] + cdd[k * 6 + i] * qvel[k]
            // f = I a + v x* (I v), v x* = [[wx, ux], [0, wx]]
            mul66v w.cinert (b * 36) cvel (b * 6) s 0
            mul66v w.cinert (b * 36) cacc (b * 6) s 6
            let o = b * 6
            let wx, wy, wz, ux, uy, uz = cvel[o], cvel[o + 1], cvel[o + 2], cvel[o + 3], cvel[o + 4], cvel[o + 5]
            let ix, iy, iz, lx, ly, lz = s[0], s[1], s[2], s[3], s[4], s[5]
            cfrc[o] <- s[6] + ((wy * iz - wz * iy) + (uy * lz - uz * ly))
            cfrc[o + 1] <- s[7] + ((wz * ix - wx * iz) + (uz * lx - ux * lz))
            cfrc[o + 2] <- s[8] + ((wx * iy - wy * ix) + (ux * ly - uy * lx))
            cfrc[o + 3] <- s[9] + (wy * lz - wz * ly)
            cfrc[o + 4] <- s[10] + (wz * lx - wx * lz)
            cfrc[o + 5] <- s[11] + (wx * ly - wy * lx)
        for b in nb - 1 .. -1 .. 0 do
            let par = m.parent[b]
            if par >= 0 then
                for i in 0 .. 5 do
                    cfrc[par * 6 + i] <- cfrc[par * 6 + i] + cfrc[b * 6 + i]
        for k in 0 .. nv - 1 do
            w.bias[k] <- dot6 cdof (k * 6) cfrc (m.dofBody[k] * 6)

/// The hand-written adjoint of RNEA and its tape block.
module internal RneaAdjoint =
    open Genesis.Physics.AdjointArrays

    /// The adjoint of RNEA (RneaKernel.rnea) at qvel with the intermediates it computed (cvel, cacc, cfrc, cdd): from the
    /// adjoints gbias of bias and gcvel of cvel (gcvel is used as a working array), adds those of qvel, cdof and cinert
    /// into gq, gcdof and gcin, and that of gravity into gGravity (3, or empty to skip).
    let internal rneaAdjoint (fm: FastModel<float>) (scratch: Arena<float>) (qvel: float[]) (cdof: float[]) (cinert: float[]) (cvel: float[])
                             (cacc: float[]) (cfrc: float[]) (cdd: float[]) (gbias: float[]) (gcvel: float[]) (gq: float[]) (gcdof: float[]) (gcin: float[])
                             (gGravity: float[]) =
        let nb, nv = fm.nbody, fm.nv
        let gcacc, gcfrc, gcdd = scratch.Zeroed(nb * 6), scratch.Zeroed(nb * 6), scratch.Zeroed(nv * 6)
        let s1, sBar1, fvs, fvBar, r = scratch.Take 6, scratch.Take 6, scratch.Take(6 * Array.max fm.bodyJntNum), scratch.Take 6, scratch.Zeroed 6
        let ga, gl = scratch.Take 3, scratch.Take 3
        // bias_k = cdof_k . cfrc_body(k)
        for k in 0 .. nv - 1 do
            let g = gbias[k]
            if g <> 0.0 then
                let b = fm.dofBody[k]
                for i in 0 .. 5 do
                    gcdof[k * 6 + i] <- gcdof[k * 6 + i] + g * cfrc[b * 6 + i]
                    gcfrc[b * 6 + i] <- gcfrc[b * 6 + i] + g * cdof[k * 6 + i]
        // subtree sums: a body's own force reaches every ancestor's sum
        for b in 0 .. nb - 1 do
            let par = fm.parent[b]
            if par >= 0 then
                for i in 0 .. 5 do gcfrc[b * 6 + i] <- gcfrc[b * 6 + i] + gcfrc[par * 6 + i]
        for b in nb - 1 .. -1 .. 0 do
            let par = fm.parent[b]
            let o = b * 6
            // f = I a + v x* (I v): s1 = I v = [i; l], v = [w; u]; v x* s1 = [w x i + u x l; w x l]
            for i in 0 .. 5 do
                let mutable s = 0.0
                for j in 0 .. 5 do s <- s + cinert[b * 36 + i * 6 + j] * cvel[o + j]
                s1[i] <- s
            Array.Clear sBar1
            // i-bar = a-bar x w; l-bar = a-bar x u + b-bar x w (a-bar, b-bar: the halves of f-bar)
            addCross gcfrc o cvel o sBar1 0
            addCross gcfrc o cvel (o + 3) sBar1 3
            addCross gcfrc (o + 3) cvel o sBar1 3
            // w-bar = i x a-bar + l x b-bar; u-bar = l x a-bar
            addCross s1 0 gcfrc o gcvel o
            addCross s1 3 gcfrc (o + 3) gcvel o
            addCross s1 3 gcfrc o gcvel (o + 3)
            addOuter6 sBar1 0 cvel o gcin (b * 36)
            addOuter6 gcfrc o cacc o gcin (b * 36)
            addMulT66 cinert (b * 36) sBar1 0 gcvel o
            addMulT66 cinert (b * 36) gcfrc o gcacc o
            // cacc_b = cacc_par + sum cdd_k qvel_k
            addSumAdjoint gcacc o cdd gcdd qvel gq fm.bodyDofAdr[b] (fm.bodyDofAdr[b] + fm.bodyDofNum[b])
            if par >= 0 then
                for i in 0 .. 5 do gcacc[par * 6 + i] <- gcacc[par * 6 + i] + gcacc[o + i]
            elif gGravity.Length > 0 then
                // a root's acceleration starts at [0; -gravity]
                for i in 0 .. 2 do gGravity[i] <- gGravity[i] - gcacc[o + 3 + i]
            // cdd_k = moving_k * crm(fv_j) cdof_k, fv_j the velocity of the frame of joint j (recomputed)
            let j0, nj = fm.bodyJntAdr[b], fm.bodyJntNum[b]
            let jointDofs j = let d0 = fm.jntDofAdr[j] in d0, (match fm.jntType[j] with Free -> 6 | Ball -> 3 | Hinge | Slide -> 1)
            for i in 0 .. 5 do r[i] <- if par < 0 then 0.0 else cvel[par * 6 + i]
            for jj in 0 .. nj - 1 do
                let d0, nd = jointDofs (j0 + jj)
                for k in d0 .. d0 + nd - 1 do
                    for i in 0 .. 5 do r[i] <- r[i] + cdof[k * 6 + i] * qvel[k]
                Array.blit r 0 fvs (jj * 6) 6
            Array.Clear r
            for jj in nj - 1 .. -1 .. 0 do
                let d0, nd = jointDofs (j0 + jj)
                let fo = jj * 6
                Array.Clear fvBar
                for k in d0 .. d0 + nd - 1 do
                    let mv = fm.dofMoving[k]
                    if mv <> 0.0 then
                        let ko = k * 6
                        for i in 0 .. 5 do gcdd[ko + i] <- gcdd[ko + i] * mv
                        Array.Clear ga
                        Array.Clear gl
                        // y1 = w x a: w-bar += a x g1, a-bar += g1 x w
                        addCross cdof ko gcdd ko fvBar 0
                        addCross gcdd ko fvs fo ga 0
                        // y2 = u x a + w x l: u-bar += a x g2, a-bar += g2 x u, w-bar += l x g2, l-bar += g2 x w
                        addCross cdof ko gcdd (ko + 3) fvBar 3
                        addCross gcdd (ko + 3) fvs (fo + 3) ga 0
                        addCross cdof (ko + 3) gcdd (ko + 3) fvBar 0
                        addCross gcdd (ko + 3) fvs fo gl 0
                        for i in 0 .. 2 do
                            gcdof[ko + i] <- gcdof[ko + i] + ga[i]
                            gcdof[ko + 3 + i] <- gcdof[ko + 3 + i] + gl[i]
                for i in 0 .. 5 do r[i] <- r[i] + fvBar[i]
                addSumAdjoint r 0 cdof gcdof qvel gq d0 (d0 + nd)
            if par >= 0 then
                for i in 0 .. 5 do gcvel[par * 6 + i] <- gcvel[par * 6 + i] + r[i]
            // cvel_b = cvel_par + sum cdof_k qvel_k
            addSumAdjoint gcvel o cdof gcdof qvel gq fm.bodyDofAdr[b] (fm.bodyDofAdr[b] + fm.bodyDofNum[b])
            if par >= 0 then
                for i in 0 .. 5 do gcvel[par * 6 + i] <- gcvel[par * 6 + i] + gcvel[o + i]

    /// Bias forces by RNEA (RneaKernel.rnea): bias and the body velocities cvel (which contacts read) from qvel, cdof
    /// and cinert, as a tape block (rneaAdjoint).
    [<Sealed>]
    type RneaBlock(fm: FastModel<float>, scratch: Arena<float>, qvelIds: int[], cdofIds: int[], cinertIds: int[], qvel: float[], cdof: float[],
                   cinert: float[], cvel: float[], cacc: float[], cfrc: float[], cdd: float[], outIds: int[], cvelIds: int[]) =
        inherit TapeBlock()
        override _.Backward(adj: float[]) =
            let nb, nv = fm.nbody, fm.nv
            scratch.Reset()
            let gq, gcdof, gcin = scratch.Zeroed nv, scratch.Zeroed(nv * 6), scratch.Zeroed(nb * 36)
            let gbias, gcvel = scratch.Take nv, scratch.Take(nb * 6)
            gather adj outIds gbias
            gather adj cvelIds gcvel
            rneaAdjoint fm scratch qvel cdof cinert cvel cacc cfrc cdd gbias gcvel gq gcdof gcin (Array.Empty<float>())
            scatter adj qvelIds gq 1.0
            scatter adj cdofIds gcdof 1.0
            scatter adj cinertIds gcin 1.0
