using System.Runtime.CompilerServices;
using FsTensor = Genesis.Tensor;
using static Genesis.CSharp.Fs;

namespace Genesis.CSharp;

public sealed partial class Tensor
{
    // ---- operators (broadcasting; double on either side) ---------------------------------------

    /// <summary>Elementwise sum.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    public static Tensor operator +(Tensor a, Tensor b) => new(a.FSharp + b.FSharp);
    /// <summary>Adds a scalar.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    public static Tensor operator +(Tensor a, double b) => new(a.FSharp + b);
    /// <summary>Adds to a scalar.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    public static Tensor operator +(double a, Tensor b) => new(a + b.FSharp);
    /// <summary>Elementwise difference.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    public static Tensor operator -(Tensor a, Tensor b) => new(a.FSharp - b.FSharp);
    /// <summary>Subtracts a scalar.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    public static Tensor operator -(Tensor a, double b) => new(a.FSharp - b);
    /// <summary>Subtracts from a scalar.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    public static Tensor operator -(double a, Tensor b) => new(a - b.FSharp);
    /// <summary>Elementwise product.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    public static Tensor operator *(Tensor a, Tensor b) => new(a.FSharp * b.FSharp);
    /// <summary>Multiplies by a scalar.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    public static Tensor operator *(Tensor a, double b) => new(a.FSharp * b);
    /// <summary>Multiplies a scalar.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    public static Tensor operator *(double a, Tensor b) => new(a * b.FSharp);
    /// <summary>Elementwise quotient.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    public static Tensor operator /(Tensor a, Tensor b) => new(a.FSharp / b.FSharp);
    /// <summary>Divides by a scalar.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    public static Tensor operator /(Tensor a, double b) => new(a.FSharp / b);
    /// <summary>Divides a scalar.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    public static Tensor operator /(double a, Tensor b) => new(a / b.FSharp);
    /// <summary>Negation.</summary>
    /// <param name="a">The operand.</param>
    public static Tensor operator -(Tensor a) => new(-a.FSharp);

    // ---- elementwise ---------------------------------------------------------------------------

