module Genesis.Tests.Autodiff.ReductionsTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Genesis
open Genesis.Tests.TestUtil
open Genesis.Tests.Autodiff.GradCheck

let private x23 () = t64 [| 2; 3 |] [| 1.0; 5.0; 3.0; 4.0; 2.0; 6.0 |]

let private valueTests =
    testList "values" [
        gtest "sum over all, one dim, negative dim, several dims, keepDim" (fun () ->
            let x = x23 ()
            expectValues "sum" [||] [| 21.0 |] (x.sum ())
            expectValues "sum 0" [| 3 |] [| 5.0; 7.0; 9.0 |] (x.sum 0)
            expectValues "sum -1" [| 2 |] [| 9.0; 12.0 |] (x.sum -1)
            expectValues "sum 1 keepDim" [| 2; 1 |] [| 9.0; 12.0 |] (x.sum (1, keepDim = true))
            expectValues "sum [0; 1]" [||] [| 21.0 |] (x.sum [| 0; 1 |])
            expectValues "sum [0; 1] keepDim" [| 1; 1 |] [| 21.0 |] (x.sum ([| 0; 1 |], keepDim = true))
            expectValues "sum of a scalar" [||] [| 2.0 |] ((s64 2.0).sum ())
            expectTensor "sum of int32" DType.Int32 [| 2 |] [| 3.0; 7.0 |] ((ti32 [| 2; 2 |] [| 1; 2; 3; 4 |]).sum 1)
            expectTensor "sum of bool counts" DType.Int64 [||] [| 2.0 |] ((gs.tensor [| true; false; true |]).sum ()))
        gtest "mean; ints give the float type of their width" (fun () ->
            let x = x23 ()
            expectValues "mean" [||] [| 3.5 |] (x.mean ())
            expectValues "mean 0" [| 3 |] [| 2.5; 3.5; 4.5 |] (x.mean 0)
            expectValues "mean 1 keepDim" [| 2; 1 |] [| 3.0; 4.0 |] (x.mean (1, keepDim = true))
            expectValues "mean [0; 1]" [||] [| 3.5 |] (x.mean [| 0; 1 |])
            expectTensor "mean of int32" DType.Float32 [||] [| 2.5 |] ((ti32 [| 4 |] [| 1; 2; 3; 4 |]).mean ())
            expectTensor "mean of int64" DType.Float64 [||] [| 2.5 |] ((ti64 [| 4 |] [| 1L; 2L; 3L; 4L |]).mean ())
            expectTensor "mean of int64 keeps float64 precision" DType.Float64 [||] [| 16777217.0 |] ((ti64 [| 2 |] [| 16777217L; 16777217L |]).mean ())
            expectTensor "norm of int64" DType.Float64 [||] [| 5.0 |] ((ti64 [| 2 |] [| 3L; 4L |]).norm ())
            expectTensor "norm of int32" DType.Float32 [||] [| 5.0 |] ((ti32 [| 2 |] [| 3; 4 |]).norm ())
            expectTensor "mean of float32" DType.Float32 [| 2 |] [| 1.5; 3.5 |] ((t32 [| 2; 2 |] [| 1.0f; 2.0f; 3.0f; 4.0f |]).mean 1))
        gtest "max and min values; argmax and argmin take the first occurrence" (fun () ->
            let x = x23 ()
            expectValues "max" [||] [| 6.0 |] (x.max ())
            expectValues "min" [||] [| 1.0 |] (x.min ())
            expectValues "max 0" [| 3 |] [| 4.0; 5.0; 6.0 |] (x.max 0)
            expectValues "min 1 keepDim" [| 2; 1 |] [| 1.0; 2.0 |] (x.min (1, keepDim = true))
            expectTensor "argmax" DType.Int64 [||] [| 5.0 |] (x.argmax ())
            expectTensor "argmin" DType.Int64 [||] [| 0.0 |] (x.argmin ())
            expectTensor "argmax 1" DType.Int64 [| 2 |] [| 1.0; 2.0 |] (x.argmax 1)
            expectTensor "argmin 0 keepDim" DType.Int64 [| 1; 3 |] [| 0.0; 1.0; 0.0 |] (x.argmin (0, keepDim = true))
            let ties = v64 [ 1.0; 3.0; 3.0; 0.0; 0.0 ]
            expectTensor "argmax of ties" DType.Int64 [||] [| 1.0 |] (ties.argmax ())
            expectTensor "argmin of ties" DType.Int64 [||] [| 3.0 |] (ties.argmin ())
            expectTensor "argmax with NaN (NaN counts as the max)" DType.Int64 [||] [| 1.0 |] ((v64 [ 1.0; nan; 3.0 ]).argmax ())
            expectTensor "max of int64" DType.Int64 [| 2 |] [| 2.0; 4.0 |] ((ti64 [| 2; 2 |] [| 1L; 2L; 4L; 3L |]).max 1)
            throwsWith<GenesisException> [ "empty" ] (fun () -> (t64 [| 0 |] [||]).max () |> ignore))
        gtest "cumsum along each dim" (fun () ->
            let x = x23 ()
            expectValues "cumsum 1" [| 2; 3 |] [| 1.0; 6.0; 9.0; 4.0; 6.0; 12.0 |] (x.cumsum 1)
            expectValues "cumsum 0" [| 2; 3 |] [| 1.0; 5.0; 3.0; 5.0; 7.0; 9.0 |] (x.cumsum 0)
            expectValues "cumsum -1" [| 2; 3 |] [| 1.0; 6.0; 9.0; 4.0; 6.0; 12.0 |] (x.cumsum -1)
            expectTensor "cumsum int32" DType.Int32 [| 3 |] [| 1.0; 3.0; 6.0 |] ((ti32 [| 3 |] [| 1; 2; 3 |]).cumsum 0))
        gtest "norm: p = 2, 1, inf, 3, along a dim" (fun () ->
            let x = v64 [ 3.0; -4.0 ]
            expectValues "2-norm" [||] [| 5.0 |] (x.norm ())
            expectValues "1-norm" [||] [| 7.0 |] (x.norm 1.0)
            expectValues "inf-norm" [||] [| 4.0 |] (x.norm infinity)
            expectValues "3-norm" [||] [| Math.Pow(91.0, 1.0 / 3.0) |] (x.norm 3.0)
            expectValues "2-norm along dim 1" [| 2 |] [| 5.0; 13.0 |] ((t64 [| 2; 2 |] [| 3.0; 4.0; 5.0; 12.0 |]).norm (dim = 1))
            expectValues "2-norm keepDim" [| 2; 1 |] [| 5.0; 13.0 |] ((t64 [| 2; 2 |] [| 3.0; 4.0; 5.0; 12.0 |]).norm (dim = 1, keepDim = true)))
        gtest "derivative conventions: ties share max/min evenly, norm at 0 has gradient 0 (not NaN)" (fun () ->
            expectValues "max ties" [| 3 |] [| 0.5; 0.0; 0.5 |] (gs.grad (fun t -> t.max ()) (v64 [ 2.0; 1.0; 2.0 ]))
            expectValues "min ties along dim" [| 2; 2 |] [| 0.5; 0.5; 1.0; 0.0 |] (gs.grad (fun t -> (t.min 1).sum ()) (t64 [| 2; 2 |] [| 1.0; 1.0; 0.0; 3.0 |]))
            expectValues "norm at 0" [| 2 |] [| 0.0; 0.0 |] (gs.grad (fun t -> t.norm ()) (v64 [ 0.0; 0.0 ]))
            expectValues "norm direction" [| 2 |] [| 0.6; -0.8 |] (gs.grad (fun t -> t.norm ()) (v64 [ 3.0; -4.0 ])))
        gtest "dimension out of range names the dimension and rank" (fun () ->
            let x = x23 ()
            throwsWith<GenesisException> [ "dimension 2 out of range"; "rank 2" ] (fun () -> x.sum 2 |> ignore)
            throwsWith<GenesisException> [ "dimension -3 out of range" ] (fun () -> x.mean -3 |> ignore)
            throwsWith<GenesisException> [ "dimension 5 out of range" ] (fun () -> x.argmax 5 |> ignore)
            throwsWith<GenesisException> [ "dimension 2 out of range" ] (fun () -> x.cumsum 2 |> ignore))
    ]

