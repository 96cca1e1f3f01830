namespace Genesis.Physics

open System
open System.Runtime.CompilerServices
open Genesis

/// Hand-written adjoints of the heaviest stages of a step (forward kinematics, spatial inertias, RNEA, CRBA, the LDL
/// solve), recorded on the scalar tape as one block each instead of one entry per scalar operation: the block computes
/// its outputs with the float kernels, keeps the values its adjoint needs, and its outputs become new tape leaves. The
/// contact force law is ContactAdjoint's block; the remaining stages (contact geometry, forces, the dense LU solve of
/// contacts between moving trees, the integration) are recorded entry by entry.
module internal StageAdjoints =
    /// Arrays handed out in the same order every step and reused after Reset: a block's saved values and its
    /// backward's scratch come from here instead of new arrays per step (the n-th request of a step gets the n-th
    /// array of the previous step when the length matches).
    [<Sealed>]
    type Arena<'T>() =
        let items = ResizeArray<'T[]>()
        let mutable cursor = 0
        /// An array of length n, contents unspecified.
        member _.Take(n: int) : 'T[] =
            if cursor = items.Count then items.Add(Array.zeroCreate n)
            elif items[cursor].Length <> n then items[cursor] <- Array.zeroCreate n
            cursor <- cursor + 1
            items[cursor - 1]
        /// An array of length n filled with zeros.
        member a.Zeroed(n: int) : 'T[] =
            let x = a.Take n
            Array.Clear x
            x
        /// Makes every array available again (their previous holders must be done with them).
        member _.Reset() = cursor <- 0

    /// The tape ids of the first n entries of a TapeReal array, in an array from the arena.
    let private idsOf (arena: Arena<int>) (xs: TapeReal[]) (n: int) =
        let ids = arena.Take n
        for i in 0 .. n - 1 do ids[i] <- xs[i].id
        ids

    /// A copy of the first n values of xs, in an array from the arena.
    let private copyOf (arena: Arena<float>) (xs: float[]) (n: int) =
        let c = arena.Take n
        Array.blit xs 0 c 0 n
        c

    /// The values of a TapeReal array into a float array.
    let private valuesInto (xs: TapeReal[]) (n: int) (into: float[]) =
        for i in 0 .. n - 1 do into[i] <- xs[i].v

    /// Adds g[i] to the adjoint of entry ids[i] (constants, id 0, skipped).
    let private scatter (adj: float[]) (ids: int[]) (g: float[]) (scale: float) =
        for i in 0 .. ids.Length - 1 do
            let id = ids[i]
            if id > 0 then adj[id - 1] <- adj[id - 1] + scale * g[i]

    /// out[oo..oo+2] += a x b for 3-vectors at offsets.
    let inline private addCross (a: float[]) (ao: int) (b: float[]) (bo: int) (out: float[]) (oo: int) =
        out[oo] <- out[oo] + (a[ao + 1] * b[bo + 2] - a[ao + 2] * b[bo + 1])
        out[oo + 1] <- out[oo + 1] + (a[ao + 2] * b[bo] - a[ao] * b[bo + 2])
        out[oo + 2] <- out[oo + 2] + (a[ao] * b[bo + 1] - a[ao + 1] * b[bo])

    /// out[oo..] += X^T v for the 6 x 6 block X at x[xo..].
    let private addMulT66 (x: float[]) (xo: int) (v: float[]) (vo: int) (out: float[]) (oo: int) =
        for c in 0 .. 5 do
            let mutable s = 0.0
            for r in 0 .. 5 do s <- s + x[xo + r * 6 + c] * v[vo + r]
            out[oo + c] <- out[oo + c] + s

    /// g[go..go+35] += a (6) outer b (6).
    let private addOuter6 (a: float[]) (ao: int) (b: float[]) (bo: int) (g: float[]) (go: int) =
        for r in 0 .. 5 do
            let ar = a[ao + r]
            if ar <> 0.0 then
                for c in 0 .. 5 do g[go + r * 6 + c] <- g[go + r * 6 + c] + ar * b[bo + c]

    /// The adjoint of x = x_parent + sum_k v_k q_k over dofs k0 .. k1 - 1 (6-vectors v_k at v[6k..]), given x-bar at
    /// g[go..]: adds x-bar q_k into gv and x-bar . v_k into gq.
    let private addSumAdjoint (g: float[]) (go: int) (v: float[]) (gv: float[]) (q: float[]) (gq: float[]) (k0: int) (k1: int) =
        for k in k0 .. k1 - 1 do
            let mutable s = 0.0
            for i in 0 .. 5 do
                gv[k * 6 + i] <- gv[k * 6 + i] + g[go + i] * q[k]
                s <- s + g[go + i] * v[k * 6 + i]
            gq[k] <- gq[k] + s

    /// out = A^T B for 3 x 3 row-major blocks at offsets (out must not alias a or b).
    let private mulT33 (a: float[]) (ao: int) (b: float[]) (bo: int) (out: float[]) (oo: int) =
        for r in 0 .. 2 do
            for c in 0 .. 2 do
                out[oo + r * 3 + c] <- a[ao + r] * b[bo + c] + a[ao + 3 + r] * b[bo + 3 + c] + a[ao + 6 + r] * b[bo + 6 + c]

    /// out = A B^T for 3 x 3 row-major blocks at offsets (out must not alias a or b).
    let private mul33T (a: float[]) (ao: int) (b: float[]) (bo: int) (out: float[]) (oo: int) =
        for r in 0 .. 2 do
            for c in 0 .. 2 do out[oo + r * 3 + c] <- FastMath.rowDot a ao r b (bo + c * 3)

    /// g[go..go+8] += u (3) outer v (3) * scale.
    let private addOuter3 (u: float[]) (uo: int) (v: float[]) (vo: int) (scale: float) (g: float[]) (go: int) =
        for r in 0 .. 2 do
            for c in 0 .. 2 do g[go + r * 3 + c] <- g[go + r * 3 + c] + scale * u[uo + r] * v[vo + c]

    /// The adjoint of FastModelBuild.quatToMatInto (with its normalisation): adds to gq[o..o+3] the gradient of
    /// <gR, R(q)> for the 3 x 3 adjoint gR at g[go..].
    let private quatToMatAdjoint (q: float[]) (o: int) (g: float[]) (go: int) (gq: float[]) =
        let w0, x0, y0, z0 = q[o], q[o + 1], q[o + 2], q[o + 3]
        let n = sqrt (w0 * w0 + x0 * x0 + y0 * y0 + z0 * z0)
        let w, x, y, z = w0 / n, x0 / n, y0 / n, z0 / n
        let g0, g1, g2, g3, g4, g5, g6, g7, g8 = g[go], g[go + 1], g[go + 2], g[go + 3], g[go + 4], g[go + 5], g[go + 6], g[go + 7], g[go + 8]
        let gw = 2.0 * (-z * g1 + y * g2 + z * g3 - x * g5 - y * g6 + x * g7)
        let gx = 2.0 * (y * g1 + z * g2 + y * g3 - 2.0 * x * g4 - w * g5 + z * g6 + w * g7 - 2.0 * x * g8)
        let gy = 2.0 * (-2.0 * y * g0 + x * g1 + w * g2 + x * g3 + z * g5 - w * g6 + z * g7 - 2.0 * y * g8)
        let gz = 2.0 * (-2.0 * z * g0 - w * g1 + x * g2 + w * g3 - 2.0 * z * g4 + y * g5 + x * g6 + y * g7)
        // u = q / |q|: q-bar = (u-bar - u (u . u-bar)) / |q|
        let d = w * gw + x * gx + y * gy + z * gz
        gq[o] <- gq[o] + (gw - w * d) / n
        gq[o + 1] <- gq[o + 1] + (gx - x * d) / n
        gq[o + 2] <- gq[o + 2] + (gy - y * d) / n
        gq[o + 3] <- gq[o + 3] + (gz - z * d) / n

    /// The adjoint of forward kinematics (FastStep.kinematicsInto) at qpos with final frames xpos, xmat: from the
    /// adjoints gP, gR, gxipos, gcdof of xpos, xmat, xipos and cdof (gP and gR are used as working arrays), adds the
    /// adjoint of qpos into gq. Re-runs each body's joints from its parent's final frame to recover the frame before
    /// every joint, then goes back through them.
    let internal kinematicsAdjoint (fm: FastModel<float>) (scratch: Arena<float>) (qpos: float[]) (xpos: float[]) (xmat: float[])
                                   (gP: float[]) (gR: float[]) (gxipos: float[]) (gcdof: float[]) (gq: float[]) =
        let nb = fm.nbody
        // xipos = xpos + xmat ipos
        for b in 0 .. nb - 1 do
            for r in 0 .. 2 do
                let g = gxipos[b * 3 + r]
                if g <> 0.0 then
                    gP[b * 3 + r] <- gP[b * 3 + r] + g
                    for c in 0 .. 2 do gR[b * 9 + r * 3 + c] <- gR[b * 9 + r * 3 + c] + g * fm.bodyIpos[b * 3 + c]
        let maxJ = max 1 (Array.max fm.bodyJntNum)
        let preP, preR, anchor, anchorBar = scratch.Take(3 * maxJ), scratch.Take(9 * maxJ), scratch.Take(3 * maxJ), scratch.Take(3 * maxJ)
        let rj, tmp, gPc, gRc, newR, ga, gaw = scratch.Take 9, scratch.Take 9, scratch.Take 3, scratch.Take 9, scratch.Take 9, scratch.Take 3, scratch.Take 3
        let jp, ax = fm.jntPos, fm.jntAxis
        for b in nb - 1 .. -1 .. 0 do
            let par = fm.parent[b]
            let o3, o9 = b * 3, b * 9
            // the frame before each joint, from the parent's final frame
            if par < 0 then
                Array.blit fm.bodyR o9 preR 0 9
                Array.blit fm.bodyPos o3 preP 0 3
            else
                FastMath.mul33 xmat (par * 9) fm.bodyR o9 preR 0
                for r in 0 .. 2 do
                    preP[r] <- xpos[par * 3 + r] + FastMath.rowDot xmat (par * 9) r fm.bodyPos o3
            let j0, nj = fm.bodyJntAdr[b], fm.bodyJntNum[b]
            for jj in 0 .. nj - 1 do
                let j, po, ro = j0 + jj, jj * 3, jj * 9
                let adr = fm.jntQposAdr[j]
                for r in 0 .. 2 do anchor[po + r] <- preP[po + r] + FastMath.rowDot preR ro r jp (j * 3)
                if jj + 1 < nj then
                    let no, nr = po + 3, ro + 9
                    match fm.jntType[j] with
                    | Slide ->
                        let q = qpos[adr] - fm.qpos0[adr]
                        Array.blit preR ro preR nr 9
                        for r in 0 .. 2 do preP[no + r] <- preP[po + r] + FastMath.rowDot preR ro r ax (j * 3) * q
                    | Hinge ->
                        let q = qpos[adr] - fm.qpos0[adr]
                        let sq, cq = sin q, 1.0 - cos q
                        for k in 0 .. 8 do rj[k] <- (if k % 4 = 0 then 1.0 else 0.0) + sq * fm.jntK[j * 9 + k] + cq * fm.jntKK[j * 9 + k]
                        FastMath.mul33 preR ro rj 0 preR nr
                        for r in 0 .. 2 do preP[no + r] <- anchor[po + r] - FastMath.rowDot preR nr r jp (j * 3)
                    | Ball ->
                        FastModelBuild.quatToMatInto qpos adr rj 0
                        FastMath.mul33 preR ro rj 0 preR nr
                        for r in 0 .. 2 do preP[no + r] <- anchor[po + r] - FastMath.rowDot preR nr r jp (j * 3)
                    | Free ->
                        for r in 0 .. 2 do preP[no + r] <- qpos[adr + r]
                        FastModelBuild.quatToMatInto qpos (adr + 3) preR nr
            // the adjoint of the final frame, then of the rotational cdofs read from its columns
            Array.blit gP o3 gPc 0 3
            Array.blit gR o9 gRc 0 9
            Array.Clear(anchorBar, 0, 3 * nj)
            for jj in 0 .. nj - 1 do
                let j = j0 + jj
                let d0, anchorAt =
                    match fm.jntType[j] with
                    | Ball -> fm.jntDofAdr[j], -1
                    | Free -> fm.jntDofAdr[j] + 3, fm.jntQposAdr[j]
                    | _ -> -1, -1
                if d0 >= 0 then
                    let a r = if anchorAt >= 0 then qpos[anchorAt + r] else anchor[jj * 3 + r]
                    for k in 0 .. 2 do
                        let go = (d0 + k) * 6
                        let cx, cy, cz = xmat[o9 + k], xmat[o9 + 3 + k], xmat[o9 + 6 + k]
                        let h0, h1, h2 = gcdof[go + 3], gcdof[go + 4], gcdof[go + 5]
                        // cdof = [c; a x c]: c-bar = g_top + g_bottom x a, a-bar = c x g_bottom
                        gRc[k] <- gRc[k] + gcdof[go] + (h1 * a 2 - h2 * a 1)
                        gRc[3 + k] <- gRc[3 + k] + gcdof[go + 1] + (h2 * a 0 - h0 * a 2)
                        gRc[6 + k] <- gRc[6 + k] + gcdof[go + 2] + (h0 * a 1 - h1 * a 0)
                        anchorBar[jj * 3] <- anchorBar[jj * 3] + (cy * h2 - cz * h1)
                        anchorBar[jj * 3 + 1] <- anchorBar[jj * 3 + 1] + (cz * h0 - cx * h2)
                        anchorBar[jj * 3 + 2] <- anchorBar[jj * 3 + 2] + (cx * h1 - cy * h0)
            // back through the joints
            for jj in nj - 1 .. -1 .. 0 do
                let j, po, ro = j0 + jj, jj * 3, jj * 9
                let adr, dof = fm.jntQposAdr[j], fm.jntDofAdr[j]
                match fm.jntType[j] with
                | Slide ->
                    let q = qpos[adr] - fm.qpos0[adr]
                    let mutable s = 0.0
                    for r in 0 .. 2 do
                        let aw = FastMath.rowDot preR ro r ax (j * 3)
                        s <- s + gPc[r] * aw
                        gaw[r] <- gcdof[dof * 6 + 3 + r] + gPc[r] * q
                    gq[adr] <- gq[adr] + s
                    addOuter3 gaw 0 ax (j * 3) 1.0 gRc 0
                | Hinge ->
                    let q = qpos[adr] - fm.qpos0[adr]
                    let sq, cq = sin q, cos q
                    let g0, g1 = dof * 6, dof * 6 + 3
                    let awx, awy, awz = FastMath.rowDot preR ro 0 ax (j * 3), FastMath.rowDot preR ro 1 ax (j * 3), FastMath.rowDot preR ro 2 ax (j * 3)
                    let anx, any, anz = anchor[po], anchor[po + 1], anchor[po + 2]
                    // cdof = [aw; a x aw]; x = a - R_j jp
                    gaw[0] <- gcdof[g0] + (gcdof[g1 + 1] * anz - gcdof[g1 + 2] * any)
                    gaw[1] <- gcdof[g0 + 1] + (gcdof[g1 + 2] * anx - gcdof[g1] * anz)
                    gaw[2] <- gcdof[g0 + 2] + (gcdof[g1] * any - gcdof[g1 + 1] * anx)
                    ga[0] <- (awy * gcdof[g1 + 2] - awz * gcdof[g1 + 1]) + gPc[0]
                    ga[1] <- (awz * gcdof[g1] - awx * gcdof[g1 + 2]) + gPc[1]
                    ga[2] <- (awx * gcdof[g1 + 1] - awy * gcdof[g1]) + gPc[2]
                    addOuter3 gPc 0 jp (j * 3) -1.0 gRc 0
                    // R_j = R_prev rj(q)
                    for k in 0 .. 8 do rj[k] <- (if k % 4 = 0 then 1.0 else 0.0) + sq * fm.jntK[j * 9 + k] + (1.0 - cq) * fm.jntKK[j * 9 + k]
                    mulT33 preR ro gRc 0 tmp 0
                    let mutable s = 0.0
                    for k in 0 .. 8 do s <- s + tmp[k] * (cq * fm.jntK[j * 9 + k] + sq * fm.jntKK[j * 9 + k])
                    gq[adr] <- gq[adr] + s
                    mul33T gRc 0 rj 0 newR 0
                    // anchor = x_prev + R_prev jp, aw = R_prev axis
                    addOuter3 ga 0 jp (j * 3) 1.0 newR 0
                    addOuter3 gaw 0 ax (j * 3) 1.0 newR 0
                    Array.blit newR 0 gRc 0 9
                    Array.blit ga 0 gPc 0 3
                | Ball ->
                    for r in 0 .. 2 do ga[r] <- anchorBar[po + r] + gPc[r]
                    addOuter3 gPc 0 jp (j * 3) -1.0 gRc 0
                    FastModelBuild.quatToMatInto qpos adr rj 0
                    mulT33 preR ro gRc 0 tmp 0
                    quatToMatAdjoint qpos adr tmp 0 gq
                    mul33T gRc 0 rj 0 newR 0
                    addOuter3 ga 0 jp (j * 3) 1.0 newR 0
                    Array.blit newR 0 gRc 0 9
                    Array.blit ga 0 gPc 0 3
                | Free ->
                    for r in 0 .. 2 do gq[adr + r] <- gq[adr + r] + gPc[r] + anchorBar[po + r]
                    quatToMatAdjoint qpos (adr + 3) gRc 0 gq
                    Array.Clear gRc
                    Array.Clear gPc
            // the base frame: R0 = R_par bodyR, x0 = x_par + R_par bodyPos
            if par >= 0 then
                for r in 0 .. 2 do
                    gP[par * 3 + r] <- gP[par * 3 + r] + gPc[r]
                    for c in 0 .. 2 do
                        let mutable s = gPc[r] * fm.bodyPos[o3 + c]
                        for k in 0 .. 2 do s <- s + gRc[r * 3 + k] * fm.bodyR[o9 + c * 3 + k]
                        gR[par * 9 + r * 3 + c] <- gR[par * 9 + r * 3 + c] + s

    /// Adjoints of the entries ids (0 = constant) into g.
    let private gather (adj: float[]) (ids: int[]) (g: float[]) =
        for i in 0 .. ids.Length - 1 do
            let id = ids[i]
            g[i] <- if id > 0 then adj[id - 1] else 0.0

    /// Forward kinematics (FastStep.kinematicsInto): xpos, xmat, xipos and cdof from qpos, as a tape block that keeps
    /// qpos and the final frames (kinematicsAdjoint).
    [<Sealed>]
    type KinematicsBlock(fm: FastModel<float>, scratch: Arena<float>, qposIds: int[], qpos: float[], xpos: float[], xmat: float[],
                         xposIds: int[], xmatIds: int[], xiposIds: int[], cdofIds: int[]) =
        inherit TapeBlock()
        override _.Backward(adj: float[]) =
            let nb, nq, nv = fm.nbody, fm.nq, fm.nv
            scratch.Reset()
            let gP, gR, gxipos, gcdof, gq = scratch.Take(nb * 3), scratch.Take(nb * 9), scratch.Take(nb * 3), scratch.Take(nv * 6), scratch.Zeroed nq
            gather adj xposIds gP
            gather adj xmatIds gR
            gather adj xiposIds gxipos
            gather adj cdofIds gcdof
            kinematicsAdjoint fm scratch qpos xpos xmat gP gR gxipos gcdof gq
            scatter adj qposIds gq 1.0

    /// The adjoint of the spatial inertias (FastStep.spatialInertia) at xmat, xipos: from the adjoint gcin of cinert,
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

    /// Spatial inertias of every body (FastStep.spatialInertia): cinert from xmat and xipos, as a tape block
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

    /// The adjoint of RNEA (FastStep.rnea) at qvel with the intermediates it computed (cvel, cacc, cfrc, cdd): from the
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

    /// Bias forces by RNEA (FastStep.rnea): bias and the body velocities cvel (which contacts read) from qvel, cdof
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

    /// The adjoint of CRBA (FastStep.crba) with the composite inertias icomp it computed: from the adjoints gPair of
    /// qM's entries (j, k) for j in dofAnc[k], k ascending (each standing for both halves), adds that of cdof into
    /// gcdof and writes that of the composites' sum cinert + hK kbody into gic.
    let internal crbaAdjoint (fm: FastModel<float>) (scratch: Arena<float>) (cdof: float[]) (icomp: float[]) (gPair: float[]) (gic: float[]) (gcdof: float[]) =
        let nb, nv = fm.nbody, fm.nv
        Array.Clear(gic, 0, nb * 36)
        let f, gf = scratch.Take 6, scratch.Take 6
        let mutable n = 0
        for k in 0 .. nv - 1 do
            let b = fm.dofBody[k]
            FastMath.mul66v icomp (b * 36) cdof (k * 6) f 0
            Array.Clear gf
            let mutable any = false
            for j in fm.dofAnc[k] do
                let g = gPair[n]
                n <- n + 1
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

    /// The mass matrix by CRBA (FastStep.crba): qM from cinert, kbody (scaled by hK) and cdof, as a tape block
    /// (crbaAdjoint).
    [<Sealed>]
    type CrbaBlock(fm: FastModel<float>, scratch: Arena<float>, hK: float, cinertIds: int[], kbodyIds: int[], cdofIds: int[], cdof: float[],
                   icomp: float[], outIds: int[]) =
        inherit TapeBlock()
        override _.Backward(adj: float[]) =
            let nb, nv = fm.nbody, fm.nv
            scratch.Reset()
            let gcdof, gic, gPair = scratch.Zeroed(nv * 6), scratch.Take(nb * 36), scratch.Take outIds.Length
            gather adj outIds gPair
            crbaAdjoint fm scratch cdof icomp gPair gic gcdof
            scatter adj cinertIds gic 1.0
            if hK > 0.0 then scatter adj kbodyIds gic hK
            scatter adj cdofIds gcdof 1.0

    /// The adjoint of the solve of the symmetric system A x = b by FastStep.ldlSolve (factor: A's factorisation, x the
    /// solution): turns the adjoint g of x into that of b (A^-1 g) and writes A's into gA at [k * n + i] for each
    /// entry of the pattern (i = k or an ancestor of k), standing for both halves: -(b-bar_k x_i + b-bar_i x_k).
    let internal ldlAdjoint (n: int) (parent: int[]) (factor: float[]) (x: float[]) (g: float[]) (gA: float[]) =
        FastStep.ldlSolveFactored n parent factor g
        for k in 0 .. n - 1 do
            gA[k * n + k] <- -(g[k] * x[k])
            let mutable i = parent[k]
            while i >= 0 do
                gA[k * n + i] <- -(g[k] * x[i] + g[i] * x[k])
                i <- parent[i]

    /// The solve of the symmetric system A x = b by FastStep.ldlSolve (x overwrites b): reads A's diagonal and the
    /// entries between a dof and its ancestors (the lower triangle of the pattern), which stand for both halves.
    [<Sealed>]
    type SolveBlock(n: int, scratch: Arena<float>, parent: int[], factor: float[], x: float[], aIds: int[], bIds: int[], outIds: int[]) =
        inherit TapeBlock()
        override _.Backward(adj: float[]) =
            scratch.Reset()
            let g, gA = scratch.Take n, scratch.Take(n * n)
            gather adj outIds g
            ldlAdjoint n parent factor x g gA
            scatter adj bIds g 1.0
            for k in 0 .. n - 1 do
                let id = aIds[k * n + k]
                if id > 0 then adj[id - 1] <- adj[id - 1] + gA[k * n + k]
                let mutable i = parent[k]
                while i >= 0 do
                    let id = aIds[k * n + i]
                    if id > 0 then adj[id - 1] <- adj[id - 1] + gA[k * n + i]
                    i <- parent[i]

    /// The blocks of one recording, with a float work buffer for their forward values.
    [<Sealed>]
    type Stages(fm: FastModel<float>) =
        let fw = FastModelBuild.rent fm
        let crbaOutputs = fm.dofAnc |> Array.sumBy Array.length
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
            FastStep.kinematicsInto fm fw q
            let tape = ScalarTape.Current
            let xposIds, xmatIds, xiposIds, cdofIds = savedIds.Take(nb * 3), savedIds.Take(nb * 9), savedIds.Take(nb * 3), savedIds.Take(nv * 6)
            let block =
                KinematicsBlock(fm, kinematicsScratch, idsOf savedIds qpos nq, q, copyOf savedFloats fw.xpos (nb * 3),
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
            for b in 0 .. nb - 1 do FastStep.spatialInertia fm fw b
            let tape = ScalarTape.Current
            let outIds = savedIds.Take(nb * 36)
            let block = InertiaBlock(fm, inertiaScratch, idsOf savedIds w.xmat (nb * 9), idsOf savedIds w.xipos (nb * 3), copyOf savedFloats fw.xmat (nb * 9),
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
            FastStep.rnea fm fw q
            let tape = ScalarTape.Current
            let outIds, cvelIds = savedIds.Take nv, savedIds.Take(nb * 6)
            let block =
                RneaBlock(fm, rneaScratch, idsOf savedIds qvel nv, idsOf savedIds w.cdof (nv * 6), idsOf savedIds w.cinert (nb * 36), q,
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
            FastStep.crba fm fw hK
            let tape = ScalarTape.Current
            let outIds = savedIds.Take crbaOutputs
            let kbodyIds = if hK > 0.0 then idsOf savedIds w.kbody (nb * 36) else [||]
            let block =
                CrbaBlock(fm, crbaScratch, hK, idsOf savedIds w.cinert (nb * 36), kbodyIds, idsOf savedIds w.cdof (nv * 6),
                          copyOf savedFloats fw.cdof (nv * 6), copyOf savedFloats fw.icomp (nb * 36), outIds)
            tape.Block block
            Array.Clear w.qM
            let mutable n = 0
            for k in 0 .. nv - 1 do
                for j in m.dofAnc[k] do
                    let id = tape.Leaf()
                    outIds[n] <- id
                    n <- n + 1
                    let v = TapeReal(fw.qM[j * nv + k], id)
                    w.qM[j * nv + k] <- v
                    w.qM[k * nv + j] <- v

        /// FastStep.ldlSolve of a x = b (x holds b, then the solution), as one block; a is left as it was.
        member _.Solve(n: int, parent: int[], a: TapeReal[], x: TapeReal[]) =
            let factor, sol = savedFloats.Take(n * n), savedFloats.Take n
            valuesInto a (n * n) factor
            valuesInto x n sol
            FastStep.ldlSolve n parent factor sol
            let tape = ScalarTape.Current
            let outIds = savedIds.Take n
            tape.Block(SolveBlock(n, solveScratch, parent, factor, sol, idsOf savedIds a (n * n), idsOf savedIds x n, outIds))
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
                                   (fun n parent a x -> st.Solve(n, parent, a, x)) m w sp h modes
        | Integrator.RK4 ->
            FastStep.rk4StepWith (fun m w sp h needC modes qpos qvel ctrl -> evaluate st m w sp h needC modes qpos qvel ctrl)
                                 (fun n parent a x -> st.Solve(n, parent, a, x)) m w sp h modes
