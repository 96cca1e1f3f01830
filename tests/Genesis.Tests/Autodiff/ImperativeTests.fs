module Genesis.Tests.Autodiff.ImperativeTests

open Expecto
open Genesis
open Genesis.Tests.TestUtil
open Genesis.Tests.Autodiff.GradCheck

/// A requiresGrad float64 leaf.
let private leaf (values: float list) = gs.tensor (values, dtype = DType.Float64, requiresGrad = true)

/// Counts the calls an owner of tensors (a Scene, in the engine) receives around backward().
type private CountingObserver() =
    member val Before = 0 with get, set
    member val After = 0 with get, set
    interface IBackwardObserver with
        member o.BeforeBackward() = o.Before <- o.Before + 1
        member o.AfterBackward() = o.After <- o.After + 1

[<Tests>]
let tests =
    testList "Autodiff.Imperative" [
        gtest "requiresGrad leaves get grad after backward; isLeaf and requiresGrad" (fun () ->
            let x = leaf [ 1.0; 2.0; 3.0 ]
            Expect.isTrue x.requiresGrad "leaf requires grad"
            Expect.isTrue x.isLeaf "leaf"
            Expect.isNull x.grad "no grad before backward"
            let y = (x * x).sum ()
            Expect.isTrue y.requiresGrad "result requires grad"
            Expect.isFalse y.isLeaf "result is not a leaf"
            y.backward ()
            expectValues "x.grad = 2x" [| 3 |] [| 2.0; 4.0; 6.0 |] x.grad
            Expect.isTrue x.grad.isConstant "grad is a constant"
            Expect.isNull y.grad "non-leaf keeps no grad"
            let c = v64 [ 1.0 ]
            Expect.isFalse c.requiresGrad "a constant does not require grad"
            Expect.isTrue c.isLeaf "a constant is a leaf (PyTorch convention)")
        gtest "a leaf used several times accumulates every path" (fun () ->
            let x = leaf [ 2.0 ]
            let y = (x * x + x * 3.0 + x.exp ()).sum ()
            y.backward ()
            expectValues "2x + 3 + e^x" [| 1 |] [| 7.0 + exp 2.0 |] x.grad)
        gtest "grad accumulates over two graphs; zeroGrad clears it" (fun () ->
            let x = leaf [ 1.0; -1.0 ]
            ((x * x).sum ()).backward ()
            ((x * 3.0).sum ()).backward ()
            expectValues "2x + 3" [| 2 |] [| 5.0; 1.0 |] x.grad
            x.zeroGrad ()
            Expect.isNull x.grad "cleared"
            ((x * 10.0).sum ()).backward ()
            expectValues "fresh after zeroGrad" [| 2 |] [| 10.0; 10.0 |] x.grad)
        gtest "two leaves, one graph" (fun () ->
            let a = leaf [ 2.0 ]
            let b = leaf [ 5.0 ]
            ((a * b + b).sum ()).backward ()
            expectValues "d/da" [| 1 |] [| 5.0 |] a.grad
            expectValues "d/db" [| 1 |] [| 3.0 |] b.grad)
        gtest "detach cuts the graph" (fun () ->
            let x = leaf [ 3.0 ]
            let d = x.detach ()
            Expect.isTrue d.isConstant "detached is a constant"
            Expect.isFalse d.requiresGrad "detached does not require grad"
            ((d * x).sum ()).backward ()
            expectValues "only the attached path" [| 1 |] [| 3.0 |] x.grad
            let z = (x * 2.0).detach ()
            throwsWith<GenesisException> [ "does not require grad" ] (fun () -> (z.sum ()).backward ()))
        gtest "a seed gradient back-propagates a non-scalar output" (fun () ->
            let x = leaf [ 1.0; 2.0; 3.0 ]
            let y = x * x
            y.backward (v64 [ 1.0; 10.0; 100.0 ])
            expectValues "seeded" [| 3 |] [| 2.0; 40.0; 600.0 |] x.grad)
        gtest "backward on a non-scalar without seed, or with a misshaped seed, names the shapes" (fun () ->
            let x = leaf [ 1.0; 2.0 ]
            throwsWith<GenesisException> [ "scalar outputs"; "[2]"; "seed" ] (fun () -> (x * 2.0).backward ())
            throwsWith<GenesisException> [ "seed gradient shape [3]"; "tensor shape [2]" ] (fun () -> (x * 2.0).backward (v64 [ 1.0; 1.0; 1.0 ])))
        gtest "a second backward on the same graph raises; retainGraph allows it" (fun () ->
            let x = leaf [ 1.0; 2.0 ]
            let y = (x * x).sum ()
            y.backward ()
            throwsWith<GenesisException> [ "Multiple backward calls not allowed" ] (fun () -> y.backward ())
            let x2 = leaf [ 1.0; 2.0 ]
            let y2 = (x2 * x2).sum ()
            y2.backward (retainGraph = true)
            y2.backward (retainGraph = true)
            expectValues "twice" [| 2 |] [| 4.0; 8.0 |] x2.grad
            y2.backward ()
            expectValues "three times" [| 2 |] [| 6.0; 12.0 |] x2.grad
            throwsWith<GenesisException> [ "Multiple backward calls not allowed" ] (fun () -> y2.backward ()))
        gtest "a new graph through a consumed intermediate also raises" (fun () ->
            let x = leaf [ 1.0 ]
            let h = x * 2.0
            (h.sum ()).backward ()
            throwsWith<GenesisException> [ "Multiple backward calls not allowed" ] (fun () -> ((h * 3.0).sum ()).backward ()))
        gtest "backward on a constant, and requiresGrad on an int tensor, raise" (fun () ->
            throwsWith<GenesisException> [ "does not require grad" ] (fun () -> (v64 [ 1.0 ]).backward ())
            throwsWith<GenesisException> [ "only float tensors"; "int64" ] (fun () -> gs.tensor ([ 1; 2 ], dtype = DType.Int64, requiresGrad = true) |> ignore))
        gtest "requiresGrad_ turns a constant into a leaf in place" (fun () ->
            let x = v64 [ 1.0; 2.0 ]
            let same = x.requiresGrad_ ()
            Expect.isTrue (obj.ReferenceEquals(x, same)) "in place"
            Expect.isTrue x.requiresGrad "now a leaf"
            ((x * 4.0).sum ()).backward ()
            expectValues "grad" [| 2 |] [| 4.0; 4.0 |] x.grad)
        gtest "functional derivatives of a leaf leave its grad alone" (fun () ->
            let x = leaf [ 1.0; 2.0 ]
            expectValues "gs.grad" [| 2 |] [| 2.0; 4.0 |] (gs.grad (fun t -> (t * t).sum ()) x)
            Expect.isNull x.grad "x.grad untouched")
        gtest "gradients through every op kind reach the leaf (matches the functional VJP)" (fun () ->
            let x = leaf [ 0.3; -0.2; 0.5; 0.1 ]
            let f (t: Tensor) =
                let m = t.reshape [ 2; 2 ]
                (m.matmul m.T).exp().cumsum(1).max(0).sum () + m.[0, 1] * m.norm () + gs.cat([ t; t.flip [ 0 ] ]).sigmoid().mean ()
            (f x).backward ()
            expectNear exactTol exactTol "backward vs gs.grad" (vals x.grad) (vals (gs.grad f (x.detach ()))))
        gtest "an IBackwardObserver scene is told before and after backward" (fun () ->
            let scene = CountingObserver()
            let x = gs.tensor ([ 1.0 ], dtype = DType.Float64, requiresGrad = true, scene = scene)
            let y = (x * x).sum ()
            Expect.isTrue (obj.ReferenceEquals(y.scene, scene)) "scene inherited"
            y.backward ()
            Expect.equal (scene.Before, scene.After) (1, 1) "one call each"
            expectValues "grad" [| 1 |] [| 2.0 |] x.grad)
        gtest "many slices of one leaf (rows, ranges, elements, overlapping): the accumulated gradient is the analytic one" (fun () ->
            let rows, cols = 50, 3
            let x0 = Array.init (rows * cols) (fun k -> 0.1 * float (k % 7) - 0.2)
            let w = Array.init (rows * cols) (fun k -> sin (float k))
            let lossOf (x: Tensor) =
                let mutable acc = (x.[0].[2] * 3.0)
                for t in 0 .. rows - 1 do
                    acc <- acc + (x.[t] * gs.tensor (w[t * cols .. t * cols + cols - 1], dtype = DType.Float64)).sum ()
                acc + x.[1 .. 3].pow(2.0).sum () + x.[2 .. 4, 1 .. 2].sum ()
            let expected =
                Array.init (rows * cols) (fun k ->
                    let t, j = k / cols, k % cols
                    w[k] + (if t = 0 && j = 2 then 3.0 else 0.0) + (if t >= 1 && t <= 3 then 2.0 * x0[k] else 0.0)
                    + (if t >= 2 && t <= 4 && j >= 1 then 1.0 else 0.0))
            let x = gs.tensor(x0, dtype = DType.Float64).view([ rows; cols ]).detach().requiresGrad_ ()
            (lossOf x).backward ()
            expectNear 1e-12 1e-12 "backward" (x.grad.reshape([ -1 ]).toFloatArray ()) expected
            let g = gs.grad (fun (t: Tensor) -> lossOf (t.view([ rows; cols ]))) (gs.tensor(x0, dtype = DType.Float64))
            expectNear 1e-12 1e-12 "gs.grad" (g.toFloatArray ()) expected)
    ]
