using Microsoft.FSharp.Core;
using static Genesis.CSharp.Fs;
using FsModule = Genesis.NN.Module;

namespace Genesis.CSharp.NN;

/// <summary>How a layer's parameter is initialised (the engine's <c>Genesis.NN.Init</c>; draws use the generator seeded by <c>Gs.Init(seed: ...)</c>).</summary>
public sealed class Init
{
    private Init(Genesis.NN.Init value) => FSharp = value;

    /// <summary>The wrapped engine initialiser.</summary>
    public Genesis.NN.Init FSharp { get; }

    /// <summary>Uniform in +-sqrt(6 / (fanIn + fanOut)) (Glorot/Xavier uniform).</summary>
    public static Init GlorotUniform { get; } = new(Genesis.NN.Init.GlorotUniform);

    /// <summary>All zeros.</summary>
    public static Init Zeros { get; } = new(Genesis.NN.Init.Zeros);

    /// <summary>A (semi-)orthogonal matrix times <paramref name="gain"/>.</summary>
    /// <param name="gain">Scale of the orthonormal rows or columns.</param>
    public static Init Orthogonal(double gain = 1.0) => new(Genesis.NN.Init.NewOrthogonal(gain));

    /// <summary>Uniform in [low, high).</summary>
    /// <param name="low">Lower bound.</param>
    /// <param name="high">Upper bound.</param>
    public static Init Uniform(double low, double high) => new(Genesis.NN.Init.NewUniform(low, high));
}

/// <summary>Activation kinds for <see cref="Nn.Mlp"/>.</summary>
public enum Activation
{
    /// <summary>tanh.</summary>
    Tanh = 0,
    /// <summary>max(x, 0).</summary>
    ReLU = 1,
    /// <summary>ELU with alpha 1.</summary>
    ELU = 2,
    /// <summary>softplus.</summary>
    Softplus = 3,
    /// <summary>logistic sigmoid.</summary>
    Sigmoid = 4,
}

/// <summary>A layer or network (torch.nn.Module; the engine's <c>Genesis.NN.Module</c>): forward over a batch with a
/// leading env dimension, named parameters and buffers, safetensors save and load.</summary>
public class Module
{
    /// <summary>Wraps an engine module.</summary>
    /// <param name="value">The engine module.</param>
    public Module(FsModule value) => FSharp = value;

    /// <summary>The wrapped engine module.</summary>
    public FsModule FSharp { get; }

    /// <summary>The output for input x ([B, inFeatures] or [inFeatures]).</summary>
    /// <param name="x">The input.</param>
    public Tensor Forward(Tensor x) => new(FSharp.forward(x.FSharp));

    /// <summary>The learnable parameters (requiresGrad leaves).</summary>
    public IReadOnlyList<Tensor> Parameters() => Wrap(FSharp.parameters());

    /// <summary>The learnable parameters by name (PyTorch state_dict names: "0.weight", ...).</summary>
    public IReadOnlyList<KeyValuePair<string, Tensor>> NamedParameters() =>
        FSharp.namedParameters().Select(p => new KeyValuePair<string, Tensor>(p.Item1, new Tensor(p.Item2))).ToArray();

    /// <summary>Number of learnable scalars.</summary>
    public int NumParameters => FSharp.numParameters;

    /// <summary>Clears every parameter's grad.</summary>
    public void ZeroGrad() => FSharp.zeroGrad();

    /// <summary>Writes parameters and buffers to a safetensors file.</summary>
    /// <param name="path">The file.</param>
    public void Save(string path) => FSharp.save(path);

    /// <summary>Reads parameters and buffers from a safetensors file (all or nothing: on error the module is unchanged).</summary>
    /// <param name="path">The file.</param>
    public void Load(string path) => FSharp.load(path);
}

/// <summary>y = x W^T + b (torch.nn.Linear).</summary>
public sealed class Linear : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="inFeatures">Input features.</param>
    /// <param name="outFeatures">Output features.</param>
    /// <param name="bias">With a bias.</param>
    /// <param name="weightInit">Weight initialiser (default Glorot uniform).</param>
    /// <param name="biasInit">Bias initialiser (default zeros).</param>
    public Linear(int inFeatures, int outFeatures, bool bias = true, Init? weightInit = null, Init? biasInit = null)
        : base(new Genesis.NN.Linear(inFeatures, outFeatures, Some(bias), Ref(weightInit?.FSharp), Ref(biasInit?.FSharp))) { }

    /// <summary>The weight [outFeatures, inFeatures].</summary>
    public Tensor Weight => new(((Genesis.NN.Linear)FSharp).weight);

    /// <summary>The bias [outFeatures] (null without bias).</summary>
    public Tensor? Bias => OrNullT(((Genesis.NN.Linear)FSharp).bias);

    private static Tensor? OrNullT(Genesis.Tensor? t) => t is null ? null : new Tensor(t);
}

/// <summary>Layers applied in order (torch.nn.Sequential).</summary>
public sealed class Sequential : Module
{
    /// <summary>Creates the network.</summary>
    /// <param name="layers">The layers in order.</param>
    public Sequential(params Module[] layers) : base(new Genesis.NN.Sequential(layers.Select(l => l.FSharp))) { }

    internal Sequential(Genesis.NN.Sequential value) : base(value) { }
}

