namespace Genesis.Physics

open System
open Genesis

/// The contact force law as a scalar-tape block with a hand-written adjoint: recorded op by op a point costs a few
/// hundred tape entries; as a block it is one entry plus its 6 (wrench) or 42 (wrench and K) outputs.
module internal ContactAdjoint =
    /// Inputs of a point, in order: p (3), n (3), depth, mu, the velocity of body A (6), of body B (6).
    [<Literal>]
    let Inputs = 20

    /// The adjoint array's length: the inputs', then those of the law's stiffness k and damping c.
    [<Literal>]
    let Adjoints = 22

    /// The law's constants: softness s, stiffness k, damping c, friction velocity eps, step h.
    type Constants = { s: float; k: float; c: float; eps: float; h: float }

    /// The small vectors and 3 x 3 matrices of one PointBlock backward, reused by every block swept on the thread.
    [<Sealed; AllowNullLiteral>]
    type Scratch() =
        [<ThreadStatic; DefaultValue>]
        static val mutable private current: Scratch
        /// The thread's scratch.
        static member Get() =
            if isNull Scratch.current then Scratch.current <- Scratch()
            Scratch.current
        /// 3-vectors: n, p, w, v, t, f and their adjoints, the moment's adjoint.
        member val v3: float[][] = Array.init 13 (fun _ -> Array.zeroCreate 3)
        /// 3 x 3: P, L, A and the adjoints of A, L and P.
        member val m9: float[][] = Array.init 6 (fun _ -> Array.zeroCreate 9)
        /// A point's wrench and K values while it is recorded.
        member val wrench: float[] = Array.zeroCreate 6
        /// (see wrench)
        member val k: float[] = Array.zeroCreate 36
        /// A block's output adjoints (wrench, K) and input adjoints while it is swept.
        member val gWrench: float[] = Array.zeroCreate 6
        /// (see gWrench)
        member val gK: float[] = Array.zeroCreate 36
        /// (see gWrench)
        member val gx: float[] = Array.zeroCreate Adjoints

    /// The adjoint of the spatial stiffness K = [[P^T A, A^T], [A, L]] (A = L P, L = cn n n^T + slope (I - n n^T),
    /// P = -[p]x, cn = act (c + k h)) from gK: adds those of p and n into gp, gn and returns those of slope, act, k, c.
    let private stiffnessAdjoint (cs: Constants) (sc: Scratch) (p: float[]) (n: float[]) (slope: float) (act: float) (gK: float[])
                                 (gp: float[]) (gn: float[]) =
        let px, py, pz = p[0], p[1], p[2]
        let cn = act * (cs.c + cs.k * cs.h)
        let pm, l, a, ga, gl, gpm = sc.m9[0], sc.m9[1], sc.m9[2], sc.m9[3], sc.m9[4], sc.m9[5]
        pm[0] <- 0.0; pm[1] <- pz; pm[2] <- -py; pm[3] <- -pz; pm[4] <- 0.0; pm[5] <- px; pm[6] <- py; pm[7] <- -px; pm[8] <- 0.0
        for ij in 0 .. 8 do
            let i, j = ij / 3, ij % 3
            l[ij] <- n[i] * n[j] * cn + ((if i = j then 1.0 else 0.0) - n[i] * n[j]) * slope
        for ij in 0 .. 8 do
            let i, j = ij / 3, ij % 3
            a[ij] <- l[i * 3] * pm[j] + l[i * 3 + 1] * pm[3 + j] + l[i * 3 + 2] * pm[6 + j]
        let inline gk (i: int) (j: int) = gK[i * 6 + j]
        for i in 0 .. 2 do
            for j in 0 .. 2 do
                // TL = P^T A: A-bar += P TL-bar, P-bar += A TL-bar^T; TR = A^T; BL = A; BR = L
                let mutable sa, sp = 0.0, 0.0
                for q in 0 .. 2 do
                    sa <- sa + pm[i * 3 + q] * gk q j
                    sp <- sp + a[i * 3 + q] * gk j q
                ga[i * 3 + j] <- sa + gk j (3 + i) + gk (3 + i) j
                gpm[i * 3 + j] <- sp
                gl[i * 3 + j] <- gk (3 + i) (3 + j)
        // A = L P: L-bar += A-bar P^T, P-bar += L^T A-bar
        for i in 0 .. 2 do
            for j in 0 .. 2 do
                let mutable sl, sp = 0.0, 0.0
                for q in 0 .. 2 do
                    sl <- sl + ga[i * 3 + q] * pm[j * 3 + q]
                    sp <- sp + l[q * 3 + i] * ga[q * 3 + j]
                gl[i * 3 + j] <- gl[i * 3 + j] + sl
                gpm[i * 3 + j] <- gpm[i * 3 + j] + sp
        gp[0] <- gp[0] + gpm[5] - gpm[7]
        gp[1] <- gp[1] - gpm[2] + gpm[6]
        gp[2] <- gp[2] + gpm[1] - gpm[3]
        let mutable nLn, trace = 0.0, 0.0
        for i in 0 .. 2 do
            trace <- trace + gl[i * 4]
            for j in 0 .. 2 do
                nLn <- nLn + n[i] * gl[i * 3 + j] * n[j]
                gn[i] <- gn[i] + (cn - slope) * (gl[i * 3 + j] + gl[j * 3 + i]) * n[j]
        let gslope = trace - nLn
        // cn = act (c + k h): its adjoint is n^T L-bar n
        let gact = nLn * (cs.c + cs.k * cs.h)
        let gkc = nLn * act * cs.h
        let gc = nLn * act
        struct (gslope, gact, gkc, gc)

    /// The adjoint of one point's law at inputs x (Inputs values, in order): from the adjoints gWrench (6) of the
    /// wrench and gK (36, or empty when the law computed no K) of K, writes those of the inputs into gx (Adjoints
    /// long: then those of the stiffness k and the damping c).
    let pointAdjoint (cs: Constants) (x: float[]) (gWrench: float[]) (gK: float[]) (gx: float[]) =
        let sc = Scratch.Get()
        let n, p, w, v, t, f = sc.v3[0], sc.v3[1], sc.v3[2], sc.v3[3], sc.v3[4], sc.v3[5]
        let gp, gn, gv, gt, gf, gm, gw = sc.v3[6], sc.v3[7], sc.v3[8], sc.v3[9], sc.v3[10], sc.v3[11], sc.v3[12]
        for i in 0 .. 2 do
            p[i] <- x[i]
            n[i] <- x[3 + i]
            w[i] <- x[8 + i] - x[14 + i]
            gp[i] <- 0.0
            gn[i] <- 0.0
            gf[i] <- 0.0
        let px, py, pz, nx, ny, nz = x[0], x[1], x[2], x[3], x[4], x[5]
        // forward values again
        let xs = x[6] / cs.s
        let vx = x[11] - x[17] - (py * w[2] - pz * w[1])
        let vy = x[12] - x[18] - (pz * w[0] - px * w[2])
        let vz = x[13] - x[19] - (px * w[1] - py * w[0])
        v[0] <- vx; v[1] <- vy; v[2] <- vz
        let vn = vx * nx + vy * ny + vz * nz
        let act = RealOps.Sigmoid xs
        let pre = RealOps.Softplus xs * (cs.k * cs.s) - act * vn * cs.c
        let fnMag = RealOps.Relu pre
        t[0] <- vx - nx * vn; t[1] <- vy - ny * vn; t[2] <- vz - nz * vn
        let r = sqrt (t[0] * t[0] + t[1] * t[1] + t[2] * t[2] + cs.eps * cs.eps)
        let mu = x[7]
        let slope = fnMag * mu / r
        for i in 0 .. 2 do f[i] <- n[i] * fnMag - t[i] * slope
        let mutable gslope, gact, gkc, gc = 0.0, 0.0, 0.0, 0.0
        if gK.Length > 0 then
            let struct (s0, a0, k0, c0) = stiffnessAdjoint cs sc p n slope act gK gp gn
            gslope <- s0
            gact <- a0
            gkc <- k0
            gc <- c0
        // wrench [p x f; f]
        for i in 0 .. 2 do
            gm[i] <- gWrench[i]
            gf[i] <- gf[i] + gWrench[3 + i]
        gp[0] <- gp[0] + (f[1] * gm[2] - f[2] * gm[1])
        gp[1] <- gp[1] + (f[2] * gm[0] - f[0] * gm[2])
        gp[2] <- gp[2] + (f[0] * gm[1] - f[1] * gm[0])
        gf[0] <- gf[0] + (gm[1] * pz - gm[2] * py)
        gf[1] <- gf[1] + (gm[2] * px - gm[0] * pz)
        gf[2] <- gf[2] + (gm[0] * py - gm[1] * px)
        // f = n fn - t slope
        let mutable gfn, gft = 0.0, 0.0
        for i in 0 .. 2 do
            gn[i] <- gn[i] + gf[i] * fnMag
            gfn <- gfn + gf[i] * n[i]
            gt[i] <- -gf[i] * slope
            gft <- gft + gf[i] * t[i]
        gslope <- gslope - gft
        // slope = fn mu / r, r = sqrt(t . t + eps^2)
        gfn <- gfn + gslope * mu / r
        let gmu = gslope * fnMag / r
        let gr = -gslope * slope / r
        for i in 0 .. 2 do gt[i] <- gt[i] + gr * t[i] / r
        // t = v - n vn
        let mutable gvn = 0.0
        for i in 0 .. 2 do
            gv[i] <- gt[i]
            gn[i] <- gn[i] - gt[i] * vn
            gvn <- gvn - gt[i] * n[i]
        // fn = relu(softplus(xs) k s - act vn c)
        let gpre = if pre > 0.0 || System.Double.IsNaN pre then gfn else 0.0
        let gsp = gpre * cs.k * cs.s
        gkc <- gkc + gpre * RealOps.Softplus xs * cs.s
        gc <- gc - gpre * act * vn
        gact <- gact - gpre * vn * cs.c
        gvn <- gvn - gpre * act * cs.c
        let gxs = gsp * act + gact * act * (1.0 - act)
        // vn = v . n
        for i in 0 .. 2 do
            gv[i] <- gv[i] + gvn * n[i]
            gn[i] <- gn[i] + gvn * v[i]
        // v = u - p x w: u-bar = v-bar; p-bar += w x (-v-bar); w-bar = (-v-bar) x p
        gw[0] <- -(gv[1] * pz - gv[2] * py)
        gw[1] <- -(gv[2] * px - gv[0] * pz)
        gw[2] <- -(gv[0] * py - gv[1] * px)
        gp[0] <- gp[0] - (w[1] * gv[2] - w[2] * gv[1])
        gp[1] <- gp[1] - (w[2] * gv[0] - w[0] * gv[2])
        gp[2] <- gp[2] - (w[0] * gv[1] - w[1] * gv[0])
        for i in 0 .. 2 do
            gx[i] <- gp[i]
            gx[3 + i] <- gn[i]
            gx[8 + i] <- gw[i]
            gx[14 + i] <- -gw[i]
            gx[11 + i] <- gv[i]
            gx[17 + i] <- -gv[i]
        gx[6] <- gxs / cs.s
        gx[7] <- gmu
        gx[Inputs] <- gkc
        gx[Inputs + 1] <- gc

    /// The block of one point: inputs x with their tape ids (then those of k and c), outputs the wrench (6 ids) and
    /// K (36 ids, or none).
    [<Sealed>]
    type PointBlock(cs: Constants, x: float[], xIds: int[], wrenchIds: int[], kIds: int[]) =
        inherit TapeBlock()
        override _.Backward(adj: float[]) =
            let inline bar (id: int) = if id > 0 then adj[id - 1] else 0.0
            let sc = Scratch.Get()
            for i in 0 .. 5 do sc.gWrench[i] <- bar wrenchIds[i]
            let gK = if kIds.Length > 0 then sc.gK else Array.Empty<float>()
            for i in 0 .. kIds.Length - 1 do gK[i] <- bar kIds[i]
            pointAdjoint cs x sc.gWrench gK sc.gx
            for i in 0 .. Adjoints - 1 do
                let id = xIds[i]
                if id > 0 then adj[id - 1] <- adj[id - 1] + sc.gx[i]

