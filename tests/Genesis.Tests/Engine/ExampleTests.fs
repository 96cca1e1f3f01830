module Genesis.Tests.Engine.ExampleTests

open Expecto
open Genesis
open Genesis.Tests

[<Tests>]
let tests =
    testList "Examples" [
        test "quickstart: backward fills initialPos.grad, one non-zero value per dof (FD checks: Engine.Gradients)" {
            GsSetup.ensure64 ()
            let _, grad = Genesis.Examples.Quickstart.run ()
            Expect.equal grad.shape [| 2 |] "one gradient per dof"
            Expect.isGreaterThan (grad.abs().max().item()) 1e-6 "non-zero"
        }
        test "quickstart with pictures: the same loss and gradient, its viewer page and GIF written" {
            GsSetup.ensure64 ()
            let dir = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "genesis-quickstart-" + System.Guid.NewGuid().ToString "N")
            try
                let loss, grad = Genesis.Examples.Quickstart.run ()
                let prefix = System.IO.Path.Combine(dir, "quickstart")
                let lossRec, gradRec = Genesis.Examples.Quickstart.runWith (Some prefix)
                Expect.equal lossRec loss "recording leaves the loss unchanged"
                Expect.equal (gradRec.toFloatArray()) (grad.toFloatArray()) "and the gradient, bit for bit"
                for ext in [ ".html"; ".gif" ] do
                    Expect.isGreaterThan (System.IO.FileInfo(prefix + ext).Length) 1000L (ext + " written")
            finally
                try System.IO.Directory.Delete(dir, true) with _ -> ()
        }
        test "trajectory optimisation reduces the loss at least 100x in 100 epochs" {
            GsSetup.ensure64 ()
            let losses = Genesis.Examples.TrajectoryOptimization.run 100 None
            let best = Array.min losses
            Expect.isGreaterThan (losses[0] / losses[losses.Length - 1]) 100.0 (sprintf "first %g, last %g, best %g" losses[0] losses[losses.Length - 1] best)
        }
        test "cart-pole: analytic policy gradients balance >= 95 of 100 random starts for 5 s (an untrained policy balances few)" {
            GsSetup.ensure64 ()
            let untrained = Genesis.Examples.CartPole.evaluate (Genesis.NN.NN.mlp([ 4; 32; 1 ])) (System.Random(12345)) 100 5.0
            let r = Genesis.Examples.CartPole.run 200 64 None
            Expect.isLessThan untrained 50 "the metric fails for an untrained policy"
            Expect.isGreaterThanOrEqual r.balanced 95 (sprintf "balanced %d/100 after %d epochs (%.1f s)" r.balanced r.losses.Length r.trainSeconds)
        }
        test "system identification recovers the two-link arm's link masses and joint damping within 1% from an observed trajectory" {
            GsSetup.ensure64 ()
            let r = Genesis.Examples.SystemId.run 200 None
            let truth = Array.append r.truth.masses r.truth.damping
            let rel (p: Genesis.Examples.SystemId.Parameters) = Array.map2 (fun f t -> abs (f - t) / t) (Array.append p.masses p.damping) truth
            Expect.isGreaterThan (Array.max (rel r.guess)) 0.2 "the guess is far off"
            Expect.isLessThan (Array.max (rel r.found)) 0.01 (sprintf "found %A %A, true %A %A" r.found.masses r.found.damping r.truth.masses r.truth.damping)
        }
    ]
