namespace Genesis.Physics

open System
open Genesis

/// The solve (M + h D + h C) qacc = f by the LDL factorisation along the dof tree (MuJoCo mj_factorM, mj_solveM):
/// M = L^T D L with L unit lower-triangular and non-zero only between a dof and its ancestors, so there is no fill-in.
/// The Tensor path solves with the batched linear solve of Autodiff/Ops/Solve.fs (its reference form).
module internal SolveKernel =
    open Genesis.Physics.FastMath
    open Genesis.Real
    open Genesis.HomogeneousArithmetic

    /// Factorises in place the SPD matrix a stored in the tree pattern p (one value per entry, TreePattern) as L^T D L
    /// along the dof tree (MuJoCo mj_factorM: no fill-in; cost the sum over dofs of their ancestors' depths). For each
    /// dof k from the leaves up and each ancestor i (nearest first): t = a(k, i) / a(k, k); a(i, j) -= t a(k, j) for j
    /// = i and i's ancestors (row i is a prefix of row k); a(k, i) = t.
    let inline internal ldlFactor (p: TreePattern) (a: ^T[]) =
        for k in p.nv - 1 .. -1 .. 0 do
            let adrK = p.rowAdr[k]
            let d = adrK + p.rowNnz[k] - 1
            for q in d - 1 .. -1 .. adrK do
                let t = a[q] / a[d]
                let adrI = p.rowAdr[p.colInd[q]]
                for r in 0 .. q - adrK do
                    a[adrI + r] <- a[adrI + r] - t * a[adrK + r]
                a[q] <- t

    /// Solves (L^T D L) x = b in place in x with the factor of ldlFactor (MuJoCo mj_solveM).
    let inline internal ldlSolveFactored (p: TreePattern) (a: ^T[]) (x: ^T[]) =
        let n = p.nv
        for k in n - 1 .. -1 .. 0 do
            let adrK = p.rowAdr[k]
            for q in adrK + p.rowNnz[k] - 2 .. -1 .. adrK do
                let i = p.colInd[q]
                x[i] <- x[i] - a[q] * x[k]
        for k in 0 .. n - 1 do
            x[k] <- x[k] / a[p.rowAdr[k] + p.rowNnz[k] - 1]
        for k in 0 .. n - 1 do
            let adrK = p.rowAdr[k]
            for q in adrK + p.rowNnz[k] - 2 .. -1 .. adrK do
                x[k] <- x[k] - a[q] * x[p.colInd[q]]

    /// Factorises a in place (ldlFactor), then solves into x (ldlSolveFactored).
    let inline internal ldlSolve (p: TreePattern) (a: ^T[]) (x: ^T[]) =
        ldlFactor p a
        ldlSolveFactored p a x

/// The hand-written adjoint of the LDL solve and its tape block.
module internal SolveAdjoint =
    open Genesis.Physics.AdjointArrays

    /// The adjoint of the solve of the symmetric system A x = b by SolveKernel.ldlSolve (factor: A's factorisation in
    /// the tree pattern p, x the solution): turns the adjoint g of x into that of b (A^-1 g) and writes A's into gA, one
    /// value per pattern entry (k, i) standing for both halves: -(b-bar_k x_i + b-bar_i x_k), -b-bar_k x_k on the diagonal.
    let internal ldlAdjoint (p: TreePattern) (factor: float[]) (x: float[]) (g: float[]) (gA: float[]) =
        SolveKernel.ldlSolveFactored p factor g
        for k in 0 .. p.nv - 1 do
            let d = TreePattern.diag p k
            for q in p.rowAdr[k] .. d - 1 do
                let i = p.colInd[q]
                gA[q] <- -(g[k] * x[i] + g[i] * x[k])
            gA[d] <- -(g[k] * x[k])

    /// The solve of the symmetric system A x = b by SolveKernel.ldlSolve (x overwrites b): reads A's pattern entries
    /// (aIds, one per entry of p), which stand for both halves.
    [<Sealed>]
    type SolveBlock(p: TreePattern, scratch: Arena<float>, factor: float[], x: float[], aIds: int[], bIds: int[], outIds: int[]) =
        inherit TapeBlock()
        override _.Backward(adj: float[]) =
            scratch.Reset()
            let g, gA = scratch.Take p.nv, scratch.Take aIds.Length
            gather adj outIds g
            ldlAdjoint p factor x g gA
            scatter adj bIds g 1.0
            scatter adj aIds gA 1.0
