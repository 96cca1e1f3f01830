namespace Genesis.Physics

open System
open Genesis

/// Spatial inertias of the bodies about the world origin (MuJoCo cinert in mj_comPos): with R the body frame, c its
/// COM and m its mass, cinert = [[R I R^T + m [c]x [c]x^T, m [c]x]; [m [c]x^T, m I3]].
module Inertia =
    /// The spatial inertia of every body [B; nbody; 6; 6] at the kinematics, for a batch of b envs.
    let compute (model: Model) (kin: Kinematics) (b: int) : Tensor =
        let p = model.parameters
        let nb = model.topology.nbody
        let inertiaWorld = kin.xmat.matmul(p.bodyInertia).matmul(kin.xmat.transpose(-1, -2))
        Spatial.spatialInertia (p.bodyMass.expand([ b; nb ])) kin.xipos inertiaWorld

/// Spatial inertias on arrays, generic over the scalar.
module internal InertiaKernel =
    open Genesis.Physics.FastMath
    open Genesis.Real
    open Genesis.HomogeneousArithmetic

    /// Spatial inertia of body b about the world origin (Spatial.spatialInertia) into w.cinert.
    let inline internal spatialInertia (m: FastModel< ^T>) (w: FastWork< ^T>) (b: int) =
        let s, ci = w.scratch, w.cinert
        let o9, co = b * 9, b * 36
        // I_world = (R I) R^T at s[0..8]; [c]x at s[9..17]; [c]x [c]x at s[18..26]
        mul33 w.xmat o9 m.bodyInertia o9 w.tmp9 0
        for i in 0 .. 2 do
            for j in 0 .. 2 do
                s[i * 3 + j] <- rowDot w.tmp9 0 i w.xmat (o9 + j * 3)
        let cx, cy, cz = w.xipos[b * 3], w.xipos[b * 3 + 1], w.xipos[b * 3 + 2]
        let zero = lift 0.0
        s[9] <- zero; s[10] <- -cz; s[11] <- cy
        s[12] <- cz; s[13] <- zero; s[14] <- -cx
        s[15] <- -cy; s[16] <- cx; s[17] <- zero
        mul33 s 9 s 9 s 18
        let mass = m.bodyMass[b]
        for i in 0 .. 2 do
            for j in 0 .. 2 do
                ci[co + i * 6 + j] <- s[i * 3 + j] - mass * s[18 + i * 3 + j]
                ci[co + i * 6 + 3 + j] <- mass * s[9 + i * 3 + j]
                ci[co + (3 + i) * 6 + j] <- -(mass * s[9 + i * 3 + j])
                ci[co + (3 + i) * 6 + 3 + j] <- mass * lift (if i = j then 1.0 else 0.0)

/// The hand-written adjoint of the spatial inertias and its tape block.
module internal InertiaAdjoint =
    open Genesis.Physics.AdjointArrays

    /// The adjoint of the spatial inertias (InertiaKernel.spatialInertia) at xmat, xipos: from the adjoint gcin of cinert,
    /// adds those of xmat and xipos into gxmat and gxipos, and those of the body masses into gMass (empty: skipped).
    let internal inertiaAdjoint (fm: FastModel<float>) (scratch: Arena<float>) (xmat: float[]) (xipos: float[]) (gcin: float[])
                                (gxmat: float[]) (gxipos: float[]) (gMass: float[]) =
        let nb = fm.nbody
        let sBar, cBar, ccBar, c = scratch.Take 9, scratch.Take 9, scratch.Take 9, scratch.Take 9
        for b in 0 .. nb - 1 do
            let o9, co, mass = b * 9, b * 36, fm.bodyMass[b]
            let g (r: int) (col: int) = gcin[co + r * 6 + col]
            for i in 0 .. 2 do
                for j in 0 .. 2 do
                    let tl = g i j
                    sBar[i * 3 + j] <- tl
                    ccBar[i * 3 + j] <- -mass * tl
                    cBar[i * 3 + j] <- mass * g i (3 + j) - mass * g (3 + i) j
            let cx, cy, cz = xipos[b * 3], xipos[b * 3 + 1], xipos[b * 3 + 2]
            c[0] <- 0.0; c[1] <- -cz; c[2] <- cy
            c[3] <- cz; c[4] <- 0.0; c[5] <- -cx
            c[6] <- -cy; c[7] <- cx; c[8] <- 0.0
            if gMass.Length > 0 then
                // cinert = [S - m C C, m C; -m C, m I]: d/dm = -CC-bar . C C + (top-right - bottom-left) . C + trace
                let mutable dm = 0.0
                for i in 0 .. 2 do
                    dm <- dm + g (3 + i) (3 + i)
                    for j in 0 .. 2 do
                        let mutable cc = 0.0
                        for k in 0 .. 2 do cc <- cc + c[i * 3 + k] * c[k * 3 + j]
                        dm <- dm - g i j * cc + (g i (3 + j) - g (3 + i) j) * c[i * 3 + j]
                gMass[b] <- gMass[b] + dm
            // CC = C C: C-bar += CC-bar C^T + C^T CC-bar
            for i in 0 .. 2 do
                for j in 0 .. 2 do
                    let mutable s = 0.0
                    for k in 0 .. 2 do s <- s + ccBar[i * 3 + k] * c[j * 3 + k] + c[k * 3 + i] * ccBar[k * 3 + j]
                    cBar[i * 3 + j] <- cBar[i * 3 + j] + s
            gxipos[b * 3] <- gxipos[b * 3] + (cBar[7] - cBar[5])
            gxipos[b * 3 + 1] <- gxipos[b * 3 + 1] + (cBar[2] - cBar[6])
            gxipos[b * 3 + 2] <- gxipos[b * 3 + 2] + (cBar[3] - cBar[1])
            // S = R I R^T: R-bar = S-bar R I^T + S-bar^T R I
            let inertia = fm.bodyInertia
            for i in 0 .. 2 do
                for j in 0 .. 2 do
                    let mutable s = 0.0
                    for k in 0 .. 2 do
                        for l in 0 .. 2 do
                            s <- s + (sBar[i * 3 + k] * xmat[o9 + k * 3 + l] * inertia[o9 + j * 3 + l]
                                      + sBar[k * 3 + i] * xmat[o9 + k * 3 + l] * inertia[o9 + l * 3 + j])
                    gxmat[o9 + i * 3 + j] <- gxmat[o9 + i * 3 + j] + s

    /// Spatial inertias of every body (InertiaKernel.spatialInertia): cinert from xmat and xipos, as a tape block
    /// (inertiaAdjoint).
    [<Sealed>]
    type InertiaBlock(fm: FastModel<float>, scratch: Arena<float>, xmatIds: int[], xiposIds: int[], xmat: float[], xipos: float[], outIds: int[]) =
        inherit TapeBlock()
        override _.Backward(adj: float[]) =
            let nb = fm.nbody
            scratch.Reset()
            let gcin, gxmat, gxipos = scratch.Take(nb * 36), scratch.Zeroed(nb * 9), scratch.Zeroed(nb * 3)
            gather adj outIds gcin
            inertiaAdjoint fm scratch xmat xipos gcin gxmat gxipos [||]
            scatter adj xmatIds gxmat 1.0
            scatter adj xiposIds gxipos 1.0