/// <summary>A running normaliser of observations: (x - mean) / sqrt(var + eps), clipped.</summary>
public sealed class ObsNormalizer : Module
{
    /// <summary>Creates the normaliser.</summary>
    /// <param name="size">Observation size.</param>
    /// <param name="eps">Variance offset.</param>
    /// <param name="clip">Clip of the normalised values.</param>
    public ObsNormalizer(int size, double eps = 1e-8, double clip = 10.0) : base(new Genesis.NN.ObsNormalizer(size, Some(eps), Some(clip))) { }

    /// <summary>Folds a batch [B, size] into the running mean and variance.</summary>
    /// <param name="x">The batch.</param>
    public void Update(Tensor x) => ((Genesis.NN.ObsNormalizer)FSharp).update(x.FSharp);

    /// <summary>Running mean [size].</summary>
    public Tensor Mean => new(((Genesis.NN.ObsNormalizer)FSharp).mean);

    /// <summary>Running variance [size].</summary>
    public Tensor Var => new(((Genesis.NN.ObsNormalizer)FSharp).var);
}

/// <summary>Network builders, activations and gradient utilities (torch.nn.utils).</summary>
public static class Nn
{
    /// <summary>A new activation layer.</summary>
    /// <param name="kind">The activation.</param>
    public static Module Act(Activation kind) => new(Genesis.NN.NN.activation((Genesis.NN.ActivationKind)(int)kind));

    /// <summary>A multilayer perceptron: Linear layers between consecutive sizes with the activation between them.</summary>
    /// <param name="sizes">Input, hidden and output sizes.</param>
    /// <param name="activation">The hidden activation.</param>
    /// <param name="weightInit">Weight initialiser (default Glorot uniform).</param>
    /// <param name="lastInit">Initialiser of the last layer's weight (default weightInit).</param>
    public static Sequential Mlp(int[] sizes, Activation activation = Activation.Tanh, Init? weightInit = null, Init? lastInit = null) =>
        new(Genesis.NN.NN.mlp(sizes, Some((Genesis.NN.ActivationKind)(int)activation), null, Ref(weightInit?.FSharp), Ref(lastInit?.FSharp)));

    /// <summary>Scales the grads so that their total 2-norm is at most maxNorm (PyTorch clip_grad_norm_); returns the norm before clipping.</summary>
    /// <param name="parameters">requiresGrad leaves.</param>
    /// <param name="maxNorm">The largest total norm kept.</param>
    public static double ClipGradNorm(IEnumerable<Tensor> parameters, double maxNorm) => Genesis.NN.NN.clipGradNorm(Unwrap(parameters), maxNorm);
}

/// <summary>Closed-loop rollouts on a scene (the engine's <c>Genesis.NN.ClosedLoop</c>).</summary>
public static class SceneRolloutExtensions
{
    /// <summary>Runs <paramref name="steps"/> steps of a closed loop: <paramref name="policy"/> reads the scene and sets
    /// controls before each step, <paramref name="cost"/> reads the state after it; returns the summed cost (null
    /// without cost). Backward re-runs the loop segment by segment (O(sqrt T) memory) into the grads of
    /// <paramref name="parameters"/>, the start state and model parameters.</summary>
    /// <param name="scene">The scene.</param>
    /// <param name="steps">Steps to take.</param>
    /// <param name="policy">Reads observations and sets controls (e.g. ControlDofsForce).</param>
    /// <param name="parameters">The tensors the policy uses that should receive gradients.</param>
    /// <param name="cost">Per-step cost on the new state ([nEnvs] or scalar), or null.</param>
    /// <param name="truncateEvery">Detach the state every K steps (truncated windows), or null.</param>
    /// <param name="segmentLength">Steps per checkpoint segment (default ceil(sqrt steps)).</param>
    public static Tensor? Rollout(this Scene scene, int steps, Action policy, IEnumerable<Tensor> parameters, Func<Tensor>? cost = null,
                                  int? truncateEvery = null, int? segmentLength = null)
    {
        var fsPolicy = FuncConvert.FromAction(policy);
        var fsCost = cost is null ? null : Some(FuncConvert.FromFunc(() => cost().FSharp));
        var result = Genesis.NN.ClosedLoop.run(scene.FSharp, steps, fsPolicy, fsCost, Unwrap(parameters), Opt(truncateEvery), Opt(segmentLength));
        return result.Item1 is null ? null : new Tensor(result.Item1);
    }

    /// <summary>The former name of <see cref="Scene.Reset"/> with envsIdx: resets some envs to qpos/qvel (null: the initial qpos, zero velocity).</summary>
    /// <param name="scene">The scene.</param>
    /// <param name="envsIdx">The envs to reset.</param>
    /// <param name="qpos">[envsIdx.Length, nq] or [nq], or null.</param>
    /// <param name="qvel">[envsIdx.Length, nv] or [nv], or null.</param>
    public static void ResetEnvs(this Scene scene, int[] envsIdx, Tensor? qpos = null, Tensor? qvel = null) =>
        scene.Reset(envsIdx: envsIdx, qpos: qpos, qvel: qvel);

    /// <summary>Cuts the scene's current state from the graph (a truncation point of an imperative loop).</summary>
    /// <param name="scene">The scene.</param>
    public static void DetachState(this Scene scene) => Genesis.NN.ClosedLoop.detachState(scene.FSharp);
}
