using FsGs = Genesis.gs;
using static Genesis.CSharp.Tests.Fx;

namespace Genesis.CSharp.Tests;

/// <summary>Gs: initialisation, every tensor constructor, combining; errors as the engine raises them.</summary>
public static class GsTests
{
    /// <summary>Init/Destroy/IsInitialized/Backend/Precision, and the dtype that the precision selects.</summary>
    [Test]
    public static void InitDestroyAndPrecision()
    {
        try
        {
            Gs.Destroy();
            Assert.True(!Gs.IsInitialized, "not initialised after Destroy");
            SameError(() => FsGs.tensor(1.0, null, null, null, null), () => Gs.Tensor(1.0), "not initialized");
            Gs.Init();
            Assert.True(Gs.IsInitialized && Gs.Backend == Backend.Cpu && Gs.Precision == "32", "defaults: Cpu, \"32\"");
            Assert.True(Gs.Tensor(1.0).DType == DType.Float32 && Gs.Tensor(1).DType == DType.Int32, "precision 32 gives float32/int32");
            SameError(() => FsGs.init(null, null, null), () => Gs.Init(), "already initialized");
            Gs.Destroy();
            Gs.Init(Backend.Cpu, "64", seed: 3);
            Assert.True(Gs.Tensor(1.0).DType == DType.Float64 && Gs.Tensor(1).DType == DType.Int64, "precision 64 gives float64/int64");
        }
        finally { Gs.Destroy(); Init(); }
    }

    /// <summary>A bad precision is an ArgumentException, as in F#; Backend.Gpu either works (CUDA, or GENESIS_GPU=cpu)
    /// or fails with the engine's exception and message.</summary>
    [Test]
    public static void InitErrorsAreTheEngines()
    {
        try
        {
            Gs.Destroy();
            SameError(() => FsGs.init(null, Some("16"), null), () => Gs.Init(precision: "16"), "precision", argumentError: true);
            try
            {
                Gs.Init(Backend.Gpu);
                Assert.True(Gs.Backend == Backend.Gpu && Gs.Tensor(1.0).Device != "cpu", "Backend.Gpu initialised: tensors on the accelerator");
                Gs.Destroy();
            }
            catch (GenesisException)
            {
                SameError(() => FsGs.init(Some(Genesis.Backend.Gpu), null, null), () => Gs.Init(Backend.Gpu), "");
            }
        }
        finally { if (Gs.IsInitialized) Gs.Destroy(); Init(); }
    }

    /// <summary>Every Gs.Tensor overload: shape, dtype and values.</summary>
    /// <summary>Gs.AssetsDir is the engine's gs.assetsDir, and Morphs.Urdf finds a shipped robot there by its relative
    /// path when the current folder lacks it.</summary>
    [Test]
    public static void AssetsDirServesRelativeRobotPaths()
    {
        Init();
        Assert.True(Gs.AssetsDir == FsGs.assetsDir, "the engine's folder");
        Assert.True(File.Exists(Path.Combine(Gs.AssetsDir, "two_link_arm", "two_link_arm.urdf")), "the arm is shipped");
        Assert.True(!File.Exists("two_link_arm/two_link_arm.urdf"), "not in the current folder");
        var scene = new Scene(new SimOptions { Dt = 0.01 });
        var robot = scene.AddEntity(Morphs.Urdf("two_link_arm/two_link_arm.urdf", fixedBase: true));
        scene.Build();
        Assert.True(robot.NDofs == 2, "the shipped arm loaded");
    }

