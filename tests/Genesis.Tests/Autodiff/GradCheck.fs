/// Shared helpers of the tensor and autodiff tests: tolerances, the gs runtime, tensor builders, FsCheck
/// generators and the derivative checker (AD vs central finite differences in float64).
module Genesis.Tests.Autodiff.GradCheck

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Genesis

// ---------------------------------------------------------------------------------------------------------
// Tolerances (every test of tensors and autodiff uses these names)
// ---------------------------------------------------------------------------------------------------------

/// Central-difference step, scaled by max(1, |x_j|).
let fdStep = 1e-5
/// Absolute tolerance of an AD derivative against central differences (float64).
let fdAbsTol = 1e-6
/// Relative tolerance of an AD derivative against central differences (float64).
let fdRelTol = 1e-5
/// Tolerance of identities exact up to rounding: forward vs reverse mode, <v, J u> = <J^T v, u>, symmetry.
let exactTol = 1e-10
/// Relative tolerance of float64 values against closed forms computed with System.Math.
let valueTol = 1e-12
/// Relative tolerance of float32 values against closed forms computed in float64.
let f32Tol = 1e-6
/// Cases per FsCheck property: at least 200 per op; GENESIS_PROPERTY_CASES=N runs more (a deeper local check).
let propertyCases =
    match Environment.GetEnvironmentVariable "GENESIS_PROPERTY_CASES" with
    | null
    | "" -> 200
    | n -> max 200 (int n)
/// The FsCheck configuration of every derivative property.
let propConfig = { FsCheckConfig.defaultConfig with maxTest = propertyCases }

// ---------------------------------------------------------------------------------------------------------
// The gs runtime: initialised once, from any test, in float64 with a fixed seed
// ---------------------------------------------------------------------------------------------------------

/// The seed every initialisation of the test runtime uses.
let testSeed = 20240601
let private initLock = obj ()

/// Initialises gs (precision "64", testSeed) unless it already is; safe to call from every test and thread.
let ensureInit () =
    lock initLock (fun () ->
        if not gs.isInitialized then
            gs.init (backend = Backend.Cpu, precision = "64", seed = testSeed))

/// Runs f with gs destroyed and re-initialised by `init`, restoring the standard test runtime afterwards.
/// Only for tests in a testSequenced list (Expecto runs those after every parallel test).
let withRuntime (init: unit -> unit) (f: unit -> unit) =
    lock initLock (fun () ->
        gs.destroy ()
        try
            init ()
            f ()
        finally
            gs.destroy ()
            gs.init (backend = Backend.Cpu, precision = "64", seed = testSeed))

/// A test that first makes sure gs is initialised.
let gtest (name: string) (body: unit -> unit) = testCase name (fun () -> ensureInit (); body ())

/// A property over generated cases (propertyCases of them) that first makes sure gs is initialised.
let gprop (name: string) (gen: Gen<'a>) (body: 'a -> unit) =
    testPropertyWithConfig propConfig name (Prop.forAll (Arb.fromGen gen) (fun c -> ensureInit (); body c))

// ---------------------------------------------------------------------------------------------------------
// Tensor builders and comparisons
// ---------------------------------------------------------------------------------------------------------

/// A float64 tensor of a shape from row-major values.
let t64 (shape: int[]) (values: float[]) =
    ensureInit ()
    gs.fromArray (values, shape = shape, dtype = DType.Float64)

/// A 1-D float64 tensor.
let v64 (values: float list) = t64 [| values.Length |] (List.toArray values)

/// A float64 scalar tensor.
let s64 (value: float) = t64 [||] [| value |]

/// A float32 tensor of a shape from row-major values.
let t32 (shape: int[]) (values: float32[]) =
    ensureInit ()
    gs.fromArray (values, shape = shape, dtype = DType.Float32)

/// An int32 tensor of a shape.
let ti32 (shape: int[]) (values: int[]) =
    ensureInit ()
    gs.fromArray (values, shape = shape, dtype = DType.Int32)

/// An int64 tensor of a shape.
let ti64 (shape: int[]) (values: int64[]) =
    ensureInit ()
    gs.fromArray (values, shape = shape, dtype = DType.Int64)

/// The elements of a tensor as float[].
let vals (t: Tensor) = t.toFloatArray ()

/// True when a and b agree within an absolute plus relative tolerance (NaN equals NaN, infinities must match).
let near (absTol: float) (relTol: float) (a: float) (b: float) =
    if Double.IsNaN a || Double.IsNaN b then Double.IsNaN a && Double.IsNaN b
    elif Double.IsInfinity a || Double.IsInfinity b then a = b
    else abs (a - b) <= absTol + relTol * abs b