    /// <summary>this ^ exponent, elementwise.</summary>
    /// <param name="exponent">The exponent.</param>
    public Tensor Pow(Tensor exponent) => new(FSharp.pow(exponent.FSharp));
    /// <summary>this ^ exponent, elementwise.</summary>
    /// <param name="exponent">The exponent.</param>
    public Tensor Pow(double exponent) => new(FSharp.pow(exponent));
    /// <summary>baseValue ^ exponent, elementwise.</summary>
    /// <param name="baseValue">The base.</param>
    /// <param name="exponent">The exponents.</param>
    public static Tensor Pow(double baseValue, Tensor exponent) => new(FsTensor.Pow(baseValue, exponent.FSharp));
    /// <summary>e^x.</summary>
    public Tensor Exp() => new(FSharp.exp());
    /// <summary>Natural logarithm.</summary>
    public Tensor Log() => new(FSharp.log());
    /// <summary>Square root.</summary>
    public Tensor Sqrt() => new(FSharp.sqrt());
    /// <summary>Absolute value.</summary>
    public Tensor Abs() => new(FSharp.abs());
    /// <summary>Sign (-1, 0, 1).</summary>
    public Tensor Sign() => new(FSharp.sign());
    /// <summary>Sine.</summary>
    public Tensor Sin() => new(FSharp.sin());
    /// <summary>Cosine.</summary>
    public Tensor Cos() => new(FSharp.cos());
    /// <summary>Tangent.</summary>
    public Tensor Tan() => new(FSharp.tan());
    /// <summary>Hyperbolic tangent.</summary>
    public Tensor Tanh() => new(FSharp.tanh());
    /// <summary>Hyperbolic sine.</summary>
    public Tensor Sinh() => new(FSharp.sinh());
    /// <summary>Hyperbolic cosine.</summary>
    public Tensor Cosh() => new(FSharp.cosh());
    /// <summary>Arcsine.</summary>
    public Tensor Asin() => new(FSharp.asin());
    /// <summary>Arccosine.</summary>
    public Tensor Acos() => new(FSharp.acos());
    /// <summary>Arctangent.</summary>
    public Tensor Atan() => new(FSharp.atan());
    /// <summary>atan2(this, x), elementwise.</summary>
    /// <param name="x">The x coordinates.</param>
    public Tensor Atan2(Tensor x) => new(FSharp.atan2(x.FSharp));
    /// <summary>1 / (1 + e^-x).</summary>
    public Tensor Sigmoid() => new(FSharp.sigmoid());
    /// <summary>max(x, 0).</summary>
    public Tensor Relu() => new(FSharp.relu());
    /// <summary>log(1 + e^x).</summary>
    public Tensor Softplus() => new(FSharp.softplus());
    /// <summary>log(1 + x).</summary>
    public Tensor Log1p() => new(FSharp.log1p());
    /// <summary>e^x - 1.</summary>
    public Tensor Expm1() => new(FSharp.expm1());
    /// <summary>Rounds down.</summary>
    public Tensor Floor() => new(FSharp.floor());
    /// <summary>Rounds up.</summary>
    public Tensor Ceil() => new(FSharp.ceil());
    /// <summary>Rounds to nearest.</summary>
    public Tensor Round() => new(FSharp.round());
    /// <summary>Elementwise maximum of this and other.</summary>
    /// <param name="other">The other operand.</param>
    public Tensor Maximum(Tensor other) => new(FSharp.maximum(other.FSharp));
    /// <summary>Elementwise minimum of this and other.</summary>
    /// <param name="other">The other operand.</param>
    public Tensor Minimum(Tensor other) => new(FSharp.minimum(other.FSharp));
    /// <summary>Limits values to [min, max] (either bound may be omitted).</summary>
    /// <param name="min">Lower bound.</param>
    /// <param name="max">Upper bound.</param>
    public Tensor Clamp(double? min = null, double? max = null) => new(FSharp.clamp(Opt(min), Opt(max)));
    /// <summary>Converts to another element type.</summary>
    /// <param name="dtype">The target type (Float/Int resolve by precision).</param>
    public Tensor Cast(DType dtype) => new(FSharp.cast(dtype.ToFs()));
    /// <summary>Casts to float32.</summary>
    public Tensor Float32() => new(TensorExt.float32(FSharp));
    /// <summary>Casts to float64.</summary>
    public Tensor Float64() => new(TensorExt.float64(FSharp));
    /// <summary>Casts to int32.</summary>
    public Tensor Int32() => new(TensorExt.int32(FSharp));
    /// <summary>Casts to int64.</summary>
    public Tensor Int64() => new(TensorExt.int64(FSharp));
    /// <summary>Casts to bool.</summary>
    public Tensor Bool() => new(TensorExt.@bool(FSharp));
    /// <summary>Casts to uint8 (floats truncate and saturate to 0..255, ints wrap modulo 256, as PyTorch).</summary>
    public Tensor UInt8() => new(TensorExt.uint8(FSharp));

    // ---- comparisons (bool tensors) -------------------------------------------------------------

    /// <summary>this == other, elementwise.</summary>
    /// <param name="other">The other operand.</param>
    public Tensor Eq(Tensor other) => new(FSharp.eq(other.FSharp));
    /// <summary>this == value, elementwise.</summary>
    /// <param name="value">A scalar.</param>
    public Tensor Eq(double value) => new(FSharp.eq(value));
    /// <summary>this != other, elementwise.</summary>
    /// <param name="other">The other operand.</param>
    public Tensor Ne(Tensor other) => new(FSharp.ne(other.FSharp));
    /// <summary>this != value, elementwise.</summary>
    /// <param name="value">A scalar.</param>
    public Tensor Ne(double value) => new(FSharp.ne(value));
    /// <summary>this &lt; other, elementwise.</summary>
    /// <param name="other">The other operand.</param>
    public Tensor Lt(Tensor other) => new(FSharp.lt(other.FSharp));
    /// <summary>this &lt; value, elementwise.</summary>
    /// <param name="value">A scalar.</param>
    public Tensor Lt(double value) => new(FSharp.lt(value));
    /// <summary>this &lt;= other, elementwise.</summary>
    /// <param name="other">The other operand.</param>
    public Tensor Le(Tensor other) => new(FSharp.le(other.FSharp));
    /// <summary>this &lt;= value, elementwise.</summary>
    /// <param name="value">A scalar.</param>
    public Tensor Le(double value) => new(FSharp.le(value));
    /// <summary>this &gt; other, elementwise.</summary>
    /// <param name="other">The other operand.</param>
    public Tensor Gt(Tensor other) => new(FSharp.gt(other.FSharp));
    /// <summary>this &gt; value, elementwise.</summary>
    /// <param name="value">A scalar.</param>
    public Tensor Gt(double value) => new(FSharp.gt(value));
    /// <summary>this &gt;= other, elementwise.</summary>
    /// <param name="other">The other operand.</param>
    public Tensor Ge(Tensor other) => new(FSharp.ge(other.FSharp));
    /// <summary>this &gt;= value, elementwise.</summary>
    /// <param name="value">A scalar.</param>
    public Tensor Ge(double value) => new(FSharp.ge(value));

