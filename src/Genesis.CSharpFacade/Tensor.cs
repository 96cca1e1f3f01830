using FsTensor = Genesis.Tensor;
using static Genesis.CSharp.Fs;

namespace Genesis.CSharp;

/// <summary>
/// A differentiable tensor (genesis.Tensor semantics): the C# view of the engine's <c>Genesis.Tensor</c>.
/// Every member forwards to the F# member of the same name in PascalCase; <see cref="FSharp"/> is the
/// wrapped F# tensor. Engine errors surface unchanged as <c>Genesis.GenesisException</c>.
/// </summary>
public sealed partial class Tensor : IEquatable<Tensor>
{
    internal Tensor(FsTensor value) => FSharp = value ?? throw new ArgumentNullException(nameof(value));

    /// <summary>The wrapped F# tensor (to mix F# and C# code).</summary>
    public FsTensor FSharp { get; }

    /// <summary>The facade view of an F# tensor.</summary>
    /// <param name="value">An F# tensor.</param>
    public static Tensor FromFSharp(FsTensor value) => new(value);

    internal static Tensor? OrNull(FsTensor? value) => value is null ? null : new Tensor(value);

    // ---- properties ---------------------------------------------------------------------------

    /// <summary>The shape (a copy).</summary>
    public int[] Shape => (int[])FSharp.shape.Clone();

    /// <summary>The exact element type.</summary>
    public DType DType => FSharp.dtype.ToCs();

    /// <summary>The number of dimensions.</summary>
    public int Dim => FSharp.dim;

    /// <summary>The number of elements.</summary>
    public int Numel => FSharp.numel;

    /// <summary>The device the storage lives on ("cpu", or an accelerator name such as "cuda:0").</summary>
    public string Device => FSharp.device.Name;

    /// <summary>The <see cref="CSharp.Scene"/> this tensor derives from, or null when it was created by <c>Gs</c> ops.</summary>
    public Scene? Scene => FSharp.scene is Genesis.Scene s ? CSharp.Scene.Of(s) : null;

    /// <summary>True when backward() computes a gradient for (or through) this tensor.</summary>
    public bool RequiresGrad => FSharp.requiresGrad;

    /// <summary>True for a tensor created with requiresGrad (whose <see cref="Grad"/> backward fills) or a constant.</summary>
    public bool IsLeaf => FSharp.isLeaf;

    /// <summary>The gradient accumulated by <see cref="Backward"/> on a requiresGrad leaf, or null when there is none.</summary>
    public Tensor? Grad => OrNull(FSharp.grad);

    // ---- autodiff -----------------------------------------------------------------------------

    /// <summary>Back-propagates from this tensor into every requiresGrad leaf's <see cref="Grad"/> (through the
    /// recorded steps of its scene, if any). A non-scalar tensor needs a seed gradient of its shape; a graph can be
    /// walked once unless <paramref name="retainGraph"/>.</summary>
    /// <param name="gradient">The seed gradient (default: 1 for a scalar).</param>
    /// <param name="retainGraph">Keep the graph for another backward pass.</param>
    public void Backward(Tensor? gradient = null, bool retainGraph = false) =>
        TensorExt.backward(FSharp, Ref(gradient?.FSharp), Some(retainGraph));

    /// <summary>Clears the accumulated gradient (genesis zero_grad).</summary>
    public void ZeroGrad() => FSharp.zeroGrad();

    /// <summary>Turns a constant float tensor into a requiresGrad leaf in place (PyTorch requires_grad_()); returns this tensor.</summary>
    public Tensor SetRequiresGrad()
    {
        FSharp.requiresGrad_();
        return this;
    }

    /// <summary>Overwrites the values of a leaf or constant in place (PyTorch copy_ under no_grad); returns this tensor.</summary>
    /// <param name="source">Values of the same shape.</param>
    public Tensor CopyFrom(Tensor source)
    {
        FSharp.copy_(source.FSharp);
        return this;
    }

    /// <summary>A constant copy cut from the graph (same scene unless <paramref name="sceneless"/>).</summary>
    /// <param name="sceneless">Also drop the scene.</param>
    public Tensor Detach(bool sceneless = false) => new(FSharp.detach(Some(sceneless)));

    /// <summary>The same tensor (graph kept) without its scene.</summary>
    public Tensor Sceneless() => new(FSharp.sceneless());

    // ---- export -------------------------------------------------------------------------------

    /// <summary>The single element of a one-element tensor, as double.</summary>
    public double Item() => FSharp.item();

    /// <summary>All elements, row-major, converted to double.</summary>
    public double[] ToArray() => FSharp.toFloatArray();

    /// <summary>All elements, row-major, cast to <typeparamref name="T"/> (float, double, int, long, bool or byte).</summary>
    /// <typeparam name="T">The element type: float, double, int, long, bool or byte.</typeparam>
    public T[] ToArray<T>() => (T[])FSharp.cast(DTypeOf<T>()).toFlatArray();

    /// <summary>The elements of a 1-D tensor as T[] (double, float, int, long, bool or byte; cast from the dtype).</summary>
    public T[] ToArray1D<T>() => TensorCalls.toArray1D<T>(FSharp);

    /// <summary>The elements of a 2-D tensor as T[rows, columns] (double, float, int, long, bool or byte).</summary>
    public T[,] ToArray2D<T>() => TensorCalls.toArray2D<T>(FSharp);

    /// <summary>The elements of a 3-D tensor as T[,,] (double, float, int, long, bool or byte).</summary>
    public T[,,] ToArray3D<T>() => TensorCalls.toArray3D<T>(FSharp);

    /// <summary>The elements of a 2-D tensor as double[rows, columns].</summary>
    public double[,] ToArray2D() =>
        TensorExt.toArray(TensorExt.float64(FSharp)) as double[,]
        ?? throw new GenesisException($"ToArray2D: the tensor has {Dim} dimensions, not 2");

    /// <summary>The elements as a .NET array of the tensor's rank and element type (float[,], long[,,], ...; a
    /// scalar gives a 1-element array).</summary>
    public Array ToShapedArray() => TensorExt.toArray(FSharp);

    /// <summary>Prints like PyTorch: tensor([...], dtype=...).</summary>
    public override string ToString() => FSharp.ToString();

    /// <summary>True when both wrap the same F# tensor.</summary>
    /// <param name="other">Another tensor.</param>
    public bool Equals(Tensor? other) => other is not null && ReferenceEquals(FSharp, other.FSharp);

    /// <summary>True when <paramref name="obj"/> wraps the same F# tensor.</summary>
    /// <param name="obj">Any object.</param>
    public override bool Equals(object? obj) => Equals(obj as Tensor);

    /// <summary>The hash of the wrapped F# tensor.</summary>
    public override int GetHashCode() => FSharp.GetHashCode();

    private static Genesis.DType DTypeOf<T>() =>
        typeof(T) == typeof(double) ? Genesis.DType.Float64
        : typeof(T) == typeof(float) ? Genesis.DType.Float32
        : typeof(T) == typeof(int) ? Genesis.DType.Int32
        : typeof(T) == typeof(long) ? Genesis.DType.Int64
        : typeof(T) == typeof(bool) ? Genesis.DType.Bool
        : typeof(T) == typeof(byte) ? Genesis.DType.UInt8
        : throw new ArgumentException($"ToArray<{typeof(T).Name}>: the element type must be float, double, int, long, bool or byte", "T");
}
