namespace Genesis.Physics

open System
open Genesis

/// What every narrow phase shares on the Tensor path: a contact point set (Points), geom frames and the gradient-safe
/// normalisation with its floors.
module ContactGeometry =
    /// Contact points of one pair: bodies, world points [B; n; 3], normals [B; n; 3], depths [B; n], friction.
    type internal Points =
        { bodyA: int
          bodyB: int
          point: Tensor
          normal: Tensor
          depth: Tensor
          friction: float }

    let internal frame (kin: Kinematics) (body: int) (g: GeomSpec) =
        let r = kin.xmat.narrow(1, body, 1).squeeze(1)
        let p = kin.xpos.narrow(1, body, 1).squeeze(1)
        let gr = r.matmul(Constants.get g Constants.GeomRotation p (fun () -> Spatial.quatToMat (Spatial.constLike p [| 4 |] g.quat)))
        let gp = p + Spatial.rotate r (Constants.ofValues g Constants.GeomPosition p [| 3 |] (fun () -> g.pos))
        gp, gr

    let internal toWorld (gp: Tensor) (gr: Tensor) (local: Tensor) =
        gp.unsqueeze(1) + gr.unsqueeze(1).matmul(local.unsqueeze(-1)).squeeze(-1)

    /// The squared-length floor of the gradient-safe normalisation of a closest-point offset (its length is at least 1e-9).
    [<Literal>]
    let internal NormFloorSq = 1e-18

    /// A point whose floored distance to a box is at most this is inside it (the floor is 1e-9; twice that leaves room
    /// for rounding). Both the Tensor path and the fast path (SegmentBoxKernel.segmentBox) decide "inside" by it.
    [<Literal>]
    let internal InsideDistance = 2e-9

    let internal safeNormalize (v: Tensor) =
        let n = ((v * v).sum(-1, true) + NormFloorSq).sqrt()
        v / n, n

/// What every narrow-phase kernel shares: geom frames, and adding one point's law into the body wrenches and stiffness.
module internal ContactPointKernel =
    open Genesis.Physics.FastMath
    open Genesis.Real
    open Genesis.HomogeneousArithmetic

    /// Depth / softness below which a point is skipped.
    [<Literal>]
    let SkipBelow = -50.0

    /// World frames of the collidable geoms: R_body R_geom and x_body + R_body pos_geom.
    let inline internal geomFrames (m: FastModel< ^T>) (w: FastWork< ^T>) =
        let xpos, xmat, gx, gm = w.xpos, w.xmat, w.geomXpos, w.geomXmat
        for g in 0 .. m.geomBody.Length - 1 do
            let b = m.geomBody[g]
            let bo, ro, go, gr = b * 3, b * 9, g * 3, g * 9
            mul33 xmat ro m.geomR gr gm gr
            for i in 0 .. 2 do
                gx[go + i] <- xpos[bo + i] + rowDot xmat ro i m.geomPos go

    /// Adds K to the 6 x 6 block at k[o..].
    let inline internal addBlock (k: ^T[]) (o: int) (src: ^T[]) =
        for i in 0 .. 35 do k[o + i] <- k[o + i] + src[i]

    /// C entries between the dofs of two moving bodies: C[j, k] -= cdof_j . K cdof_k for j above A, k above B (both
    /// halves), appended to w.cross (the islands' terms: linear in contacts, no nv x nv buffer).
    let inline internal crossTerms (m: FastModel< ^T>) (w: FastWork< ^T>) (ba: int) (bb: int) (h: float) =
        let kp, kc, cdof, cross = w.kpoint, w.kcdof, w.cdof, w.cross
        for k in m.bodyDofs[bb] do
            mul66v kp 0 cdof (k * 6) kc (k * 6)
        for j in m.bodyDofs[ba] do
            for k in m.bodyDofs[bb] do
                cross.Add(j, k, lift h * dot6 cdof (j * 6) kc (k * 6))

    /// ContactLaw.Point for the scalar type ^T (statically resolved: inlined on floats, a tape block on TapeReal).
    let inline private lawWith (_: ^W) (settings: LawSettings) (kc: ^T) (c: ^T) (pt: LawPoint< ^T>) (cv: ^T[]) (wrench: ^T[]) (k: ^T[]) =
        ((^W or ^T): (static member Point: LawSettings * ^T * ^T * LawPoint< ^T> * ^T[] * ^T[] * ^T[] -> unit) (settings, kc, c, pt, cv, wrench, k))

    /// Adds one contact point of pair pr between bodies ba and bb: world point p, unit normal n (from B into A), depth d,
    /// friction mu. The point's velocity Jacobian is J = X (J_A - J_B) with X = [-[p]x, I] acting on spatial velocities,
    /// so its force enters as the wrench [p x f; f] on A (and minus on B), and J^T L J as the spatial stiffness X^T L X
    /// of A and B (CRBA projects them, in M's sparsity pattern), with cross terms when both bodies move.
    let inline internal addPoint (m: FastModel< ^T>) (w: FastWork< ^T>) (cp: ContactParams) (h: float) (needC: bool) (ba: int) (bb: int)
                         (px: ^T) (py: ^T) (pz: ^T) (nx: ^T) (ny: ^T) (nz: ^T) (depth: ^T) (mu: ^T) =
        let movingA, movingB = m.bodyDofs[ba].Length > 0, m.bodyDofs[bb].Length > 0
        if not (value depth / cp.softness < SkipBelow) && (movingA || movingB) then
            let ao, bo = ba * 6, bb * 6
            // the force law (ContactLaw: inlined on floats, one tape block per point on TapeReal)
            let wr = w.pointWrench
            let settings = { softness = cp.softness; frictionVelocity = cp.frictionVelocity; step = h; withK = needC }
            let pt = { px = px; py = py; pz = pz; nx = nx; ny = ny; nz = nz; depth = depth; mu = mu; velA = ao; velB = bo }
            lawWith Unchecked.defaultof<ContactLaw> settings m.contactStiffness m.contactDamping pt w.cvel wr w.kpoint
            let wb = w.wbody
            if movingA then
                for i in 0 .. 5 do wb[ao + i] <- wb[ao + i] + wr[i]
            if movingB then
                for i in 0 .. 5 do wb[bo + i] <- wb[bo + i] - wr[i]
            if needC then
                if movingA then addBlock w.kbody (ba * 36) w.kpoint
                if movingB then addBlock w.kbody (bb * 36) w.kpoint
                if movingA && movingB then crossTerms m w ba bb h
