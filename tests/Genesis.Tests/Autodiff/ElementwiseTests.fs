module Genesis.Tests.Autodiff.ElementwiseTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Genesis
open Genesis.Tests.TestUtil
open Genesis.Tests.Autodiff.GradCheck

/// An elementwise unary op under test: the op, its closed form, and the smooth domain of its test points.
type UnarySpec =
    { Name: string
      Op: Tensor -> Tensor
      Ref: float -> float
      Lo: float
      Hi: float
      Ok: float -> bool
      Expect: Expectation }

let private any (_: float) = true
let private awayFromZero (x: float) = abs x > 0.01
let private frac (x: float) = x - floor x

let private u name op ref lo hi ok expect =
    { Name = name; Op = op; Ref = ref; Lo = lo; Hi = hi; Ok = ok; Expect = expect }

/// Every differentiable (or piecewise-constant) elementwise unary op, including the scalar-operand forms.
let unarySpecs =
    [ u "neg" (fun t -> -t) (fun x -> -x) -3.0 3.0 any NonZero
      u "exp" (fun t -> t.exp ()) Math.Exp -3.0 3.0 any NonZero
      u "log" (fun t -> t.log ()) Math.Log 0.1 5.0 any NonZero
      u "sqrt" (fun t -> t.sqrt ()) Math.Sqrt 0.1 5.0 any NonZero
      u "abs" (fun t -> t.abs ()) Math.Abs -3.0 3.0 awayFromZero NonZero
      u "sign" (fun t -> t.sign ()) (fun x -> float (Math.Sign x)) -3.0 3.0 awayFromZero Zero
      u "sin" (fun t -> t.sin ()) Math.Sin -3.0 3.0 any NonZero
      u "cos" (fun t -> t.cos ()) Math.Cos -3.0 3.0 (fun x -> abs x > 0.01) NonZero
      u "tan" (fun t -> t.tan ()) Math.Tan -1.2 1.2 any NonZero
      u "tanh" (fun t -> t.tanh ()) Math.Tanh -3.0 3.0 any NonZero
      u "sinh" (fun t -> t.sinh ()) Math.Sinh -2.0 2.0 any NonZero
      u "cosh" (fun t -> t.cosh ()) Math.Cosh -2.0 2.0 awayFromZero NonZero
      u "asin" (fun t -> t.asin ()) Math.Asin -0.9 0.9 any NonZero
      u "acos" (fun t -> t.acos ()) Math.Acos -0.9 0.9 any NonZero
      u "atan" (fun t -> t.atan ()) Math.Atan -3.0 3.0 any NonZero
      u "sigmoid" (fun t -> t.sigmoid ()) (fun x -> 1.0 / (1.0 + Math.Exp -x)) -5.0 5.0 any NonZero
      u "relu (x > 0)" (fun t -> t.relu ()) (fun x -> max x 0.0) 0.01 3.0 any NonZero
      u "relu (x < 0)" (fun t -> t.relu ()) (fun x -> max x 0.0) -3.0 -0.01 any Zero
      u "relu (mixed signs)" (fun t -> t.relu ()) (fun x -> max x 0.0) -3.0 3.0 awayFromZero Unguarded
      u "softplus" (fun t -> t.softplus ()) (fun x -> Math.Log(1.0 + Math.Exp x)) -5.0 5.0 any NonZero
      u "log1p" (fun t -> t.log1p ()) (fun x -> Math.Log(1.0 + x)) -0.9 5.0 any NonZero
      u "expm1" (fun t -> t.expm1 ()) (fun x -> Math.Exp x - 1.0) -3.0 3.0 any NonZero
      u "floor" (fun t -> t.floor ()) Math.Floor -3.0 3.0 (fun x -> frac x > 0.05 && frac x < 0.95) Zero
      u "ceil" (fun t -> t.ceil ()) Math.Ceiling -3.0 3.0 (fun x -> frac x > 0.05 && frac x < 0.95) Zero
      u "round" (fun t -> t.round ()) Math.Round -3.0 3.0 (fun x -> abs (frac x - 0.5) > 0.05) Zero
      u "clamp(-1, 1) inside" (fun t -> t.clamp (-1.0, 1.0)) (fun x -> x) -0.99 0.99 any NonZero
      u "clamp(-1, 1)" (fun t -> t.clamp (-1.0, 1.0)) (fun x -> max -1.0 (min 1.0 x)) -2.0 2.0 (fun x -> abs (abs x - 1.0) > 0.01) Unguarded
      u "clamp(min = 0.5)" (fun t -> t.clamp (min = 0.5)) (fun x -> max 0.5 x) -2.0 2.0 (fun x -> abs (x - 0.5) > 0.01) Unguarded
      u "clamp(max = 0.5)" (fun t -> t.clamp (max = 0.5)) (fun x -> min 0.5 x) -2.0 2.0 (fun x -> abs (x - 0.5) > 0.01) Unguarded
      u "x ** 3" (fun t -> t ** 3.0) (fun x -> Math.Pow(x, 3.0)) -2.0 2.0 awayFromZero NonZero
      u "x ** 0.5" (fun t -> t ** 0.5) Math.Sqrt 0.1 4.0 any NonZero
      u "x.pow(-1.5)" (fun t -> t.pow (-1.5)) (fun x -> Math.Pow(x, -1.5)) 0.2 3.0 any NonZero
      u "2 ** x" (fun t -> Tensor.Pow(2.0, t)) (fun x -> Math.Pow(2.0, x)) -3.0 3.0 any NonZero
      u "x + 2.5" (fun t -> t + 2.5) (fun x -> x + 2.5) -3.0 3.0 any NonZero
      u "2.5 + x" (fun t -> 2.5 + t) (fun x -> 2.5 + x) -3.0 3.0 any NonZero
      u "x - 2.5" (fun t -> t - 2.5) (fun x -> x - 2.5) -3.0 3.0 any NonZero
      u "2.5 - x" (fun t -> 2.5 - t) (fun x -> 2.5 - x) -3.0 3.0 any NonZero
      u "x * 2.5" (fun t -> t * 2.5) (fun x -> x * 2.5) -3.0 3.0 any NonZero
      u "2.5 * x" (fun t -> 2.5 * t) (fun x -> 2.5 * x) -3.0 3.0 any NonZero
      u "x / 2.5" (fun t -> t / 2.5) (fun x -> x / 2.5) -3.0 3.0 any NonZero
      u "2.5 / x" (fun t -> 2.5 / t) (fun x -> 2.5 / x) -3.0 3.0 (fun x -> abs x > 0.3) NonZero
      u "cast float64 -> float64" (fun t -> t.cast DType.Float64) id -3.0 3.0 any NonZero ]

