module Genesis.Tests.Autodiff.NestingTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Genesis
open Genesis.Tests.TestUtil
open Genesis.Tests.Autodiff.GradCheck

/// u^T H w by central differences of the reverse-mode gradient.
let private fdSecond (f: Tensor -> Tensor) (x: Tensor) (u: float[]) (w: float[]) =
    let gradAt (xs: float[]) = vals (gs.grad f (t64 x.shape xs))
    let x0 = vals x
    let h = fdStep
    let gp = gradAt (Array.map2 (fun xi ui -> xi + h * ui) x0 u)
    let gm = gradAt (Array.map2 (fun xi ui -> xi - h * ui) x0 u)
    dotF w (Array.map2 (fun p m -> (p - m) / (2.0 * h)) gp gm)

let private secondOrderTests =
    let g =
        gen {
            let! n = Gen.choose (1, 5)
            let! x = Gen.arrayOfLength n (genFloat -1.0 1.0)
            let! u = Gen.arrayOfLength n (genFloat -1.0 1.0)
            let! w = Gen.arrayOfLength n (genFloat -1.0 1.0)
            return x, u, w
        }
    testList "second derivatives agree across the four nestings" [
        for name, f in smoothScalarFunctions ->
            gprop name g (fun (xv, uv, wv) ->
                let x = v64 (List.ofArray xv)
                let u = v64 (List.ofArray uv)
                let w = v64 (List.ofArray wv)
                // forward over forward: d/du (d/dw f)
                let ff = (gs.jvp (fun x -> gs.jvp f x w) x u).item ()
                // forward over reverse: d/du grad f, dotted with w
                let fr = (gs.jvp (fun x -> gs.grad f x) x u).dot(w).item ()
                // reverse over reverse: grad (grad f . w), dotted with u
                let rr = (gs.grad (fun x -> (gs.grad f x).dot w) x).dot(u).item ()
                // reverse over forward: grad (d/dw f), dotted with u
                let rf = (gs.grad (fun x -> gs.jvp f x w) x).dot(u).item ()
                let fd = fdSecond f x uv wv
                let tol = exactTol * (1.0 + abs ff)
                for label, v in [ "forward-over-reverse", fr; "reverse-over-reverse", rr; "reverse-over-forward", rf ] do
                    if not (near tol exactTol v ff) then failtestf "%s: %s = %.17g, forward-over-forward = %.17g" name label v ff
                if not (near fdAbsTol fdRelTol ff fd) then failtestf "%s: u^T H w = %.17g, central differences of grad = %.17g" name ff fd)
    ]

let private confusionTests =
    let points = [ -2.0; -0.5; 0.0; 1.0; 3.7 ]
    testList "perturbation confusion" [
        gtest "d/dx [x * d/dy (x + y)] = 1 (forward, reverse and mixed nestings)" (fun () ->
            for p in points do
                let inner (diffY: (Tensor -> Tensor) -> Tensor -> Tensor) (x: Tensor) = x * diffY (fun y -> x + y) (s64 2.0)
                let dd = gs.diff (inner gs.diff) (s64 p)
                let gg = gs.grad (inner gs.grad) (s64 p)
                let dg = gs.diff (inner gs.grad) (s64 p)
                let gd = gs.grad (inner gs.diff) (s64 p)
                for label, r in [ "diff/diff", dd; "grad/grad", gg; "diff/grad", dg; "grad/diff", gd ] do
                    expectNear 0.0 0.0 (sprintf "%s at %g" label p) (vals r) [| 1.0 |])
        gtest "inner derivative evaluated at x: d/dx [d/dy (x * y) at y = x] = 1" (fun () ->
            for p in points do
                let h (diffY: (Tensor -> Tensor) -> Tensor -> Tensor) (x: Tensor) = diffY (fun y -> x * y) x
                for label, outer in [ "diff", gs.diff; "grad", gs.grad ] do
                    for ilabel, innerD in [ "diff", gs.diff; "grad", gs.grad ] do
                        expectNear 0.0 0.0 (sprintf "%s over %s at %g" label ilabel p) (vals (outer (h innerD) (s64 p))) [| 1.0 |])
        gtest "x in the derivative direction: d/dx jvp (y -> x * y) at y = x along x = 2x" (fun () ->
            for p in points do
                let h (x: Tensor) = gs.jvp (fun y -> x * y) x x
                expectNear 0.0 1e-15 (sprintf "diff at %g" p) (vals (gs.diff h (s64 p))) [| 2.0 * p |]
                expectNear 0.0 1e-15 (sprintf "grad at %g" p) (vals (gs.grad h (s64 p))) [| 2.0 * p |]
                // and a direction that only depends on x: d/dx jvp (y -> y^2) at 3 along x = 6
                let k (x: Tensor) = gs.jvp (fun y -> y * y) (s64 3.0) x
                expectNear 0.0 0.0 (sprintf "direction x at %g" p) (vals (gs.diff k (s64 p))) [| 6.0 |]
                // vjp with the cotangent x: d/dx vjp (y -> y^3) at 2 with cotangent x = 12
                let r (x: Tensor) = gs.vjp (fun y -> y ** 3.0) (s64 2.0) x
                expectNear 0.0 1e-15 (sprintf "cotangent x at %g" p) (vals (gs.diff r (s64 p))) [| 12.0 |])
        gtest "nested gradients of a function closing over an outer perturbed value" (fun () ->
            // f(x) = grad_y [sum(x * y^2)] at y = 1 = 2x, so d/dx sum(f(x)) = 2 per element
            let f (x: Tensor) = gs.grad (fun y -> (x * y * y).sum ()) (v64 [ 1.0; 1.0 ])
            expectValues "jacobian" [| 2; 2 |] [| 2.0; 0.0; 0.0; 2.0 |] (gs.jacobian f (v64 [ 0.3; -0.4 ])))
    ]

