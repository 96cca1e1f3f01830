module Genesis.Tests.Optim.OptimizerTests

open System
open Expecto
open Genesis
open Genesis.Tests
open Genesis.Tests.TestUtil

/// Runs n optimiser steps on f(p) = sum (p - c)^2 / 2 (gradient p - c) and returns the parameter values.
let private run (make: Tensor -> Optimizer) (p0: float[]) (c: float[]) (n: int) =
    let p = gs.tensor(p0, requiresGrad = true)
    let opt = make p
    for _ in 1 .. n do
        opt.zeroGrad()
        ((p - gs.tensor c).pow(2.0).sum() / 2.0).backward()
        opt.step()
    p.toFloatArray()

[<Tests>]
let tests =
    testList "Optim" [
        test "SGD with momentum and Nesterov follows PyTorch's update rule" {
            GsSetup.ensure64 ()
            let lr, mom = 0.1, 0.9
            let got = run (fun p -> SGD([ p ], lr, momentum = mom, nesterov = true) :> Optimizer) [| 1.0; -2.0 |] [| 0.5; 0.5 |] 3
            // reference: b = mom b + g (b0 = g); p -= lr (g + mom b)
            let expected =
                [| 1.0; -2.0 |] |> Array.mapi (fun i p0 ->
                    let c = [| 0.5; 0.5 |][i]
                    let mutable p = p0
                    let mutable b = nan
                    for _ in 1 .. 3 do
                        let g = p - c
                        b <- if Double.IsNaN b then g else mom * b + g
                        p <- p - lr * (g + mom * b)
                    p)
            Array.iter2 (fun e a -> Expect.floatClose Accuracy.veryHigh a e "parameter") expected got
        }
        test "SGD with weight decay and dampening" {
            GsSetup.ensure64 ()
            let got = run (fun p -> SGD([ p ], 0.05, momentum = 0.5, dampening = 0.2, weightDecay = 0.1) :> Optimizer) [| 2.0 |] [| 0.0 |] 2
            let mutable p = 2.0
            let mutable b = nan
            for _ in 1 .. 2 do
                let g = p + 0.1 * p
                b <- if Double.IsNaN b then g else 0.5 * b + (1.0 - 0.2) * g
                p <- p - 0.05 * b
            Expect.floatClose Accuracy.veryHigh got[0] p "parameter"
        }
        test "Adam with bias correction and AMSGrad follows PyTorch's update rule" {
            GsSetup.ensure64 ()
            for ams in [ false; true ] do
                let got = run (fun p -> Adam([ p ], lr = 0.01, beta1 = 0.8, beta2 = 0.95, eps = 1e-6, weightDecay = 0.01, amsgrad = ams) :> Optimizer) [| 1.0; -3.0 |] [| 0.0; 1.0 |] 5
                let expected =
                    [| 1.0; -3.0 |] |> Array.mapi (fun i p0 ->
                        let c = [| 0.0; 1.0 |][i]
                        let mutable p, m, v, vmax = p0, 0.0, 0.0, 0.0
                        for t in 1 .. 5 do
                            let g = (p - c) + 0.01 * p
                            m <- 0.8 * m + 0.2 * g
                            v <- 0.95 * v + 0.05 * g * g
                            vmax <- max vmax v
                            let vv = if ams then vmax else v
                            p <- p - 0.01 * (m / (1.0 - 0.8 ** float t)) / (sqrt (vv / (1.0 - 0.95 ** float t)) + 1e-6)
                        p)
                Array.iter2 (fun e a -> Expect.floatClose Accuracy.veryHigh a e (sprintf "amsgrad = %b" ams)) expected got
        }
        test "StepLR multiplies the learning rate every stepSize epochs" {
            GsSetup.ensure64 ()
            let p = gs.tensor([ 1.0 ], requiresGrad = true)
            let adam = Adam([ p ], lr = 0.1)
            let sched = StepLR(adam, 2, gamma = 0.5)
            for _ in 1 .. 5 do sched.step()
            Expect.floatClose Accuracy.veryHigh adam.lr 0.025 "0.1 * 0.5^2 after 5 epochs"
        }
        test "bad inputs: parameters must be requiresGrad leaves; Nesterov needs momentum" {
            GsSetup.ensure64 ()
            throwsWith<GenesisException> [ "requiresGrad leaf" ] (fun () -> Adam([ gs.tensor([ 1.0 ]) ]) |> ignore)
            throwsWith<ArgumentException> [ "no parameters" ] (fun () -> Adam([]) |> ignore)
            throwsWith<ArgumentException> [ "Nesterov" ] (fun () -> SGD([ gs.tensor([ 1.0 ], requiresGrad = true) ], 0.1, nesterov = true) |> ignore)
        }
    ]