/// The law's settings that are not differentiated: softness s, friction velocity eps, step h, and whether K is wanted.
[<Struct>]
type LawSettings =
    { /// Softness (m) of the penetration softplus.
      softness: float
      /// Velocity scale (m/s) of the smooth Coulomb friction.
      frictionVelocity: float
      /// The (sub-)step h the implicit damping is taken over.
      step: float
      /// Whether the spatial stiffness K is computed too.
      withK: bool }

/// One contact point as the law reads it: world point p, unit normal n (from B into A), depth (> 0 penetrating),
/// friction coefficient mu, and where the two bodies' spatial velocities [w; u] start in a velocity array.
[<Struct>]
type LawPoint<'T> =
    { px: 'T
      py: 'T
      pz: 'T
      nx: 'T
      ny: 'T
      nz: 'T
      depth: 'T
      mu: 'T
      /// Offset of body A's spatial velocity in the velocity array.
      velA: int
      /// Offset of body B's spatial velocity in the velocity array.
      velB: int }

/// One contact point's soft force law per scalar type, for the kernels' statically resolved calls (public for that
/// reason only; ContactPointKernel.addPoint is the caller): from the point (LawPoint: p, n, depth, mu) and the bodies' spatial
/// velocities a = [w; u] of A and b of B (read from cv) to the wrench [p x f; f] on A into wrench[0..5] and, when
/// withK, the spatial stiffness K = X^T L X into k[0..35]; kc, c: the contact stiffness and damping.
[<AbstractClass; Sealed>]
type ContactLaw =
    /// On floats: the law, inlined into the kernels.
    static member inline Point(settings: LawSettings, kc: float, c: float, pt: LawPoint<float>, cv: float[], wrench: float[], k: float[]) =
        let s, eps, h, withK = settings.softness, settings.frictionVelocity, settings.step, settings.withK
        let px, py, pz, nx, ny, nz, depth, mu = pt.px, pt.py, pt.pz, pt.nx, pt.ny, pt.nz, pt.depth, pt.mu
        let ao, bo = pt.velA, pt.velB
        let a0, a1, a2, a3, a4, a5 = cv[ao], cv[ao + 1], cv[ao + 2], cv[ao + 3], cv[ao + 4], cv[ao + 5]
        let b0, b1, b2, b3, b4, b5 = cv[bo], cv[bo + 1], cv[bo + 2], cv[bo + 3], cv[bo + 4], cv[bo + 5]
        let x = depth / s
        let wx, wy, wz = a0 - b0, a1 - b1, a2 - b2
        let ux, uy, uz = a3 - b3, a4 - b4, a5 - b5
        // velocity of the point: u - p x w
        let vx = ux - (py * wz - pz * wy)
        let vy = uy - (pz * wx - px * wz)
        let vz = uz - (px * wy - py * wx)
        let vn = vx * nx + vy * ny + vz * nz
        let act = RealOps.Sigmoid x
        let fnMag = RealOps.Relu(RealOps.Softplus x * (kc * s) - act * vn * c)
        let tx, ty, tz = vx - nx * vn, vy - ny * vn, vz - nz * vn
        let slope = fnMag * mu / sqrt (tx * tx + ty * ty + tz * tz + eps * eps)
        let fx, fy, fz = nx * fnMag - tx * slope, ny * fnMag - ty * slope, nz * fnMag - tz * slope
        wrench[0] <- py * fz - pz * fy
        wrench[1] <- pz * fx - px * fz
        wrench[2] <- px * fy - py * fx
        wrench[3] <- fx
        wrench[4] <- fy
        wrench[5] <- fz
        if withK then
            // L = cn n n^T + slope (I - n n^T), cn = sigmoid(d / s) (c + h k); K = X^T L X = [[P^T L P, P^T L], [L P, L]], P = -[p]x
            let cn = act * (c + kc * h)
            let l00, l11, l22 = nx * nx * cn + (1.0 - nx * nx) * slope, ny * ny * cn + (1.0 - ny * ny) * slope, nz * nz * cn + (1.0 - nz * nz) * slope
            let l01, l02, l12 = nx * ny * cn - nx * ny * slope, nx * nz * cn - nx * nz * slope, ny * nz * cn - ny * nz * slope
            // L P with P = [[0, pz, -py], [-pz, 0, px], [py, -px, 0]]
            let a00, a01, a02 = -l01 * pz + l02 * py, l00 * pz - l02 * px, -l00 * py + l01 * px
            let a10, a11, a12 = -l11 * pz + l12 * py, l01 * pz - l12 * px, -l01 * py + l11 * px
            let a20, a21, a22 = -l12 * pz + l22 * py, l02 * pz - l22 * px, -l02 * py + l12 * px
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

    /// The point of a law input array x (ContactAdjoint.Inputs values: p, n, depth, mu, then A's and B's velocities).
    static member PointOf(x: float[]) : LawPoint<float> =
        { px = x[0]; py = x[1]; pz = x[2]; nx = x[3]; ny = x[4]; nz = x[5]; depth = x[6]; mu = x[7]; velA = 8; velB = 14 }

    /// On the scalar tape: the law's values as the leaves of one ContactAdjoint.PointBlock (constants when no input
    /// is on the tape).
    static member Point(settings: LawSettings, kc: TapeReal, c: TapeReal, pt: LawPoint<TapeReal>, cv: TapeReal[], wrench: TapeReal[], k: TapeReal[]) =
        let s, eps, h, withK = settings.softness, settings.frictionVelocity, settings.step, settings.withK
        let x, ids = Array.zeroCreate ContactAdjoint.Inputs, Array.zeroCreate ContactAdjoint.Adjoints
        ids[ContactAdjoint.Inputs] <- kc.id
        ids[ContactAdjoint.Inputs + 1] <- c.id
        let inline put (i: int) (r: TapeReal) =
            x[i] <- r.v
            ids[i] <- r.id
        put 0 pt.px; put 1 pt.py; put 2 pt.pz; put 3 pt.nx; put 4 pt.ny; put 5 pt.nz; put 6 pt.depth; put 7 pt.mu
        for i in 0 .. 5 do
            put (8 + i) cv[pt.velA + i]
            put (14 + i) cv[pt.velB + i]
        let sc = ContactAdjoint.Scratch.Get()
        let wv, kv, nk = sc.wrench, sc.k, (if withK then 36 else 0)
        ContactLaw.Point(settings, kc.v, c.v, ContactLaw.PointOf x, x, wv, kv)
        if Array.forall (fun id -> id = 0) ids then
            for i in 0 .. 5 do wrench[i] <- TapeReal.Const wv[i]
            for i in 0 .. nk - 1 do k[i] <- TapeReal.Const kv[i]
        else
            let tape = ScalarTape.Current
            let wIds, kIds = Array.zeroCreate 6, Array.zeroCreate nk
            let cs: ContactAdjoint.Constants = { s = s; k = kc.v; c = c.v; eps = eps; h = h }
            tape.Block(ContactAdjoint.PointBlock(cs, x, ids, wIds, kIds))
            for i in 0 .. 5 do
                wIds[i] <- tape.Leaf()
                wrench[i] <- TapeReal(wv[i], wIds[i])
            for i in 0 .. nk - 1 do
                kIds[i] <- tape.Leaf()
                k[i] <- TapeReal(kv[i], kIds[i])
