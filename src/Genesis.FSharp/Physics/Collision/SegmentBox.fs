namespace Genesis.Physics

open System
open Genesis
open Genesis.Physics.ContactGeometry

/// Sphere/capsule against a box: one contact per end sphere at the box point closest to its centre; a centre inside
/// the box pushes out through the face of least penetration.
module SegmentBox =
    /// Spheres (centres [B; n; 3], radius ra) on body A against box B: closest-point contacts.
    let private spheresVsBox (kin: Kinematics) (ba: int) (centres: Tensor) (ra: float) (bb: int, gb: GeomSpec) (mu: float) =
        let bp, br = frame kin bb gb
        let h = Constants.ofValues gb Constants.BoxHalfExtents bp [| 3 |] (fun () -> gb.size)
        let local = br.transpose(1, 2).unsqueeze(1).matmul((centres - bp.unsqueeze(1)).unsqueeze(-1)).squeeze(-1)
        let clamped = local.maximum(-h).minimum(h)
        let outside = local - clamped
        let dirOut, distOut = safeNormalize outside
        // inside: push out through the nearest face
        let gap = h - local.abs()
        let axis = gap.argmin(-1, true)
        // one-hot of the axis by comparison (no scatter: its index check would read a flag back from a device)
        let onehot = axis.cast(local.dtype).eq(Spatial.constLike local [| 3 |] [| 0.0; 1.0; 2.0 |]).cast(local.dtype)
        let sgn = Tensor.where(local.ge(0.0), gs.onesLike local, -gs.onesLike local)
        let dirIn = onehot * sgn
        let depthIn = (gap * onehot).sum(-1, true)
        // safeNormalize floors the distance at 1e-9, so "inside" is a distance at that floor
        let isInside = distOut.le(InsideDistance)
        let nLocal = Tensor.where(isInside, dirIn, dirOut)
        let depth = Tensor.where(isInside, depthIn + ra, ra - distOut).squeeze(-1)
        let n = br.unsqueeze(1).matmul(nLocal.unsqueeze(-1)).squeeze(-1)
        { bodyA = ba; bodyB = bb; point = centres - n * ra; normal = n; depth = depth; friction = mu }

    /// The contacts of sphere/capsule A with box B.
    let internal contacts (kin: Kinematics) (ba: int, ga: GeomSpec) (bb: int, gb: GeomSpec) (mu: float) : Points list =
        let a0, a1, ra = SegmentSegment.segment kin ba ga
        let centres = if ga.gtype = Sphere then a0.unsqueeze(1) else gs.stack([| a0; a1 |], 1)
        [ spheresVsBox kin ba centres ra (bb, gb) mu ]

/// Sphere/capsule against a box on arrays, generic over the scalar.
module internal SegmentBoxKernel =
    open Genesis.Physics.FastMath
    open Genesis.Real
    open Genesis.HomogeneousArithmetic
    open Genesis.Physics.ContactPointKernel

    /// Sphere/capsule A against box B: one contact per end sphere at the closest point of the box.
    let inline internal segmentBox (m: FastModel< ^T>) (w: FastWork< ^T>) (cp: ContactParams) (h: float) (needC: bool) (a: int) (b: int) (mu: ^T) =
        let ba, bb = m.geomBody[a], m.geomBody[b]
        let s = w.scratch
        SegmentSegmentKernel.segmentInto m w a s 0
        let ra = lift m.geomSpec[a].size[0]
        let hb = m.geomSpec[b].size
        let gx, gm = w.geomXpos, w.geomXmat
        let bo, bm = b * 3, b * 9
        let centres = if m.geomSpec[a].gtype = Sphere then 1 else 2
        for c in 0 .. centres - 1 do
            let co = 3 * c
            let dx, dy, dz = s[co] - gx[bo], s[co + 1] - gx[bo + 1], s[co + 2] - gx[bo + 2]
            // local = R_B^T d, its clamp to the box, and the nearest face when inside
            for i in 0 .. 2 do
                let l = gm[bm + i] * dx + gm[bm + 3 + i] * dy + gm[bm + 6 + i] * dz
                s[12 + i] <- l
                s[15 + i] <- l - tmin (tmax l (lift (-hb[i]))) (lift hb[i])
                s[18 + i] <- lift hb[i] - abs l
            let ox, oy, oz = s[15], s[16], s[17]
            let distOut = sqrt ((ox * ox + oy * oy + oz * oz) + lift ContactGeometry.NormFloorSq)
            let mutable axis = 0
            for i in 1 .. 2 do
                if not (Double.IsNaN(value s[18 + axis])) && (Double.IsNaN(value s[18 + i]) || value s[18 + i] < value s[18 + axis]) then axis <- i
            let isInside = value distOut <= ContactGeometry.InsideDistance
            let depth = if isInside then s[18 + axis] + ra else ra - distOut
            for i in 0 .. 2 do
                s[21 + i] <-
                    if isInside then lift (if i = axis then (if value s[12 + i] >= 0.0 then 1.0 else -1.0) else 0.0)
                    else s[15 + i] / distOut
            let lx, ly, lz = s[21], s[22], s[23]
            let nx = gm[bm] * lx + gm[bm + 1] * ly + gm[bm + 2] * lz
            let ny = gm[bm + 3] * lx + gm[bm + 4] * ly + gm[bm + 5] * lz
            let nz = gm[bm + 6] * lx + gm[bm + 7] * ly + gm[bm + 8] * lz
            addPoint m w cp h needC ba bb (s[co] - nx * ra) (s[co + 1] - ny * ra) (s[co + 2] - nz * ra) nx ny nz depth mu
