/// The mass matrix in the tree's sparsity pattern (TreePattern) and its LDL factorisation, solve and adjoint
/// (SolveKernel, SolveAdjoint; issue 19): the sparse factor and solve equal a dense LDL of the same matrix (1e-12) on
/// every asset and on random trees, the factor recovers the L and D a random SPD matrix was built from, and the solve's
/// adjoint matches central finite differences.
module Genesis.Tests.Physics.Stages.TreeLdlTests

open System
open Expecto
open Genesis
open Genesis.Physics
open Genesis.Tests
open Genesis.Tests.Physics.MorphTestUtil
open Genesis.Tests.Physics.PhysicsTestUtil

/// Sparse = dense LDL, and the factor = the generating L and D (relative to the largest entry).
let LdlTol = 1e-12
/// The adjoint vs central differences of step FdStep.
let FdTol = 1e-7
let FdStep = 1e-6

/// The dense reference: M = L^T D L of a dense symmetric matrix (n x n, row-major), eliminating the last dof first
/// over every entry (no pattern): L's strict lower triangle and D's diagonal overwrite a's lower triangle.
let private denseLdl (n: int) (a: float[]) =
    for k in n - 1 .. -1 .. 0 do
        for i in k - 1 .. -1 .. 0 do
            let t = a[k * n + i] / a[k * n + k]
            for j in 0 .. i do
                a[i * n + j] <- a[i * n + j] - t * a[k * n + j]
            a[k * n + i] <- t

/// Solves (L^T D L) x = b with denseLdl's factor.
let private denseLdlSolve (n: int) (a: float[]) (b: float[]) =
    let x = Array.copy b
    for k in n - 1 .. -1 .. 0 do
        for i in 0 .. k - 1 do x[i] <- x[i] - a[k * n + i] * x[k]
    for k in 0 .. n - 1 do x[k] <- x[k] / a[k * n + k]
    for k in 0 .. n - 1 do
        for i in 0 .. k - 1 do x[k] <- x[k] - a[k * n + i] * x[i]
    x

/// The dense factor's lower triangle (where the sparse one stores nothing it must be zero: no fill-in).
let private lowerOf (n: int) (a: float[]) = Array.init (n * n) (fun q -> if q % n <= q / n then a[q] else 0.0)

/// The sparse factor and solve of M (pattern values) against the dense LDL of M expanded, and a residual check.
let private checkAgainstDense (what: string) (p: TreePattern) (m: float[]) (b: float[]) =
    let n = p.nv
    let dense = TreePattern.toDense p m
    let factor = Array.copy m
    FastStep.Instances.ldlFactorFloat p factor
    let x = Array.copy b
    FastStep.Instances.ldlSolveFactoredFloat p factor x
    let dFactor = Array.copy dense
    denseLdl n dFactor
    // the dense factor's lower triangle, with the sparse factor laid out densely (zero outside the pattern)
    let sparseLaidOut = Array.zeroCreate (n * n)
    for k in 0 .. n - 1 do
        for q in p.rowAdr[k] .. TreePattern.diag p k do sparseLaidOut[k * n + p.colInd[q]] <- factor[q]
    expectClose LdlTol (what + ": factor, sparse vs dense") (lowerOf n dFactor) sparseLaidOut
    expectClose LdlTol (what + ": solve, sparse vs dense") (denseLdlSolve n dFactor b) x
    let residual = Array.init n (fun i -> (Array.init n (fun j -> dense[i * n + j] * x[j]) |> Array.sum) - b[i])
    expectClose 1e-10 (what + ": M x = b") (Array.zeroCreate n) (residual |> Array.map (fun r -> r / (1.0 + (Array.map abs dense |> Array.max) * (Array.map abs x |> Array.max))))

