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

    /// Factorises the SPD matrix a (nv x nv, symmetric, nonzero only between a dof and its ancestors) in place as
    /// L^T D L along the dof tree (MuJoCo mj_factorM: no fill-in).
    let inline internal ldlFactor (n: int) (parent: int[]) (a: ^T[]) =
        for k in n - 1 .. -1 .. 0 do
            let mutable i = parent[k]
            while i >= 0 do
                let t = a[k * n + i] / a[k * n + k]
                let mutable j = i
                while j >= 0 do
                    a[i * n + j] <- a[i * n + j] - t * a[k * n + j]
                    j <- parent[j]
                a[k * n + i] <- t
                i <- parent[i]

    /// Solves (L^T D L) x = b in place in x with the factor of ldlFactor (MuJoCo mj_solveM).
    let inline internal ldlSolveFactored (n: int) (parent: int[]) (a: ^T[]) (x: ^T[]) =
        for k in n - 1 .. -1 .. 0 do
            let mutable i = parent[k]
            while i >= 0 do
                x[i] <- x[i] - a[k * n + i] * x[k]
                i <- parent[i]
        for k in 0 .. n - 1 do
            x[k] <- x[k] / a[k * n + k]
        for k in 0 .. n - 1 do
            let mutable i = parent[k]
            while i >= 0 do
                x[k] <- x[k] - a[k * n + i] * x[i]
                i <- parent[i]

    /// Factorises a in place (ldlFactor), then solves into x (ldlSolveFactored).
    let inline internal ldlSolve (n: int) (parent: int[]) (a: ^T[]) (x: ^T[]) =
        ldlFactor n parent a
        ldlSolveFactored n parent a x

/// The hand-written adjoint of the LDL solve and its tape block.
module internal SolveAdjoint =
    open Genesis.Physics.AdjointArrays

    /// The adjoint of the solve of the symmetric system A x = b by SolveKernel.ldlSolve (factor: A's factorisation, x the
    /// solution): turns the adjoint g of x into that of b (A^-1 g) and writes A's into gA at [k * n + i] for each
    /// entry of the pattern (i = k or an ancestor of k), standing for both halves: -(b-bar_k x_i + b-bar_i x_k).
    let internal ldlAdjoint (n: int) (parent: int[]) (factor: float[]) (x: float[]) (g: float[]) (gA: float[]) =
        SolveKernel.ldlSolveFactored n parent factor g
        for k in 0 .. n - 1 do
            gA[k * n + k] <- -(g[k] * x[k])
            let mutable i = parent[k]
            while i >= 0 do
                gA[k * n + i] <- -(g[k] * x[i] + g[i] * x[k])
                i <- parent[i]

    /// The solve of the symmetric system A x = b by SolveKernel.ldlSolve (x overwrites b): reads A's diagonal and the
    /// entries between a dof and its ancestors (the lower triangle of the pattern), which stand for both halves.
    [<Sealed>]
    type SolveBlock(n: int, scratch: Arena<float>, parent: int[], factor: float[], x: float[], aIds: int[], bIds: int[], outIds: int[]) =
        inherit TapeBlock()
        override _.Backward(adj: float[]) =
            scratch.Reset()
            let g, gA = scratch.Take n, scratch.Take(n * n)
            gather adj outIds g
            ldlAdjoint n parent factor x g gA
            scatter adj bIds g 1.0
            for k in 0 .. n - 1 do
                let id = aIds[k * n + k]
                if id > 0 then adj[id - 1] <- adj[id - 1] + gA[k * n + k]
                let mutable i = parent[k]
                while i >= 0 do
                    let id = aIds[k * n + i]
                    if id > 0 then adj[id - 1] <- adj[id - 1] + gA[k * n + i]
                    i <- parent[i]
