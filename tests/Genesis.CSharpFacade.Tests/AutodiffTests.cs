using FsGs = Genesis.gs;
using FsTensor = Genesis.Tensor;
using static Genesis.CSharp.Tests.Fx;

namespace Genesis.CSharp.Tests;

/// <summary>Imperative reverse mode (Backward, Grad, ZeroGrad, Detach, ...) and functional AD (Gs.Grad, Jvp, ...),
/// each compared with the same computation made with the F# API in the same test.</summary>
public static class AutodiffTests
{
    private static readonly double[] X0 = [0.3, -0.7, 1.1];

    /// <summary>f(x) = sum(sin(x) * x^2 + exp(x) / 3), written once for each API.</summary>
    private static Tensor F(Tensor x) => (x.Sin() * x.Pow(2.0) + x.Exp() / 3.0).Sum();

    private static FsTensor FsF(FsTensor x) => FsSum(x.sin() * x.pow(2.0) + x.exp() / 3.0);

    /// <summary>g(x) = sin(x) * x (vector-valued).</summary>
    private static Tensor G(Tensor x) => x.Sin() * x;

    private static FsTensor FsG(FsTensor x) => x.sin() * x;

    /// <summary>Backward fills Grad of requiresGrad leaves exactly as F# backward does; ZeroGrad clears it.</summary>
    [Test]
    public static void BackwardMatchesFSharp()
    {
        Init();
        var fx = FsTensorOf(X0, requiresGrad: true);
        FsBackward(FsF(fx));
        var x = Gs.Tensor(X0, requiresGrad: true);
        Assert.True(x.Grad is null, "no Grad before Backward");
        Assert.True(x.IsLeaf && x.RequiresGrad, "leaf");
        var y = F(x);
        Assert.True(!y.IsLeaf && y.RequiresGrad, "a result is not a leaf");
        y.Backward();
        Close(fx.grad.toFloatArray(), x.Grad!.ToArray(), Same, "Grad == F# grad");
        Close(X0.Select(v => Math.Cos(v) * v * v + 2 * v * Math.Sin(v) + Math.Exp(v) / 3).ToArray(), x.Grad!.ToArray(), Tol, "Grad closed form");
        x.ZeroGrad();
        Assert.True(x.Grad is null, "ZeroGrad clears");
        SameError(() => { var z = FsF(fx); FsBackward(z); FsBackward(z); }, () => { var z = F(x); z.Backward(); z.Backward(); }, "Multiple backward calls not allowed");
    }

    /// <summary>Backward with a seed gradient and retainGraph, as in F#.</summary>
    [Test]
    public static void BackwardWithSeedAndRetainGraph()
    {
        Init();
        var seed = new[] { 1.0, 2.0, 3.0 };
        var fx = FsTensorOf(X0, requiresGrad: true);
        var fy = FsG(fx);
        FsBackward(fy, FsTensorOf(seed), retainGraph: true);
        FsBackward(fy, FsTensorOf(seed));
        var x = Gs.Tensor(X0, requiresGrad: true);
        var y = G(x);
        y.Backward(Gs.Tensor(seed), retainGraph: true);
        y.Backward(Gs.Tensor(seed));
        Close(fx.grad.toFloatArray(), x.Grad!.ToArray(), Same, "accumulated twice, as F#");
        SameError(() => FsBackward(FsG(fx)), () => G(x).Backward(), "only for scalar outputs");
        SameError(() => FsBackward(FsTensorOf(X0)), () => Gs.Tensor(X0).Backward(), "does not require grad");
    }

    /// <summary>Detach, Sceneless, SetRequiresGrad and CopyFrom.</summary>
    [Test]
    public static void LeavesAndDetach()
    {
        Init();
        var x = Gs.Tensor(X0, requiresGrad: true);
        var d = (x * 2).Detach();
        Assert.True(!d.RequiresGrad && d.IsLeaf, "Detach gives a constant");
        Assert.True(x.Sceneless().RequiresGrad, "Sceneless keeps the graph");
        var c = Gs.Tensor(X0);
        Assert.True(ReferenceEquals(c.SetRequiresGrad(), c) && c.RequiresGrad && c.IsLeaf, "SetRequiresGrad in place");
        Assert.True(ReferenceEquals(c.CopyFrom(Gs.Zeros([3])), c) && c.Sum().Item() == 0 && c.RequiresGrad, "CopyFrom keeps the leaf");
        SameError(() => FsTensorOf([1.0]).copy_(FsTensorOf([1.0, 2.0])), () => Gs.Tensor([1.0]).CopyFrom(Gs.Tensor([1.0, 2.0])), "copy_");
        SameError(() => FsGs.tensor(new[] { 1, 2 }, null, Some(true), null, null), () => Gs.Tensor(new[] { 1, 2 }, requiresGrad: true), "only float tensors");
    }