/// Expects equal shapes and elementwise agreement within (absTol, relTol).
let expectNear (absTol: float) (relTol: float) (msg: string) (actual: float[]) (expected: float[]) =
    if actual.Length <> expected.Length then
        failtestf "%s: %d elements, expected %d" msg actual.Length expected.Length
    for i in 0 .. actual.Length - 1 do
        if not (near absTol relTol actual[i] expected[i]) then
            failtestf "%s: element %d is %.17g, expected %.17g (abs tol %g, rel tol %g)\nactual   %A\nexpected %A" msg i actual[i] expected[i] absTol relTol actual expected

/// Expects a tensor's shape, dtype and values exactly.
let expectTensor (msg: string) (dtype: DType) (shape: int[]) (expected: float[]) (t: Tensor) =
    Expect.equal t.shape shape (msg + ": shape")
    Expect.equal t.dtype dtype (msg + ": dtype")
    expectNear 0.0 0.0 msg (vals t) expected

/// Expects a tensor's shape and values within valueTol (relative) of the expected float64 values.
let expectValues (msg: string) (shape: int[]) (expected: float[]) (t: Tensor) =
    Expect.equal t.shape shape (msg + ": shape")
    expectNear valueTol valueTol msg (vals t) expected

/// Values of a row-major array of `shape` broadcast to `target` (PyTorch rules), computed independently of
/// the engine (the oracle of the broadcasting value tests).
let broadcastValues (shape: int[]) (values: float[]) (target: int[]) =
    let off = target.Length - shape.Length
    let st = Shape.strides shape
    let tst = Shape.strides target
    Array.init (Shape.numel target) (fun o ->
        let mutable src = 0
        let mutable r = o
        for d in 0 .. target.Length - 1 do
            let i = r / tst[d]
            r <- r % tst[d]
            if d >= off && shape[d - off] <> 1 then src <- src + i * st[d - off]
        values[src])

// ---------------------------------------------------------------------------------------------------------
// Finite differences and the derivative checker
// ---------------------------------------------------------------------------------------------------------

/// What the derivative of an op must look like at the test points.
type Expectation =
    /// The central-difference Jacobian is not zero (so the comparison exercises something) and neither is AD's.
    | NonZero
    /// The AD Jacobian is exactly zero (piecewise-constant ops: floor, sign, round...).
    | Zero
    /// No guard (the Jacobian may be zero at some test points, e.g. max with respect to one operand).
    | Unguarded

/// The Jacobian [m, n] of f at x by central differences (float64).
let fdJacobian (f: Tensor -> Tensor) (x: Tensor) : float[,] =
    let x0 = vals x
    let eval (xs: float[]) = vals (f (t64 x.shape xs))
    let m = (eval x0).Length
    let n = x0.Length
    let jac = Array2D.zeroCreate m n
    for j in 0 .. n - 1 do
        let h = fdStep * max 1.0 (abs x0[j])
        let xp = Array.copy x0
        let xm = Array.copy x0
        xp[j] <- x0[j] + h
        xm[j] <- x0[j] - h
        let fp = eval xp
        let fm = eval xm
        for i in 0 .. m - 1 do
            jac[i, j] <- (fp[i] - fm[i]) / (xp[j] - xm[j])
    jac

/// A float64 tensor shaped like t with the unit vector e_k (flat index k).
let unitLike (t: Tensor) (k: int) =
    let e = Array.zeroCreate t.numel
    e[k] <- 1.0
    t64 t.shape e

/// The Jacobian [m, n] of f at x, column by column with gs.jvp (forward mode).
let jacobianFwd (f: Tensor -> Tensor) (x: Tensor) (m: int) : float[,] =
    let jac = Array2D.zeroCreate m x.numel
    for j in 0 .. x.numel - 1 do
        let col = vals (gs.jvp f x (unitLike x j))
        if col.Length <> m then failtestf "jvp gave %d elements, f gives %d" col.Length m
        for i in 0 .. m - 1 do
            jac[i, j] <- col[i]
    jac

/// The Jacobian [m, n] of f at x, row by row with gs.vjp (reverse mode).
let jacobianRev (f: Tensor -> Tensor) (x: Tensor) (y: Tensor) : float[,] =
    let jac = Array2D.zeroCreate y.numel x.numel
    for i in 0 .. y.numel - 1 do
        let row = vals (gs.vjp f x (unitLike y i))
        if row.Length <> x.numel then failtestf "vjp gave %d elements, x has %d" row.Length x.numel
        for j in 0 .. x.numel - 1 do
            jac[i, j] <- row[j]
    jac

/// The flat elements of a 2-D array (row-major).
let flat2 (a: float[,]) = [| for i in 0 .. Array2D.length1 a - 1 do for j in 0 .. Array2D.length2 a - 1 -> a[i, j] |]

