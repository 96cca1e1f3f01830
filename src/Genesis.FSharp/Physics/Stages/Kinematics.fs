namespace Genesis.Physics

open System
open Genesis

/// Poses and motion subspaces of every body, batched over envs.
type Kinematics =
    { /// Body frame origins [B; nbody; 3].
      xpos: Tensor
      /// Body frame orientations [B; nbody; 3; 3].
      xmat: Tensor
      /// Body COM positions [B; nbody; 3].
      xipos: Tensor
      /// Motion subspace of each dof about the world origin, [B; nv; 6] = [axis; anchor x axis].
      cdof: Tensor }

/// Forward kinematics (MuJoCo mj_kinematics + the cdof part of mj_comPos, about the world origin).
module Kinematics =
    let private pick (t: Tensor) (i: int) = t.[i]

    /// Link poses and dof motion subspaces from qpos [B; nq].
    let compute (model: Model) (qpos: Tensor) : Kinematics =
        let topo, p = model.topology, model.parameters
        let b = qpos.shape[0]
        let dtype = qpos.dtype
        // constant parameters give constant rotations: computed once per raw tensor
        let bodyR =
            if p.bodyQuat.isConstant then (Constants.get p.bodyQuat.raw Constants.BodyRotation p.bodyQuat (fun () -> Spatial.quatToMat p.bodyQuat)).WithScene p.bodyQuat.scene
            else Spatial.quatToMat p.bodyQuat
        let zeros3 = Constants.ofValues Constants.shared (Constants.ZeroPositions b) qpos [| b; 3 |] (fun () -> Array.zeroCreate (3 * b))
        let eye3 = Constants.get Constants.shared (Constants.Identities3 b) qpos (fun () -> (Spatial.eyeLike qpos 3).expand([ b; 3; 3 ]))
        let xpos = Array.zeroCreate<Tensor> topo.nbody
        let xmat = Array.zeroCreate<Tensor> topo.nbody
        let cdof = Array.zeroCreate<Tensor> topo.nv
        let q0 = topo.qpos0
        for i in 0 .. topo.nbody - 1 do
            let par = topo.bodyParent[i]
            let pPar, rPar = if par < 0 then zeros3, eye3 else xpos[par], xmat[par]
            let mutable r = rPar.matmul(pick bodyR i)
            let mutable pos = pPar + Spatial.rotate rPar (pick p.bodyPos i)
            let pending = ResizeArray<int * Tensor>()
            for j in topo.bodyJoints[i] do
                let adr = topo.jntQposAdr[j]
                let dof = topo.jntDofAdr[j]
                let jpos = pick p.jntPos j
                let anchor = pos + Spatial.rotate r jpos
                let axisW = Spatial.rotate r (pick p.jntAxis j)
                match topo.jntType[j] with
                | Slide ->
                    let q = qpos.narrow(1, adr, 1) - q0[adr]
                    pos <- pos + axisW * q
                    cdof[dof] <- gs.cat([| gs.zerosLike axisW; axisW |], -1)
                | Hinge ->
                    let q = qpos.narrow(1, adr, 1).squeeze(1) - q0[adr]
                    r <- r.matmul(Spatial.axisAngleToMat (pick p.jntAxis j) q)
                    pos <- anchor - Spatial.rotate r jpos
                    cdof[dof] <- gs.cat([| axisW; Spatial.cross anchor axisW |], -1)
                | Ball ->
                    r <- r.matmul(Spatial.quatToMat (qpos.narrow(1, adr, 4)))
                    pos <- anchor - Spatial.rotate r jpos
                    pending.Add((dof, anchor))
                | Free ->
                    pos <- qpos.narrow(1, adr, 3)
                    r <- Spatial.quatToMat (qpos.narrow(1, adr + 3, 4))
                    for k in 0 .. 2 do
                        cdof[dof + k] <-
                            Constants.get Constants.shared (Constants.FreeLinearAxis(b, k)) qpos (fun () ->
                                Spatial.constLike qpos [| 6 |] (Array.init 6 (fun m -> if m = 3 + k then 1.0 else 0.0)) |> fun c -> c.expand([ b; 6 ]))
                    pending.Add((dof + 3, pos))
            // ball and free rotations: the body's final axes about the joint anchor
            for (dof, anchor) in pending do
                for k in 0 .. 2 do
                    let axis = r.narrow(2, k, 1).squeeze(2)
                    cdof[dof + k] <- gs.cat([| axis; Spatial.cross anchor axis |], -1)
            xpos[i] <- pos
            xmat[i] <- r
        let xposT = gs.stack(xpos, 1)
        let xmatT = gs.stack(xmat, 1)
        let xipos = xposT + Spatial.rotate xmatT p.bodyIpos
        let cdofT = if topo.nv = 0 then gs.zeros([ b; 0; 6 ], dtype = dtype) else gs.stack(cdof, 1)
        { xpos = xposT; xmat = xmatT; xipos = xipos; cdof = cdofT }