/// An elementwise binary op under test: the op, its closed form, and generators of its smooth domain.
type BinarySpec =
    { BName: string
      BOp: Tensor -> Tensor -> Tensor
      BRef: float -> float -> float
      GenA: Gen<float>
      GenB: Gen<float>
      /// Elementwise condition on (a, b) after broadcasting (ties, kinks).
      PairOk: float -> float -> bool
      ExpectEach: Expectation }

let private b name op ref ga gb ok expect =
    { BName = name; BOp = op; BRef = ref; GenA = ga; GenB = gb; PairOk = ok; ExpectEach = expect }

let private signed (lo: float) (hi: float) =
    Gen.zip (genFloat lo hi) (Gen.elements [ -1.0; 1.0 ]) |> Gen.map (fun (x, s) -> s * x)

let binarySpecs =
    [ b "add" (fun x y -> x + y) (+) (genFloat -3.0 3.0) (genFloat -3.0 3.0) (fun _ _ -> true) NonZero
      b "sub" (fun x y -> x - y) (-) (genFloat -3.0 3.0) (genFloat -3.0 3.0) (fun _ _ -> true) NonZero
      b "mul" (fun x y -> x * y) (*) (signed 0.1 3.0) (signed 0.1 3.0) (fun _ _ -> true) NonZero
      b "div" (fun x y -> x / y) (/) (signed 0.1 3.0) (signed 0.3 3.0) (fun _ _ -> true) NonZero
      b "pow" (fun x y -> x ** y) (fun x y -> Math.Pow(x, y)) (genFloat 0.2 3.0) (genFloat -2.0 2.0) (fun x _ -> abs (x - 1.0) > 0.01) NonZero
      b "a.pow(b)" (fun x y -> x.pow y) (fun x y -> Math.Pow(x, y)) (genFloat 0.2 3.0) (genFloat -2.0 2.0) (fun x _ -> abs (x - 1.0) > 0.01) NonZero
      b "atan2" (fun x y -> x.atan2 y) (fun x y -> Math.Atan2(x, y)) (signed 0.2 3.0) (genFloat -3.0 3.0) (fun _ _ -> true) NonZero
      b "maximum" (fun x y -> x.maximum y) max (genFloat -3.0 3.0) (genFloat -3.0 3.0) (fun x y -> abs (x - y) > 0.01) Unguarded
      b "minimum" (fun x y -> x.minimum y) min (genFloat -3.0 3.0) (genFloat -3.0 3.0) (fun x y -> abs (x - y) > 0.01) Unguarded
      b "add method" (fun x y -> x.add y) (+) (genFloat -3.0 3.0) (genFloat -3.0 3.0) (fun _ _ -> true) NonZero
      b "sub method" (fun x y -> x.sub y) (-) (genFloat -3.0 3.0) (genFloat -3.0 3.0) (fun _ _ -> true) NonZero
      b "mul method" (fun x y -> x.mul y) (*) (signed 0.1 3.0) (signed 0.1 3.0) (fun _ _ -> true) NonZero
      b "div method" (fun x y -> x.div y) (/) (signed 0.1 3.0) (signed 0.3 3.0) (fun _ _ -> true) NonZero ]

/// A broadcast pair whose elements satisfy the spec's pair condition.
let genBinaryCase (s: BinarySpec) =
    genPair s.GenA s.GenB
    |> Gen.filter (fun (a, bb) ->
        let target = Shape.broadcast a.Shape bb.Shape
        Array.forall2 s.PairOk (broadcastValues a.Shape a.Values target) (broadcastValues bb.Shape bb.Values target))