let private higherOrderTests =
    testList "higher order" [
        gtest "third derivative of sin is -cos: diffn 3, nested grad, nested jvp, mixed" (fun () ->
            for p in [ -1.3; 0.0; 0.4; 2.0 ] do
                let x = s64 p
                let expected = [| -Math.Cos p |]
                let sin (t: Tensor) = t.sin ()
                expectNear 1e-15 1e-14 "diffn 3" (vals (gs.diffn 3 sin x)) expected
                expectNear 1e-15 1e-14 "grad grad grad" (vals (gs.grad (gs.grad (gs.grad sin)) x)) expected
                expectNear 1e-15 1e-14 "jvp jvp jvp" (vals (gs.diff (gs.diff (gs.diff sin)) x)) expected
                expectNear 1e-15 1e-14 "grad over diff over grad" (vals (gs.grad (gs.diff (gs.grad sin)) x)) expected
                expectNear 1e-15 1e-14 "diff2 over grad" (vals (gs.diff2 (gs.grad sin) x)) expected)
        gtest "diffn: 0th is f, 4th of exp is exp, 2nd of x^3 is 6x, diff2 = diffn 2" (fun () ->
            let x = s64 0.7
            expectValues "diffn 0" [||] [| Math.Sin 0.7 |] (gs.diffn 0 (fun t -> t.sin ()) x)
            expectNear 0.0 1e-14 "diffn 4 exp" (vals (gs.diffn 4 (fun t -> t.exp ()) x)) [| Math.Exp 0.7 |]
            expectValues "diff2 x^3" [||] [| 4.2 |] (gs.diff2 (fun t -> t * t * t) x)
            expectValues "diffn 2 x^3" [||] [| 4.2 |] (gs.diffn 2 (fun t -> t * t * t) x)
            expectValues "diffn 4 x^3" [||] [| 0.0 |] (gs.diffn 4 (fun t -> t * t * t) x)
            throwsWith<GenesisException> [ "diffn"; "order" ] (fun () -> gs.diffn -1 (fun t -> t) x |> ignore))
        gtest "imperative backward through a functional gradient (double backward)" (fun () ->
            // g(x) = grad_x sum(w * x^2) = 2 w x, so d sum(g) / dw = 2x
            let w = gs.tensor ([ 1.5; -2.0 ], dtype = DType.Float64, requiresGrad = true)
            let x = v64 [ 0.5; 3.0 ]
            let g = gs.grad (fun x -> (w * x * x).sum ()) x
            expectValues "g" [| 2 |] [| 1.5; -12.0 |] g
            Expect.isTrue g.requiresGrad "the functional gradient is part of the imperative graph"
            (g.sum ()).backward ()
            expectValues "w.grad" [| 2 |] [| 1.0; 6.0 |] w.grad)
        gtest "imperative backward through a forward-mode derivative" (fun () ->
            // d/dx sum(w * sin x) along v = sum(w * cos x * v), so its gradient wrt w is cos x * v
            let w = gs.tensor ([ 2.0; -1.0 ], dtype = DType.Float64, requiresGrad = true)
            let x = v64 [ 0.2; 1.1 ]
            let v = v64 [ 1.0; 3.0 ]
            let d = gs.jvp (fun x -> (w * x.sin ()).sum ()) x v
            expectValues "jvp" [||] [| 2.0 * cos 0.2 - 3.0 * cos 1.1 |] d
            d.backward ()
            expectValues "w.grad" [| 2 |] [| cos 0.2; 3.0 * cos 1.1 |] w.grad)
        gtest "backward() inside a functional derivative points to the functional API" (fun () ->
            throwsWith<GenesisException> [ "backward()"; "functional API" ] (fun () ->
                gs.grad (fun x -> (x * x).sum().backward (); x.sum ()) (v64 [ 1.0 ]) |> ignore))
    ]

[<Tests>]
let tests = testList "Autodiff.Nesting" [ secondOrderTests; confusionTests; higherOrderTests ]