/// A tensor of rank 1..3 and one of its dims (also given as a negative index half of the time).
let private genWithDim (g: Gen<float>) =
    gen {
        let! s = genShapeRank 1 3 3
        let! d = genData s g
        let! dim = Gen.choose (0, s.Length - 1)
        let! neg = Gen.elements [ false; true ]
        let! keep = Gen.elements [ false; true ]
        return d, (if neg then dim - s.Length else dim), keep
    }

/// A tensor whose values are pairwise well apart (no ties, so max/min are smooth).
let private genDistinctTensor (lo: float) (hi: float) =
    gen {
        let! s = genShapeRank 1 3 3
        let! v = genDistinct (Shape.numel s) lo hi
        let! dim = Gen.choose (0, s.Length - 1)
        let! keep = Gen.elements [ false; true ]
        return { Shape = s; Values = v }, dim, keep
    }

let private awayFromZero = genFloatWhere -3.0 3.0 (fun x -> abs x > 0.05)

let private derivativeTests =
    testList "derivatives (JVP/VJP vs central differences)" [
        gprop "sum (all, dim, dims, keepDim)" (genWithDim (genFloat -3.0 3.0)) (fun (d, dim, keep) ->
            checkAt "sum" NonZero (fun t -> t.sum ()) d.T
            checkAt "sum dim" NonZero (fun t -> t.sum (dim, keepDim = keep)) d.T
            checkAt "sum dims" NonZero (fun t -> t.sum ([| dim; 0 |], keepDim = keep)) d.T)
        gprop "mean (all, dim, dims, keepDim)" (genWithDim (genFloat -3.0 3.0)) (fun (d, dim, keep) ->
            checkAt "mean" NonZero (fun t -> t.mean ()) d.T
            checkAt "mean dim" NonZero (fun t -> t.mean (dim, keepDim = keep)) d.T
            checkAt "mean dims" NonZero (fun t -> t.mean ([| 0; dim |], keepDim = keep)) d.T)
        gprop "max (all, dim, keepDim), no ties" (genDistinctTensor -3.0 3.0) (fun (d, dim, keep) ->
            checkAt "max" NonZero (fun t -> t.max ()) d.T
            checkAt "max dim" NonZero (fun t -> t.max (dim, keepDim = keep)) d.T)
        gprop "min (all, dim, keepDim), no ties" (genDistinctTensor -3.0 3.0) (fun (d, dim, keep) ->
            checkAt "min" NonZero (fun t -> t.min ()) d.T
            checkAt "min dim" NonZero (fun t -> t.min (dim, keepDim = keep)) d.T)
        gprop "cumsum" (genWithDim (genFloat -3.0 3.0)) (fun (d, dim, _) ->
            checkAt "cumsum" NonZero (fun t -> t.cumsum dim * (t64 d.Shape (Array.init d.Values.Length (fun i -> float (i + 1))))) d.T)
        gprop "norm p = 2 (all, dim, keepDim)" (genWithDim awayFromZero) (fun (d, dim, keep) ->
            checkAt "norm" NonZero (fun t -> t.norm ()) d.T
            checkAt "norm dim" NonZero (fun t -> t.norm (dim = dim, keepDim = keep)) d.T)
        gprop "norm p = 1, p = 3 (away from 0)" (genWithDim awayFromZero) (fun (d, dim, keep) ->
            checkAt "1-norm" NonZero (fun t -> t.norm 1.0) d.T
            checkAt "3-norm dim" NonZero (fun t -> t.norm (3.0, dim, keep)) d.T)
        gprop "norm p = inf (distinct magnitudes)" (genDistinctTensor 0.1 3.0) (fun (d, dim, keep) ->
            let signs = t64 d.Shape (Array.init d.Values.Length (fun i -> if i % 2 = 0 then 1.0 else -1.0))
            checkAt "inf-norm" NonZero (fun t -> (t * signs).norm infinity) d.T
            checkAt "inf-norm dim" NonZero (fun t -> (t * signs).norm (infinity, dim, keep)) d.T)
    ]

[<Tests>]
let tests = testList "Autodiff.Reductions" [ valueTests; derivativeTests ]