let private unaryTests (s: UnarySpec) =
    let g = genTensor (genFloatWhere s.Lo s.Hi s.Ok)
    testList s.Name [
        gprop "values match the closed form" g (fun d ->
            let y = s.Op d.T
            Expect.equal y.shape d.Shape "shape"
            Expect.equal y.dtype DType.Float64 "dtype"
            expectNear valueTol valueTol s.Name (vals y) (Array.map s.Ref d.Values))
        gprop "JVP and VJP vs central differences" g (fun d -> checkAt s.Name s.Expect s.Op d.T)
    ]

let private binaryTests (s: BinarySpec) =
    let g = genBinaryCase s
    testList s.BName [
        gprop "values match the closed form with broadcasting, both operand orders" g (fun (a, bb) ->
            let target = Shape.broadcast a.Shape bb.Shape
            let av = broadcastValues a.Shape a.Values target
            let bv = broadcastValues bb.Shape bb.Values target
            let y = s.BOp a.T bb.T
            Expect.equal y.shape target "shape"
            expectNear valueTol valueTol (s.BName + "(a, b)") (vals y) (Array.map2 s.BRef av bv)
            if Array.forall2 s.PairOk bv av then
                expectNear valueTol valueTol (s.BName + "(b, a)") (vals (s.BOp bb.T a.T)) (Array.map2 s.BRef bv av))
        gprop "JVP and VJP vs central differences: a active, b active, both active" g (fun (a, bb) ->
            checkBinary s.BName s.ExpectEach NonZero s.BOp a.T bb.T)
    ]

let private whereTests =
    let g =
        gen {
            let! a, bb = genPair (genFloat -3.0 3.0) (genFloat -3.0 3.0)
            let target = Shape.broadcast a.Shape bb.Shape
            let! sc = genBroadcastFrom target
            let! c = Gen.arrayOfLength (Shape.numel sc) (Gen.elements [ true; false ])
            return a, bb, sc, c
        }
    testList "where" [
        gprop "values with broadcasting of condition and operands" g (fun (a, bb, sc, c) ->
            let target = Shape.broadcast (Shape.broadcast sc a.Shape) bb.Shape
            let cond = gs.fromArray (c, shape = sc)
            let y = gs.where (cond, a.T, bb.T)
            let cv = broadcastValues sc (c |> Array.map (fun x -> if x then 1.0 else 0.0)) target
            let expected = Array.map3 (fun k p q -> if k = 1.0 then p else q) cv (broadcastValues a.Shape a.Values target) (broadcastValues bb.Shape bb.Values target)
            Expect.equal y.shape target "shape"
            expectNear 0.0 0.0 "where" (vals y) expected
            expectNear 0.0 0.0 "Tensor.where" (vals (Tensor.where (cond, a.T, bb.T))) expected)
        gprop "JVP and VJP vs central differences in both branches" g (fun (a, bb, sc, c) ->
            let cond = gs.fromArray (c, shape = sc)
            checkBinary "where" Unguarded NonZero (fun x y -> gs.where (cond, x, y)) a.T bb.T)
    ]

let private compareTests =
    let cases: (string * (Tensor -> Tensor -> Tensor) * (Tensor -> float -> Tensor) * (float -> float -> bool)) list =
        [ "eq", (fun x y -> x.eq y), (fun x y -> x.eq y), (=)
          "ne", (fun x y -> x.ne y), (fun x y -> x.ne y), (<>)
          "lt", (fun x y -> x.lt y), (fun x y -> x.lt y), (<)
          "le", (fun x y -> x.le y), (fun x y -> x.le y), (<=)
          "gt", (fun x y -> x.gt y), (fun x y -> x.gt y), (>)
          "ge", (fun x y -> x.ge y), (fun x y -> x.ge y), (>=) ]
    // small integers so that ties occur
    let g = genPair (Gen.choose (-2, 2) |> Gen.map float) (Gen.choose (-2, 2) |> Gen.map float)
    testList "comparisons" [
        for name, op, opScalar, ref in cases do
            gprop (name + " with broadcasting, both operand orders, bool result") g (fun (a, bb) ->
                let target = Shape.broadcast a.Shape bb.Shape
                let av = broadcastValues a.Shape a.Values target
                let bv = broadcastValues bb.Shape bb.Values target
                let toF x = if x then 1.0 else 0.0
                expectTensor (name + "(a, b)") DType.Bool target (Array.map2 (fun p q -> toF (ref p q)) av bv) (op a.T bb.T)
                expectTensor (name + "(b, a)") DType.Bool target (Array.map2 (fun p q -> toF (ref q p)) av bv) (op bb.T a.T)
                expectTensor (name + "(a, 0.0)") DType.Bool a.Shape (a.Values |> Array.map (fun p -> toF (ref p 0.0))) (opScalar a.T 0.0))
            gtest (name + " is a constant (no derivative) even on differentiable inputs") (fun () ->
                let x = gs.tensor ([ 1.0; 2.0 ], dtype = DType.Float64, requiresGrad = true)
                let c = op x (v64 [ 2.0; 1.0 ])
                Expect.isTrue c.isConstant "comparison result is a constant"
                Expect.isFalse c.requiresGrad "no grad")
            gtest (name + " on int32, int64 and float32, and across float32/float64") (fun () ->
                let i = ti32 [| 3 |] [| 1; 2; 3 |]
                let l = ti64 [| 3 |] [| 2L; 2L; 2L |]
                let f = t32 [| 3 |] [| 3.0f; 2.0f; 1.0f |]
                let d = v64 [ 2.0; 2.0; 2.0 ]
                let expectRow (x: float[]) (y: float[]) (t: Tensor) =
                    expectTensor name DType.Bool [| 3 |] (Array.map2 (fun p q -> if ref p q then 1.0 else 0.0) x y) t
                expectRow [| 1.0; 2.0; 3.0 |] [| 2.0; 2.0; 2.0 |] (op i l)
                expectRow [| 3.0; 2.0; 1.0 |] [| 1.0; 2.0; 3.0 |] (op f i)
                expectRow [| 3.0; 2.0; 1.0 |] [| 2.0; 2.0; 2.0 |] (op f d))
    ]