/// Sum of elementwise products.
let dotF (a: float[]) (b: float[]) = Array.fold2 (fun acc p q -> acc + p * q) 0.0 a b

/// Deterministic pseudo-random values in [-1, 1] derived from the case (so that failures replay).
let directions (seedFrom: float[]) (n: int) =
    let h = seedFrom |> Array.fold (fun acc v -> acc * 31 + v.GetHashCode()) 17
    let r = Random(h)
    Array.init n (fun _ -> 2.0 * r.NextDouble() - 1.0)

/// Checks f's derivatives at x (float64): the forward-mode Jacobian (gs.jvp) and the reverse-mode Jacobian
/// (gs.vjp) against central differences and against each other, <v, J u> = <J^T v, u> for random u and v,
/// imperative backward() with a seed v equal to the VJP, and the Expectation guard.
let checkAt (name: string) (expect: Expectation) (f: Tensor -> Tensor) (x: Tensor) =
    let y = f x
    let m = y.numel
    let n = x.numel
    let jfd = fdJacobian f x
    let jf = jacobianFwd f x m
    let jr = jacobianRev f x y
    expectNear fdAbsTol fdRelTol (name + ": forward-mode Jacobian vs central differences") (flat2 jf) (flat2 jfd)
    expectNear fdAbsTol fdRelTol (name + ": reverse-mode Jacobian vs central differences") (flat2 jr) (flat2 jfd)
    expectNear exactTol exactTol (name + ": forward vs reverse Jacobian") (flat2 jr) (flat2 jf)
    // <v, J u> = <J^T v, u> with the vector APIs
    let u = directions (vals x) n
    let v = directions (Array.append (vals y) [| 1.5 |]) m
    let ju = vals (gs.jvp f x (t64 x.shape u))
    let jtv = vals (gs.vjp f x (t64 y.shape v))
    let lhs = dotF v ju
    let rhs = dotF jtv u
    if not (near (exactTol * (1.0 + abs lhs)) exactTol rhs lhs) then
        failtestf "%s: <v, J u> = %.17g but <J^T v, u> = %.17g" name lhs rhs
    // imperative backward from a requiresGrad leaf gives the same VJP
    let leaf = gs.fromTensor (x, requiresGrad = true)
    let out = f leaf
    out.backward (t64 y.shape v)
    let g = if isNull leaf.grad then Array.zeroCreate n else vals leaf.grad
    expectNear exactTol exactTol (name + ": backward() grad vs vjp") g jtv
    match expect with
    | NonZero ->
        if flat2 jfd |> Array.forall (fun d -> abs d < 1e-6) then
            failtestf "%s: the central-difference Jacobian is zero at this point; the check exercises nothing" name
        if flat2 jf |> Array.forall (fun d -> d = 0.0) then failtestf "%s: AD Jacobian is zero" name
    | Zero ->
        if flat2 jf |> Array.exists (fun d -> d <> 0.0) || flat2 jr |> Array.exists (fun d -> d <> 0.0) then
            failtestf "%s: expected a zero derivative, got %A" name (flat2 jf)
    | Unguarded -> ()

/// Packs two tensors into one flat vector (so that both operands are active at one nesting level).
let pack (a: Tensor) (b: Tensor) = gs.cat ([ a.flatten (); b.flatten () ])

/// The inverse of pack: the two operands, reshaped, from a packed vector.
let unpack (sa: int[]) (sb: int[]) (p: Tensor) =
    let na = Shape.numel sa
    let nb = Shape.numel sb
    p.narrow(0, 0, na).reshape sa, p.narrow(0, na, nb).reshape sb

/// Checks a binary op with respect to a (b constant), b (a constant), and both (active at one level), plus
/// imperative backward into two requiresGrad leaves.
let checkBinary (name: string) (expectEach: Expectation) (expectBoth: Expectation) (g: Tensor -> Tensor -> Tensor) (a: Tensor) (b: Tensor) =
    checkAt (name + " wrt a (b constant)") expectEach (fun a -> g a b) a
    checkAt (name + " wrt b (a constant)") expectEach (fun b -> g a b) b
    let sa, sb = a.shape, b.shape
    let both p = let a, b = unpack sa sb p in g a b
    checkAt (name + " wrt both") expectBoth both (pack a b)
    let y = g a b
    let v = t64 y.shape (directions (vals y) y.numel)
    let al = gs.fromTensor (a, requiresGrad = true)
    let bl = gs.fromTensor (b, requiresGrad = true)
    (g al bl).backward v
    let jtv = vals (gs.vjp both (pack a b) v)
    let ga = if isNull al.grad then Array.zeroCreate a.numel else vals al.grad
    let gb = if isNull bl.grad then Array.zeroCreate b.numel else vals bl.grad
    expectNear exactTol exactTol (name + ": backward() into two leaves") (Array.append ga gb) jtv

