using Genesis.CSharp.NN;
using static Genesis.CSharp.Tests.Fx;

namespace Genesis.CSharp.Tests;

/// <summary>Genesis.CSharp.NN: the adapters give the engine's results.</summary>
public static class NNTests
{
    /// <summary>Mlp's forward equals the engine's on the same parameters; Linear exposes its weight and bias.</summary>
    [Test]
    public static void MlpForwardAndParameters()
    {
        Init();
        var net = Nn.Mlp([3, 4, 2], Activation.ReLU);
        Assert.True(net.NamedParameters().Select(p => p.Key).SequenceEqual(["0.weight", "0.bias", "2.weight", "2.bias"]), "PyTorch names");
        Assert.True(net.NumParameters == 3 * 4 + 4 + 4 * 2 + 2, "count");
        var x = Gs.FromArray(new[] { 0.3, -0.2, 0.9, 1.0, 0.5, -0.7 }, [2, 3]);
        var y = net.Forward(x).ToArray();
        var fy = net.FSharp.forward(x.FSharp).toFloatArray();
        for (int i = 0; i < y.Length; i++) Assert.Close(fy[i], y[i], Same, "forward");
        var lin = new Linear(2, 3, weightInit: Genesis.CSharp.NN.Init.Orthogonal(), biasInit: Genesis.CSharp.NN.Init.Uniform(1.0, 2.0));
        Assert.True(lin.Weight.Shape.SequenceEqual([3, 2]) && lin.Bias!.ToArray().All(b => b >= 1.0 && b < 2.0), "weight and bias");
    }

    /// <summary>NoGrad records nothing; ClipGradNorm returns the total norm and scales the grads.</summary>
    [Test]
    public static void NoGradAndClipGradNorm()
    {
        Init();
        var p = Gs.Tensor([3.0, 4.0], requiresGrad: true);
        using (Gs.NoGrad())
        {
            Assert.True(!(p * 2.0).RequiresGrad && Gs.IsNoGrad, "no graph inside NoGrad");
        }
        Assert.True(!Gs.IsNoGrad, "scope closed");
        (p * p).Sum().Backward(); // grad (6, 8), norm 10
        double norm = Nn.ClipGradNorm([p], 5.0);
        Assert.Close(10.0, norm, Same, "total norm");
        Assert.Close(6.0 * 5.0 / (10.0 + 1e-6), p.Grad!.ToArray()[0], Same, "clipped grad");
    }

    /// <summary>Save then Load restores the parameters exactly; a corrupt file raises and leaves them unchanged.</summary>
    [Test]
    public static void SafetensorsRoundTrip()
    {
        Init();
        var a = Nn.Mlp([2, 3, 1]);
        var b = Nn.Mlp([2, 3, 1]);
        var path = Path.Combine(Path.GetTempPath(), $"genesis-cs-{Guid.NewGuid():N}.safetensors");
        try
        {
            a.Save(path);
            b.Load(path);
            var pa = a.Parameters().SelectMany(t => t.ToArray()).ToArray();
            Assert.True(pa.SequenceEqual(b.Parameters().SelectMany(t => t.ToArray())), "bitwise round trip");
            File.WriteAllBytes(path, File.ReadAllBytes(path)[..20]);
            var before = b.Parameters().SelectMany(t => t.ToArray()).ToArray();
            Assert.Throws<Genesis.GenesisException>(() => b.Load(path), "safetensors");
            Assert.True(before.SequenceEqual(b.Parameters().SelectMany(t => t.ToArray())), "unchanged after a corrupt file");
        }
        finally { File.Delete(path); }
    }

