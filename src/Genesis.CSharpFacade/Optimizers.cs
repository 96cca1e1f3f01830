using static Genesis.CSharp.Fs;

namespace Genesis.CSharp;

/// <summary>The torch.optim shape (the engine's <c>Genesis.Optimizer</c>): parameters (requiresGrad leaves),
/// <see cref="ZeroGrad"/>, <see cref="Step"/> updating values in place.</summary>
public abstract class Optimizer
{
    private protected Optimizer(Genesis.Optimizer value) => FSharp = value;

    /// <summary>The wrapped engine optimizer.</summary>
    public Genesis.Optimizer FSharp { get; }

    /// <summary>The parameters being optimised.</summary>
    public IReadOnlyList<Tensor> Parameters => Wrap(FSharp.parameters);

    /// <summary>Clears every parameter's grad.</summary>
    public void ZeroGrad() => FSharp.zeroGrad();

    /// <summary>Updates every parameter from its grad (parameters without grad are skipped).</summary>
    public void Step() => FSharp.step();
}

/// <summary>Adam with bias correction and optional AMSGrad (PyTorch semantics; the engine's <c>Genesis.Adam</c>).</summary>
public sealed class Adam : Optimizer
{
    /// <summary>Creates the optimiser (defaults are PyTorch's).</summary>
    /// <param name="parameters">requiresGrad leaves.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="beta1">Decay of the first moment.</param>
    /// <param name="beta2">Decay of the second moment.</param>
    /// <param name="eps">Denominator offset.</param>
    /// <param name="weightDecay">L2 penalty.</param>
    /// <param name="amsgrad">Use the AMSGrad variant.</param>
    public Adam(IEnumerable<Tensor> parameters, double lr = 0.001, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0.0, bool amsgrad = false)
        : base(new Genesis.Adam(Unwrap(parameters), Some(lr), Some(beta1), Some(beta2), Some(eps), Some(weightDecay), Some(amsgrad))) { }

    /// <summary>The learning rate (settable, e.g. by a schedule).</summary>
    public double Lr
    {
        get => ((Genesis.Adam)FSharp).lr;
        set => ((Genesis.Adam)FSharp).lr = value;
    }
}

/// <summary>Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (PyTorch semantics;
/// the engine's <c>Genesis.SGD</c>).</summary>
public sealed class Sgd : Optimizer
{
    /// <summary>Creates the optimiser.</summary>
    /// <param name="parameters">requiresGrad leaves.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="momentum">Momentum factor.</param>
    /// <param name="dampening">Dampening of the momentum.</param>
    /// <param name="weightDecay">L2 penalty.</param>
    /// <param name="nesterov">Nesterov momentum (needs momentum &gt; 0 and dampening = 0).</param>
    public Sgd(IEnumerable<Tensor> parameters, double lr, double momentum = 0.0, double dampening = 0.0, double weightDecay = 0.0, bool nesterov = false)
        : base(new Genesis.SGD(Unwrap(parameters), lr, Some(momentum), Some(dampening), Some(weightDecay), Some(nesterov))) { }

    /// <summary>The learning rate (settable, e.g. by a schedule).</summary>
    public double Lr
    {
        get => ((Genesis.SGD)FSharp).lr;
        set => ((Genesis.SGD)FSharp).lr = value;
    }
}

/// <summary>Step learning-rate schedule (the engine's <c>Genesis.StepLR</c>): every stepSize epochs the rate is multiplied by gamma.</summary>
public sealed class StepLR
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="optimizer">The optimiser whose rate to change.</param>
    /// <param name="stepSize">Epochs between changes.</param>
    /// <param name="gamma">Factor applied at each change.</param>
    public StepLR(Optimizer optimizer, int stepSize, double gamma = 0.1) =>
        FSharp = new Genesis.StepLR(optimizer.FSharp, stepSize, Some(gamma));

    /// <summary>The wrapped engine schedule.</summary>
    public Genesis.StepLR FSharp { get; }

    /// <summary>Advances one epoch.</summary>
    public void Step() => FSharp.step();
}
