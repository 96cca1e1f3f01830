namespace Genesis.Physics

open System
open Genesis

/// What the hand-written adjoints share: an arena of reused arrays and small array algebra on flat blocks.
module internal AdjointArrays =
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
    let internal idsOf (arena: Arena<int>) (xs: TapeReal[]) (n: int) =
        let ids = arena.Take n
        for i in 0 .. n - 1 do ids[i] <- xs[i].id
        ids

    /// A copy of the first n values of xs, in an array from the arena.
    let internal copyOf (arena: Arena<float>) (xs: float[]) (n: int) =
        let c = arena.Take n
        Array.blit xs 0 c 0 n
        c

    /// The values of a TapeReal array into a float array.
    let internal valuesInto (xs: TapeReal[]) (n: int) (into: float[]) =
        for i in 0 .. n - 1 do into[i] <- xs[i].v

    /// Adds g[i] to the adjoint of entry ids[i] (constants, id 0, skipped).
    let internal scatter (adj: float[]) (ids: int[]) (g: float[]) (scale: float) =
        for i in 0 .. ids.Length - 1 do
            let id = ids[i]
            if id > 0 then adj[id - 1] <- adj[id - 1] + scale * g[i]

    /// out[oo..oo+2] += a x b for 3-vectors at offsets.
    let inline internal addCross (a: float[]) (ao: int) (b: float[]) (bo: int) (out: float[]) (oo: int) =
        out[oo] <- out[oo] + (a[ao + 1] * b[bo + 2] - a[ao + 2] * b[bo + 1])
        out[oo + 1] <- out[oo + 1] + (a[ao + 2] * b[bo] - a[ao] * b[bo + 2])
        out[oo + 2] <- out[oo + 2] + (a[ao] * b[bo + 1] - a[ao + 1] * b[bo])

    /// out[oo..] += X^T v for the 6 x 6 block X at x[xo..].
    let internal addMulT66 (x: float[]) (xo: int) (v: float[]) (vo: int) (out: float[]) (oo: int) =
        for c in 0 .. 5 do
            let mutable s = 0.0
            for r in 0 .. 5 do s <- s + x[xo + r * 6 + c] * v[vo + r]
            out[oo + c] <- out[oo + c] + s

    /// g[go..go+35] += a (6) outer b (6).
    let internal addOuter6 (a: float[]) (ao: int) (b: float[]) (bo: int) (g: float[]) (go: int) =
        for r in 0 .. 5 do
            let ar = a[ao + r]
            if ar <> 0.0 then
                for c in 0 .. 5 do g[go + r * 6 + c] <- g[go + r * 6 + c] + ar * b[bo + c]

    /// The adjoint of x = x_parent + sum_k v_k q_k over dofs k0 .. k1 - 1 (6-vectors v_k at v[6k..]), given x-bar at
    /// g[go..]: adds x-bar q_k into gv and x-bar . v_k into gq.
    let internal addSumAdjoint (g: float[]) (go: int) (v: float[]) (gv: float[]) (q: float[]) (gq: float[]) (k0: int) (k1: int) =
        for k in k0 .. k1 - 1 do
            let mutable s = 0.0
            for i in 0 .. 5 do
                gv[k * 6 + i] <- gv[k * 6 + i] + g[go + i] * q[k]
                s <- s + g[go + i] * v[k * 6 + i]
            gq[k] <- gq[k] + s

    /// out = A^T B for 3 x 3 row-major blocks at offsets (out must not alias a or b).
    let internal mulT33 (a: float[]) (ao: int) (b: float[]) (bo: int) (out: float[]) (oo: int) =
        for r in 0 .. 2 do
            for c in 0 .. 2 do
                out[oo + r * 3 + c] <- a[ao + r] * b[bo + c] + a[ao + 3 + r] * b[bo + 3 + c] + a[ao + 6 + r] * b[bo + 6 + c]

    /// out = A B^T for 3 x 3 row-major blocks at offsets (out must not alias a or b).
    let internal mul33T (a: float[]) (ao: int) (b: float[]) (bo: int) (out: float[]) (oo: int) =
        for r in 0 .. 2 do
            for c in 0 .. 2 do out[oo + r * 3 + c] <- FastMath.rowDot a ao r b (bo + c * 3)

    /// g[go..go+8] += u (3) outer v (3) * scale.
    let internal addOuter3 (u: float[]) (uo: int) (v: float[]) (vo: int) (scale: float) (g: float[]) (go: int) =
        for r in 0 .. 2 do
            for c in 0 .. 2 do g[go + r * 3 + c] <- g[go + r * 3 + c] + scale * u[uo + r] * v[vo + c]

    /// The adjoint of FastModelBuild.quatToMatInto (with its normalisation): adds to gq[o..o+3] the gradient of
    /// <gR, R(q)> for the 3 x 3 adjoint gR at g[go..].
    let internal quatToMatAdjoint (q: float[]) (o: int) (g: float[]) (go: int) (gq: float[]) =
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

    /// Adjoints of the entries ids (0 = constant) into g.
    let internal gather (adj: float[]) (ids: int[]) (g: float[]) =
        for i in 0 .. ids.Length - 1 do
            let id = ids[i]
            g[i] <- if id > 0 then adj[id - 1] else 0.0