    // ---- reductions ----------------------------------------------------------------------------

    /// <summary>Sum of all elements, or along <paramref name="dim"/>.</summary>
    /// <param name="dim">The dimension to reduce (all when null).</param>
    /// <param name="keepDim">Keep the reduced dimension with size 1.</param>
    public Tensor Sum(int? dim = null, bool keepDim = false) => new(TensorExt.sum(FSharp, Opt(dim), Some(keepDim)));
    /// <summary>Sum over several dimensions.</summary>
    /// <param name="dims">The dimensions to reduce.</param>
    /// <param name="keepDim">Keep the reduced dimensions with size 1.</param>
    public Tensor Sum(int[] dims, bool keepDim = false) => new(TensorExt.sumDims(FSharp, dims, Some(keepDim)));
    /// <summary>Mean of all elements, or along <paramref name="dim"/>.</summary>
    /// <param name="dim">The dimension to reduce (all when null).</param>
    /// <param name="keepDim">Keep the reduced dimension with size 1.</param>
    public Tensor Mean(int? dim = null, bool keepDim = false) => new(TensorExt.mean(FSharp, Opt(dim), Some(keepDim)));
    /// <summary>Mean over several dimensions.</summary>
    /// <param name="dims">The dimensions to reduce.</param>
    /// <param name="keepDim">Keep the reduced dimensions with size 1.</param>
    public Tensor Mean(int[] dims, bool keepDim = false) => new(TensorExt.meanDims(FSharp, dims, Some(keepDim)));
    /// <summary>Maximum of all elements, or along <paramref name="dim"/> (values; see <see cref="ArgMax"/>).</summary>
    /// <param name="dim">The dimension to reduce (all when null).</param>
    /// <param name="keepDim">Keep the reduced dimension with size 1.</param>
    public Tensor Max(int? dim = null, bool keepDim = false) => new(TensorExt.max(FSharp, Opt(dim), Some(keepDim)));
    /// <summary>Minimum of all elements, or along <paramref name="dim"/> (values; see <see cref="ArgMin"/>).</summary>
    /// <param name="dim">The dimension to reduce (all when null).</param>
    /// <param name="keepDim">Keep the reduced dimension with size 1.</param>
    public Tensor Min(int? dim = null, bool keepDim = false) => new(TensorExt.min(FSharp, Opt(dim), Some(keepDim)));
    /// <summary>Int64 index of the maximum (of the flattened tensor, or along <paramref name="dim"/>).</summary>
    /// <param name="dim">The dimension to reduce (all when null).</param>
    /// <param name="keepDim">Keep the reduced dimension with size 1.</param>
    public Tensor ArgMax(int? dim = null, bool keepDim = false) => new(TensorExt.argmax(FSharp, Opt(dim), Some(keepDim)));
    /// <summary>Int64 index of the minimum (of the flattened tensor, or along <paramref name="dim"/>).</summary>
    /// <param name="dim">The dimension to reduce (all when null).</param>
    /// <param name="keepDim">Keep the reduced dimension with size 1.</param>
    public Tensor ArgMin(int? dim = null, bool keepDim = false) => new(TensorExt.argmin(FSharp, Opt(dim), Some(keepDim)));
    /// <summary>Inclusive cumulative sum along <paramref name="dim"/>.</summary>
    /// <param name="dim">The dimension.</param>
    public Tensor CumSum(int dim) => new(TensorExt.cumsum(FSharp, dim));
    /// <summary>The p-norm of all elements, or along <paramref name="dim"/>.</summary>
    /// <param name="p">The order (2 = Euclidean).</param>
    /// <param name="dim">The dimension to reduce (all when null).</param>
    /// <param name="keepDim">Keep the reduced dimension with size 1.</param>
    public Tensor Norm(double p = 2.0, int? dim = null, bool keepDim = false) => new(TensorExt.norm(FSharp, Some(p), Opt(dim), Some(keepDim)));

