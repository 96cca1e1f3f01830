module Genesis.Tests.NN.LayersTests

open System
open Expecto
open Genesis
open Genesis.NN
open Genesis.Tests
open Genesis.Tests.TestUtil
open Genesis.Tests.NN.NNTestUtil

let private fdTol = 1e-7

[<Tests>]
let tests =
    testList "NN.Layers" [
        test "Linear computes x W^T + b for a batch and a single input; a wrong input shape names expected and actual" {
            GsSetup.ensure64 ()
            let l = Linear(3, 2, biasInit = Uniform(-1.0, 1.0))
            let w = l.weight.toFloatArray()
            let b = l.bias.toFloatArray()
            let x = [| 0.5; -1.0; 2.0; 1.5; 0.25; -0.75 |]
            let y = l.forward(gs.tensor(x).reshape([ 2; 3 ])).toFloatArray()
            for r in 0 .. 1 do
                for o in 0 .. 1 do
                    let e = b[o] + Seq.sum (Seq.init 3 (fun i -> w[o * 3 + i] * x[r * 3 + i]))
                    Expect.floatClose Accuracy.veryHigh y[r * 2 + o] e "batched"
            let y1 = l.forward(gs.tensor(x[0..2])).toFloatArray()
            Expect.floatClose Accuracy.veryHigh y1[1] y[1] "single input"
            throwsWith<GenesisException> [ "Linear"; "[3] or [B; 3]"; "[2; 4]" ] (fun () -> l.forward(gs.zeros([ 2; 4 ])) |> ignore)
        }
        test "mlp parameters: PyTorch state_dict names and counts; backward of an MLP equals central FD for every activation" {
            GsSetup.ensure64 ()
            for kind in [ ActivationKind.Tanh; ActivationKind.ReLU; ActivationKind.ELU; ActivationKind.Softplus; ActivationKind.Sigmoid ] do
                let net = NN.mlp([ 3; 5; 2 ], kind)
                Expect.equal (net.namedParameters() |> Array.map fst) [| "0.weight"; "0.bias"; "2.weight"; "2.bias" |] "names"
                Expect.equal net.numParameters (3 * 5 + 5 + 5 * 2 + 2) "count"
                let x = gs.tensor([| 0.3; -0.7; 1.1; -0.2; 0.9; 0.4 |]).reshape([ 2; 3 ])
                let ps = net.parameters()
                let loss () = (net.forward(x).pow(2.0).sum() + net.forward(x).sin().sum())
                net.zeroGrad()
                (loss ()).backward()
                let g = grads ps
                let fd = fdGradient ps (fun () -> (gs.noGrad loss).item()) 1e-6
                Expect.isLessThan (maxRel fd g) fdTol (sprintf "%A: backward vs FD" kind)
                Expect.isGreaterThan (g |> Array.map abs |> Array.max) 1e-3 "non-zero gradient"
        }
        test "ELU and Softplus(beta) equal their closed forms; ELU's gradient is finite for large inputs" {
            GsSetup.ensure64 ()
            let xs = [| -3.0; -0.5; 0.0; 0.7; 800.0 |]
            let elu = ELU(alpha = 0.5).forward(gs.tensor xs).toFloatArray()
            Array.iter2 (fun x y -> Expect.floatClose Accuracy.veryHigh y (if x > 0.0 then x else 0.5 * (exp x - 1.0)) "elu") xs elu
            let sp = Softplus(beta = 2.0).forward(gs.tensor xs[0..3]).toFloatArray()
            Array.iter2 (fun x y -> Expect.floatClose Accuracy.veryHigh y (log (1.0 + exp (2.0 * x)) / 2.0) "softplus") xs[0..3] sp
            let x = gs.tensor(xs, requiresGrad = true)
            ELU().forward(x).sum().backward()
            Expect.isTrue (x.grad.toFloatArray() |> Array.forall Double.IsFinite) "finite ELU gradient"
        }
        test "initialisers: Glorot-uniform bound and variance, orthogonal rows and columns, zeros; gs.init(seed) reproduces weights" {
            GsSetup.ensure64 ()
            let rows, cols = 200, 300
            let a = sqrt (6.0 / float (rows + cols))
            let g = Linear(cols, rows).weight.toFloatArray()
            Expect.isTrue (g |> Array.forall (fun v -> abs v <= a)) "within the Glorot bound"
            let mean = Array.average g
            let var = g |> Array.averageBy (fun v -> (v - mean) ** 2.0)
            Expect.isLessThan (abs mean) (0.02 * a) "mean ~ 0"
            Expect.isLessThan (abs (var / (a * a / 3.0) - 1.0)) 0.03 "variance a^2 / 3"
            for r, c in [ 4, 7; 7, 4; 5, 5 ] do
                let q = Linear(c, r, weightInit = Orthogonal 2.0).weight.toFloatArray()
                let n = min r c
                // Q Q^T = gain^2 I (wide) or Q^T Q = gain^2 I (tall)
                for i in 0 .. n - 1 do
                    for j in 0 .. n - 1 do
                        let dot = if r <= c then Seq.sum (Seq.init c (fun k -> q[i * c + k] * q[j * c + k])) else Seq.sum (Seq.init r (fun k -> q[k * c + i] * q[k * c + j]))
                        Expect.floatClose Accuracy.veryHigh dot (if i = j then 4.0 else 0.0) (sprintf "orthogonality %dx%d (%d,%d)" r c i j)
            Expect.isTrue (Linear(3, 2, weightInit = Zeros).weight.toFloatArray() |> Array.forall ((=) 0.0)) "zeros"
            let draw () =
                gs.destroy ()
                gs.init(precision = "64", seed = 42)
                NN.mlp([ 2; 3; 1 ]).parameters() |> Array.collect (fun p -> p.toFloatArray())
            let w1 = draw ()
            let w2 = draw ()
            gs.destroy ()
            GsSetup.ensure64 ()
            Expect.equal w1 w2 "same seed, same weights"
            Expect.notEqual w1 (NN.mlp([ 2; 3; 1 ]).parameters() |> Array.collect (fun p -> p.toFloatArray())) "another draw differs"
        }
        test "clipGradNorm: PyTorch's total 2-norm, coefficient maxNorm / (total + 1e-6) when above, untouched below" {
            GsSetup.ensure64 ()
            let p1 = gs.tensor([| 1.0; 2.0 |], requiresGrad = true)
            let p2 = gs.tensor([| 3.0 |], requiresGrad = true)
            let p3 = gs.tensor([| 5.0 |], requiresGrad = true) // no grad: skipped
            ((p1 * gs.tensor([| 3.0; 4.0 |])).sum() + p2 * 12.0).sum().backward()
            let total = NN.clipGradNorm([ p1; p2; p3 ], 6.5)
            Expect.floatClose Accuracy.veryHigh total 13.0 "total norm sqrt(9 + 16 + 144)"
            let c = 6.5 / (13.0 + 1e-6)
            Expect.sequenceEqual (Array.append (p1.grad.toFloatArray()) (p2.grad.toFloatArray())) [| 3.0 * c; 4.0 * c; 12.0 * c |] "scaled grads"
            let again = NN.clipGradNorm([ p1; p2 ], 100.0)
            Expect.floatClose Accuracy.veryHigh again (13.0 * c) "norm after clipping"
            Expect.sequenceEqual (p1.grad.toFloatArray()) [| 3.0 * c; 4.0 * c |] "below maxNorm: unchanged"
            throwsWith<ArgumentException> [ "maxNorm" ] (fun () -> NN.clipGradNorm([ p1 ], 0.0) |> ignore)
        }
        test "gs.noGrad records nothing (results are constants, leaves get no grad); the scope closes on exceptions and nests" {
            GsSetup.ensure64 ()
            let x = gs.tensor([| 1.0; 2.0 |], requiresGrad = true)
            let y = gs.noGrad (fun () -> (x * 3.0).sum())
            Expect.isTrue y.isConstant "constant result"
            Expect.isFalse y.requiresGrad "no grad"
            Expect.floatClose Accuracy.veryHigh (y.item()) 9.0 "value"
            throwsWith<GenesisException> [ "does not require grad" ] (fun () -> y.backward())
            let raised = try gs.noGrad (fun () -> failwith "boom") with _ -> true
            Expect.isTrue raised "raised"
            Expect.isFalse gs.isNoGrad "closed after an exception"
            let scoped () =
                use _ = gs.noGradScope ()
                let z = gs.noGrad (fun () -> x * 2.0)
                z.isConstant && (x + 1.0).isConstant
            Expect.isTrue (scoped ()) "nested and disposable scopes"
            Expect.isFalse gs.isNoGrad "scope disposed"
            (x * x).sum().backward()
            Expect.sequenceEqual (x.grad.toFloatArray()) [| 2.0; 4.0 |] "recording resumes"
        }
        test "ObsNormalizer: running mean and variance equal those of all samples seen; forward normalises and clips" {
            GsSetup.ensure64 ()
            let rnd = Random(3)
            let batches = Array.init 4 (fun i -> Array.init ((i + 2) * 2) (fun _ -> rnd.NextDouble() * 4.0 - 1.0))
            let norm = ObsNormalizer(2, clip = 1.5)
            for b in batches do norm.update(gs.tensor(b).reshape([ b.Length / 2; 2 ]))
            let all = Array.concat batches
            for j in 0 .. 1 do
                let col = all |> Array.indexed |> Array.filter (fun (i, _) -> i % 2 = j) |> Array.map snd
                let m = Array.average col
                let v = col |> Array.averageBy (fun x -> (x - m) ** 2.0)
                Expect.floatClose Accuracy.veryHigh (norm.mean.toFloatArray()[j]) m "mean"
                Expect.floatClose Accuracy.veryHigh (norm.var.toFloatArray()[j]) v "variance"
            Expect.equal norm.count (float (all.Length / 2)) "count"
            let y = norm.forward(gs.tensor([| 100.0; norm.mean.toFloatArray()[1] |])).toFloatArray()
            Expect.sequenceEqual y [| 1.5; 0.0 |] "clipped and centred"
        }
    ]