    /// <summary>Grad, FGrad, Gradv, Hessian, Hvp against gs.grad ... on the same function.</summary>
    [Test]
    public static void GradientsAndHessiansMatchFSharp()
    {
        Init();
        var x = Gs.Tensor(X0);
        var v = Gs.Tensor(new[] { 0.5, -1.0, 2.0 });
        var fx = x.FSharp;
        var fv = v.FSharp;
        Close(FsGs.grad(Fn(FsF), fx).toFloatArray(), Gs.Grad(F, x).ToArray(), Same, "Grad");
        var (value, grad) = Gs.FGrad(F, x);
        var fg = FsGs.fgrad(Fn(FsF), fx);
        Assert.Close(fg.Item1.item(), value.Item(), Same, "FGrad value");
        Close(fg.Item2.toFloatArray(), grad.ToArray(), Same, "FGrad grad");
        Assert.Close(FsGs.gradv(Fn(FsF), fx, fv).item(), Gs.Gradv(F, x, v).Item(), Same, "Gradv");
        Close(FsGs.hessian(Fn(FsF), fx).toFloatArray(), Gs.Hessian(F, x).ToArray(), Same, "Hessian");
        Shape([3, 3], Gs.Hessian(F, x), "Hessian shape");
        Close(FsGs.hvp(Fn(FsF), fx, fv).toFloatArray(), Gs.Hvp(F, x, v).ToArray(), Same, "Hvp");
        SameError(() => FsGs.grad(Fn(FsG), fx), () => Gs.Grad(G, x), "grad: f must return a scalar");
    }

    /// <summary>Jvp, FJvp, Vjp, FVjp, Jacobian, JacobianV, JacobianTv against the F# functions.</summary>
    [Test]
    public static void JacobianProductsMatchFSharp()
    {
        Init();
        var x = Gs.Tensor(X0);
        var v = Gs.Tensor(new[] { 0.5, -1.0, 2.0 });
        var fx = x.FSharp;
        var fv = v.FSharp;
        Close(FsGs.jvp(Fn(FsG), fx, fv).toFloatArray(), Gs.Jvp(G, x, v).ToArray(), Same, "Jvp");
        Close(FsGs.vjp(Fn(FsG), fx, fv).toFloatArray(), Gs.Vjp(G, x, v).ToArray(), Same, "Vjp");
        Close(FsGs.jacobian(Fn(FsG), fx).toFloatArray(), Gs.Jacobian(G, x).ToArray(), Same, "Jacobian");
        Close(FsGs.jacobianv(Fn(FsG), fx, fv).toFloatArray(), Gs.JacobianV(G, x, v).ToArray(), Same, "JacobianV");
        Close(FsGs.jacobianTv(Fn(FsG), fx, fv).toFloatArray(), Gs.JacobianTv(G, x, v).ToArray(), Same, "JacobianTv");
        var (y, jv) = Gs.FJvp(G, x, v);
        Close(FsG(fx).toFloatArray(), y.ToArray(), Same, "FJvp value");
        Close(FsGs.fjvp(Fn(FsG), fx, fv).Item2.toFloatArray(), jv.ToArray(), Same, "FJvp tangent");
        var (y2, vj) = Gs.FVjp(G, x, v);
        Close(FsG(fx).toFloatArray(), y2.ToArray(), Same, "FVjp value");
        Close(FsGs.fvjp(Fn(FsG), fx, fv).Item2.toFloatArray(), vj.ToArray(), Same, "FVjp cotangent");
        SameError(() => FsGs.jvp(Fn(FsG), fx, FsTensorOf([1.0])), () => Gs.Jvp(G, x, Gs.Tensor([1.0])), "jvp: tangent shape");
    }

    /// <summary>Diff, Diff2, DiffN on scalars, and nesting without perturbation confusion.</summary>
    [Test]
    public static void ScalarDerivativesAndNesting()
    {
        Init();
        var x = Gs.Tensor(0.7);
        Tensor H(Tensor t) => t.Sin() * t.Pow(3.0);
        FsTensor FsH(FsTensor t) => t.sin() * t.pow(3.0);
        Assert.Close(FsGs.diff(Fn(FsH), x.FSharp).item(), Gs.Diff(H, x).Item(), Same, "Diff");
        Assert.Close(FsGs.diff2(Fn(FsH), x.FSharp).item(), Gs.Diff2(H, x).Item(), Same, "Diff2");
        Assert.Close(FsGs.diffn(3, Fn(FsH), x.FSharp).item(), Gs.DiffN(3, H, x).Item(), Same, "DiffN");
        Assert.Close(H(x).Item(), Gs.DiffN(0, H, x).Item(), Same, "DiffN(0) is f");
        // d/dx [x * d/dy (x + y)] = d/dx [x * 1] = 1
        var nested = Gs.Diff(a => a * Gs.Diff(b => a + b, Gs.Tensor(3.0)), Gs.Tensor(5.0));
        Assert.Close(1.0, nested.Item(), Tol, "no perturbation confusion");
        SameError(() => FsGs.diff(Fn(FsH), FsTensorOf([1.0, 2.0])), () => Gs.Diff(H, Gs.Tensor([1.0, 2.0])), "diff: x must be a scalar");
    }
}