    // ---- linear algebra ------------------------------------------------------------------------

    /// <summary>Matrix product (PyTorch matmul semantics: batched, vectors promoted).</summary>
    /// <param name="other">The right operand.</param>
    public Tensor MatMul(Tensor other) => new(TensorExt.matmul(FSharp, other.FSharp));
    /// <summary>Inner product of two 1-D tensors.</summary>
    /// <param name="other">The other vector.</param>
    public Tensor Dot(Tensor other) => new(TensorExt.dot(FSharp, other.FSharp));
    /// <summary>Outer product of two 1-D tensors.</summary>
    /// <param name="other">The other vector.</param>
    public Tensor Outer(Tensor other) => new(TensorExt.outer(FSharp, other.FSharp));
    /// <summary>Cross product of 3-vectors along <paramref name="dim"/>.</summary>
    /// <param name="other">The other operand.</param>
    /// <param name="dim">The dimension of size 3 (default the last).</param>
    public Tensor Cross(Tensor other, int dim = -1) => new(TensorExt.cross(FSharp, other.FSharp, Some(dim)));

    // ---- shape ---------------------------------------------------------------------------------

    /// <summary>The same elements with another shape (one size may be -1).</summary>
    /// <param name="shape">The new shape.</param>
    public Tensor Reshape(params int[] shape) => new(TensorExt.reshape(FSharp, shape));
    /// <summary>Alias of <see cref="Reshape"/> (storage is always contiguous).</summary>
    /// <param name="shape">The new shape.</param>
    public Tensor View(params int[] shape) => new(TensorExt.view(FSharp, shape));
    /// <summary>A 1-D view of all elements.</summary>
    public Tensor Flatten() => new(TensorExt.flatten(FSharp));
    /// <summary>Reorders dimensions.</summary>
    /// <param name="dims">The new order of the dimensions.</param>
    public Tensor Permute(params int[] dims) => new(TensorExt.permute(FSharp, dims));
    /// <summary>Swaps two dimensions.</summary>
    /// <param name="dim0">A dimension.</param>
    /// <param name="dim1">Another dimension.</param>
    public Tensor Transpose(int dim0, int dim1) => new(TensorExt.transpose(FSharp, dim0, dim1));
    /// <summary>The transpose of a 2-D tensor (reverses the dimensions in general).</summary>
    public Tensor T => new(TensorExt.T(FSharp));
    /// <summary>Removes size-1 dimensions (all, or only <paramref name="dim"/>).</summary>
    /// <param name="dim">The dimension to remove (all size-1 dimensions when null).</param>
    public Tensor Squeeze(int? dim = null) => new(TensorExt.squeeze(FSharp, Opt(dim)));
    /// <summary>Inserts a size-1 dimension at <paramref name="dim"/>.</summary>
    /// <param name="dim">The position of the new dimension.</param>
    public Tensor Unsqueeze(int dim) => new(TensorExt.unsqueeze(FSharp, dim));
    /// <summary>Broadcasts to a shape (-1 keeps a size).</summary>
    /// <param name="shape">The target shape.</param>
    public Tensor Expand(params int[] shape) => new(TensorExt.expand(FSharp, shape));
    /// <summary>Broadcasts to the shape of another tensor.</summary>
    /// <param name="other">The tensor whose shape to take.</param>
    public Tensor ExpandAs(Tensor other) => new(TensorExt.expandAs(FSharp, other.FSharp));
    /// <summary>Splits into pieces of the given sizes along <paramref name="dim"/>.</summary>
    /// <param name="sizes">The sizes of the pieces (adding up to the dimension's size).</param>
    /// <param name="dim">The dimension.</param>
    public Tensor[] Split(int[] sizes, int dim = 0) => Wrap(TensorExt.split(FSharp, sizes, Some(dim)));
    /// <summary>Reverses the order along the given dimensions.</summary>
    /// <param name="dims">The dimensions.</param>
    public Tensor Flip(params int[] dims) => new(TensorExt.flip(FSharp, dims));
    /// <summary>out[..i..] = this[..index[..i..]..] along <paramref name="dim"/>.</summary>
    /// <param name="dim">The dimension.</param>
    /// <param name="index">Integer indices.</param>
    public Tensor Gather(int dim, Tensor index) => new(TensorExt.gather(FSharp, dim, index.FSharp));
    /// <summary>A copy with <paramref name="src"/> added at <paramref name="index"/> along <paramref name="dim"/>.</summary>
    /// <param name="dim">The dimension.</param>
    /// <param name="index">Integer indices.</param>
    /// <param name="src">The values to add.</param>
    public Tensor ScatterAdd(int dim, Tensor index, Tensor src) => new(TensorExt.scatterAdd(FSharp, dim, index.FSharp, src.FSharp));
    /// <summary>Elements [start, start + length) along <paramref name="dim"/>.</summary>
    /// <param name="dim">The dimension.</param>
    /// <param name="start">The first index.</param>
    /// <param name="length">The number of elements.</param>
    public Tensor Narrow(int dim, int start, int length) => new(TensorExt.narrow(FSharp, dim, start, length));