/// Forward kinematics on arrays, generic over the scalar (float64: the fast path; TapeReal: the taped path).
module internal KinematicsKernel =
    open Genesis.Physics.FastMath
    open Genesis.Real
    open Genesis.HomogeneousArithmetic

    /// Writes [axis; anchor x axis] as the motion subspace of dof d.
    let inline internal setCdof (cdof: ^T[]) (d: int) (ax: ^T) (ay: ^T) (az: ^T) (px: ^T) (py: ^T) (pz: ^T) =
        let o = d * 6
        cdof[o] <- ax
        cdof[o + 1] <- ay
        cdof[o + 2] <- az
        cdof[o + 3] <- py * az - pz * ay
        cdof[o + 4] <- pz * ax - px * az
        cdof[o + 5] <- px * ay - py * ax

    /// One joint of body i (frame r = xmat[o9..], origin xpos[o3..]): moves the frame and writes its cdof.
    let inline internal joint (m: FastModel< ^T>) (w: FastWork< ^T>) (qpos: ^T[]) (i: int) (j: int) (pending: byref<int>) =
        let xpos, xmat, cdof = w.xpos, w.xmat, w.cdof
        let o3, o9, j3 = i * 3, i * 9, j * 3
        let adr, dof = m.jntQposAdr[j], m.jntDofAdr[j]
        let jp = m.jntPos
        let anx = xpos[o3] + rowDot xmat o9 0 jp j3
        let any = xpos[o3 + 1] + rowDot xmat o9 1 jp j3
        let anz = xpos[o3 + 2] + rowDot xmat o9 2 jp j3
        let awx, awy, awz = rowDot xmat o9 0 m.jntAxis j3, rowDot xmat o9 1 m.jntAxis j3, rowDot xmat o9 2 m.jntAxis j3
        // pos = anchor - r jpos once r has turned
        let inline reanchor () =
            let px, py, pz = rowDot xmat o9 0 jp j3, rowDot xmat o9 1 jp j3, rowDot xmat o9 2 jp j3
            xpos[o3] <- anx - px
            xpos[o3 + 1] <- any - py
            xpos[o3 + 2] <- anz - pz
        match m.jntType[j] with
        | Slide ->
            let q = qpos[adr] - m.qpos0[adr]
            xpos[o3] <- xpos[o3] + awx * q
            xpos[o3 + 1] <- xpos[o3 + 1] + awy * q
            xpos[o3 + 2] <- xpos[o3 + 2] + awz * q
            let zero = lift 0.0
            setCdof cdof dof zero zero zero zero zero zero
            cdof[dof * 6 + 3] <- awx
            cdof[dof * 6 + 4] <- awy
            cdof[dof * 6 + 5] <- awz
        | Hinge ->
            // r <- r (I + sin q K + (1 - cos q) K^2) (Rodrigues)
            let q = qpos[adr] - m.qpos0[adr]
            let s, c = sin q, lift 1.0 - cos q
            let rj, r0 = w.tmp9, w.tmp9b
            for k in 0 .. 8 do
                rj[k] <- (lift (if k % 4 = 0 then 1.0 else 0.0) + s * m.jntK[j * 9 + k]) + c * m.jntKK[j * 9 + k]
            Array.blit xmat o9 r0 0 9
            mul33 r0 0 rj 0 xmat o9
            reanchor ()
            setCdof cdof dof awx awy awz anx any anz
        | Ball ->
            let rj, r0 = w.tmp9, w.tmp9b
            FastModelBuild.quatToMatInto qpos adr rj 0
            Array.blit xmat o9 r0 0 9
            mul33 r0 0 rj 0 xmat o9
            reanchor ()
            w.pendingDof[pending] <- dof
            w.pendingAnchor[3 * pending] <- anx
            w.pendingAnchor[3 * pending + 1] <- any
            w.pendingAnchor[3 * pending + 2] <- anz
            pending <- pending + 1
        | Free ->
            xpos[o3] <- qpos[adr]
            xpos[o3 + 1] <- qpos[adr + 1]
            xpos[o3 + 2] <- qpos[adr + 2]
            FastModelBuild.quatToMatInto qpos (adr + 3) xmat o9
            let zero = lift 0.0
            for k in 0 .. 2 do
                setCdof cdof (dof + k) zero zero zero zero zero zero
                cdof[(dof + k) * 6 + 3 + k] <- lift 1.0
            w.pendingDof[pending] <- dof + 3
            w.pendingAnchor[3 * pending] <- qpos[adr]
            w.pendingAnchor[3 * pending + 1] <- qpos[adr + 1]
            w.pendingAnchor[3 * pending + 2] <- qpos[adr + 2]
            pending <- pending + 1

    /// Forward kinematics (Kinematics.compute): xpos, xmat, xipos and cdof of every body from qpos.
    let inline internal kinematicsInto (m: FastModel< ^T>) (w: FastWork< ^T>) (qpos: ^T[]) =
        let xpos, xmat = w.xpos, w.xmat
        for i in 0 .. m.nbody - 1 do
            let par = m.parent[i]
            let o3, o9 = i * 3, i * 9
            if par < 0 then
                Array.blit m.bodyR o9 xmat o9 9
                Array.blit m.bodyPos o3 xpos o3 3
            else
                mul33 xmat (par * 9) m.bodyR o9 xmat o9
                for k in 0 .. 2 do
                    xpos[o3 + k] <- xpos[par * 3 + k] + rowDot xmat (par * 9) k m.bodyPos o3
            let mutable pending = 0
            for j in m.bodyJntAdr[i] .. m.bodyJntAdr[i] + m.bodyJntNum[i] - 1 do
                joint m w qpos i j &pending
            // ball and free rotations: the body's final axes about the joint anchor
            for p in 0 .. pending - 1 do
                let ax, ay, az = w.pendingAnchor[3 * p], w.pendingAnchor[3 * p + 1], w.pendingAnchor[3 * p + 2]
                for k in 0 .. 2 do
                    setCdof w.cdof (w.pendingDof[p] + k) xmat[o9 + k] xmat[o9 + 3 + k] xmat[o9 + 6 + k] ax ay az
        for i in 0 .. m.nbody - 1 do
            for k in 0 .. 2 do
                w.xipos[i * 3 + k] <- xpos[i * 3 + k] + rowDot xmat (i * 9) k m.bodyIpos (i * 3)

