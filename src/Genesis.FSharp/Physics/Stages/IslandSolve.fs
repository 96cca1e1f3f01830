namespace Genesis.Physics

open System
open Genesis

/// The solve (M + h D + h C) qacc = f when contacts couple trees (C has cross terms outside M's pattern): the coupled
/// trees are grouped into islands (Islands), each solved by a dense LU over its own dofs (gather its block, factor,
/// solve, scatter back), and every other tree by the tree LDL. Memory: the largest island's dofs squared, not nv^2.
module internal IslandSolveKernel =
    open Genesis.Real
    open Genesis.HomogeneousArithmetic

    /// block (n x n row-major, n island i's dof count) = island i's block of A: the cross terms in their order (each
    /// subtracted from both halves), then the pattern values a of its dofs' rows (both halves of each entry).
    let inline gather (p: TreePattern) (g: Islands) (cross: CrossTerms< ^T>) (a: ^T[]) (i: int) (block: ^T[]) =
        let s = g.start[i]
        let n = g.start[i + 1] - s
        Array.Clear(block, 0, n * n)
        let rows, cols, values, local = cross.Rows, cross.Cols, cross.Values, g.local
        for e in g.termStart[i] .. g.termStart[i + 1] - 1 do
            let t = g.termOrder[e]
            let lj, lk = local[rows[t]], local[cols[t]]
            block[lj * n + lk] <- block[lj * n + lk] - values[t]
            block[lk * n + lj] <- block[lk * n + lj] - values[t]
        for e in 0 .. n - 1 do
            let k = g.dofs[s + e]
            let d = TreePattern.diag p k
            for q in p.rowAdr[k] .. d - 1 do
                let j = local[p.colInd[q]]
                block[e * n + j] <- block[e * n + j] + a[q]
                block[j * n + e] <- block[j * n + e] + a[q]
            block[e * n + e] <- block[e * n + e] + a[d]

    /// Solves island i of g densely: x (its first n entries) holds the right-hand side of its dofs on entry and the
    /// solution on exit; block is destroyed.
    let inline solveIsland (p: TreePattern) (g: Islands) (cross: CrossTerms< ^T>) (a: ^T[]) (i: int) (block: ^T[]) (x: ^T[]) =
        gather p g cross a i block
        DenseLU.luSolveInPlace (g.start[i + 1] - g.start[i]) block 1 x

    /// Grows arr to at least n entries.
    let inline internal ensure (arr: ^T[]) (n: int) : ^T[] = if arr.Length >= n then arr else Array.zeroCreate n

    /// Solves A x = rhs in place in rhs (A = a in the tree pattern p plus w.cross's terms): groups the islands of
    /// w.cross, solves each densely, makes their rows of a the identity and their rhs zero so that `solve` (the tree
    /// LDL or a replacement) solves the other trees only, then writes the islands' solutions into rhs.
    let inline solveWith ([<InlineIfLambda>] solve) (p: TreePattern) (w: FastWork< ^T>) (a: ^T[]) (rhs: ^T[]) =
        if isNull w.islands then w.islands <- Islands p
        let g, cross = w.islands, w.cross
        g.Group(cross.Rows, cross.Cols, cross.Count)
        let total = g.start[g.Count]
        w.islandBlock <- ensure w.islandBlock (g.Largest * g.Largest)
        w.islandX <- ensure w.islandX g.Largest
        w.islandSol <- ensure w.islandSol total
        let block, x, sol = w.islandBlock, w.islandX, w.islandSol
        for i in 0 .. g.Count - 1 do
            let s = g.start[i]
            let n = g.start[i + 1] - s
            for e in 0 .. n - 1 do x[e] <- rhs[g.dofs[s + e]]
            solveIsland p g cross a i block x
            Array.blit x 0 sol s n
        let zero, one = lift 0.0, lift 1.0
        for e in 0 .. total - 1 do
            let k = g.dofs[e]
            let d = TreePattern.diag p k
            for q in p.rowAdr[k] .. d - 1 do a[q] <- zero
            a[d] <- one
            rhs[k] <- zero
        solve p a rhs
        for e in 0 .. total - 1 do rhs[g.dofs[e]] <- sol[e]

/// The hand-written adjoint of IslandSolveKernel.solveWith on floats (EulerAdjoint's coupled sub-steps).
module internal IslandSolveAdjoint =
    /// The adjoint's buffers, grown on demand (the largest island's dofs squared, the islands' dofs, the cross terms).
    [<Sealed>]
    type Buffers() =
        /// The islands, created by the first coupled sub-step.
        member val islands: Islands = null with get, set
        /// One island's dense block.
        member val block: float[] = Array.empty with get, set
        /// One island's adjoint lambda = A^-T g.
        member val lambda: float[] = Array.empty with get, set
        /// The islands' incoming adjoints, island after island.
        member val gIslands: float[] = Array.empty with get, set
        /// Each cross term's adjoint (of its value v, which enters A as -v in both halves).
        member val termG: float[] = Array.empty with get, set
        /// A's pattern values with the diagonal terms, rebuilt from the trace.
        member val system: float[] = Array.empty with get, set

    /// The adjoint of A x = b solved by IslandSolveKernel.solveWith (a: A's pattern values, cross its cross terms,
    /// factor: the tree LDL factor it left, x the solution): turns the adjoint g of x into that of b (A^-1 g, A symmetric),
    /// writes A's pattern entries' adjoint into gA (ldlAdjoint's convention: one value for both halves) and each
    /// cross term's into buf.termG. On an island, A-bar = -lambda x^T restricted to its block, lambda = A^-T g.
    let adjoint (p: TreePattern) (buf: Buffers) (cross: CrossTerms<float>) (a: float[]) (factor: float[]) (x: float[]) (g: float[]) (gA: float[]) =
        if isNull buf.islands then buf.islands <- Islands p
        let isl = buf.islands
        isl.Group(cross.Rows, cross.Cols, cross.Count)
        let total = isl.start[isl.Count]
        buf.block <- IslandSolveKernel.ensure buf.block (isl.Largest * isl.Largest)
        buf.lambda <- IslandSolveKernel.ensure buf.lambda isl.Largest
        buf.gIslands <- IslandSolveKernel.ensure buf.gIslands total
        buf.termG <- IslandSolveKernel.ensure buf.termG cross.Count
        let lam, gi, local = buf.lambda, buf.gIslands, isl.local
        for e in 0 .. total - 1 do gi[e] <- g[isl.dofs[e]]
        // the other trees (the islands' rows of the factor are the identity; their values are overwritten below)
        SolveAdjoint.ldlAdjoint p factor x g gA
        for i in 0 .. isl.Count - 1 do
            let s = isl.start[i]
            let n = isl.start[i + 1] - s
            Array.blit gi s lam 0 n
            IslandSolveKernel.solveIsland p isl cross a i buf.block lam
            for e in 0 .. n - 1 do
                let k = isl.dofs[s + e]
                g[k] <- lam[e]
                let d = TreePattern.diag p k
                for q in p.rowAdr[k] .. d - 1 do
                    let j = p.colInd[q]
                    gA[q] <- -(lam[e] * x[j]) + -(lam[local[j]] * x[k])
                gA[d] <- -(lam[e] * x[k])
            for te in isl.termStart[i] .. isl.termStart[i + 1] - 1 do
                let t = isl.termOrder[te]
                let j, k = cross.Rows[t], cross.Cols[t]
                buf.termG[t] <- lam[local[j]] * x[k] + lam[local[k]] * x[j]
