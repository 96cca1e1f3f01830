module Genesis.Tests.Autodiff.FunctionalTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Genesis
open Genesis.Tests.TestUtil
open Genesis.Tests.Autodiff.GradCheck

/// f(x) = sum(sin(x) * x^2) and its closed-form gradient and Hessian (diagonal).
let private f (x: Tensor) = (x.sin () * x * x).sum ()
let private df (x: float) = Math.Cos x * x * x + 2.0 * x * Math.Sin x
let private d2f (x: float) = -Math.Sin x * x * x + 4.0 * x * Math.Cos x + 2.0 * Math.Sin x

let private xs = [ 0.3; -1.2; 2.0 ]

let private apiTests =
    testList "API values" [
        gtest "grad, fgrad, gradAndValue" (fun () ->
            let x = v64 xs
            let expectedGrad = xs |> List.map df |> List.toArray
            let expectedValue = xs |> List.sumBy (fun v -> Math.Sin v * v * v)
            expectValues "grad" [| 3 |] expectedGrad (gs.grad f x)
            let v, g = gs.fgrad f x
            expectValues "fgrad value" [||] [| expectedValue |] v
            expectValues "fgrad grad" [| 3 |] expectedGrad g
            let v2, g2 = gs.gradAndValue f x
            expectValues "gradAndValue value" [||] [| expectedValue |] v2
            expectValues "gradAndValue grad" [| 3 |] expectedGrad g2
            Expect.isTrue v.isConstant "value is a plain tensor"
            Expect.isTrue g.isConstant "gradient is a plain tensor")
        gtest "gradv, jvp, fjvp, jacobianv" (fun () ->
            let x = v64 xs
            let v = v64 [ 1.0; -2.0; 0.5 ]
            let expected = List.map2 (fun p q -> df p * q) xs [ 1.0; -2.0; 0.5 ] |> List.sum
            expectValues "gradv" [||] [| expected |] (gs.gradv f x v)
            let g (t: Tensor) = t.sin () * t
            let expectedJv = List.map2 (fun p q -> (Math.Cos p * p + Math.Sin p) * q) xs [ 1.0; -2.0; 0.5 ] |> List.toArray
            expectValues "jvp" [| 3 |] expectedJv (gs.jvp g x v)
            expectValues "jacobianv" [| 3 |] expectedJv (gs.jacobianv g x v)
            let y, jv = gs.fjvp g x v
            expectValues "fjvp value" [| 3 |] (xs |> List.map (fun p -> Math.Sin p * p) |> List.toArray) y
            expectValues "fjvp tangent" [| 3 |] expectedJv jv)
        gtest "vjp, fvjp, jacobianTv" (fun () ->
            let x = v64 [ 1.0; 2.0 ]
            let g (t: Tensor) = gs.stack [ t.sum (); (t * t).sum (); t.[0] * t.[1] ]
            let w = v64 [ 1.0; 10.0; 100.0 ]
            // J = [[1, 1], [2, 4], [2, 1]], so J^T w = [1 + 20 + 200, 1 + 40 + 100]
            expectValues "vjp" [| 2 |] [| 221.0; 141.0 |] (gs.vjp g x w)
            expectValues "jacobianTv" [| 2 |] [| 221.0; 141.0 |] (gs.jacobianTv g x w)
            let y, tv = gs.fvjp g x w
            expectValues "fvjp value" [| 3 |] [| 3.0; 5.0; 2.0 |] y
            expectValues "fvjp" [| 2 |] [| 221.0; 141.0 |] tv
            expectValues "jacobian" [| 3; 2 |] [| 1.0; 1.0; 2.0; 4.0; 2.0; 1.0 |] (gs.jacobian g x))
        gtest "diff and diff2 of a scalar function" (fun () ->
            expectValues "diff" [||] [| df 0.7 |] (gs.diff f (s64 0.7))
            expectValues "diff2" [||] [| d2f 0.7 |] (gs.diff2 f (s64 0.7))
            expectValues "diff of a tensor-valued function" [| 2 |] [| Math.Cos 0.7; -Math.Sin 0.7 |] (gs.diff (fun t -> gs.stack [ t.sin (); t.cos () ]) (s64 0.7)))
        gtest "hessian, hvp and hessianv against closed forms" (fun () ->
            let x = v64 xs
            let h = gs.hessian f x
            let diag = xs |> List.map d2f
            expectValues "hessian" [| 3; 3 |] [| for i in 0 .. 2 do for j in 0 .. 2 -> if i = j then diag[i] else 0.0 |] h
            let v = v64 [ 1.0; 2.0; 3.0 ]
            let expected = List.mapi (fun i d -> d * float (i + 1)) diag |> List.toArray
            expectValues "hvp" [| 3 |] expected (gs.hvp f x v)
            expectValues "hessianv" [| 3 |] expected (gs.hessianv f x v))
        gtest "derivatives of functions that ignore x are zeros, not null" (fun () ->
            let x = v64 [ 1.0; 2.0 ]
            let c (_: Tensor) = (v64 [ 5.0 ]).sum ()
            expectValues "grad" [| 2 |] [| 0.0; 0.0 |] (gs.grad c x)
            expectValues "jvp" [||] [| 0.0 |] (gs.jvp c x x)
            expectValues "vjp" [| 2 |] [| 0.0; 0.0 |] (gs.vjp c x (s64 1.0))
            expectValues "hessian" [| 2; 2 |] [| 0.0; 0.0; 0.0; 0.0 |] (gs.hessian c x))
        gtest "derivatives keep float32 in float32" (fun () ->
            let x = t32 [| 2 |] [| 0.5f; 1.5f |]
            Expect.equal (gs.grad f x).dtype DType.Float32 "grad"
            Expect.equal (gs.jvp f x x).dtype DType.Float32 "jvp"
            Expect.equal (gs.hessian f x).dtype DType.Float32 "hessian")
    ]

