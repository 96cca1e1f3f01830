using Microsoft.FSharp.Core;
using FsTensor = Genesis.Tensor;
using static Genesis.CSharp.Enums;
using static Genesis.CSharp.Fs;

namespace Genesis.CSharp;

/// <summary>
/// The entry point (Genesis' <c>gs</c> module): initialisation, tensor creation and functional
/// differentiation. Every member forwards to the engine's <c>Genesis.gs</c> member of the same name in
/// camelCase. Creation parameters shared by most members: <c>dtype</c> (null: Float for floats, Int for
/// ints, by the precision of <see cref="Init"/>), <c>requiresGrad</c> (make a leaf whose Grad backward
/// fills), <c>scene</c> (the scene the tensor belongs to) and <c>device</c> (must be the backend of Init).
/// </summary>
public static class Gs
{
    /// <summary>Initialises Genesis: backend, precision "32" (default) or "64", and the random seed.</summary>
    /// <param name="backend">Cpu (default) or Gpu.</param>
    /// <param name="precision">"32" or "64": the type that Float and Int resolve to.</param>
    /// <param name="seed">Seed of Rand/Randn/Randint (null: time-based).</param>
    public static void Init(Backend backend = Backend.Cpu, string precision = "32", int? seed = null) =>
        gs.init(Some(backend.ToFs()), Some(precision), Opt(seed));

    /// <summary>Releases the runtime so that <see cref="Init"/> can be called again.</summary>
    public static void Destroy() => gs.destroy();

    /// <summary>Opens a no-grad scope on this thread (torch.no_grad): until disposed, operations record no graph.
    /// Use as <c>using (Gs.NoGrad()) { ... }</c>.</summary>
    public static IDisposable NoGrad() => gs.noGradScope();

    /// <summary>True inside a <see cref="NoGrad"/> scope on this thread.</summary>
    public static bool IsNoGrad => gs.isNoGrad;

    /// <summary>True after <see cref="Init"/> and before <see cref="Destroy"/>.</summary>
    public static bool IsInitialized => gs.isInitialized;

    /// <summary>The active backend.</summary>
    public static Backend Backend => gs.backend.ToCs();

    /// <summary>The active precision ("32" or "64").</summary>
    public static string Precision => gs.precision;

    /// <summary>The folder of the robot descriptions shipped with the engine (Genesis' <c>gs.utils.get_assets_dir()</c>):
    /// a morph's relative file that is not found relative to the current folder is looked up here. Throws
    /// <c>Genesis.GenesisException</c> when there is none.</summary>
    public static string AssetsDir => gs.assetsDir;

    // ---- tensor(...) ---------------------------------------------------------------------------