    // ---- indexing (compiled as At: Item() is the scalar value, as in PyTorch) ------------------

    /// <summary>The sub-tensor at index <paramref name="i"/> of dimension 0 (negative counts from the end).</summary>
    /// <param name="i">The index.</param>
    [IndexerName("At")]
    public Tensor this[int i] => new(TensorExt.item1(FSharp, i));
    /// <summary>The sub-tensor at (i, j).</summary>
    /// <param name="i">Index in dimension 0.</param>
    /// <param name="j">Index in dimension 1.</param>
    [IndexerName("At")]
    public Tensor this[int i, int j] => new(TensorExt.item2(FSharp, i, j));
    /// <summary>The sub-tensor at (i, j, k).</summary>
    /// <param name="i">Index in dimension 0.</param>
    /// <param name="j">Index in dimension 1.</param>
    /// <param name="k">Index in dimension 2.</param>
    [IndexerName("At")]
    public Tensor this[int i, int j, int k] => new(TensorExt.item3(FSharp, i, j, k));
    /// <summary>The sub-tensor at an <see cref="Index"/> of dimension 0 (<c>t[^1]</c> is the last).</summary>
    /// <param name="i">The index.</param>
    [IndexerName("At")]
    public Tensor this[Index i] => new(TensorExt.item1(FSharp, i.IsFromEnd ? -i.Value : i.Value));
    /// <summary>Rows <c>r</c> of dimension 0, C# range semantics: <c>t[1..3]</c> is rows 1 and 2 (end exclusive).</summary>
    /// <param name="r">The range.</param>
    [IndexerName("At")]
    public Tensor this[Range r] => NarrowRange(FSharp, 0, r);
    /// <summary>A block: ranges of dimensions 0 and 1 (ends exclusive).</summary>
    /// <param name="r0">Range of dimension 0.</param>
    /// <param name="r1">Range of dimension 1.</param>
    [IndexerName("At")]
    public Tensor this[Range r0, Range r1] => NarrowRange(NarrowRange(FSharp, 0, r0).FSharp, 1, r1);
    /// <summary>Row <paramref name="i"/>, then a range of what was dimension 1 (end exclusive).</summary>
    /// <param name="i">Index in dimension 0.</param>
    /// <param name="r">Range of dimension 1.</param>
    [IndexerName("At")]
    public Tensor this[int i, Range r] => NarrowRange(TensorExt.item1(FSharp, i), 0, r);

    /// <summary>Adapts a C# range of dimension <paramref name="dim"/> to the engine's narrow(dim, start, length).</summary>
    private static Tensor NarrowRange(FsTensor t, int dim, Range r)
    {
        var n = dim < t.dim ? t.shape[dim] : 0; // the engine reports a missing dimension
        var start = r.Start.GetOffset(n);
        return new(TensorExt.narrow(t, dim, start, r.End.GetOffset(n) - start));
    }
}