/// Smooth scalar test functions R^n -> R built from many ops (so nesting goes through every rule kind).
let smoothScalarFunctions: (string * (Tensor -> Tensor)) list =
    [ "sum(sin x * exp x)", (fun x -> (x.sin () * x.exp ()).sum ())
      "|x| * sum(tanh x)", (fun x -> (x * x + 0.1).sum().sqrt () * x.tanh().sum ())
      "sum(sigmoid(outer(x, x) @ x))", (fun x -> ((x.outer x).matmul x).sigmoid().sum ())
      "mean(softplus x / (1 + x^2)) + logsumexp-ish", (fun x -> (x.softplus () / (1.0 + x * x)).mean () + x.exp().sum().log ())
      "sum(cumsum(x)^3) * prod-ish", (fun x -> (x.cumsum 0 ** 3.0).sum () * (x.cos () + 2.0).log().sum ())
      "stack/reshape/atan2", (fun x -> (gs.stack [ x; x * x + 1.0 ]).reshape([ 2; -1 ]).T.matmul(v64 [ 0.3; -0.7 ]).atan2(x.cosh ()).sum ()) ]

// ---------------------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------------------

/// A generated float64 tensor: shape and row-major values (FsCheck prints these when a case fails).
type TData =
    { Shape: int[]
      Values: float[] }

    /// The tensor.
    member d.T = t64 d.Shape d.Values

/// Floats uniform in [lo, hi] on a 1e-6 grid.
let genFloat (lo: float) (hi: float) =
    Gen.choose (0, 1_000_000) |> Gen.map (fun k -> lo + (hi - lo) * float k / 1e6)

/// Floats in [lo, hi] that satisfy ok.
let genFloatWhere (lo: float) (hi: float) (ok: float -> bool) = genFloat lo hi |> Gen.filter ok

/// A shape of rank 0..maxRank with sizes 1..maxSize.
let genShape (maxRank: int) (maxSize: int) =
    gen {
        let! rank = Gen.choose (0, maxRank)
        return! Gen.arrayOfLength rank (Gen.choose (1, maxSize))
    }

/// A shape of rank minRank..maxRank with sizes 1..maxSize.
let genShapeRank (minRank: int) (maxRank: int) (maxSize: int) =
    gen {
        let! rank = Gen.choose (minRank, maxRank)
        return! Gen.arrayOfLength rank (Gen.choose (1, maxSize))
    }

/// Values for a shape, each from g.
let genData (shape: int[]) (g: Gen<float>) =
    Gen.arrayOfLength (Shape.numel shape) g |> Gen.map (fun v -> { Shape = shape; Values = v })

/// A tensor of rank 0..3 (sizes 1..3) with values from g.
let genTensor (g: Gen<float>) = genShape 3 3 |> Gen.bind (fun s -> genData s g)

/// A shape that broadcasts to `target`: some leading dims dropped, some sizes replaced by 1.
let genBroadcastFrom (target: int[]) =
    gen {
        let! drop = Gen.choose (0, target.Length)
        let kept = target[drop..]
        let! ones = Gen.arrayOfLength kept.Length (Gen.elements [ false; false; true ])
        return Array.map2 (fun s one -> if one then 1 else s) kept ones
    }

/// Two shapes that broadcast together (rank up to 3, sizes up to 3).
let genBroadcastPair =
    gen {
        let! target = genShape 3 3
        let! sa = genBroadcastFrom target
        let! sb = genBroadcastFrom target
        return sa, sb
    }

/// Two tensors with broadcast-compatible shapes; values from ga and gb.
let genPair (ga: Gen<float>) (gb: Gen<float>) =
    gen {
        let! sa, sb = genBroadcastPair
        let! a = genData sa ga
        let! b = genData sb gb
        return a, b
    }

/// A random permutation of 0 .. n-1.
let genPerm (n: int) = Gen.shuffle [| 0 .. n - 1 |] |> Gen.map Seq.toArray

/// n values in [lo, hi] on a shuffled grid with jitter: pairwise gaps exceed 0.4 (hi - lo) / n (no ties, so
/// max/min/abs kinks stay away from the central-difference stencil).
let genDistinct (n: int) (lo: float) (hi: float) =
    gen {
        let! perm = genPerm n
        let! jitter = Gen.arrayOfLength n (genFloat -0.3 0.3)
        return Array.init n (fun i -> lo + (hi - lo) * (float perm[i] + 0.5 + jitter[i]) / float n)
    }