/// Hand-computed values, dtypes and corner cases.
let private valueTests =
    testList "hand-computed values and dtypes" [
        gtest "add/sub/mul/div of vectors, both orders" (fun () ->
            let a = v64 [ 1.0; 2.0; 4.0 ]
            let c = v64 [ 10.0; 20.0; 40.0 ]
            expectValues "a + c" [| 3 |] [| 11.0; 22.0; 44.0 |] (a + c)
            expectValues "c - a" [| 3 |] [| 9.0; 18.0; 36.0 |] (c - a)
            expectValues "a - c" [| 3 |] [| -9.0; -18.0; -36.0 |] (a - c)
            expectValues "a * c" [| 3 |] [| 10.0; 40.0; 160.0 |] (a * c)
            expectValues "c / a" [| 3 |] [| 10.0; 10.0; 10.0 |] (c / a)
            expectValues "a / c" [| 3 |] [| 0.1; 0.1; 0.1 |] (a / c)
            expectValues "a ** 2" [| 3 |] [| 1.0; 4.0; 16.0 |] (a ** 2.0)
            expectValues "2 ** a" [| 3 |] [| 2.0; 4.0; 16.0 |] (Tensor.Pow(2.0, a))
            expectValues "a ** a" [| 3 |] [| 1.0; 4.0; 256.0 |] (a ** a))
        gtest "scalar operands on either side" (fun () ->
            let a = v64 [ 1.0; 2.0; 4.0 ]
            expectValues "a + 1" [| 3 |] [| 2.0; 3.0; 5.0 |] (a + 1.0)
            expectValues "1 + a" [| 3 |] [| 2.0; 3.0; 5.0 |] (1.0 + a)
            expectValues "a - 1" [| 3 |] [| 0.0; 1.0; 3.0 |] (a - 1.0)
            expectValues "1 - a" [| 3 |] [| 0.0; -1.0; -3.0 |] (1.0 - a)
            expectValues "a * 3" [| 3 |] [| 3.0; 6.0; 12.0 |] (a * 3.0)
            expectValues "3 * a" [| 3 |] [| 3.0; 6.0; 12.0 |] (3.0 * a)
            expectValues "a / 4" [| 3 |] [| 0.25; 0.5; 1.0 |] (a / 4.0)
            expectValues "4 / a" [| 3 |] [| 4.0; 2.0; 1.0 |] (4.0 / a)
            expectValues "-a" [| 3 |] [| -1.0; -2.0; -4.0 |] (-a)
            expectValues "scalar tensor + vector" [| 3 |] [| 11.0; 12.0; 14.0 |] (s64 10.0 + a)
            expectValues "vector - scalar tensor" [| 3 |] [| -9.0; -8.0; -6.0 |] (a - s64 10.0))
        gtest "broadcasting [2; 1] with [3] and [1; 3] with [2; 1]" (fun () ->
            let col = t64 [| 2; 1 |] [| 1.0; 2.0 |]
            let row = v64 [ 10.0; 20.0; 30.0 ]
            expectValues "col + row" [| 2; 3 |] [| 11.0; 21.0; 31.0; 12.0; 22.0; 32.0 |] (col + row)
            expectValues "row - col" [| 2; 3 |] [| 9.0; 19.0; 29.0; 8.0; 18.0; 28.0 |] (row - col)
            let r2 = t64 [| 1; 3 |] [| 1.0; 2.0; 3.0 |]
            expectValues "r2 * col" [| 2; 3 |] [| 1.0; 2.0; 3.0; 2.0; 4.0; 6.0 |] (r2 * col))
        gtest "unary closed forms at known points" (fun () ->
            let x = v64 [ 0.0; 1.0 ]
            expectValues "exp" [| 2 |] [| 1.0; Math.E |] (x.exp ())
            expectValues "log" [| 2 |] [| 0.0; 1.0 |] ((v64 [ 1.0; Math.E ]).log ())
            expectValues "sqrt" [| 2 |] [| 2.0; 3.0 |] ((v64 [ 4.0; 9.0 ]).sqrt ())
            expectValues "sin" [| 2 |] [| 0.0; 1.0 |] ((v64 [ 0.0; Math.PI / 2.0 ]).sin ())
            expectValues "cos" [| 2 |] [| 1.0; -1.0 |] ((v64 [ 0.0; Math.PI ]).cos ())
            expectValues "tan" [| 1 |] [| 1.0 |] ((v64 [ Math.PI / 4.0 ]).tan ())
            expectValues "sigmoid" [| 1 |] [| 0.5 |] ((v64 [ 0.0 ]).sigmoid ())
            expectValues "softplus" [| 1 |] [| Math.Log 2.0 |] ((v64 [ 0.0 ]).softplus ())
            expectValues "atan" [| 1 |] [| Math.PI / 4.0 |] ((v64 [ 1.0 ]).atan ())
            expectValues "asin" [| 1 |] [| Math.PI / 2.0 |] ((v64 [ 1.0 ]).asin ())
            expectValues "acos" [| 1 |] [| Math.PI |] ((v64 [ -1.0 ]).acos ())
            expectValues "atan2" [| 4 |] [| Math.PI / 4.0; 3.0 * Math.PI / 4.0; -Math.PI / 4.0; Math.PI / 2.0 |]
                ((v64 [ 1.0; 1.0; -1.0; 1.0 ]).atan2 (v64 [ 1.0; -1.0; 1.0; 0.0 ])))
        gtest "piecewise ops: sign, relu, abs, floor, ceil, round (half to even), clamp, maximum, minimum" (fun () ->
            let x = v64 [ -2.5; -0.5; 0.0; 0.5; 1.5; 2.5 ]
            expectValues "sign" [| 6 |] [| -1.0; -1.0; 0.0; 1.0; 1.0; 1.0 |] (x.sign ())
            expectValues "relu" [| 6 |] [| 0.0; 0.0; 0.0; 0.5; 1.5; 2.5 |] (x.relu ())
            expectValues "abs" [| 6 |] [| 2.5; 0.5; 0.0; 0.5; 1.5; 2.5 |] (x.abs ())
            expectValues "floor" [| 6 |] [| -3.0; -1.0; 0.0; 0.0; 1.0; 2.0 |] (x.floor ())
            expectValues "ceil" [| 6 |] [| -2.0; -0.0; 0.0; 1.0; 2.0; 3.0 |] (x.ceil ())
            expectValues "round" [| 6 |] [| -2.0; -0.0; 0.0; 0.0; 2.0; 2.0 |] (x.round ())
            expectValues "clamp" [| 6 |] [| -1.0; -0.5; 0.0; 0.5; 1.0; 1.0 |] (x.clamp (-1.0, 1.0))
            expectValues "maximum" [| 6 |] [| 0.0; 0.0; 0.0; 0.5; 1.5; 2.5 |] (x.maximum (s64 0.0))
            expectValues "minimum" [| 6 |] [| -2.5; -0.5; 0.0; 0.0; 0.0; 0.0 |] (x.minimum (s64 0.0)))
        gtest "stable forms: softplus and sigmoid of large arguments" (fun () ->
            expectValues "softplus" [| 2 |] [| 1000.0; 0.0 |] ((v64 [ 1000.0; -1000.0 ]).softplus ())
            expectValues "sigmoid" [| 2 |] [| 1.0; 0.0 |] ((v64 [ 1000.0; -1000.0 ]).sigmoid ()))
        gtest "log1p, expm1 and softplus keep full relative precision for tiny arguments" (fun () ->
            // series: log1p x = x - x^2/2 + x^3/3, expm1 x = x + x^2/2 + x^3/6, softplus(-a) = log1p(e^-a)
            let xs = [ 1e-20; -3e-17; 1e-10; 2e-8 ]
            let log1pRef x = x - x * x / 2.0 + x * x * x / 3.0
            let expm1Ref x = x + x * x / 2.0 + x * x * x / 6.0
            expectNear 0.0 1e-15 "log1p" (vals ((v64 xs).log1p ())) (xs |> List.map log1pRef |> List.toArray)
            expectNear 0.0 1e-15 "expm1" (vals ((v64 xs).expm1 ())) (xs |> List.map expm1Ref |> List.toArray)
            let e40 = Math.Exp -40.0
            expectNear 0.0 1e-15 "softplus(-40)" (vals ((v64 [ -40.0 ]).softplus ())) [| e40 - e40 * e40 / 2.0 |]
            expectNear 0.0 1e-6 "log1p float32" (vals ((t32 [| 1 |] [| 1e-10f |]).log1p ())) [| float 1e-10f |]
            expectNear 0.0 1e-6 "expm1 float32" (vals ((t32 [| 1 |] [| 1e-10f |]).expm1 ())) [| float 1e-10f |]
            expectNear 0.0 0.0 "log1p at -1, below -1, inf, NaN" (vals ((v64 [ -1.0; -2.0; infinity; nan ]).log1p ())) [| -infinity; nan; infinity; nan |]
            expectNear 0.0 0.0 "expm1 at -inf, inf, NaN" (vals ((v64 [ -infinity; infinity; nan ]).expm1 ())) [| -1.0; infinity; nan |])
        gtest "derivatives at the kinks follow the documented subgradients" (fun () ->
            // relu'(0) = 0, abs'(0) = sign(0) = 0, maximum/minimum give the tie to a, clamp is 1 at its bounds
            let g f x = vals (gs.grad (fun t -> (f t: Tensor).sum ()) (v64 x))
            expectNear 0.0 0.0 "relu'(0)" (g (fun t -> t.relu ()) [ 0.0 ]) [| 0.0 |]
            expectNear 0.0 0.0 "abs'(0)" (g (fun t -> t.abs ()) [ 0.0 ]) [| 0.0 |]
            expectNear 0.0 0.0 "maximum tie to a" (g (fun t -> t.maximum (v64 [ 1.0 ])) [ 1.0 ]) [| 1.0 |]
            expectNear 0.0 0.0 "maximum tie, b side" (g (fun t -> (v64 [ 1.0 ]).maximum t) [ 1.0 ]) [| 0.0 |]
            expectNear 0.0 0.0 "minimum tie to a" (g (fun t -> t.minimum (v64 [ 1.0 ])) [ 1.0 ]) [| 1.0 |]
            expectNear 0.0 0.0 "clamp at bounds" (g (fun t -> t.clamp (-1.0, 1.0)) [ -1.0; 1.0 ]) [| 1.0; 1.0 |]
            expectNear 0.0 0.0 "d/db a**b at a = 0 is 0, not NaN" (vals (gs.grad (fun t -> (s64 0.0 ** t).sum ()) (s64 2.0))) [| 0.0 |]
            expectNear 0.0 0.0 "d/da a**2 at a = 0" (vals (gs.grad (fun t -> (t ** 2.0).sum ()) (s64 0.0))) [| 0.0 |])
        gtest "int32: add/mul/neg/abs stay int32, division and math functions give float32" (fun () ->
            let i = ti32 [| 3 |] [| -3; 0; 2 |]
            let j = ti32 [| 3 |] [| 2; 5; 4 |]
            expectTensor "i + j" DType.Int32 [| 3 |] [| -1.0; 5.0; 6.0 |] (i + j)
            expectTensor "j - i" DType.Int32 [| 3 |] [| 5.0; 5.0; 2.0 |] (j - i)
            expectTensor "i * j" DType.Int32 [| 3 |] [| -6.0; 0.0; 8.0 |] (i * j)
            expectTensor "-i" DType.Int32 [| 3 |] [| 3.0; 0.0; -2.0 |] (-i)
            expectTensor "abs i" DType.Int32 [| 3 |] [| 3.0; 0.0; 2.0 |] (i.abs ())
            expectTensor "i + 2.0 (integral scalar)" DType.Int32 [| 3 |] [| -1.0; 2.0; 4.0 |] (i + 2.0)
            expectTensor "2.0 * i" DType.Int32 [| 3 |] [| -6.0; 0.0; 4.0 |] (2.0 * i)
            expectTensor "i / j" DType.Float32 [| 3 |] [| -1.5; 0.0; 0.5 |] (i / j)
            expectTensor "i + 0.5 (non-integral scalar)" DType.Float32 [| 3 |] [| -2.5; 0.5; 2.5 |] (i + 0.5)
            let e = i.exp ()
            Expect.equal e.dtype DType.Float32 "exp of int32 is float32"
            expectNear 0.0 f32Tol "exp int32" (vals e) [| Math.Exp -3.0; 1.0; Math.Exp 2.0 |]
            expectTensor "i.maximum j" DType.Int32 [| 3 |] [| 2.0; 5.0; 4.0 |] (i.maximum j)
            expectTensor "i.minimum j" DType.Int32 [| 3 |] [| -3.0; 0.0; 2.0 |] (i.minimum j)
            expectTensor "i.clamp(-1, 1)" DType.Int32 [| 3 |] [| -1.0; 0.0; 1.0 |] (i.clamp (-1.0, 1.0)))
        gtest "int64: arithmetic stays int64, division and math functions give float64" (fun () ->
            let i = ti64 [| 2 |] [| 7L; -9L |]
            let j = ti64 [| 2 |] [| 2L; 3L |]
            expectTensor "i + j" DType.Int64 [| 2 |] [| 9.0; -6.0 |] (i + j)
            expectTensor "i * j" DType.Int64 [| 2 |] [| 14.0; -27.0 |] (i * j)
            expectTensor "-i" DType.Int64 [| 2 |] [| -7.0; 9.0 |] (-i)
            expectTensor "abs" DType.Int64 [| 2 |] [| 7.0; 9.0 |] (i.abs ())
            expectTensor "i / j" DType.Float64 [| 2 |] [| 3.5; -3.0 |] (i / j)
            expectTensor "sqrt" DType.Float64 [| 1 |] [| 2.0 |] ((ti64 [| 1 |] [| 4L |]).sqrt ())
            expectTensor "pow" DType.Float64 [| 2 |] [| 49.0; 81.0 |] (i ** 2.0))
        gtest "int promotion: int32 + int64 is int64, int + float is the float type" (fun () ->
            let i = ti32 [| 2 |] [| 1; 2 |]
            let l = ti64 [| 2 |] [| 10L; 20L |]
            expectTensor "i32 + i64" DType.Int64 [| 2 |] [| 11.0; 22.0 |] (i + l)
            expectTensor "i64 + i32" DType.Int64 [| 2 |] [| 11.0; 22.0 |] (l + i)
            expectTensor "i32 + f64" DType.Float64 [| 2 |] [| 1.5; 2.5 |] (i + v64 [ 0.5; 0.5 ])
            expectTensor "f32 * i64" DType.Float32 [| 2 |] [| 20.0; 40.0 |] (t32 [| 2 |] [| 2.0f; 2.0f |] * l))
        gtest "float32: ops stay float32 and match float64 closed forms to float32 precision" (fun () ->
            let xs = [| -1.5f; -0.25f; 0.5f; 2.0f |]
            let x = t32 [| 4 |] xs
            let xd = xs |> Array.map float
            for s in unarySpecs do
                if not (s.Name.StartsWith "cast") && Array.forall (fun v -> v >= s.Lo && v <= s.Hi && s.Ok v) xd then
                    let y = s.Op x
                    Expect.equal y.dtype DType.Float32 (s.Name + " keeps float32")
                    expectNear f32Tol f32Tol (s.Name + " float32") (vals y) (Array.map s.Ref xd)
            let y = t32 [| 4 |] [| 1.0f; 2.0f; 3.0f; 4.0f |]
            let yv = [| 1.0; 2.0; 3.0; 4.0 |]
            let xa = xd |> Array.map (fun v -> abs v + 0.5)
            for bs in binarySpecs do
                if Array.forall2 bs.PairOk xa yv then
                    let r = bs.BOp (x.abs () + 0.5) y
                    Expect.equal r.dtype DType.Float32 (bs.BName + " keeps float32")
                    expectNear f32Tol f32Tol (bs.BName + " float32") (vals r) (Array.map2 bs.BRef xa yv))
        gtest "float32 gradients are float32 and match float64" (fun () ->
            let f (t: Tensor) = (t.sin () * t.exp ()).sum ()
            let g32 = gs.grad f (t32 [| 3 |] [| 0.1f; 0.2f; 0.3f |])
            let g64 = gs.grad f (v64 [ 0.1; 0.2; 0.3 ])
            Expect.equal g32.dtype DType.Float32 "grad dtype"
            expectNear f32Tol f32Tol "float32 grad" (vals g32) (vals g64))
        gtest "bool tensors are refused by arithmetic and math functions" (fun () ->
            let bt = gs.tensor ([| true; false |])
            throwsWith<GenesisException> [ "bool" ] (fun () -> bt + bt |> ignore)
            throwsWith<GenesisException> [ "bool" ] (fun () -> bt.exp () |> ignore))
        gtest "float32 + float64 is a dtype mismatch naming both dtypes" (fun () ->
            let a = t32 [| 2 |] [| 1.0f; 2.0f |]
            let c = v64 [ 1.0; 2.0 ]
            throwsWith<GenesisException> [ "float32"; "float64"; "dtype mismatch" ] (fun () -> a + c |> ignore)
            throwsWith<GenesisException> [ "float64"; "float32" ] (fun () -> c * a |> ignore)
            throwsWith<GenesisException> [ "float32"; "float64" ] (fun () -> gs.where (a.gt 0.0, a, c) |> ignore)
            expectTensor "explicit cast works" DType.Float64 [| 2 |] [| 2.0; 4.0 |] (a.cast DType.Float64 + c))
        gtest "shape mismatch names both shapes" (fun () ->
            throwsWith<GenesisException> [ "[2; 3]"; "[4]" ] (fun () -> t64 [| 2; 3 |] (Array.zeroCreate 6) + v64 [ 1.0; 2.0; 3.0; 4.0 ] |> ignore)
            throwsWith<GenesisException> [ "[3]"; "[2]" ] (fun () -> (v64 [ 1.0; 2.0; 3.0 ]).maximum (v64 [ 1.0; 2.0 ]) |> ignore)
            throwsWith<GenesisException> [ "[3]"; "[2]" ] (fun () -> (v64 [ 1.0; 2.0; 3.0 ]).lt (v64 [ 1.0; 2.0 ]) |> ignore))
        gtest "cast between dtypes: truncation toward zero, saturation, NaN to 0, bool" (fun () ->
            let x = v64 [ -1.7; -0.5; 0.0; 2.9; 1e20; nan ]
            expectTensor "int32" DType.Int32 [| 6 |] [| -1.0; 0.0; 0.0; 2.0; float Int32.MaxValue; 0.0 |] (x.int32 ())
            expectTensor "int64" DType.Int64 [| 6 |] [| -1.0; 0.0; 0.0; 2.0; float Int64.MaxValue; 0.0 |] (x.int64 ())
            expectTensor "bool" DType.Bool [| 6 |] [| 1.0; 1.0; 0.0; 1.0; 1.0; 1.0 |] (x.bool ())
            expectTensor "float32" DType.Float32 [| 2 |] [| float 0.1f; 2.0 |] ((v64 [ 0.1; 2.0 ]).float32 ())
            expectTensor "bool to float64" DType.Float64 [| 2 |] [| 1.0; 0.0 |] ((gs.tensor [| true; false |]).float64 ())
            throwsWith<GenesisException> [ "exact dtype" ] (fun () -> x.cast DType.Float |> ignore))
        gtest "cast float32 <-> float64 is differentiable; cast to int is a constant" (fun () ->
            let g = gs.grad (fun t -> (t.float32 () * 3.0).float64().sum ()) (v64 [ 1.0; 2.0 ])
            expectTensor "grad through casts" DType.Float64 [| 2 |] [| 3.0; 3.0 |] g
            let x = gs.tensor ([ 1.5 ], dtype = DType.Float64, requiresGrad = true)
            Expect.isTrue ((x.int32 ()).isConstant) "int cast is a constant")
    ]