    [Test]
    public static void TensorOverloads()
    {
        Init();
        var s = Gs.Tensor(2.5);
        Assert.True(s.Dim == 0 && s.Item() == 2.5 && s.DType == DType.Float64, "scalar double");
        Assert.True(Gs.Tensor(3).DType == DType.Int64 && Gs.Tensor(3).Item() == 3, "scalar int");
        Assert.True(Gs.Tensor(true).DType == DType.Bool && Gs.Tensor(true).Item() == 1, "scalar bool");
        Close([0.5, 0.73, 0.5], Gs.Tensor(new[] { 0.5, 0.73, 0.5 }).ToArray(), 0, "double[]");
        Assert.True(Gs.Tensor(new[] { 1f, 2f }).DType == DType.Float64, "float[] takes the precision's float type");
        Assert.True(Gs.Tensor(new[] { 1f, 2f }, dtype: DType.Float32).DType == DType.Float32, "dtype overrides");
        Assert.True(Gs.Tensor(new[] { 1, 2 }).DType == DType.Int64, "int[]");
        Assert.True(Gs.Tensor(new[] { 1L, 2L }).DType == DType.Int64, "long[]");
        Assert.True(Gs.Tensor(new[] { true, false }).DType == DType.Bool, "bool[]");
        var m = Gs.Tensor(new double[,] { { 1, 2, 3 }, { 4, 5, 6 } });
        Shape([2, 3], m, "double[,]");
        Close([1, 2, 3, 4, 5, 6], m.ToArray(), 0, "double[,] row-major");
        Shape([2, 1, 2], Gs.Tensor(new double[,,] { { { 1, 2 } }, { { 3, 4 } } }), "double[,,]");
        Shape([2, 2], Gs.Tensor(new[] { new[] { 1.0, 2.0 }, new[] { 3.0, 4.0 } }), "double[][]");
        ReadOnlySpan<double> span = stackalloc double[] { 1, 2, 3, 4 };
        Close([2, 3], Gs.Tensor(span[1..3]).ToArray(), 0, "ReadOnlySpan<double>");
        var leaf = Gs.Tensor(new[] { 1.0, 2.0 }, requiresGrad: true);
        Assert.True(leaf.RequiresGrad && leaf.IsLeaf, "requiresGrad gives a leaf");
        var copy = Gs.Tensor(leaf);
        Assert.True(!copy.RequiresGrad && copy.ToArray().SequenceEqual(leaf.ToArray()), "Tensor(tensor) copies, detached");
        Assert.True(Gs.Tensor(1.0, device: Backend.Cpu).Device == "cpu", "device = the init backend");
        SameError(() => FsGs.tensor(1.0, null, null, null, Some(Genesis.Backend.Gpu)), () => Gs.Tensor(1.0, device: Backend.Gpu), "Device selection not supported");
        SameError(() => FsGs.tensor(new[] { new[] { 1.0 }, new[] { 1.0, 2.0 } }, null, null, null, null),
                  () => Gs.Tensor(new[] { new[] { 1.0 }, new[] { 1.0, 2.0 } }), "row 1");
    }

    /// <summary>FromArray (any rank, optional shape) and FromTensor (detached or keeping the graph).</summary>
    [Test]
    public static void FromArrayAndFromTensor()
    {
        Init();
        var a = Gs.FromArray(new long[,] { { 1, 2 }, { 3, 4 } });
        Assert.True(a.DType == DType.Int64, "long[,] gives Int");
        Shape([2, 2], a, "FromArray shape");
        Shape([4], Gs.FromArray(new[] { 1.0, 2.0, 3.0, 4.0 }, shape: [4]), "FromArray with shape");
        Shape([2, 2], Gs.FromArray(new[] { 1.0, 2.0, 3.0, 4.0 }, shape: [2, 2], dtype: DType.Float32), "FromArray reshaped");
        SameError(() => FsGs.fromArray(new[] { 1.0, 2.0, 3.0 }, Some<IEnumerable<int>>(new[] { 2, 2 }), null, null, null, null),
                  () => Gs.FromArray(new[] { 1.0, 2.0, 3.0 }, shape: [2, 2]), "do not fill");
        var x = Gs.Tensor(new[] { 1.0, 2.0 }, requiresGrad: true);
        var y = x * 3.0;
        var kept = Gs.FromTensor(y, detach: false);
        Assert.True(kept.RequiresGrad && !kept.IsLeaf, "detach: false keeps the graph");
        var cut = Gs.FromTensor(y, requiresGrad: true);
        Assert.True(cut.IsLeaf && cut.RequiresGrad, "detached copy as a new leaf");
        SameError(() => FsGs.fromTensor(y.FSharp, Some(false), null, Some(true), null), () => Gs.FromTensor(y, detach: false, requiresGrad: true), "requiresGrad needs detach");
    }

    /// <summary>Zeros, Ones, Full, Empty, Eye, Arange (3 forms), Linspace, Logspace.</summary>
    [Test]
    public static void CreationByShape()
    {
        Init();
        Close([0, 0, 0, 0, 0, 0], Gs.Zeros([2, 3]).ToArray(), 0, "Zeros");
        Assert.True(Gs.Zeros([2], requiresGrad: true).RequiresGrad, "Zeros requiresGrad");
        Close([1, 1], Gs.Ones([2]).ToArray(), 0, "Ones");
        Close([7, 7], Gs.Full([2], 7.0).ToArray(), 0, "Full");
        Shape([3, 1], Gs.Empty([3, 1]), "Empty");
        Close([1, 0, 0, 1], Gs.Eye(2).ToArray(), 0, "Eye");
        Shape([2, 3], Gs.Eye(2, 3), "Eye n x m");
        Close([0, 0.5, 1, 1.5], Gs.Arange(0.0, 2.0, 0.5).ToArray(), 0, "Arange doubles");
        var ints = Gs.Arange(4);
        Assert.True(ints.DType == DType.Int64 && ints.ToArray().SequenceEqual([0.0, 1, 2, 3]), "Arange(stop)");
        Close([5, 3, 1], Gs.Arange(5, 0, -2).ToArray(), 0, "Arange(start, stop, step)");
        Close([0, 0.25, 0.5, 0.75, 1], Gs.Linspace(0, 1, 5).ToArray(), Tol, "Linspace");
        Close([1, 10, 100], Gs.Logspace(0, 2, 3).ToArray(), Tol, "Logspace");
        Close([1, 2, 4], Gs.Logspace(0, 2, 3, logBase: 2).ToArray(), Tol, "Logspace base 2");
        SameError(() => FsGs.arange(0.0, 1.0, Some(0.0), null, null, null, null), () => Gs.Arange(0.0, 1.0, 0.0), "step", argumentError: true);
        SameError(() => FsGs.zeros(new[] { 2, -1 }, null, null, null, null), () => Gs.Zeros([2, -1]), "", argumentError: true);
    }

