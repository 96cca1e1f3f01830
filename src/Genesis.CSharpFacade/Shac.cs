using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using static Genesis.CSharp.Fs;

namespace Genesis.CSharp.NN;

/// <summary>SHAC's settings (the engine's <c>Genesis.NN.ShacConfig</c>); the defaults are <c>ShacConfig.defaults</c>'s
/// (the SHAC paper's: horizon 32, gamma 0.99, lambda 0.95, learning rates 2e-3, betas (0.7, 0.95), 16 critic passes of
/// 4 minibatches, target alpha 0.2, clip 1, MLPs 64-64 ELU, log std -1, normalised observations).</summary>
public sealed class ShacConfig
{
    private static readonly Genesis.NN.ShacConfig D = Genesis.NN.ShacConfig.defaults;

    /// <summary>Steps of each differentiable window.</summary>
    public int Horizon { get; init; } = D.horizon;
    /// <summary>Discount.</summary>
    public double Gamma { get; init; } = D.gamma;
    /// <summary>TD(lambda) mixing of the critic's targets.</summary>
    public double Lambda { get; init; } = D.lambda;
    /// <summary>Adam learning rate of the actor.</summary>
    public double ActorLr { get; init; } = D.actorLr;
    /// <summary>Adam learning rate of the critic.</summary>
    public double CriticLr { get; init; } = D.criticLr;
    /// <summary>Adam beta1 of both optimisers.</summary>
    public double Beta1 { get; init; } = D.betas.Item1;
    /// <summary>Adam beta2 of both optimisers.</summary>
    public double Beta2 { get; init; } = D.betas.Item2;
    /// <summary>Passes over the window's data the critic takes each epoch.</summary>
    public int CriticIterations { get; init; } = D.criticIterations;
    /// <summary>Minibatches each critic pass is split into.</summary>
    public int CriticMinibatches { get; init; } = D.criticMinibatches;
    /// <summary>Polyak weight of the old target critic.</summary>
    public double TargetAlpha { get; init; } = D.targetAlpha;
    /// <summary>Gradient norm clip of actor and critic.</summary>
    public double MaxGradNorm { get; init; } = D.maxGradNorm;
    /// <summary>Hidden sizes of the actor's MLP.</summary>
    public int[] ActorHidden { get; init; } = D.actorHidden.ToArray();
    /// <summary>Hidden sizes of the critic's MLP.</summary>
    public int[] CriticHidden { get; init; } = D.criticHidden.ToArray();
    /// <summary>Hidden activation of both MLPs.</summary>
    public Activation Activation { get; init; } = (Activation)(int)D.activation;
    /// <summary>Initial log standard deviation of the action noise.</summary>
    public double InitLogStd { get; init; } = D.initLogStd;
    /// <summary>Normalise observations by running mean and variance.</summary>
    public bool NormalizeObservations { get; init; } = D.normalizeObservations;
    /// <summary>Seed of the action noise and the critic's shuffling.</summary>
    public int Seed { get; init; } = D.seed;

    /// <summary>The engine's record.</summary>
    public Genesis.NN.ShacConfig ToFSharp() =>
        new(Horizon, Gamma, Lambda, ActorLr, CriticLr, new Tuple<double, double>(Beta1, Beta2), CriticIterations, CriticMinibatches,
            TargetAlpha, MaxGradNorm, ListModule.OfArray(ActorHidden), ListModule.OfArray(CriticHidden),
            (Genesis.NN.ActivationKind)(int)Activation, InitLogStd, NormalizeObservations, Seed);
}

/// <summary>One SHAC epoch's numbers (the engine's <c>Genesis.NN.ShacEpochStats</c>).</summary>
/// <param name="ActorLoss">The actor loss of the window.</param>
/// <param name="CriticLoss">The critic's mean squared TD(lambda) error, last pass.</param>
/// <param name="MeanReward">Mean reward per env-step in the window.</param>
/// <param name="ActorGradNorm">Actor gradient norm before clipping.</param>
/// <param name="FinishedReturns">Undiscounted returns of the episodes that ended in the window.</param>
public sealed record ShacEpochStats(double ActorLoss, double CriticLoss, double MeanReward, double ActorGradNorm, double[] FinishedReturns)
{
    internal static ShacEpochStats Of(Genesis.NN.ShacEpochStats s) => new(s.actorLoss, s.criticLoss, s.meanReward, s.actorGradNorm, s.finishedReturns);
}

/// <summary>The SHAC trainer (Short-Horizon Actor-Critic; the engine's <c>Genesis.NN.ShacTrainer</c>): differentiable
/// windows of <see cref="ShacConfig.Horizon"/> steps over the scene's envs bootstrapped by a target critic.</summary>
public sealed class ShacTrainer
{
    /// <summary>Creates the trainer for a task.</summary>
    /// <param name="scene">The scene (batched, RequiresGrad).</param>
    /// <param name="observationSize">Observation size.</param>
    /// <param name="actionSize">Action size.</param>
    /// <param name="observe">The observations [nEnvs, observationSize], differentiable in the state.</param>
    /// <param name="act">Sets the controls from actions [nEnvs, actionSize] in (-1, 1).</param>
    /// <param name="reward">The reward [nEnvs] of the step just taken.</param>
    /// <param name="resetEnvs">Puts the given envs at sampled start states (e.g. scene.Reset(envsIdx: ..., qpos: ...)).</param>
    /// <param name="episodeLength">Steps per episode.</param>
    /// <param name="config">Settings (null: the defaults).</param>
    public ShacTrainer(Scene scene, int observationSize, int actionSize, Func<Tensor> observe, Action<Tensor> act, Func<Tensor> reward,
                       Action<int[]> resetEnvs, int episodeLength, ShacConfig? config = null)
    {
        var task = new Genesis.NN.ShacTask(scene.FSharp, observationSize, actionSize,
            FuncConvert.FromFunc(() => observe().FSharp), FuncConvert.FromAction<Genesis.Tensor>(a => act(new Tensor(a))),
            FuncConvert.FromFunc(() => reward().FSharp), FuncConvert.FromAction(resetEnvs), episodeLength);
        FSharp = new Genesis.NN.ShacTrainer(task, Ref(config?.ToFSharp()));
    }

    /// <summary>The wrapped engine trainer.</summary>
    public Genesis.NN.ShacTrainer FSharp { get; }

    /// <summary>The actor's MLP (observation to action mean before tanh).</summary>
    public Module Actor => new(FSharp.actor);

    /// <summary>The critic (observation to value).</summary>
    public Module Critic => new(FSharp.critic);

    /// <summary>Epochs trained.</summary>
    public int Epochs => FSharp.epochs;

    /// <summary>One epoch: a window, an actor step, the critic's passes, the target update.</summary>
    public ShacEpochStats TrainEpoch() => ShacEpochStats.Of(FSharp.trainEpoch());

    /// <summary>Trains some epochs; returns each epoch's numbers.</summary>
    /// <param name="epochs">Epochs to train.</param>
    public IReadOnlyList<ShacEpochStats> Train(int epochs) => Array.ConvertAll(FSharp.train(epochs, null), ShacEpochStats.Of);

    /// <summary>The deterministic action tanh(actor(normalised obs)) for observations [B, observationSize].</summary>
    /// <param name="obs">Observations.</param>
    public Tensor Act(Tensor obs) => new(FSharp.act(obs.FSharp));

    /// <summary>The critic's value of observations [B, observationSize].</summary>
    /// <param name="obs">Observations.</param>
    public Tensor Value(Tensor obs) => new(FSharp.value(obs.FSharp));
}