/// NaN and infinities flow through values and gradients (no exception, no silent 0).
let private nanInfTests =
    testList "NaN and Inf propagation" [
        gtest "values" (fun () ->
            let x = v64 [ nan; infinity; -infinity; 1.0 ]
            expectNear 0.0 0.0 "exp" (vals (x.exp ())) [| nan; infinity; 0.0; Math.E |]
            expectNear 0.0 0.0 "x + 1" (vals (x + 1.0)) [| nan; infinity; -infinity; 2.0 |]
            expectNear 0.0 0.0 "x * 0" (vals (x * 0.0)) [| nan; nan; nan; 0.0 |]
            expectNear 0.0 0.0 "relu" (vals (x.relu ())) [| nan; infinity; 0.0; 1.0 |]
            expectNear 0.0 0.0 "maximum" (vals (x.maximum (s64 0.0))) [| nan; infinity; 0.0; 1.0 |]
            expectNear 0.0 0.0 "minimum (NaN in b)" (vals ((s64 0.0).minimum x)) [| nan; 0.0; -infinity; 0.0 |]
            expectNear 0.0 0.0 "sign" (vals (x.sign ())) [| nan; 1.0; -1.0; 1.0 |]
            expectNear 0.0 0.0 "sum" (vals (x.sum ())) [| nan |]
            expectNear 0.0 0.0 "max" (vals (x.max ())) [| nan |]
            expectNear 0.0 0.0 "log(0)" (vals ((v64 [ 0.0 ]).log ())) [| -infinity |]
            expectNear 0.0 0.0 "sqrt(-1)" (vals ((v64 [ -1.0 ]).sqrt ())) [| nan |]
            expectNear 0.0 0.0 "1/0, -1/0" (vals (v64 [ 1.0; -1.0 ] / v64 [ 0.0; 0.0 ])) [| infinity; -infinity |])
        gtest "gradients" (fun () ->
            let g f (x: float list) = vals (gs.grad (fun t -> (f t: Tensor).sum ()) (v64 x))
            expectNear 0.0 0.0 "d/dx x^2 at NaN" (g (fun t -> t * t) [ nan; 1.0 ]) [| nan; 2.0 |]
            expectNear 0.0 0.0 "d/dx exp at inf" (g (fun t -> t.exp ()) [ infinity ]) [| infinity |]
            expectNear 0.0 0.0 "d/dx sqrt at 0 is inf" (g (fun t -> t.sqrt ()) [ 0.0 ]) [| infinity |]
            expectNear 0.0 0.0 "d/dx log at NaN" (g (fun t -> t.log ()) [ nan ]) [| nan |]
            expectNear 0.0 0.0 "sum propagates a NaN adjoint to every element" (vals (gs.vjp (fun t -> t.sum ()) (v64 [ 1.0; 2.0 ]) (s64 nan))) [| nan; nan |]
            expectNear 0.0 0.0 "max with a NaN" (g (fun t -> t.max ()) [ 1.0; nan ]) [| nan; nan |]
            let jv = vals (gs.jvp (fun t -> t * t) (v64 [ 2.0 ]) (v64 [ nan ]))
            expectNear 0.0 0.0 "NaN tangent" jv [| nan |]
            let x = gs.tensor ([ nan; 2.0 ], dtype = DType.Float64, requiresGrad = true)
            ((x * x).sum ()).backward ()
            expectNear 0.0 0.0 "backward" (vals x.grad) [| nan; 4.0 |])
    ]

[<Tests>]
let tests =
    testList "Autodiff.Elementwise" [
        testList "unary" [ for s in unarySpecs -> unaryTests s ]
        testList "binary" [ for s in binarySpecs -> binaryTests s ]
        whereTests
        compareTests
        valueTests
        nanInfTests
    ]