/// The mass matrix of a model on the fast path at a random pose (pattern values), with its pattern.
let private massMatrixOf (m: Model) (rnd: Random) =
    let fm = FastStep.prepare m
    let w = FastModelBuild.rent fm
    try
        let q, v = randomStates 0.1 m rnd 1 0.6 1.0
        let sp = { SimParams.defaults with enableContact = false }
        let modes = Array.create fm.nv (ActuationKernel.modeCode ControlMode.Force)
        FastStep.evaluateFloat fm w sp sp.dt false modes q v (Array.zeroCreate fm.nv)
        fm.pattern, Array.copy w.qM
    finally FastModelBuild.giveBack fm w

/// Every asset of the repository (URDFs with their fixedBase, MJCF files) as a Float64 model.
let private assetModels () =
    [ for path, fixedBase in urdfAssets -> path, Model.build [| Urdf.load (asset path, fixedBase = fixedBase) |] DType.Float64
      for path in mjcfAssets () @ [ "pendulum/pendulum.xml"; "cartpole/cartpole_classic.xml" ] -> path, Model.build [| Mjcf.load (asset path) |] DType.Float64 ]

/// A random dof tree of n dofs (parents first) from the seed: each dof hangs below a random earlier one or is a root.
let private randomParent (rnd: Random) (n: int) = Array.init n (fun k -> if k = 0 || rnd.Next 5 = 0 then -1 else rnd.Next k)

/// Random unit-lower L (pattern values, 1 on the diagonal) and positive D, and M = L^T D L in the pattern.
let private randomSpd (rnd: Random) (p: TreePattern) =
    let n = p.nv
    let l = Array.init (TreePattern.nnz p) (fun _ -> rnd.NextDouble() - 0.5)
    for k in 0 .. n - 1 do l[TreePattern.diag p k] <- 1.0
    let d = Array.init n (fun _ -> 0.2 + 2.0 * rnd.NextDouble())
    // M = sum_k D_k (row k of L)^T (row k of L): row k of L lies on k's chain, so M stays in the pattern
    let dense = Array.zeroCreate (n * n)
    for k in 0 .. n - 1 do
        for q in p.rowAdr[k] .. TreePattern.diag p k do
            for r in p.rowAdr[k] .. TreePattern.diag p k do
                let i, j = p.colInd[q], p.colInd[r]
                dense[i * n + j] <- dense[i * n + j] + d[k] * l[q] * l[r]
    l, d, TreePattern.ofDense p dense

let private config = { FsCheckConfig.defaultConfig with maxTest = 60 }

/// The tree pattern, factor and solve on random trees: the factor recovers L and D, and equals the dense LDL.
let private randomTree (seed: int) (size: int) =
    let rnd = Random seed
    let n = 1 + (abs size) % 40
    let p = TreePattern.ofParent (randomParent rnd n)
    let l, d, m = randomSpd rnd p
    let factor = Array.copy m
    FastStep.Instances.ldlFactorFloat p factor
    let expected = Array.copy l
    for k in 0 .. n - 1 do expected[TreePattern.diag p k] <- d[k]
    expectClose LdlTol (sprintf "n = %d: factor = the generating L and D" n) expected factor
    checkAgainstDense (sprintf "random tree, n = %d" n) p m (Array.init n (fun _ -> rnd.NextDouble() - 0.5))

/// u . x(A, b) for the sparse solve x = A^-1 b.
let private objective (p: TreePattern) (a: float[]) (b: float[]) (u: float[]) =
    let x = Array.copy b
    FastStep.Instances.ldlSolveFloat p (Array.copy a) x
    Array.fold2 (fun s ui xi -> s + ui * xi) 0.0 u x