    /// <summary>Scene.Rollout's gradient equals the imperative loop's (read state, set controls, step).</summary>
    [Test]
    public static void RolloutMatchesImperativeLoop()
    {
        Init();
        var scene = new Scene(new SimOptions { Dt = 0.02, RequiresGrad = true, EnableContact = false });
        var robot = scene.AddEntity(Morphs.Mjcf(Asset("cartpole/cartpole_classic.xml")));
        scene.Build(nEnvs: 2);
        var net = Nn.Mlp([4, 5, 1]);
        void Policy() => robot.ControlDofsForce(net.Forward(Gs.Cat([robot.GetDofsPosition(), robot.GetDofsVelocity()], 1)) * 5.0, dofsIdx: [0]);
        Tensor Cost() => robot.GetDofsPosition().Pow(2).Sum(1);
        double[] Run(bool functional)
        {
            scene.Reset();
            robot.SetDofsPosition(Gs.FromArray(new[] { 0.1, 0.05, -0.2, -0.1 }, [2, 2]));
            net.ZeroGrad();
            Tensor total;
            if (functional) total = scene.Rollout(12, Policy, net.Parameters(), Cost, truncateEvery: 5)!;
            else
            {
                total = null!;
                for (int t = 0; t < 12; t++)
                {
                    if (t > 0 && t % 5 == 0) scene.DetachState();
                    Policy();
                    scene.Step();
                    total = total is null ? Cost() : total + Cost();
                }
            }
            total.Sum().Backward();
            return net.Parameters().SelectMany(p => p.Grad!.ToArray()).ToArray();
        }
        var gf = Run(true);
        var gi = Run(false);
        double scale = gi.Max(Math.Abs);
        Assert.True(scale > 1e-4, "non-zero gradient");
        for (int i = 0; i < gf.Length; i++) Assert.Close(gi[i], gf[i], 1e-10 * scale, "gradient");
    }

    /// <summary>Scene.Reset(envsIdx) resets only those envs (the engine's scene.reset(envsIdx = ...)); a bad index raises.</summary>
    [Test]
    public static void ResetSomeEnvs()
    {
        Init();
        var scene = new Scene(new SimOptions { Dt = 0.02, EnableContact = false });
        var robot = scene.AddEntity(Morphs.Mjcf(Asset("cartpole/cartpole_classic.xml")));
        scene.Build(nEnvs: 3);
        robot.SetDofsPosition(Gs.FromArray(new[] { 0.1, 0.2, 0.3, 0.4, 0.5, 0.6 }, [3, 2]));
        scene.Reset(envsIdx: [1], qpos: Gs.Tensor([-1.0, -2.0]));
        Assert.True(robot.GetDofsPosition().ToArray().SequenceEqual([0.1, 0.2, -1.0, -2.0, 0.5, 0.6]), "env 1 reset, others kept");
        scene.Reset(envsIdx: [2]);
        Assert.True(robot.GetDofsPosition().ToArray().SequenceEqual([0.1, 0.2, -1.0, -2.0, 0.0, 0.0]), "env 2 to the initial state");
        Assert.Throws<Genesis.GenesisException>(() => scene.Reset(envsIdx: [5]), "env index 5");
    }

    /// <summary>ShacTrainer runs epochs through the facade (pendulum, 4 envs, short windows) and gives finite numbers.</summary>
    [Test]
    public static void ShacTrainerRuns()
    {
        Init();
        var scene = new Scene(new SimOptions { RequiresGrad = true, EnableContact = false });
        var robot = scene.AddEntity(Morphs.Mjcf(Asset("pendulum/pendulum.xml")));
        scene.Build(nEnvs: 4);
        Tensor Observe()
        {
            var q = robot.GetDofsPosition();
            return Gs.Cat([q.Cos(), q.Sin(), robot.GetDofsVelocity()], 1);
        }
        var config = new ShacConfig { Horizon = 4, CriticIterations = 2, CriticMinibatches = 2, ActorHidden = [8], CriticHidden = [8] };
        var trainer = new ShacTrainer(scene, 3, 1, Observe, a => robot.ControlDofsForce(a * 4.9), () => robot.GetDofsPosition().Cos().Sum(1),
            envs => scene.Reset(envsIdx: envs, qpos: Gs.Full([envs.Length, 1], 3.0)), episodeLength: 6, config);
        var stats = trainer.Train(3);
        Assert.True(stats.Count == 3 && trainer.Epochs == 3, "three epochs");
        Assert.True(stats.All(s => double.IsFinite(s.ActorLoss) && double.IsFinite(s.CriticLoss)), "finite losses");
        Assert.True(stats.Sum(s => s.FinishedReturns.Length) == 8, "each env finished two 6-step episodes in 12 steps");
        Assert.True(trainer.Act(Observe()).Shape.SequenceEqual([4, 1]), "actions [4, 1]");
    }
}