    /// <summary>A scalar tensor from a double.</summary>
    /// <param name="value">The value.</param>
    /// <param name="dtype">Element type (null: Float).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf.</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor Tensor(double value, DType? dtype = null, bool requiresGrad = false, Scene? scene = null, Backend? device = null) =>
        new(gs.tensor(value, FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene), FsOpt(device)));

    /// <summary>A scalar tensor from an int.</summary>
    /// <param name="value">The value.</param>
    /// <param name="dtype">Element type (null: Int).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf (float dtypes only).</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor Tensor(int value, DType? dtype = null, bool requiresGrad = false, Scene? scene = null, Backend? device = null) =>
        new(gs.tensor(value, FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene), FsOpt(device)));

    /// <summary>A scalar bool tensor.</summary>
    /// <param name="value">The value.</param>
    /// <param name="dtype">Element type (null: Bool).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf (float dtypes only).</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor Tensor(bool value, DType? dtype = null, bool requiresGrad = false, Scene? scene = null, Backend? device = null) =>
        new(gs.tensor(value, FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene), FsOpt(device)));

    /// <summary>A 1-D tensor from doubles.</summary>
    /// <param name="values">The values.</param>
    /// <param name="dtype">Element type (null: Float).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf.</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor Tensor(double[] values, DType? dtype = null, bool requiresGrad = false, Scene? scene = null, Backend? device = null) =>
        new(gs.tensor(values, FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene), FsOpt(device)));

    /// <summary>A 1-D tensor from floats.</summary>
    /// <param name="values">The values.</param>
    /// <param name="dtype">Element type (null: Float).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf.</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor Tensor(float[] values, DType? dtype = null, bool requiresGrad = false, Scene? scene = null, Backend? device = null) =>
        new(gs.tensor(values, FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene), FsOpt(device)));

    /// <summary>A 1-D tensor from ints.</summary>
    /// <param name="values">The values.</param>
    /// <param name="dtype">Element type (null: Int).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf (float dtypes only).</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor Tensor(int[] values, DType? dtype = null, bool requiresGrad = false, Scene? scene = null, Backend? device = null) =>
        new(gs.tensor(values, FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene), FsOpt(device)));

    /// <summary>A 1-D tensor from longs.</summary>
    /// <param name="values">The values.</param>
    /// <param name="dtype">Element type (null: Int).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf (float dtypes only).</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor Tensor(long[] values, DType? dtype = null, bool requiresGrad = false, Scene? scene = null, Backend? device = null) =>
        new(gs.tensor(values, FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene), FsOpt(device)));

    /// <summary>A 1-D bool tensor.</summary>
    /// <param name="values">The values.</param>
    /// <param name="dtype">Element type (null: Bool).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf (float dtypes only).</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor Tensor(bool[] values, DType? dtype = null, bool requiresGrad = false, Scene? scene = null, Backend? device = null) =>
        new(gs.tensor(values, FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene), FsOpt(device)));

    /// <summary>A 1-D uint8 tensor from bytes (CPU backend only).</summary>
    /// <param name="values">The values.</param>
    /// <param name="dtype">Element type (null: UInt8).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf (float dtypes only).</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor Tensor(byte[] values, DType? dtype = null, bool requiresGrad = false, Scene? scene = null, Backend? device = null) =>
        new(gs.tensor(values, FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene), FsOpt(device)));

    /// <summary>A 2-D tensor from a double matrix.</summary>
    /// <param name="values">The values [rows, columns].</param>
    /// <param name="dtype">Element type (null: Float).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf.</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor Tensor(double[,] values, DType? dtype = null, bool requiresGrad = false, Scene? scene = null, Backend? device = null) =>
        new(gs.tensor(values, FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene), FsOpt(device)));

    /// <summary>A 3-D tensor from a double array.</summary>
    /// <param name="values">The values.</param>
    /// <param name="dtype">Element type (null: Float).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf.</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor Tensor(double[,,] values, DType? dtype = null, bool requiresGrad = false, Scene? scene = null, Backend? device = null) =>
        new(gs.tensor(values, FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene), FsOpt(device)));

    /// <summary>A 2-D tensor from jagged rows (all of equal length).</summary>
    /// <param name="rows">The rows.</param>
    /// <param name="dtype">Element type (null: Float).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf.</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor Tensor(double[][] rows, DType? dtype = null, bool requiresGrad = false, Scene? scene = null, Backend? device = null) =>
        new(gs.tensor(rows, FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene), FsOpt(device)));

    /// <summary>A tensor from any other array of double, float, int, long or bool: jagged of any depth (long[][],
    /// double[][][]) or multidimensional (int[,]); ragged rows raise one GenesisException naming the row.</summary>
    /// <param name="values">The array.</param>
    /// <param name="dtype">Element type (null: Float for floating arrays, Int for integral ones).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf.</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor Tensor(Array values, DType? dtype = null, bool requiresGrad = false, Scene? scene = null, Backend? device = null) =>
        new(gs.tensor(values, FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene), FsOpt(device)));

    /// <summary>A 1-D tensor from a span of doubles.</summary>
    /// <param name="values">The values.</param>
    /// <param name="dtype">Element type (null: Float).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf.</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor Tensor(ReadOnlySpan<double> values, DType? dtype = null, bool requiresGrad = false, Scene? scene = null, Backend? device = null) =>
        new(gs.tensor(values, FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene), FsOpt(device)));

    /// <summary>A copy of an existing tensor, cut from the graph (see <see cref="FromTensor"/> to keep it).</summary>
    /// <param name="value">The tensor to copy.</param>
    /// <param name="dtype">Element type (null: the same).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf.</param>
    /// <param name="scene">The owning scene (null: the same).</param>
    public static Tensor Tensor(Tensor value, DType? dtype = null, bool requiresGrad = false, Scene? scene = null) =>
        new(gs.tensor(value.FSharp, FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene)));

    /// <summary>A tensor from any .NET array of float/double/int/long/bool, of any rank (shape taken from the array unless given).</summary>
    /// <param name="values">The values.</param>
    /// <param name="shape">The shape (null: the array's).</param>
    /// <param name="dtype">Element type (null: Float or Int by the element type).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf.</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor FromArray(Array values, int[]? shape = null, DType? dtype = null, bool requiresGrad = false, Scene? scene = null, Backend? device = null) =>
        new(gs.fromArray(values, Ref<IEnumerable<int>>(shape), FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene), FsOpt(device)));

    /// <summary>A tensor from another: <paramref name="detach"/> = true (default) copies the value cutting the graph; false keeps the graph.</summary>
    /// <param name="value">The source tensor.</param>
    /// <param name="detach">Cut the graph.</param>
    /// <param name="dtype">Element type (null: the same).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf (needs detach).</param>
    /// <param name="scene">The owning scene (null: the source's).</param>
    public static Tensor FromTensor(Tensor value, bool detach = true, DType? dtype = null, bool requiresGrad = false, Scene? scene = null) =>
        new(gs.fromTensor(value.FSharp, Some(detach), FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene)));

    // ---- creation by shape ---------------------------------------------------------------------

    /// <summary>Zeros of a shape.</summary>
    /// <param name="shape">The shape.</param>
    /// <param name="dtype">Element type (null: Float).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf.</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor Zeros(int[] shape, DType? dtype = null, bool requiresGrad = false, Scene? scene = null, Backend? device = null) =>
        new(gs.zeros(shape, FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene), FsOpt(device)));

    /// <summary>Ones of a shape.</summary>
    /// <param name="shape">The shape.</param>
    /// <param name="dtype">Element type (null: Float).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf.</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor Ones(int[] shape, DType? dtype = null, bool requiresGrad = false, Scene? scene = null, Backend? device = null) =>
        new(gs.ones(shape, FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene), FsOpt(device)));

    /// <summary>A tensor of a shape filled with one value.</summary>
    /// <param name="shape">The shape.</param>
    /// <param name="value">The value.</param>
    /// <param name="dtype">Element type (null: Float).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf.</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor Full(int[] shape, double value, DType? dtype = null, bool requiresGrad = false, Scene? scene = null, Backend? device = null) =>
        new(gs.full(shape, value, FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene), FsOpt(device)));

    /// <summary>An uninitialised tensor of a shape (zeros here).</summary>
    /// <param name="shape">The shape.</param>
    /// <param name="dtype">Element type (null: Float).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf.</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor Empty(int[] shape, DType? dtype = null, bool requiresGrad = false, Scene? scene = null, Backend? device = null) =>
        new(gs.empty(shape, FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene), FsOpt(device)));

    /// <summary>The n x m identity matrix.</summary>
    /// <param name="n">Rows.</param>
    /// <param name="m">Columns (null: n).</param>
    /// <param name="dtype">Element type (null: Float).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf.</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor Eye(int n, int? m = null, DType? dtype = null, bool requiresGrad = false, Scene? scene = null, Backend? device = null) =>
        new(gs.eye(n, Opt(m), FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene), FsOpt(device)));

    /// <summary>The doubles start, start + step, ... below stop.</summary>
    /// <param name="start">First value.</param>
    /// <param name="stop">Exclusive end.</param>
    /// <param name="step">Increment (not 0).</param>
    /// <param name="dtype">Element type (null: Float).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf.</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor Arange(double start, double stop, double step = 1.0, DType? dtype = null, bool requiresGrad = false, Scene? scene = null, Backend? device = null) =>
        new(gs.arange(start, stop, Some(step), FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene), FsOpt(device)));

    /// <summary>The ints 0, 1, ..., stop - 1.</summary>
    /// <param name="stop">Exclusive end.</param>
    /// <param name="dtype">Element type (null: Int).</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor Arange(int stop, DType? dtype = null, Scene? scene = null, Backend? device = null) =>
        new(gs.arange(stop, FsOpt(dtype), Scene.Opt(scene), FsOpt(device)));

    /// <summary>The ints start, start + step, ... below stop.</summary>
    /// <param name="start">First value.</param>
    /// <param name="stop">Exclusive end.</param>
    /// <param name="step">Increment (not 0).</param>
    /// <param name="dtype">Element type (null: Int).</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor Arange(int start, int stop, int step = 1, DType? dtype = null, Scene? scene = null, Backend? device = null) =>
        new(gs.arange(start, stop, Some(step), FsOpt(dtype), Scene.Opt(scene), FsOpt(device)));

    /// <summary><paramref name="steps"/> evenly spaced values from start to stop inclusive.</summary>
    /// <param name="start">First value.</param>
    /// <param name="stop">Last value.</param>
    /// <param name="steps">Number of values.</param>
    /// <param name="dtype">Element type (null: Float).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf.</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor Linspace(double start, double stop, int steps, DType? dtype = null, bool requiresGrad = false, Scene? scene = null, Backend? device = null) =>
        new(gs.linspace(start, stop, steps, FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene), FsOpt(device)));

    /// <summary><paramref name="steps"/> values logBase^x for x evenly spaced from start to stop.</summary>
    /// <param name="start">First exponent.</param>
    /// <param name="stop">Last exponent.</param>
    /// <param name="steps">Number of values.</param>
    /// <param name="logBase">The base.</param>
    /// <param name="dtype">Element type (null: Float).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf.</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor Logspace(double start, double stop, int steps, double logBase = 10.0, DType? dtype = null, bool requiresGrad = false, Scene? scene = null, Backend? device = null) =>
        new(gs.logspace(start, stop, steps, Some(logBase), FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene), FsOpt(device)));

    /// <summary>Uniform samples in [0, 1).</summary>
    /// <param name="shape">The shape.</param>
    /// <param name="dtype">Element type (null: Float).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf.</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor Rand(int[] shape, DType? dtype = null, bool requiresGrad = false, Scene? scene = null, Backend? device = null) =>
        new(gs.rand(shape, FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene), FsOpt(device)));

    /// <summary>Standard normal samples.</summary>
    /// <param name="shape">The shape.</param>
    /// <param name="dtype">Element type (null: Float).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf.</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor Randn(int[] shape, DType? dtype = null, bool requiresGrad = false, Scene? scene = null, Backend? device = null) =>
        new(gs.randn(shape, FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene), FsOpt(device)));

    /// <summary>Uniform integers in [low, high).</summary>
    /// <param name="low">Lowest value.</param>
    /// <param name="high">Exclusive upper bound.</param>
    /// <param name="shape">The shape.</param>
    /// <param name="dtype">Element type (null: Int).</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor Randint(int low, int high, int[] shape, DType? dtype = null, Scene? scene = null, Backend? device = null) =>
        new(gs.randint(low, high, shape, FsOpt(dtype), Scene.Opt(scene), FsOpt(device)));

    /// <summary>A random permutation of 0 .. n-1.</summary>
    /// <param name="n">The number of values.</param>
    /// <param name="dtype">Element type (null: Int).</param>
    /// <param name="scene">The owning scene.</param>
    /// <param name="device">Must be the backend of Init.</param>
    public static Tensor Randperm(int n, DType? dtype = null, Scene? scene = null, Backend? device = null) =>
        new(gs.randperm(n, FsOpt(dtype), Scene.Opt(scene), FsOpt(device)));

    // ---- creation like another tensor -----------------------------------------------------------

    /// <summary>Zeros shaped like <paramref name="like"/>.</summary>
    /// <param name="like">The tensor whose shape (and dtype) to take.</param>
    /// <param name="dtype">Element type (null: like's).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf.</param>
    /// <param name="scene">The owning scene.</param>
    public static Tensor ZerosLike(Tensor like, DType? dtype = null, bool requiresGrad = false, Scene? scene = null) =>
        new(gs.zerosLike(like.FSharp, FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene)));

    /// <summary>Ones shaped like <paramref name="like"/>.</summary>
    /// <param name="like">The tensor whose shape (and dtype) to take.</param>
    /// <param name="dtype">Element type (null: like's).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf.</param>
    /// <param name="scene">The owning scene.</param>
    public static Tensor OnesLike(Tensor like, DType? dtype = null, bool requiresGrad = false, Scene? scene = null) =>
        new(gs.onesLike(like.FSharp, FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene)));

    /// <summary>A constant shaped like <paramref name="like"/>.</summary>
    /// <param name="like">The tensor whose shape (and dtype) to take.</param>
    /// <param name="value">The value.</param>
    /// <param name="dtype">Element type (null: like's).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf.</param>
    /// <param name="scene">The owning scene.</param>
    public static Tensor FullLike(Tensor like, double value, DType? dtype = null, bool requiresGrad = false, Scene? scene = null) =>
        new(gs.fullLike(like.FSharp, value, FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene)));

    /// <summary>Uniform samples in [0, 1) shaped like <paramref name="like"/>.</summary>
    /// <param name="like">The tensor whose shape (and dtype) to take.</param>
    /// <param name="dtype">Element type (null: like's).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf.</param>
    /// <param name="scene">The owning scene.</param>
    public static Tensor RandLike(Tensor like, DType? dtype = null, bool requiresGrad = false, Scene? scene = null) =>
        new(gs.randLike(like.FSharp, FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene)));

    /// <summary>Standard normal samples shaped like <paramref name="like"/>.</summary>
    /// <param name="like">The tensor whose shape (and dtype) to take.</param>
    /// <param name="dtype">Element type (null: like's).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf.</param>
    /// <param name="scene">The owning scene.</param>
    public static Tensor RandnLike(Tensor like, DType? dtype = null, bool requiresGrad = false, Scene? scene = null) =>
        new(gs.randnLike(like.FSharp, FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene)));

    /// <summary>An uninitialised (zero) tensor shaped like <paramref name="like"/>.</summary>
    /// <param name="like">The tensor whose shape (and dtype) to take.</param>
    /// <param name="dtype">Element type (null: like's).</param>
    /// <param name="requiresGrad">Make a requiresGrad leaf.</param>
    /// <param name="scene">The owning scene.</param>
    public static Tensor EmptyLike(Tensor like, DType? dtype = null, bool requiresGrad = false, Scene? scene = null) =>
        new(gs.emptyLike(like.FSharp, FsOpt(dtype), Some(requiresGrad), Scene.Opt(scene)));

    // ---- combining -----------------------------------------------------------------------------

    /// <summary>Concatenates tensors along an existing dimension.</summary>
    /// <param name="tensors">The tensors (equal shapes except along dim).</param>
    /// <param name="dim">The dimension.</param>
    public static Tensor Cat(IEnumerable<Tensor> tensors, int dim = 0) => new(gs.cat(Unwrap(tensors), Some(dim)));

    /// <summary>Stacks tensors of equal shape along a new dimension.</summary>
    /// <param name="tensors">The tensors.</param>
    /// <param name="dim">The position of the new dimension.</param>
    public static Tensor Stack(IEnumerable<Tensor> tensors, int dim = 0) => new(gs.stack(Unwrap(tensors), Some(dim)));

    /// <summary>cond ? a : b, elementwise (broadcasting).</summary>
    /// <param name="cond">A bool tensor.</param>
    /// <param name="a">Values where cond is true.</param>
    /// <param name="b">Values where cond is false.</param>
    public static Tensor Where(Tensor cond, Tensor a, Tensor b) => new(gs.where(cond.FSharp, a.FSharp, b.FSharp));

    // ---- functional differentiation (nested freely) -----------------------------------------

    /// <summary>The gradient of a scalar-valued f at x (reverse mode).</summary>
    /// <param name="f">A function returning one element.</param>
    /// <param name="x">The point (float).</param>
    public static Tensor Grad(Func<Tensor, Tensor> f, Tensor x) => new(gs.grad(Fun(f), x.FSharp));

    /// <summary>f(x) and its gradient.</summary>
    /// <param name="f">A function returning one element.</param>
    /// <param name="x">The point (float).</param>
    public static (Tensor Value, Tensor Grad) FGrad(Func<Tensor, Tensor> f, Tensor x) => Pair(gs.fgrad(Fun(f), x.FSharp));

    /// <summary>The directional derivative grad f(x) . v of a scalar-valued f (forward mode).</summary>
    /// <param name="f">A function returning one element.</param>
    /// <param name="x">The point (float).</param>
    /// <param name="v">The direction (x's shape).</param>
    public static Tensor Gradv(Func<Tensor, Tensor> f, Tensor x, Tensor v) => new(gs.gradv(Fun(f), x.FSharp, v.FSharp));

    /// <summary>The Jacobian-vector product J_f(x) v (forward mode).</summary>
    /// <param name="f">The function.</param>
    /// <param name="x">The point (float).</param>
    /// <param name="v">The tangent (x's shape).</param>
    public static Tensor Jvp(Func<Tensor, Tensor> f, Tensor x, Tensor v) => new(gs.jvp(Fun(f), x.FSharp, v.FSharp));

    /// <summary>f(x) and J_f(x) v.</summary>
    /// <param name="f">The function.</param>
    /// <param name="x">The point (float).</param>
    /// <param name="v">The tangent (x's shape).</param>
    public static (Tensor Value, Tensor Jvp) FJvp(Func<Tensor, Tensor> f, Tensor x, Tensor v) => Pair(gs.fjvp(Fun(f), x.FSharp, v.FSharp));

    /// <summary>The vector-Jacobian product v^T J_f(x) (reverse mode).</summary>
    /// <param name="f">The function.</param>
    /// <param name="x">The point (float).</param>
    /// <param name="v">The cotangent (f(x)'s shape).</param>
    public static Tensor Vjp(Func<Tensor, Tensor> f, Tensor x, Tensor v) => new(gs.vjp(Fun(f), x.FSharp, v.FSharp));

    /// <summary>f(x) and v^T J_f(x).</summary>
    /// <param name="f">The function.</param>
    /// <param name="x">The point (float).</param>
    /// <param name="v">The cotangent (f(x)'s shape).</param>
    public static (Tensor Value, Tensor Vjp) FVjp(Func<Tensor, Tensor> f, Tensor x, Tensor v) => Pair(gs.fvjp(Fun(f), x.FSharp, v.FSharp));

    /// <summary>The Jacobian of f at x as [f(x).Numel, x.Numel].</summary>
    /// <param name="f">The function.</param>
    /// <param name="x">The point (float).</param>
    public static Tensor Jacobian(Func<Tensor, Tensor> f, Tensor x) => new(gs.jacobian(Fun(f), x.FSharp));

    /// <summary>J_f(x) v (DiffSharp name of <see cref="Jvp"/>).</summary>
    /// <param name="f">The function.</param>
    /// <param name="x">The point (float).</param>
    /// <param name="v">The tangent (x's shape).</param>
    public static Tensor JacobianV(Func<Tensor, Tensor> f, Tensor x, Tensor v) => new(gs.jacobianv(Fun(f), x.FSharp, v.FSharp));

    /// <summary>J_f(x)^T v (DiffSharp name of <see cref="Vjp"/>).</summary>
    /// <param name="f">The function.</param>
    /// <param name="x">The point (float).</param>
    /// <param name="v">The cotangent (f(x)'s shape).</param>
    public static Tensor JacobianTv(Func<Tensor, Tensor> f, Tensor x, Tensor v) => new(gs.jacobianTv(Fun(f), x.FSharp, v.FSharp));

    /// <summary>The Hessian [x.Numel, x.Numel] of a scalar-valued f (forward over reverse).</summary>
    /// <param name="f">A function returning one element.</param>
    /// <param name="x">The point (float).</param>
    public static Tensor Hessian(Func<Tensor, Tensor> f, Tensor x) => new(gs.hessian(Fun(f), x.FSharp));

    /// <summary>The Hessian-vector product H_f(x) v of a scalar-valued f (forward over reverse).</summary>
    /// <param name="f">A function returning one element.</param>
    /// <param name="x">The point (float).</param>
    /// <param name="v">The direction (x's shape).</param>
    public static Tensor Hvp(Func<Tensor, Tensor> f, Tensor x, Tensor v) => new(gs.hvp(Fun(f), x.FSharp, v.FSharp));

    /// <summary>The derivative df/dx at a scalar x.</summary>
    /// <param name="f">The function.</param>
    /// <param name="x">A one-element point.</param>
    public static Tensor Diff(Func<Tensor, Tensor> f, Tensor x) => new(gs.diff(Fun(f), x.FSharp));

    /// <summary>The second derivative d2f/dx2 at a scalar x.</summary>
    /// <param name="f">The function.</param>
    /// <param name="x">A one-element point.</param>
    public static Tensor Diff2(Func<Tensor, Tensor> f, Tensor x) => new(gs.diff2(Fun(f), x.FSharp));

    /// <summary>The n-th derivative at a scalar x (nested forward mode).</summary>
    /// <param name="n">The order (0 gives f(x)).</param>
    /// <param name="f">The function.</param>
    /// <param name="x">A one-element point.</param>
    public static Tensor DiffN(int n, Func<Tensor, Tensor> f, Tensor x) => new(gs.diffn(n, Fun(f), x.FSharp));

    private static (Tensor, Tensor) Pair(Tuple<FsTensor, FsTensor> p) => (new(p.Item1), new(p.Item2));
}