let private errorTests =
    testList "bad input" [
        gtest "grad of a non-scalar function names its shape" (fun () ->
            throwsWith<GenesisException> [ "grad"; "scalar"; "[2]" ] (fun () -> gs.grad (fun t -> t * 2.0) (v64 [ 1.0; 2.0 ]) |> ignore)
            throwsWith<GenesisException> [ "gradv"; "scalar"; "[2]" ] (fun () -> gs.gradv (fun t -> t * 2.0) (v64 [ 1.0; 2.0 ]) (v64 [ 1.0; 1.0 ]) |> ignore)
            throwsWith<GenesisException> [ "grad"; "scalar" ] (fun () -> gs.hessian (fun t -> t * 2.0) (v64 [ 1.0; 2.0 ]) |> ignore))
        gtest "tangent and cotangent shapes must match, named" (fun () ->
            throwsWith<GenesisException> [ "jvp"; "tangent shape [3]"; "input shape [2]" ] (fun () -> gs.jvp f (v64 [ 1.0; 2.0 ]) (v64 [ 1.0; 2.0; 3.0 ]) |> ignore)
            throwsWith<GenesisException> [ "vjp"; "cotangent shape [2]"; "output shape []" ] (fun () -> gs.vjp f (v64 [ 1.0; 2.0 ]) (v64 [ 1.0; 2.0 ]) |> ignore))
        gtest "differentiating with respect to an int tensor, or diff at a non-scalar, raises" (fun () ->
            throwsWith<GenesisException> [ "grad"; "float"; "int64" ] (fun () -> gs.grad (fun t -> t.sum ()) (ti64 [| 2 |] [| 1L; 2L |]) |> ignore)
            throwsWith<GenesisException> [ "jvp"; "float"; "int32" ] (fun () -> gs.jvp (fun t -> t) (ti32 [| 1 |] [| 1 |]) (ti32 [| 1 |] [| 1 |]) |> ignore)
            throwsWith<GenesisException> [ "diff"; "scalar"; "[2]" ] (fun () -> gs.diff f (v64 [ 1.0; 2.0 ]) |> ignore))
    ]

let private genX =
    gen {
        let! n = Gen.choose (1, 5)
        let! x = Gen.arrayOfLength n (genFloat -1.0 1.0)
        let! v = Gen.arrayOfLength n (genFloat -1.0 1.0)
        return x, v
    }

/// Vector functions R^n -> R^m with m < n, m = n and m > n.
let private vectorFunctions: (string * (Tensor -> Tensor)) list =
    [ "R^n -> R^1 (m <= n)", (fun x -> (x.sin () * x).sum().unsqueeze 0)
      "R^n -> R^2 (m < n for n > 2)", (fun x -> gs.stack [ (x * x).sum (); x.exp().mean () ])
      "R^n -> R^n", (fun x -> x.tanh () * x.cumsum 0)
      "R^n -> R^(2n + 1) (m > n)", (fun x -> gs.cat [ x.sin (); (x.outer x).sum 0; x.norm().unsqueeze 0 ])
      "R^n -> R^(n x n) (m > n)", (fun x -> (x.outer (x.cos ())).exp ()) ]

let private propertyTests =
    testList "properties" [
        for name, fn in smoothScalarFunctions do
            gprop (name + ": hessian symmetric, equal to central differences of grad; hvp = H v") genX (fun (xv, vv) ->
                let x = v64 (List.ofArray xv)
                let n = xv.Length
                let h = gs.hessian fn x
                Expect.equal h.shape [| n; n |] "hessian shape"
                let hv = vals h
                expectNear exactTol exactTol (name + ": symmetric") hv (vals h.T)
                let hfd = fdJacobian (fun t -> gs.grad fn t) x
                expectNear fdAbsTol fdRelTol (name + ": hessian vs FD of grad") hv (flat2 hfd)
                let v = v64 (List.ofArray vv)
                expectNear exactTol exactTol (name + ": hvp = H v") (vals (gs.hvp fn x v)) (vals (h.matmul v))
                expectNear exactTol exactTol (name + ": hessianv = hvp") (vals (gs.hessianv fn x v)) (vals (gs.hvp fn x v)))
        for name, fn in vectorFunctions do
            gprop (name + ": jacobian (either path) = forward columns = reverse rows = FD") genX (fun (xv, _) ->
                let x = v64 (List.ofArray xv)
                let y = fn x
                let j = gs.jacobian fn x
                Expect.equal j.shape [| y.numel; x.numel |] "jacobian shape"
                let jf = jacobianFwd fn x y.numel
                let jr = jacobianRev fn x y
                expectNear exactTol exactTol (name + ": jacobian vs forward mode") (vals j) (flat2 jf)
                expectNear exactTol exactTol (name + ": jacobian vs reverse mode") (vals j) (flat2 jr)
                expectNear fdAbsTol fdRelTol (name + ": jacobian vs FD") (vals j) (flat2 (fdJacobian fn x)))
    ]

[<Tests>]
let tests = testList "Autodiff.Functional" [ apiTests; errorTests; propertyTests ]
