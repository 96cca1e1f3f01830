namespace Genesis.Physics

open System
open Genesis

/// The joint-space inertia by composite rigid bodies (MuJoCo mj_crb): with J_i the spatial Jacobian of body i (the
/// cdof of its ancestor dofs), M = sum_i J_i^T I_i J_i + diag(armature).
module Crba =
    /// The body Jacobians J [B; nbody; 6; nv]: body i's columns are the cdof of its ancestor dofs.
    let bodyJacobians (model: Model) (kin: Kinematics) : Tensor =
        let topo = model.topology
        let mask = Constants.ofValues topo Constants.AncestorMask kin.cdof [| topo.nbody; topo.nv |] (fun () -> Model.ancestorMask topo)
        kin.cdof.transpose(1, 2).unsqueeze(1) * mask.unsqueeze(1)

    /// The mass matrix [B; nv; nv] from the body Jacobians and spatial inertias.
    let massMatrix (model: Model) (jac: Tensor) (cinert: Tensor) : Tensor =
        let nv = model.topology.nv
        let jt = jac.transpose(-1, -2)
        jt.matmul(cinert).matmul(jac).sum(1) + Spatial.eyeLike cinert nv * model.parameters.dofArmature

/// CRBA on arrays, generic over the scalar.
module internal CrbaKernel =
    open Genesis.Physics.FastMath
    open Genesis.Real
    open Genesis.HomogeneousArithmetic

    /// Mass matrix by CRBA (composite inertias; armature on the diagonal) into w.qM, in the tree's pattern (m.pattern:
    /// only the entries between a dof and its ancestors); with hK > 0, M + h C for the contact stiffness K per body in
    /// w.kbody (C = sum_b J_b^T K_b J_b has the form of M).
    let inline internal crba (m: FastModel< ^T>) (w: FastWork< ^T>) (hK: float) =
        let nb, nv = m.nbody, m.nv
        let ic, qM, cdof, f = w.icomp, w.qM, w.cdof, w.scratch
        if hK > 0.0 then
            let hKT = lift hK
            for i in 0 .. nb * 36 - 1 do ic[i] <- w.cinert[i] + hKT * w.kbody[i]
        else Array.blit w.cinert 0 ic 0 (nb * 36)
        for b in nb - 1 .. -1 .. 0 do
            let par = m.parent[b]
            if par >= 0 then
                for k in 0 .. 35 do
                    ic[par * 36 + k] <- ic[par * 36 + k] + ic[b * 36 + k]
        let p = m.pattern
        for k in 0 .. nv - 1 do
            mul66v ic (m.dofBody[k] * 36) cdof (k * 6) f 0
            let d = TreePattern.diag p k
            for q in p.rowAdr[k] .. d do
                qM[q] <- dot6 cdof (p.colInd[q] * 6) f 0
            qM[d] <- qM[d] + m.dofArmature[k]

/// The hand-written adjoint of CRBA and its tape block.
module internal CrbaAdjoint =
    open Genesis.Physics.AdjointArrays

    /// The adjoint of CRBA (CrbaKernel.crba) with the composite inertias icomp it computed: from the adjoints gM of
    /// qM's pattern entries (each standing for both halves), adds that of cdof into gcdof and writes that of the
    /// composites' sum cinert + hK kbody into gic.
    let internal crbaAdjoint (fm: FastModel<float>) (scratch: Arena<float>) (cdof: float[]) (icomp: float[]) (gM: float[]) (gic: float[]) (gcdof: float[]) =
        let nb, nv, p = fm.nbody, fm.nv, fm.pattern
        Array.Clear(gic, 0, nb * 36)
        let f, gf = scratch.Take 6, scratch.Take 6
        for k in 0 .. nv - 1 do
            let b = fm.dofBody[k]
            FastMath.mul66v icomp (b * 36) cdof (k * 6) f 0
            Array.Clear gf
            let mutable any = false
            for q in p.rowAdr[k] .. TreePattern.diag p k do
                let j, g = p.colInd[q], gM[q]
                if g <> 0.0 then
                    any <- true
                    for i in 0 .. 5 do
                        gf[i] <- gf[i] + g * cdof[j * 6 + i]
                        gcdof[j * 6 + i] <- gcdof[j * 6 + i] + g * f[i]
            if any then
                addMulT66 icomp (b * 36) gf 0 gcdof (k * 6)
                addOuter6 gf 0 cdof (k * 6) gic (b * 36)
        for b in 0 .. nb - 1 do
            let par = fm.parent[b]
            if par >= 0 then
                for i in 0 .. 35 do gic[b * 36 + i] <- gic[b * 36 + i] + gic[par * 36 + i]

    /// The mass matrix by CRBA (CrbaKernel.crba): qM from cinert, kbody (scaled by hK) and cdof, as a tape block
    /// (crbaAdjoint).
    [<Sealed>]
    type CrbaBlock(fm: FastModel<float>, scratch: Arena<float>, hK: float, cinertIds: int[], kbodyIds: int[], cdofIds: int[], cdof: float[],
                   icomp: float[], outIds: int[]) =
        inherit TapeBlock()
        override _.Backward(adj: float[]) =
            let nb, nv = fm.nbody, fm.nv
            scratch.Reset()
            let gcdof, gic, gM = scratch.Zeroed(nv * 6), scratch.Take(nb * 36), scratch.Take outIds.Length
            gather adj outIds gM
            crbaAdjoint fm scratch cdof icomp gM gic gcdof
            scatter adj cinertIds gic 1.0
            if hK > 0.0 then scatter adj kbodyIds gic hK
            scatter adj cdofIds gcdof 1.0
