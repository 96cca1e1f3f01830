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

    /// A's probe points against plane B (normal: the plane's z axis) of pair pr; geoms whose every probe is out of reach
    /// are skipped. Each point within reach is logged as (pr, probe) in w.probeLog when there is one.
    let inline internal probePlane (m: FastModel< ^T>) (w: FastWork< ^T>) (cp: ContactParams) (h: float) (needC: bool) (pr: int) (a: int) (b: int) (mu: ^T) =
        let ba, bb = m.geomBody[a], m.geomBody[b]
        let gx, gm = w.geomXpos, w.geomXmat
        let po, pm = b * 3, b * 9
        let nx, ny, nz = gm[pm + 2], gm[pm + 5], gm[pm + 8]
        let ao, am = a * 3, a * 9
        let probes, radius = m.geomProbe[a], m.geomProbeRadius[a]
        // the reach and each probe's depth are first computed on values (the same float operations), so that on the
        // tape probes out of reach record nothing
        let inline v (i: int) (x: ^T[]) = value x[i]
        let centre = (v ao gx - v po gx) * value nx + (v (ao + 1) gx - v (po + 1) gx) * value ny + (v (ao + 2) gx - v (po + 2) gx) * value nz
        if (value radius - (centre - m.geomProbeReach[a])) / cp.softness >= SkipBelow - 1.0 then
            for k in 0 .. probes.Length / 3 - 1 do
                let lx, ly, lz = probes[3 * k], probes[3 * k + 1], probes[3 * k + 2]
                let hx = v ao gx + (v am gm * value lx + v (am + 1) gm * value ly + v (am + 2) gm * value lz)
                let hy = v (ao + 1) gx + (v (am + 3) gm * value lx + v (am + 4) gm * value ly + v (am + 5) gm * value lz)
                let hz = v (ao + 2) gx + (v (am + 6) gm * value lx + v (am + 7) gm * value ly + v (am + 8) gm * value lz)
                let heightValue = (hx - v po gx) * value nx + (hy - v (po + 1) gx) * value ny + (hz - v (po + 2) gx) * value nz
                if not ((value radius - heightValue) / cp.softness < SkipBelow) then
                    if not (isNull w.probeLog) then
                        w.probeLog.Add pr
                        w.probeLog.Add k
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
        let t = tmin (tmax (num / ((abx * abx + aby * aby + abz * abz) + lift Contact.SegmentFloorSq)) (lift 0.0)) (lift 1.0)
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
        let dist = sqrt ((vx * vx + vy * vy + vz * vz) + lift Contact.NormFloorSq)
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
            let distOut = sqrt ((ox * ox + oy * oy + oz * oz) + lift Contact.NormFloorSq)
            let mutable axis = 0
            for i in 1 .. 2 do
                if not (Double.IsNaN(value s[18 + axis])) && (Double.IsNaN(value s[18 + i]) || value s[18 + i] < value s[18 + axis]) then axis <- i
            let isInside = value distOut <= Contact.InsideDistance
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

    /// Box-box: the face axis of least overlap (Contact.faceAxis: ties of parallel faces go to the one with incident
    /// corners within it); the incident box's corners within the reference face are contacts.
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
        let overlaps = w.faceOverlaps
        for o in 0 .. 5 do
            let mo, k = axisMat o, o % 3
            let ux, uy, uz = gm[mo + k], gm[mo + 3 + k], gm[mo + 6 + k]
            let radA = lift hA[0] * abs (dotCol gm am 0 ux uy uz) + lift hA[1] * abs (dotCol gm am 1 ux uy uz) + lift hA[2] * abs (dotCol gm am 2 ux uy uz)
            let radB = lift hB[0] * abs (dotCol gm bm 0 ux uy uz) + lift hB[1] * abs (dotCol gm bm 1 ux uy uz) + lift hB[2] * abs (dotCol gm bm 2 ux uy uz)
            overlaps[o] <- value (radA + radB - abs (dx * ux + dy * uy + dz * uz))
        // reference face o: its box's centre offset and half-extents, and the incident box's corners
        let reference o = (if o < 3 then b * 3 else a * 3), (if o < 3 then hB else hA), (if o < 3 then w.cornersA else w.cornersB)
        // whether incident corner c lies within reference face o's extents (tangentially)
        let within o c =
            let mo, k = axisMat o, o % 3
            let refO, refH, corners = reference o
            let wx, wy, wz = corners[c * 3] - gx[refO], corners[c * 3 + 1] - gx[refO + 1], corners[c * 3 + 2] - gx[refO + 2]
            let mutable inside = true
            for j in 0 .. 2 do
                if j <> k && not (abs (value (wx * gm[mo + j] + wy * gm[mo + 3 + j] + wz * gm[mo + 6 + j])) <= refH[j] * 1.001 + 1e-9) then inside <- false
            inside
        let hasCorners o =
            let mutable any = false
            for c in 0 .. 7 do
                if within o c then any <- true
            any
        let o = Contact.faceAxis overlaps hasCorners (Contact.faceTieTolerance hA hB)
        let mo, k = axisMat o, o % 3
        let ux, uy, uz = gm[mo + k], gm[mo + 3 + k], gm[mo + 6 + k]
        let du = dx * ux + dy * uy + dz * uz
        let sgn = lift (if o < 3 then (if value du <= 0.0 then 1.0 else -1.0) else (if value du >= 0.0 then 1.0 else -1.0))
        let refO, refH, corners = reference o
        let nx, ny, nz = ux * sgn, uy * sgn, uz * sgn
        let flip = lift (if o < 3 then 1.0 else -1.0)
        for c in 0 .. 7 do
            if within o c then
                let wx, wy, wz = corners[c * 3] - gx[refO], corners[c * 3 + 1] - gx[refO + 1], corners[c * 3 + 2] - gx[refO + 2]
                let depth = lift refH[k] - (wx * nx + wy * ny + wz * nz)
                addPoint m w cp h needC ba bb corners[c * 3] corners[c * 3 + 1] corners[c * 3 + 2] (flip * nx) (flip * ny) (flip * nz) depth mu

    /// Zeroes the contact outputs: qfrcContact, the per-body wrenches and (when needC) stiffnesses and C's entries.
    let inline internal clear (w: FastWork< ^T>) (needC: bool) =
        Array.Clear w.qfrcContact
        Array.Clear w.wbody
        if needC then
            Array.Clear w.kbody
            if w.denseC then Array.Clear w.cmat
            w.denseC <- false

    /// The points of every candidate pair not skipped (skip: empty, or a flag per pair) into w.wbody, w.kbody and
    /// w.cmat, from the geom frames in w.
    let inline internal pairs (m: FastModel< ^T>) (w: FastWork< ^T>) (cp: ContactParams) (h: float) (needC: bool) (skip: bool[]) =
        let margin = 20.0 * cp.softness + 1e-3
        let overrideMu = value m.friction > 0.0
        for pr in 0 .. m.pairA.Length - 1 do
            let a, b = m.pairA[pr], m.pairB[pr]
            if (skip.Length = 0 || not skip[pr]) && isCandidate m w a b margin then
                let mu = if overrideMu then m.friction else m.pairMu[pr]
                match m.pairKind[pr] with
                | PairKind.ProbePlane -> probePlane m w cp h needC pr a b mu
                | PairKind.SegmentSegment -> segmentSegment m w cp h needC a b mu
                | PairKind.SegmentBox -> segmentBox m w cp h needC a b mu
                | PairKind.BoxBox -> boxBox m w cp h needC a b mu
                | PairKind.NoContact -> ()
                | _ -> PairDispatch.unsupported m.geomSpec[a] m.geomSpec[b]

    /// qfrc_k = cdof_k . (contact wrenches summed over the subtree of dof k's body); the sums replace w.wbody.
    let inline internal generalised (m: FastModel< ^T>) (w: FastWork< ^T>) =
        let wb = w.wbody
        for b in m.nbody - 1 .. -1 .. 0 do
            let par = m.parent[b]
            if par >= 0 then
                for i in 0 .. 5 do wb[par * 6 + i] <- wb[par * 6 + i] + wb[b * 6 + i]
        let cdof = w.cdof
        for k in 0 .. m.nv - 1 do
            w.qfrcContact[k] <- dot6 cdof (k * 6) wb (m.dofBody[k] * 6)

    /// Contact forces into w.qfrcContact and (when needC) C = -d qfrc / d qvel: spatial stiffness K per body in w.kbody
    /// (h C = CRBA of h K) plus h C's entries outside M's pattern in w.cmat, from the kinematics and velocities in w.
    let inline compute (m: FastModel< ^T>) (w: FastWork< ^T>) (cp: ContactParams) (h: float) (needC: bool) =
        clear w needC
        if m.pairA.Length > 0 && m.nv > 0 then
            geomFrames m w
            pairs m w cp h needC (Array.Empty<bool>())
            generalised m w
