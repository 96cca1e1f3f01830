using FsTensor = Genesis.Tensor;
using static Genesis.CSharp.Tests.Fx;

namespace Genesis.CSharp.Tests;

/// <summary>Adam, Sgd, StepLR: the same updates as the engine's optimisers on the same problem.</summary>
public static class OptimizerTests
{
    private static readonly double[] Start = [1.0, -2.0, 0.5];

    /// <summary>Runs n steps of minimising sum((p - 3)^2) with the facade.</summary>
    private static double[] Minimise(Tensor p, Optimizer opt, int n, StepLR? schedule = null)
    {
        for (var i = 0; i < n; i++)
        {
            opt.ZeroGrad();
            (p - 3.0).Pow(2).Sum().Backward();
            opt.Step();
            schedule?.Step();
        }
        return p.ToArray();
    }

    /// <summary>The same with the engine's optimiser.</summary>
    private static double[] FsMinimise(FsTensor p, Genesis.Optimizer opt, int n, Genesis.StepLR? schedule = null)
    {
        for (var i = 0; i < n; i++)
        {
            opt.zeroGrad();
            FsBackward(FsSum((p - 3.0).pow(2.0)));
            opt.step();
            schedule?.step();
        }
        return p.toFloatArray();
    }

    /// <summary>Adam (with and without AMSGrad and weight decay) matches the engine's Adam step for step.</summary>
    [Test]
    public static void AdamMatchesFSharp()
    {
        Init();
        var fp = FsTensorOf(Start, requiresGrad: true);
        var expected = FsMinimise(fp, new Genesis.Adam(new[] { fp }, Some(0.1), null, null, null, null, null), 20);
        var p = Gs.Tensor(Start, requiresGrad: true);
        var adam = new Adam([p], lr: 0.1);
        Close(expected, Minimise(p, adam, 20), Same, "Adam");
        Assert.True(adam.Parameters.Count == 1 && adam.Parameters[0].Equals(p), "Parameters");
        Assert.True(adam.Lr == 0.1, "Lr");
        adam.Lr = 0.05;
        Assert.True(((Genesis.Adam)adam.FSharp).lr == 0.05, "Lr setter reaches the engine");

        var fq = FsTensorOf(Start, requiresGrad: true);
        var expected2 = FsMinimise(fq, new Genesis.Adam(new[] { fq }, Some(0.05), Some(0.8), Some(0.99), Some(1e-6), Some(0.01), Some(true)), 10);
        var q = Gs.Tensor(Start, requiresGrad: true);
        Close(expected2, Minimise(q, new Adam([q], lr: 0.05, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.01, amsgrad: true), 10), Same, "Adam with every option");

        var fr = FsTensorOf(Start, requiresGrad: true);
        Assert.True(new Adam([Gs.Tensor(Start, requiresGrad: true)]).Lr == new Genesis.Adam(new[] { fr }, null, null, null, null, null, null).lr, "default lr is the engine's");
    }

    /// <summary>Sgd (plain, momentum, Nesterov) with a StepLR schedule matches the engine.</summary>
    [Test]
    public static void SgdAndStepLRMatchFSharp()
    {
        Init();
        var fp = FsTensorOf(Start, requiresGrad: true);
        var fsSgd = new Genesis.SGD(new[] { fp }, 0.1, Some(0.9), Some(0.0), Some(0.001), Some(true));
        var expected = FsMinimise(fp, fsSgd, 12, new Genesis.StepLR(fsSgd, 5, Some(0.5)));
        var p = Gs.Tensor(Start, requiresGrad: true);
        var sgd = new Sgd([p], lr: 0.1, momentum: 0.9, dampening: 0.0, weightDecay: 0.001, nesterov: true);
        Close(expected, Minimise(p, sgd, 12, new StepLR(sgd, stepSize: 5, gamma: 0.5)), Same, "Sgd + StepLR");
        Assert.True(Math.Abs(sgd.Lr - 0.025) < 1e-15 && fsSgd.lr == sgd.Lr, "StepLR halved the rate twice");
        sgd.Lr = 0.2;
        Assert.True(((Genesis.SGD)sgd.FSharp).lr == 0.2, "Lr setter");

        var fq = FsTensorOf(Start, requiresGrad: true);
        var q = Gs.Tensor(Start, requiresGrad: true);
        var plain = new Sgd([q], lr: 0.1);
        Assert.True(new StepLR(plain, 1).FSharp is not null, "StepLR.FSharp");
        Close(FsMinimise(fq, new Genesis.SGD(new[] { fq }, 0.1, null, null, null, null), 3), Minimise(q, plain, 3), Same, "plain Sgd");
    }

    /// <summary>Optimiser errors are the engine's.</summary>
    [Test]
    public static void OptimizerErrors()
    {
        Init();
        var x = Gs.Tensor(Start, requiresGrad: true);
        var y = x * 2;
        SameError(() => new Genesis.Adam(new[] { y.FSharp }, null, null, null, null, null, null), () => new Adam([y]), "requiresGrad leaf");
        SameError(() => new Genesis.Adam(Array.Empty<FsTensor>(), null, null, null, null, null, null), () => new Adam([]), "no parameters", argumentError: true);
        SameError(() => new Genesis.SGD(new[] { x.FSharp }, 0.1, null, Some(0.5), null, Some(true)), () => new Sgd([x], 0.1, dampening: 0.5, nesterov: true), "Nesterov", argumentError: true);
    }
}
