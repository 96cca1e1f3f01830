namespace Genesis.Physics

open System
open Genesis
open Genesis.Physics.ContactGeometry

/// Any two convex geoms (sphere, capsule, cylinder, ellipsoid, box, mesh hull) without an analytic narrow phase:
/// GJK/EPA on floats pick the witness features (GjkEpa.witnessOf: 1 to 3 vertices of the Minkowski difference of the
/// cores, each a pair of local support points); the contact is then evaluated on the differentiable poses from those
/// features: w_i = a_i - b_i in the world, weights lambda of the point v of their affine hull nearest the origin,
/// n = s v / |v| (s = 1 apart, -1 when the cores overlap), depth = rA + rB - s |v|, point = sum lambda_i a_i - rA n.
/// The gradient is taken at the converged witness features (not through the iterations): exact for point, segment
/// and polytope cores (spheres, capsules, boxes, mesh hulls), whose features are locally fixed; for the curved cores
/// (ellipsoid, cylinder) the depth's gradient is exact (the envelope theorem) while the normal's omits the curvature.
module ConvexPair =
    /// Weights of the point of the affine hull of w_0..w_{k-1} (each [1; 3]) nearest the origin, by the 1 x 1 or 2 x 2
    /// normal equations (Cramer's rule).
    let internal weights (w: Tensor[]) : Tensor list =
        let dot (x: Tensor) (y: Tensor) = (x * y).sum(-1, true)
        match w.Length with
        | 1 -> [ gs.onesLike (w[0].narrow(-1, 0, 1)) ]
        | 2 ->
            let e1 = w[1] - w[0]
            let t = -(dot e1 w[0]) / dot e1 e1
            [ 1.0 - t; t ]
        | _ ->
            let e1, e2 = w[1] - w[0], w[2] - w[0]
            let g11, g12, g22 = dot e1 e1, dot e1 e2, dot e2 e2
            let r1, r2 = -(dot e1 w[0]), -(dot e2 w[0])
            let det = g11 * g22 - g12 * g12
            let mu1 = (r1 * g22 - r2 * g12) / det
            let mu2 = (g11 * r2 - g12 * r1) / det
            [ 1.0 - mu1 - mu2; mu1; mu2 ]

    /// The contact of one env from its witness: point, normal [1; 1; 3] and depth [1; 1].
    let private evaluate (pA: Tensor, rA: Tensor) (pB: Tensor, rB: Tensor) (radA: float) (radB: float) (wit: ConvexWitness) =
        let k = wit.count
        let aW = toWorld pA rA (Spatial.constLike pA [| k; 3 |] wit.aLocal)
        let bW = toWorld pB rB (Spatial.constLike pB [| k; 3 |] wit.bLocal)
        let at i = aW.narrow(1, i, 1).squeeze(1)
        let ws = Array.init k (fun i -> at i - bW.narrow(1, i, 1).squeeze(1))
        let lam = weights ws
        let v = List.mapi (fun i (l: Tensor) -> ws[i] * l) lam |> List.reduce (+)
        let pa = List.mapi (fun i (l: Tensor) -> at i * l) lam |> List.reduce (+)
        let dir, dist = safeNormalize v
        let s = if wit.penetrating then -1.0 else 1.0
        let n = dir * s
        let depth = (radA + radB) - dist * s
        (pa - n * radA).unsqueeze(1), n.unsqueeze(1), depth

    /// The contact of convex geoms A and B (one point per env).
    let internal contacts (kin: Kinematics) (ba: int, ga: GeomSpec) (bb: int, gb: GeomSpec) (mu: float) : Points list =
        let pA, rA = frame kin ba ga
        let pB, rB = frame kin bb gb
        let pa, ra, pb, rb = pA.toFloatArray(), rA.toFloatArray(), pB.toFloatArray(), rB.toFloatArray()
        let radA, radB = ConvexSupport.radius ga, ConvexSupport.radius gb
        let parts =
            Array.init pA.shape[0] (fun e ->
                let wit = GjkEpa.witnessOf (ga, pa[e * 3 .. e * 3 + 2], ra[e * 9 .. e * 9 + 8]) (gb, pb[e * 3 .. e * 3 + 2], rb[e * 9 .. e * 9 + 8])
                evaluate (pA.narrow(0, e, 1), rA.narrow(0, e, 1)) (pB.narrow(0, e, 1), rB.narrow(0, e, 1)) radA radB wit)
        let cat (f: Tensor * Tensor * Tensor -> Tensor) = gs.cat(parts |> Array.map f, 0)
        [ { bodyA = ba; bodyB = bb; point = cat (fun (p, _, _) -> p); normal = cat (fun (_, n, _) -> n); depth = cat (fun (_, _, d) -> d); friction = mu } ]