    /// <summary>Rand, Randn, Randint, Randperm draw the same numbers as the engine with the same seed.</summary>
    [Test]
    public static void RandomMatchesTheEngineForASeed()
    {
        try
        {
            double[] Draw(Func<double[]> draw) { Gs.Destroy(); Gs.Init(precision: "64", seed: 42); return draw(); }
            Close(Draw(() => FsGs.rand(new[] { 5 }, null, null, null, null).toFloatArray()), Draw(() => Gs.Rand([5]).ToArray()), 0, "Rand");
            Close(Draw(() => FsGs.randn(new[] { 5 }, null, null, null, null).toFloatArray()), Draw(() => Gs.Randn([5]).ToArray()), 0, "Randn");
            Close(Draw(() => FsGs.randint(2, 9, new[] { 5 }, null, null, null).toFloatArray()), Draw(() => Gs.Randint(2, 9, [5]).ToArray()), 0, "Randint");
            Close(Draw(() => FsGs.randperm(6, null, null, null).toFloatArray()), Draw(() => Gs.Randperm(6).ToArray()), 0, "Randperm");
            var r = Gs.Rand([1000]).ToArray();
            Assert.True(r.All(v => v >= 0 && v < 1), "Rand in [0, 1)");
            Assert.True(Gs.Randint(2, 9, [100]).ToArray().All(v => v >= 2 && v < 9), "Randint in [low, high)");
            Assert.True(Gs.Randperm(6).ToArray().OrderBy(v => v).SequenceEqual([0.0, 1, 2, 3, 4, 5]), "Randperm is a permutation");
        }
        finally { Gs.Destroy(); Init(); }
    }

    /// <summary>ZerosLike, OnesLike, FullLike, RandLike, RandnLike, EmptyLike take shape and dtype from the model.</summary>
    [Test]
    public static void LikeConstructors()
    {
        Init();
        var like = Gs.Zeros([2, 3], dtype: DType.Float32);
        foreach (var (name, t) in new[]
                 {
                     ("ZerosLike", Gs.ZerosLike(like)), ("OnesLike", Gs.OnesLike(like)), ("FullLike", Gs.FullLike(like, 2.0)),
                     ("RandLike", Gs.RandLike(like)), ("RandnLike", Gs.RandnLike(like)), ("EmptyLike", Gs.EmptyLike(like)),
                 })
        {
            Shape([2, 3], t, name);
            Assert.True(t.DType == DType.Float32, name + " keeps the dtype");
        }
        Close([1, 1, 1, 1, 1, 1], Gs.OnesLike(like).ToArray(), 0, "OnesLike values");
        Close([2, 2, 2, 2, 2, 2], Gs.FullLike(like, 2.0, dtype: DType.Float64).ToArray(), 0, "FullLike values");
        Assert.True(Gs.ZerosLike(like, requiresGrad: true, dtype: DType.Float64).RequiresGrad, "ZerosLike requiresGrad");
    }

    /// <summary>Cat, Stack and Where.</summary>
    [Test]
    public static void CatStackWhere()
    {
        Init();
        var a = Gs.Tensor(new[] { 1.0, 2.0 });
        var b = Gs.Tensor(new[] { 3.0, 4.0 });
        Close([1, 2, 3, 4], Gs.Cat([a, b]).ToArray(), 0, "Cat");
        Shape([2, 2], Gs.Stack([a, b]), "Stack");
        Close([1, 3, 2, 4], Gs.Stack([a, b], dim: 1).ToArray(), 0, "Stack dim 1");
        Shape([1, 4], Gs.Cat([a.Unsqueeze(0), b.Unsqueeze(0)], dim: 1), "Cat dim 1");
        Close([1, 4], Gs.Where(Gs.Tensor(new[] { true, false }), a, b).ToArray(), 0, "Where");
        SameError(() => FsGs.cat(new[] { a.FSharp, Gs.Zeros([2, 2]).FSharp }, null), () => Gs.Cat([a, Gs.Zeros([2, 2])]), "");
    }
}
