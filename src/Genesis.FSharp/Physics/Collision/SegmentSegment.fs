namespace Genesis.Physics

open System
open Genesis
open Genesis.Physics.ContactGeometry

/// Sphere/capsule pairs: the closest points of the two axis segments (a sphere is a segment of length 0);
/// depth = ra + rb - distance, normal along the closest points' difference.
module SegmentSegment =
    /// End points of a sphere (both the centre) or capsule axis, and the radius.
    let internal segment (kin: Kinematics) (body: int) (g: GeomSpec) =
        let gp, gr = frame kin body g
        let half = if g.gtype = Capsule then g.size[1] else 0.0
        let axis = gr.narrow(2, 2, 1).squeeze(2)
        gp + axis * half, gp - axis * half, g.size[0]

    /// Added to a segment's squared length before dividing by it, so a degenerate segment (a sphere) is safe.
    [<Literal>]
    let internal SegmentFloorSq = 1e-12

    let internal closestOnSegment (a: Tensor) (b: Tensor) (c: Tensor) =
        let ab = b - a
        let t = (((c - a) * ab).sum(-1, true) / ((ab * ab).sum(-1, true) + SegmentFloorSq)).clamp(0.0, 1.0)
        a + ab * t

    /// The contact of sphere/capsule A with sphere/capsule B.
    let internal contacts (kin: Kinematics) (ba: int, ga: GeomSpec) (bb: int, gb: GeomSpec) (mu: float) : Points list =
        let a0, a1, ra = segment kin ba ga
        let b0, b1, rb = segment kin bb gb
        let pb = closestOnSegment b0 b1 ((a0 + a1) / 2.0)
        let pa = closestOnSegment a0 a1 pb
        let pb = closestOnSegment b0 b1 pa
        let n, dist = safeNormalize (pa - pb)
        let depth = (ra + rb - dist).squeeze(-1)
        [ { bodyA = ba; bodyB = bb; point = (pa - n * ra).unsqueeze(1); normal = n.unsqueeze(1); depth = depth.unsqueeze(1); friction = mu } ]

/// Sphere/capsule pairs on arrays, generic over the scalar.
module internal SegmentSegmentKernel =
    open Genesis.Physics.FastMath
    open Genesis.Real
    open Genesis.HomogeneousArithmetic
    open Genesis.Physics.ContactPointKernel

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
        let t = tmin (tmax (num / ((abx * abx + aby * aby + abz * abz) + lift SegmentSegment.SegmentFloorSq)) (lift 0.0)) (lift 1.0)
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
        let dist = sqrt ((vx * vx + vy * vy + vz * vz) + lift ContactGeometry.NormFloorSq)
        let nx, ny, nz = vx / dist, vy / dist, vz / dist
        let ra, rb = lift m.geomSpec[a].size[0], lift m.geomSpec[b].size[0]
        addPoint m w cp h needC ba bb (s[18] - nx * ra) (s[19] - ny * ra) (s[20] - nz * ra) nx ny nz (ra + rb - dist) mu