/// The convex pair on arrays, generic over the scalar: the same witness (GjkEpa on the values), the same evaluation.
module internal ConvexPairKernel =
    open Genesis.Physics.FastMath
    open Genesis.Real
    open Genesis.HomogeneousArithmetic
    open Genesis.Physics.ContactPointKernel

    /// The witness features of geoms a and b from the geom frames' values in w.
    let inline internal witness (m: FastModel< ^T>) (w: FastWork< ^T>) (a: int) (b: int) =
        let gx, gm = w.geomXpos, w.geomXmat
        let values (x: ^T[]) (o: int) (n: int) = Array.init n (fun i -> value x[o + i])
        GjkEpa.witnessOf (m.geomSpec[a], values gx (a * 3) 3, values gm (a * 9) 9) (m.geomSpec[b], values gx (b * 3) 3, values gm (b * 9) 9)

    /// Local point l (constants) of geom g into the world, at s[o..o+2].
    let inline private toWorldAt (w: FastWork< ^T>) (g: int) (l: float[]) (lo: int) (s: ^T[]) (o: int) =
        let gx, gm = w.geomXpos, w.geomXmat
        let lx, ly, lz = lift l[lo], lift l[lo + 1], lift l[lo + 2]
        for i in 0 .. 2 do
            s[o + i] <- gx[g * 3 + i] + (gm[g * 9 + i * 3] * lx + gm[g * 9 + i * 3 + 1] * ly + gm[g * 9 + i * 3 + 2] * lz)

    /// Convex A against convex B: one contact at the witness features (ConvexPair's evaluation).
    let inline internal convexPair (m: FastModel< ^T>) (w: FastWork< ^T>) (cp: ContactParams) (h: float) (needC: bool) (a: int) (b: int) (mu: ^T) =
        let ba, bb = m.geomBody[a], m.geomBody[b]
        let wit = witness m w a b
        let k = wit.count
        let s = w.scratch
        // s: a_i at 3 i, b_i at 9 + 3 i, w_i = a_i - b_i at 18 + 3 i, edges at 27 and 30, v at 33, sum lambda_i a_i at 36
        for c in 0 .. k - 1 do
            toWorldAt w a wit.aLocal (3 * c) s (3 * c)
            toWorldAt w b wit.bLocal (3 * c) s (9 + 3 * c)
            for i in 0 .. 2 do s[18 + 3 * c + i] <- s[3 * c + i] - s[9 + 3 * c + i]
        let inline dotS (i: int) (j: int) = s[i] * s[j] + s[i + 1] * s[j + 1] + s[i + 2] * s[j + 2]
        // the weights lambda_c at s[39 + c]
        let lam = 39
        if k = 1 then s[lam] <- lift 1.0
        elif k = 2 then
            for i in 0 .. 2 do s[27 + i] <- s[21 + i] - s[18 + i]
            let t = -(dotS 27 18) / dotS 27 27
            s[lam] <- lift 1.0 - t
            s[lam + 1] <- t
        else
            for i in 0 .. 2 do
                s[27 + i] <- s[21 + i] - s[18 + i]
                s[30 + i] <- s[24 + i] - s[18 + i]
            let g11, g12, g22 = dotS 27 27, dotS 27 30, dotS 30 30
            let r1, r2 = -(dotS 27 18), -(dotS 30 18)
            let det = g11 * g22 - g12 * g12
            let mu1 = (r1 * g22 - r2 * g12) / det
            let mu2 = (g11 * r2 - g12 * r1) / det
            s[lam] <- lift 1.0 - mu1 - mu2
            s[lam + 1] <- mu1
            s[lam + 2] <- mu2
        for i in 0 .. 2 do
            let mutable v, p = s[18 + i] * s[lam], s[i] * s[lam]
            for c in 1 .. k - 1 do
                v <- v + s[18 + 3 * c + i] * s[lam + c]
                p <- p + s[3 * c + i] * s[lam + c]
            s[33 + i] <- v
            s[36 + i] <- p
        let dist = sqrt ((s[33] * s[33] + s[34] * s[34] + s[35] * s[35]) + lift ContactGeometry.NormFloorSq)
        let sg = lift (if wit.penetrating then -1.0 else 1.0)
        let nx, ny, nz = s[33] / dist * sg, s[34] / dist * sg, s[35] / dist * sg
        let radA, radB = ConvexSupport.radius m.geomSpec[a], ConvexSupport.radius m.geomSpec[b]
        let ra = lift radA
        let depth = lift (radA + radB) - dist * sg
        addPoint m w cp h needC ba bb (s[36] - nx * ra) (s[37] - ny * ra) (s[38] - nz * ra) nx ny nz depth mu
