namespace Genesis.Physics

open System
open Genesis
open Genesis.Physics.FastMath
open Genesis.Real
open Genesis.HomogeneousArithmetic

/// Contact.compute on arrays for one env (the fast path): the same broad-phase test, narrow phase per geom-type pair
/// and smooth force law, accumulating generalised forces and the damping matrix C into a FastWork. Points deeper
/// outside than SkipBelow softness lengths are skipped: their force is below e^-50 of k s, and exactly 0 in the
/// Tensor path once e^x underflows.
module internal FastContact =
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

    /// Contact.candidatePairs' test: x intervals of the inflated bounding spheres overlap and their y-z distance is small.
    let inline internal isCandidate (m: FastModel< ^T>) (w: FastWork< ^T>) (a: int) (b: int) (margin: float) =
        let ra = m.geomBound[a] + margin
        let rb = m.geomBound[b] + margin
        if Double.IsInfinity ra || Double.IsInfinity rb then true
        else
            let gx = w.geomXpos
            let ax, bx = value gx[a * 3], value gx[b * 3]
            let dy, dz = value gx[a * 3 + 1] - value gx[b * 3 + 1], value gx[a * 3 + 2] - value gx[b * 3 + 2]
            Math.Max(ax - ra, bx - rb) <= Math.Min(ax + ra, bx + rb) && dy * dy + dz * dz <= (ra + rb) * (ra + rb)

    /// Adds K to the 6 x 6 block at k[o..].
    let inline internal addBlock (k: ^T[]) (o: int) (src: ^T[]) =
        for i in 0 .. 35 do k[o + i] <- k[o + i] + src[i]

    /// C entries between the dofs of two moving trees: C[j, k] -= cdof_j . K cdof_k for j above A, k above B (both halves).
    let inline internal crossTerms (m: FastModel< ^T>) (w: FastWork< ^T>) (ba: int) (bb: int) (h: float) =
        let kp, kc, cdof, cm, nv = w.kpoint, w.kcdof, w.cdof, w.cmat, m.nv
        for k in m.bodyDofs[bb] do
            mul66v kp 0 cdof (k * 6) kc (k * 6)
        for j in m.bodyDofs[ba] do
            for k in m.bodyDofs[bb] do
                let v = lift h * dot6 cdof (j * 6) kc (k * 6)
                cm[j * nv + k] <- cm[j * nv + k] - v
                cm[k * nv + j] <- cm[k * nv + j] - v
        w.denseC <- true

    /// Adds one contact point of pair pr between bodies ba and bb: world point p, unit normal n (from B into A), depth d,
    /// friction mu. The point's velocity Jacobian is J = X (J_A - J_B) with X = [-[p]x, I] acting on spatial velocities,
    /// so its force enters as the wrench [p x f; f] on A (and minus on B), and J^T L J as the spatial stiffness X^T L X
    /// of A and B (CRBA projects them, in M's sparsity pattern), with cross terms when both bodies move.
    let inline internal addPoint (m: FastModel< ^T>) (w: FastWork< ^T>) (cp: ContactParams) (h: float) (needC: bool) (ba: int) (bb: int)
                         (px: ^T) (py: ^T) (pz: ^T) (nx: ^T) (ny: ^T) (nz: ^T) (depth: ^T) (mu: ^T) =
        let s = lift cp.softness
        let x = depth / s
        if not (value x < SkipBelow) then
            let cv = w.cvel
            let ao, bo = ba * 6, bb * 6
            let wx, wy, wz = cv[ao] - cv[bo], cv[ao + 1] - cv[bo + 1], cv[ao + 2] - cv[bo + 2]
            let ux, uy, uz = cv[ao + 3] - cv[bo + 3], cv[ao + 4] - cv[bo + 4], cv[ao + 5] - cv[bo + 5]
            // velocity of the point: u - p x w
            let vx = ux - (py * wz - pz * wy)
            let vy = uy - (pz * wx - px * wz)
            let vz = uz - (px * wy - py * wx)
            let vn = vx * nx + vy * ny + vz * nz
            let act = sigmoid x
            let fnMag = relu (softplus x * (m.contactStiffness * s) - act * vn * m.contactDamping)
            let tx, ty, tz = vx - nx * vn, vy - ny * vn, vz - nz * vn
            let eps = lift cp.frictionVelocity
            let slope = fnMag * mu / sqrt (tx * tx + ty * ty + tz * tz + eps * eps)
            let fx, fy, fz = nx * fnMag - tx * slope, ny * fnMag - ty * slope, nz * fnMag - tz * slope
            let wb = w.wbody
            let movingA, movingB = m.bodyDofs[ba].Length > 0, m.bodyDofs[bb].Length > 0
            let mx, my, mz = py * fz - pz * fy, pz * fx - px * fz, px * fy - py * fx
            if movingA then
                wb[ao] <- wb[ao] + mx; wb[ao + 1] <- wb[ao + 1] + my; wb[ao + 2] <- wb[ao + 2] + mz
                wb[ao + 3] <- wb[ao + 3] + fx; wb[ao + 4] <- wb[ao + 4] + fy; wb[ao + 5] <- wb[ao + 5] + fz
            if movingB then
                wb[bo] <- wb[bo] - mx; wb[bo + 1] <- wb[bo + 1] - my; wb[bo + 2] <- wb[bo + 2] - mz
                wb[bo + 3] <- wb[bo + 3] - fx; wb[bo + 4] <- wb[bo + 4] - fy; wb[bo + 5] <- wb[bo + 5] - fz
            if needC && (movingA || movingB) then
                // L = cn n n^T + slope (I - n n^T), cn = sigmoid(d / s) (c + h k); K = X^T L X = [[P^T L P, P^T L], [L P, L]], P = -[p]x
                let cn = act * (m.contactDamping + m.contactStiffness * lift h)
                let one = lift 1.0
                let l00, l11, l22 = nx * nx * cn + (one - nx * nx) * slope, ny * ny * cn + (one - ny * ny) * slope, nz * nz * cn + (one - nz * nz) * slope
                let l01, l02, l12 = nx * ny * cn - nx * ny * slope, nx * nz * cn - nx * nz * slope, ny * nz * cn - ny * nz * slope
                // L P with P = [[0, pz, -py], [-pz, 0, px], [py, -px, 0]]
                let a00, a01, a02 = -l01 * pz + l02 * py, l00 * pz - l02 * px, -l00 * py + l01 * px
                let a10, a11, a12 = -l11 * pz + l12 * py, l01 * pz - l12 * px, -l01 * py + l11 * px
                let a20, a21, a22 = -l12 * pz + l22 * py, l02 * pz - l22 * px, -l02 * py + l12 * px
                let k = w.kpoint
                // P^T (L P): row i of P^T is column i of P
                k[0] <- -pz * a10 + py * a20; k[1] <- -pz * a11 + py * a21; k[2] <- -pz * a12 + py * a22
                k[6] <- pz * a00 - px * a20; k[7] <- pz * a01 - px * a21; k[8] <- pz * a02 - px * a22
                k[12] <- -py * a00 + px * a10; k[13] <- -py * a01 + px * a11; k[14] <- -py * a02 + px * a12
                // P^T L = (L P)^T top right, L P bottom left, L bottom right
                k[3] <- a00; k[4] <- a10; k[5] <- a20
                k[9] <- a01; k[10] <- a11; k[11] <- a21
                k[15] <- a02; k[16] <- a12; k[17] <- a22
                k[18] <- a00; k[19] <- a01; k[20] <- a02
                k[24] <- a10; k[25] <- a11; k[26] <- a12
                k[30] <- a20; k[31] <- a21; k[32] <- a22
                k[21] <- l00; k[22] <- l01; k[23] <- l02
                k[27] <- l01; k[28] <- l11; k[29] <- l12
                k[33] <- l02; k[34] <- l12; k[35] <- l22
                if movingA then addBlock w.kbody (ba * 36) k
                if movingB then addBlock w.kbody (bb * 36) k
                if movingA && movingB then crossTerms m w ba bb h

    /// A's probe points against plane B (normal: the plane's z axis); geoms whose every probe is out of reach are skipped.
    let inline internal probePlane (m: FastModel< ^T>) (w: FastWork< ^T>) (cp: ContactParams) (h: float) (needC: bool) (a: int) (b: int) (mu: ^T) =
        let ba, bb = m.geomBody[a], m.geomBody[b]
        let gx, gm = w.geomXpos, w.geomXmat
        let po, pm = b * 3, b * 9
        let nx, ny, nz = gm[pm + 2], gm[pm + 5], gm[pm + 8]
        let ao, am = a * 3, a * 9
        let probes, radius = m.geomProbe[a], m.geomProbeRadius[a]
        let centre = (gx[ao] - gx[po]) * nx + (gx[ao + 1] - gx[po + 1]) * ny + (gx[ao + 2] - gx[po + 2]) * nz
        if (value radius - (value centre - m.geomProbeReach[a])) / cp.softness >= SkipBelow - 1.0 then
            for k in 0 .. probes.Length / 3 - 1 do
                let lx, ly, lz = probes[3 * k], probes[3 * k + 1], probes[3 * k + 2]
                let wx = gx[ao] + (gm[am] * lx + gm[am + 1] * ly + gm[am + 2] * lz)
                let wy = gx[ao + 1] + (gm[am + 3] * lx + gm[am + 4] * ly + gm[am + 5] * lz)
                let wz = gx[ao + 2] + (gm[am + 6] * lx + gm[am + 7] * ly + gm[am + 8] * lz)
                let height = (wx - gx[po]) * nx + (wy - gx[po + 1]) * ny + (wz - gx[po + 2]) * nz
                addPoint m w cp h needC ba bb (wx - nx * radius) (wy - ny * radius) (wz - nz * radius) nx ny nz (radius - height) mu

    /// End points of a sphere (both the centre) or capsule axis into s[o..o+5].
    let inline internal segmentInto (m: FastModel< ^T>) (w: FastWork< ^T>) (g: int) (s: ^T[]) (o: int) =
        let spec = m.geomSpec[g]
        let half = lift (if spec.gtype = Capsule then spec.size[1] else 0.0)
        let gx, gm = w.geomXpos, w.geomXmat
        for i in 0 .. 2 do
            let axis = gm[g * 9 + i * 3 + 2]
            s[o + i] <- gx[g * 3 + i] + axis * half
            s[o + 3 + i] <- gx[g * 3 + i] - axis * half

    /// The point of segment s[a..a+2]-s[b..b+2] closest to s[c..c+2], into s[o..o+2].
    let inline internal closestOnSegment (s: ^T[]) (a: int) (b: int) (c: int) (o: int) =
        let abx, aby, abz = s[b] - s[a], s[b + 1] - s[a + 1], s[b + 2] - s[a + 2]
        let num = (s[c] - s[a]) * abx + (s[c + 1] - s[a + 1]) * aby + (s[c + 2] - s[a + 2]) * abz
        let t = tmin (tmax (num / ((abx * abx + aby * aby + abz * abz) + lift 1e-12)) (lift 0.0)) (lift 1.0)
        s[o] <- s[a] + abx * t
        s[o + 1] <- s[a + 1] + aby * t
        s[o + 2] <- s[a + 2] + abz * t

    /// Sphere/capsule pairs: closest points of the two segments.
    let inline internal segmentSegment (m: FastModel< ^T>) (w: FastWork< ^T>) (cp: ContactParams) (h: float) (needC: bool) (a: int) (b: int) (mu: ^T) =
        let ba, bb = m.geomBody[a], m.geomBody[b]
        let s = w.scratch
        // s: a0 0, a1 3, b0 6, b1 9, mid 12, pb 15, pa 18
        segmentInto m w a s 0
        segmentInto m w b s 6
        for i in 0 .. 2 do s[12 + i] <- (s[i] + s[3 + i]) / lift 2.0
        closestOnSegment s 6 9 12 15
        closestOnSegment s 0 3 15 18
        closestOnSegment s 6 9 18 15
        let vx, vy, vz = s[18] - s[15], s[19] - s[16], s[20] - s[17]
        let dist = sqrt ((vx * vx + vy * vy + vz * vz) + lift 1e-18)
        let nx, ny, nz = vx / dist, vy / dist, vz / dist
        let ra, rb = lift m.geomSpec[a].size[0], lift m.geomSpec[b].size[0]
        addPoint m w cp h needC ba bb (s[18] - nx * ra) (s[19] - ny * ra) (s[20] - nz * ra) nx ny nz (ra + rb - dist) mu

    /// Sphere/capsule A against box B: one contact per end sphere at the closest point of the box.
    let inline internal segmentBox (m: FastModel< ^T>) (w: FastWork< ^T>) (cp: ContactParams) (h: float) (needC: bool) (a: int) (b: int) (mu: ^T) =
        let ba, bb = m.geomBody[a], m.geomBody[b]
        let s = w.scratch
        segmentInto m w a s 0
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
            let distOut = sqrt ((ox * ox + oy * oy + oz * oz) + lift 1e-18)
            let mutable axis = 0
            for i in 1 .. 2 do
                if not (Double.IsNaN(value s[18 + axis])) && (Double.IsNaN(value s[18 + i]) || value s[18 + i] < value s[18 + axis]) then axis <- i
            let isInside = value distOut <= 1e-12
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

    /// The 8 corners of box g in the world, x-major as Contact.boxCorners.
    let inline internal cornersInto (m: FastModel< ^T>) (w: FastWork< ^T>) (g: int) (out: ^T[]) =
        let hs = m.geomSpec[g].size
        let gx, gm = w.geomXpos, w.geomXmat
        for c in 0 .. 7 do
            let sx, sy, sz = float (2 * (c / 4) - 1), float (2 * (c / 2 % 2) - 1), float (2 * (c % 2) - 1)
            let lx, ly, lz = lift (sx * hs[0]), lift (sy * hs[1]), lift (sz * hs[2])
            for i in 0 .. 2 do
                out[c * 3 + i] <- gx[g * 3 + i] + (gm[g * 9 + i * 3] * lx + gm[g * 9 + i * 3 + 1] * ly + gm[g * 9 + i * 3 + 2] * lz)

    /// u . column j of the 3 x 3 block at m[mo..].
    let inline internal dotCol (m: ^T[]) (mo: int) (j: int) (ux: ^T) (uy: ^T) (uz: ^T) = ux * m[mo + j] + uy * m[mo + 3 + j] + uz * m[mo + 6 + j]

    /// Box-box: the face axis of least overlap; the incident box's corners within the reference face are contacts.
    let inline internal boxBox (m: FastModel< ^T>) (w: FastWork< ^T>) (cp: ContactParams) (h: float) (needC: bool) (a: int) (b: int) (mu: ^T) =
        let ba, bb = m.geomBody[a], m.geomBody[b]
        let gx, gm = w.geomXpos, w.geomXmat
        let hA, hB = m.geomSpec[a].size, m.geomSpec[b].size
        cornersInto m w a w.cornersA
        cornersInto m w b w.cornersB
        let am, bm = a * 9, b * 9
        let dx, dy, dz = gx[b * 3] - gx[a * 3], gx[b * 3 + 1] - gx[a * 3 + 1], gx[b * 3 + 2] - gx[a * 3 + 2]
        // axis o: column o of R_B for o < 3, column o - 3 of R_A otherwise
        let inline axisMat o = if o < 3 then bm else am
        let mutable best = 0
        let mutable bestOverlap = 0.0
        for o in 0 .. 5 do
            let mo, k = axisMat o, o % 3
            let ux, uy, uz = gm[mo + k], gm[mo + 3 + k], gm[mo + 6 + k]
            let radA = lift hA[0] * abs (dotCol gm am 0 ux uy uz) + lift hA[1] * abs (dotCol gm am 1 ux uy uz) + lift hA[2] * abs (dotCol gm am 2 ux uy uz)
            let radB = lift hB[0] * abs (dotCol gm bm 0 ux uy uz) + lift hB[1] * abs (dotCol gm bm 1 ux uy uz) + lift hB[2] * abs (dotCol gm bm 2 ux uy uz)
            let overlap = value (radA + radB - abs (dx * ux + dy * uy + dz * uz))
            if o = 0 || overlap < bestOverlap then
                best <- o
                bestOverlap <- overlap
        let o = best
        let mo, k = axisMat o, o % 3
        let ux, uy, uz = gm[mo + k], gm[mo + 3 + k], gm[mo + 6 + k]
        let du = dx * ux + dy * uy + dz * uz
        let sgn = lift (if o < 3 then (if value du <= 0.0 then 1.0 else -1.0) else (if value du >= 0.0 then 1.0 else -1.0))
        let refO, refH, corners = (if o < 3 then b * 3 else a * 3), (if o < 3 then hB else hA), (if o < 3 then w.cornersA else w.cornersB)
        let nx, ny, nz = ux * sgn, uy * sgn, uz * sgn
        let flip = lift (if o < 3 then 1.0 else -1.0)
        for c in 0 .. 7 do
            let wx, wy, wz = corners[c * 3] - gx[refO], corners[c * 3 + 1] - gx[refO + 1], corners[c * 3 + 2] - gx[refO + 2]
            let mutable within = true
            for j in 0 .. 2 do
                if j <> k && not (abs (value (wx * gm[mo + j] + wy * gm[mo + 3 + j] + wz * gm[mo + 6 + j])) <= refH[j] * 1.001 + 1e-9) then within <- false
            if within then
                let depth = lift refH[k] - (wx * nx + wy * ny + wz * nz)
                addPoint m w cp h needC ba bb corners[c * 3] corners[c * 3 + 1] corners[c * 3 + 2] (flip * nx) (flip * ny) (flip * nz) depth mu

    /// Raises as Contact.pair does for a geom-type pair it has no narrow phase for.
    let internal unsupported (ga: GeomSpec) (gb: GeomSpec) =
        let supported = "plane with any, sphere/capsule pairs, box with sphere/capsule/box"
        raise (GenesisNotSupportedException(sprintf "contact between %A and %A geoms is not implemented yet (supported: %s)" ga.gtype gb.gtype supported))

    /// Contact forces into w.qfrcContact and (when needC) C = -d qfrc / d qvel: spatial stiffness K per body in w.kbody
    /// (h C = CRBA of h K) plus h C's entries outside M's pattern in w.cmat, from the kinematics and velocities in w.
    let inline compute (m: FastModel< ^T>) (w: FastWork< ^T>) (cp: ContactParams) (h: float) (needC: bool) =
        Array.Clear w.qfrcContact
        Array.Clear w.wbody
        if needC then
            Array.Clear w.kbody
            if w.denseC then Array.Clear w.cmat
            w.denseC <- false
        if m.pairA.Length > 0 && m.nv > 0 then
            geomFrames m w
            let margin = 20.0 * cp.softness + 1e-3
            let overrideMu = value m.friction > 0.0
            for pr in 0 .. m.pairA.Length - 1 do
                let a, b = m.pairA[pr], m.pairB[pr]
                if isCandidate m w a b margin then
                    let mu = if overrideMu then m.friction else m.pairMu[pr]
                    match m.pairKind[pr] with
                    | FastPairKind.ProbePlane -> probePlane m w cp h needC a b mu
                    | FastPairKind.SegmentSegment -> segmentSegment m w cp h needC a b mu
                    | FastPairKind.SegmentBox -> segmentBox m w cp h needC a b mu
                    | FastPairKind.BoxBox -> boxBox m w cp h needC a b mu
                    | FastPairKind.NoContact -> ()
                    | _ -> unsupported m.geomSpec[a] m.geomSpec[b]
            // qfrc_k = cdof_k . (contact wrenches summed over the subtree of dof k's body)
            let wb = w.wbody
            for b in m.nbody - 1 .. -1 .. 0 do
                let par = m.parent[b]
                if par >= 0 then
                    for i in 0 .. 5 do wb[par * 6 + i] <- wb[par * 6 + i] + wb[b * 6 + i]
            let cdof = w.cdof
            for k in 0 .. m.nv - 1 do
                w.qfrcContact[k] <- dot6 cdof (k * 6) wb (m.dofBody[k] * 6)