[<Tests>]
let tests =
    testList "Physics.TreeLdl" [
        test "the pattern of a tree: rows are ancestors ascending then the diagonal, and an ancestor's row prefixes its descendant's" {
            //      0       3
            //     / \      |
            //    1   2     4
            //        |
            //        5
            let p = TreePattern.ofParent [| -1; 0; 0; -1; 3; 2 |]
            Expect.equal p.rowNnz [| 1; 2; 2; 1; 2; 3 |] "row lengths (depths)"
            Expect.equal p.rowAdr [| 0; 1; 3; 5; 6; 8 |] "row addresses"
            Expect.equal p.colInd [| 0; 0; 1; 0; 2; 3; 3; 4; 0; 2; 5 |] "columns"
            Expect.equal (TreePattern.nnz p) 11 "entries: the sum of the depths"
        }
        test "a parent that is not an earlier dof raises, naming the dof" {
            Expect.throwsT<GenesisException> (fun () -> TreePattern.ofParent [| -1; 1 |] |> ignore) "parent[1] = 1"
            let e = Expect.throwsC (fun () -> TreePattern.ofParent [| -1; 0; 5 |] |> ignore) id
            Expect.stringContains e.Message "dof 2" "the message names the dof"
        }
        test "toDense and ofDense are inverse on the pattern, and toDense is symmetric" {
            let p = TreePattern.ofParent [| -1; 0; 1; 0; -1; 4 |]
            let values = Array.init (TreePattern.nnz p) (fun q -> float (q + 1))
            let dense = TreePattern.toDense p values
            Expect.equal (TreePattern.ofDense p dense) values "round trip"
            for i in 0 .. 5 do
                for j in 0 .. 5 do Expect.equal dense[i * 6 + j] dense[j * 6 + i] "symmetric"
            Expect.equal dense[2 * 6 + 3] 0.0 "siblings' entry outside the pattern"
            Expect.equal dense[5 * 6 + 0] 0.0 "two trees' entry outside the pattern"
        }
        test "sparse LDL factor and solve = dense LDL on every asset's mass matrix (fast path, random pose)" {
            GsSetup.ensure64 ()
            let rnd = Random 19
            let models = assetModels ()
            Expect.isGreaterThanOrEqual models.Length 11 "every asset"
            for label, m in models do
                let p, mass = massMatrixOf m rnd
                Expect.equal mass.Length (TreePattern.nnz p) (label + ": M stored in the pattern")
                if p.nv > 0 then
                    checkAgainstDense label p mass (Array.init p.nv (fun _ -> rnd.NextDouble() - 0.5))
        }
        testPropertyWithConfig config "sparse LDL on random trees and random SPD matrices of their pattern = the generating L, D and dense LDL" randomTree
        test "the sparse solve's adjoint (SolveAdjoint.ldlAdjoint) = central differences, for A's pattern entries and b" {
            for seed in 1 .. 5 do
                let rnd = Random(100 + seed)
                let n = 6 + 3 * seed
                let p = TreePattern.ofParent (randomParent rnd n)
                let _, _, a = randomSpd rnd p
                let b, u = Array.init n (fun _ -> rnd.NextDouble() - 0.5), Array.init n (fun _ -> rnd.NextDouble() - 0.5)
                let factor, x = Array.copy a, Array.copy b
                FastStep.Instances.ldlSolveFloat p factor x
                let g, gA = Array.copy u, Array.zeroCreate a.Length
                SolveAdjoint.ldlAdjoint p factor x g gA
                let fdA =
                    Array.init a.Length (fun q ->
                        let shifted (s: float) = (let a2 = Array.copy a in a2[q] <- a2[q] + s; objective p a2 b u)
                        (shifted FdStep - shifted -FdStep) / (2.0 * FdStep))
                let fdB =
                    Array.init n (fun i ->
                        let shifted (s: float) = (let b2 = Array.copy b in b2[i] <- b2[i] + s; objective p a b2 u)
                        (shifted FdStep - shifted -FdStep) / (2.0 * FdStep))
                Expect.isGreaterThan (gA |> Array.map abs |> Array.max) 1e-3 "A's adjoint non-zero"
                expectClose FdTol (sprintf "seed %d: d/dA" seed) fdA gA
                expectClose FdTol (sprintf "seed %d: d/db" seed) fdB g
        }
    ]