/// The hand-written adjoint of forward kinematics and its tape block.
module internal KinematicsAdjoint =
    open Genesis.Physics.AdjointArrays

    /// The frame before each joint of body b (origin preP[3 jj..], axes preR[9 jj..]) and each joint's anchor,
    /// from the body's base frame already in preP[0..2], preR[0..8] (KinematicsKernel.joint's recursion replayed).
    let private replayJoints (fm: FastModel<float>) (qpos: float[]) (b: int) (preP: float[]) (preR: float[]) (anchor: float[]) (rj: float[]) =
        let jp, ax = fm.jntPos, fm.jntAxis
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

    /// The adjoint of the rotational cdofs of ball and free joints, read from the final frame's columns (xmat at o9):
    /// adds into gRc (the final frame's adjoint) and anchorBar (the joint anchors').
    let private rotationalCdofAdjoint (fm: FastModel<float>) (qpos: float[]) (xmat: float[]) (b: int) (anchor: float[]) (gcdof: float[])
                                      (gRc: float[]) (anchorBar: float[]) =
        let o9, j0, nj = b * 9, fm.bodyJntAdr[b], fm.bodyJntNum[b]
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

    /// Back through the joints of body b: from the final frame's adjoint (gPc, gRc) to that of the base frame (left in
    /// gPc, gRc), adding the joints' coordinates' adjoints into gq.
    /// rj, tmp, newR (9 each), ga, gaw (3 each): scratch.
    let private jointsAdjoint (fm: FastModel<float>) (qpos: float[]) (b: int) (preR: float[]) (anchor: float[]) (anchorBar: float[])
                              (gcdof: float[]) (gPc: float[]) (gRc: float[]) (gq: float[])
                              (rj: float[]) (tmp: float[]) (newR: float[]) (ga: float[]) (gaw: float[]) =
        let jp, ax = fm.jntPos, fm.jntAxis
        let j0, nj = fm.bodyJntAdr[b], fm.bodyJntNum[b]
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

    /// The adjoint of forward kinematics (KinematicsKernel.kinematicsInto) at qpos with final frames xpos, xmat: from the
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
            replayJoints fm qpos b preP preR anchor rj
            // the adjoint of the final frame, then of the rotational cdofs read from its columns
            Array.blit gP o3 gPc 0 3
            Array.blit gR o9 gRc 0 9
            Array.Clear(anchorBar, 0, 3 * fm.bodyJntNum[b])
            rotationalCdofAdjoint fm qpos xmat b anchor gcdof gRc anchorBar
            // back through the joints
            jointsAdjoint fm qpos b preR anchor anchorBar gcdof gPc gRc gq rj tmp newR ga gaw
            // the base frame: R0 = R_par bodyR, x0 = x_par + R_par bodyPos
            if par >= 0 then
                for r in 0 .. 2 do
                    gP[par * 3 + r] <- gP[par * 3 + r] + gPc[r]
                    for c in 0 .. 2 do
                        let mutable s = gPc[r] * fm.bodyPos[o3 + c]
                        for k in 0 .. 2 do s <- s + gRc[r * 3 + k] * fm.bodyR[o9 + c * 3 + k]
                        gR[par * 9 + r * 3 + c] <- gR[par * 9 + r * 3 + c] + s

    /// Forward kinematics (KinematicsKernel.kinematicsInto): xpos, xmat, xipos and cdof from qpos, as a tape block that keeps
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
