using static Genesis.CSharp.Tests.Fx;

namespace Genesis.CSharp.Tests;

/// <summary>Tensor: operators, elementwise ops, comparisons, reductions, linear algebra, shapes, indexing, export.</summary>
public static class TensorTests
{
    private static Tensor V(params double[] values) => Gs.Tensor(values);

    /// <summary>+ - * / and unary -, tensor with tensor and with a double on either side.</summary>
    [Test]
    public static void Operators()
    {
        Init();
        var a = V(1, 2, 3);
        var b = V(4, 5, 6);
        Close([5, 7, 9], (a + b).ToArray(), 0, "t + t");
        Close([3, 4, 5], (a + 2).ToArray(), 0, "t + d");
        Close([3, 4, 5], (2 + a).ToArray(), 0, "d + t");
        Close([-3, -3, -3], (a - b).ToArray(), 0, "t - t");
        Close([0, 1, 2], (a - 1).ToArray(), 0, "t - d");
        Close([0, -1, -2], (1 - a).ToArray(), 0, "d - t");
        Close([4, 10, 18], (a * b).ToArray(), 0, "t * t");
        Close([2, 4, 6], (a * 2).ToArray(), 0, "t * d");
        Close([2, 4, 6], (2 * a).ToArray(), 0, "d * t");
        Close([0.25, 0.4, 0.5], (a / b).ToArray(), Tol, "t / t");
        Close([0.5, 1, 1.5], (a / 2).ToArray(), 0, "t / d");
        Close([6, 3, 2], (6 / a).ToArray(), Tol, "d / t");
        Close([-1, -2, -3], (-a).ToArray(), 0, "-t");
        Close([11, 12, 13], (a + Gs.Tensor(10.0)).ToArray(), 0, "broadcasting a scalar tensor");
    }

    /// <summary>Every elementwise function against System.Math.</summary>
    [Test]
    public static void ElementwiseMatchesMath()
    {
        Init();
        double[] xs = [0.1, 0.5, 0.9];
        var x = V(xs);
        void Check(string name, Tensor t, Func<double, double> f) => Close(xs.Select(f).ToArray(), t.ToArray(), Tol, name);
        Check("Pow(double)", x.Pow(2.0), v => v * v);
        Check("Pow(Tensor)", x.Pow(V(2, 2, 2)), v => v * v);
        Check("Tensor.Pow(double, Tensor)", Tensor.Pow(2.0, x), v => Math.Pow(2, v));
        Check("Exp", x.Exp(), Math.Exp);
        Check("Log", x.Log(), Math.Log);
        Check("Sqrt", x.Sqrt(), Math.Sqrt);
        Check("Abs", (-x).Abs(), v => v);
        Check("Sign", (-x).Sign(), _ => -1);
        Check("Sin", x.Sin(), Math.Sin);
        Check("Cos", x.Cos(), Math.Cos);
        Check("Tan", x.Tan(), Math.Tan);
        Check("Tanh", x.Tanh(), Math.Tanh);
        Check("Sinh", x.Sinh(), Math.Sinh);
        Check("Cosh", x.Cosh(), Math.Cosh);
        Check("Asin", x.Asin(), Math.Asin);
        Check("Acos", x.Acos(), Math.Acos);
        Check("Atan", x.Atan(), Math.Atan);
        Check("Atan2", x.Atan2(V(1, 1, 1)), v => Math.Atan2(v, 1));
        Check("Sigmoid", x.Sigmoid(), v => 1 / (1 + Math.Exp(-v)));
        Check("Relu", (x - 0.5).Relu(), v => Math.Max(v - 0.5, 0));
        Check("Softplus", x.Softplus(), v => Math.Log(1 + Math.Exp(v)));
        Check("Log1p", x.Log1p(), v => Math.Log(1 + v));
        Check("Expm1", x.Expm1(), v => Math.Exp(v) - 1);
        Check("Floor", (x * 10).Floor(), v => Math.Floor(v * 10));
        Check("Ceil", (x * 10).Ceil(), v => Math.Ceiling(v * 10));
        Check("Round", (x * 3).Round(), v => Math.Round(v * 3));
        Check("Maximum", x.Maximum(V(0.5, 0.5, 0.5)), v => Math.Max(v, 0.5));
        Check("Minimum", x.Minimum(V(0.5, 0.5, 0.5)), v => Math.Min(v, 0.5));
        Check("Clamp", x.Clamp(0.2, 0.8), v => Math.Clamp(v, 0.2, 0.8));
        Check("Clamp(min)", x.Clamp(min: 0.3), v => Math.Max(v, 0.3));
    }

    /// <summary>UInt8: byte arrays make uint8 tensors; casts, typed accessors, printing and promotion forward to the engine.</summary>
    [Test]
    public static void UInt8Tensors()
    {
        Init();
        var b = Gs.Tensor(new byte[] { 0, 7, 255 });
        Assert.True(b.DType == DType.UInt8 && b.FSharp.dtype.Equals(Genesis.DType.UInt8), "byte[] gives UInt8 (both ways through the enum)");
        Assert.True(b.ToArray<byte>().SequenceEqual(new byte[] { 0, 7, 255 }), "ToArray<byte>");
        Assert.True(b.ToString() == "tensor([0, 7, 255], dtype=uint8)", "printed as the engine prints it");
        Assert.True(V(-1.5, 2.7, 300.0).UInt8().ToArray1D<byte>().SequenceEqual(new byte[] { 0, 2, 255 }), "UInt8() truncates and saturates");
        Assert.True(Gs.Tensor(new[] { 1, 2 }, dtype: DType.UInt8).DType == DType.UInt8, "dtype: UInt8");
        Assert.True((b + Gs.Tensor(new[] { 1, 1, 1 }, dtype: DType.Int32)).DType == DType.Int32, "uint8 + int32 gives int32");
        var img = Gs.Tensor(Enumerable.Range(0, 12).Select(i => (byte)i).ToArray()).Reshape(2, 2, 3);
        Assert.True(img.ToArray3D<byte>()[1, 0, 2] == 8, "ToArray3D<byte> is row-major [H, W, 3]");
    }

    /// <summary>Casts and the comparisons (tensor and double operands) give the expected dtypes and values.</summary>
    [Test]
    public static void CastsAndComparisons()
    {
        Init();
        var x = V(1.5, 2.0, 3.0);
        Assert.True(x.Float32().DType == DType.Float32 && x.Float64().DType == DType.Float64, "Float32/Float64");
        Assert.True(x.Int32().DType == DType.Int32 && x.Int64().DType == DType.Int64 && x.Bool().DType == DType.Bool, "Int32/Int64/Bool");
        Assert.True(x.Cast(DType.Int32).DType == DType.Int32, "Cast");
        SameError(() => x.FSharp.cast(Genesis.DType.Int), () => x.Cast(DType.Int), "cast needs an exact dtype");
        Close([1, 2, 3], x.Int32().ToArray(), 0, "Int32 truncates");
        var y = V(2, 2, 2);
        Close([0, 1, 0], x.Eq(y).ToArray(), 0, "Eq");
        Close([0, 1, 0], x.Eq(2.0).ToArray(), 0, "Eq(double)");
        Close([1, 0, 1], x.Ne(y).ToArray(), 0, "Ne");
        Close([1, 0, 1], x.Ne(2.0).ToArray(), 0, "Ne(double)");
        Close([1, 0, 0], x.Lt(y).ToArray(), 0, "Lt");
        Close([1, 0, 0], x.Lt(2.0).ToArray(), 0, "Lt(double)");
        Close([1, 1, 0], x.Le(y).ToArray(), 0, "Le");
        Close([1, 1, 0], x.Le(2.0).ToArray(), 0, "Le(double)");
        Close([0, 0, 1], x.Gt(y).ToArray(), 0, "Gt");
        Close([0, 0, 1], x.Gt(2.0).ToArray(), 0, "Gt(double)");
        Close([0, 1, 1], x.Ge(y).ToArray(), 0, "Ge");
        Close([0, 1, 1], x.Ge(2.0).ToArray(), 0, "Ge(double)");
        Assert.True(x.Gt(2.0).DType == DType.Bool, "comparisons give bool tensors");
    }

    /// <summary>Sum, Mean, Max, Min, ArgMax, ArgMin, CumSum, Norm, over all elements and along dimensions.</summary>
    [Test]
    public static void Reductions()
    {
        Init();
        var m = Gs.Tensor(new double[,] { { 1, 5, 3 }, { 4, 2, 6 } });
        Assert.True(m.Sum().Item() == 21, "Sum");
        Close([9, 12], m.Sum(1).ToArray(), 0, "Sum(dim)");
        Shape([2, 1], m.Sum(1, keepDim: true), "Sum keepDim");
        Assert.True(m.Sum([0, 1]).Item() == 21, "Sum(dims)");
        Assert.True(m.Mean().Item() == 3.5, "Mean");
        Close([2.5, 3.5, 4.5], m.Mean(0).ToArray(), 0, "Mean(dim)");
        Assert.True(m.Mean([0, 1], keepDim: true).Dim == 2, "Mean(dims, keepDim)");
        Assert.True(m.Max().Item() == 6 && m.Min().Item() == 1, "Max/Min");
        Close([5, 6], m.Max(1).ToArray(), 0, "Max(dim)");
        Close([1, 2], m.Min(1).ToArray(), 0, "Min(dim)");
        Assert.True(m.ArgMax().Item() == 5 && m.ArgMin().Item() == 0, "ArgMax/ArgMin flattened");
        Assert.True(m.ArgMax().DType == DType.Int64, "ArgMax is int64");
        Close([1, 2], m.ArgMax(1).ToArray(), 0, "ArgMax(dim)");
        Close([0, 1], m.ArgMin(1).ToArray(), 0, "ArgMin(dim)");
        Close([1, 6, 9, 4, 6, 12], m.CumSum(1).ToArray(), 0, "CumSum");
        Assert.Close(5, V(3, 4).Norm().Item(), Tol, "Norm");
        Assert.Close(7, V(3, -4).Norm(p: 1).Item(), Tol, "Norm p = 1");
        Close([Math.Sqrt(17), Math.Sqrt(29), Math.Sqrt(45)], m.Norm(dim: 0).ToArray(), Tol, "Norm(dim)");
    }

    /// <summary>MatMul, Dot, Outer, Cross.</summary>
    [Test]
    public static void LinearAlgebra()
    {
        Init();
        var a = Gs.Tensor(new double[,] { { 1, 2 }, { 3, 4 } });
        Close([7, 10, 15, 22], a.MatMul(a).ToArray(), 0, "MatMul");
        Close([5, 11], a.MatMul(V(1, 2)).ToArray(), 0, "MatMul matrix-vector");
        Assert.True(V(1, 2, 3).Dot(V(4, 5, 6)).Item() == 32, "Dot");
        Close([3, 4, 6, 8], V(1, 2).Outer(V(3, 4)).ToArray(), 0, "Outer");
        Close([0, 0, 1], V(1, 0, 0).Cross(V(0, 1, 0)).ToArray(), 0, "Cross");
        Shape([2, 3], Gs.Ones([2, 3]).Cross(Gs.Ones([2, 3]), dim: 1), "Cross(dim)");
    }

    /// <summary>Reshape, View, Flatten, Permute, Transpose, T, Squeeze, Unsqueeze, Expand, ExpandAs, Split, Flip, Gather, ScatterAdd, Narrow.</summary>
    [Test]
    public static void ShapeOps()
    {
        Init();
        var t = Gs.Arange(0.0, 6.0);
        var m = t.Reshape(2, 3);
        Shape([2, 3], m, "Reshape");
        Shape([3, 2], t.Reshape(-1, 2), "Reshape -1");
        Shape([6, 1], t.View(6, 1), "View");
        Shape([6], m.Flatten(), "Flatten");
        Shape([3, 2], m.Permute(1, 0), "Permute");
        Close([0, 3, 1, 4, 2, 5], m.Transpose(0, 1).ToArray(), 0, "Transpose");
        Close([0, 3, 1, 4, 2, 5], m.T.ToArray(), 0, "T");
        Shape([2, 3], m.Unsqueeze(0).Squeeze(), "Squeeze all");
        Shape([2, 1, 3], m.Unsqueeze(1), "Unsqueeze");
        Shape([2, 3], m.Unsqueeze(1).Squeeze(1), "Squeeze(dim)");
        Shape([4, 3], V(1, 2, 3).Expand(4, 3), "Expand");
        Shape([4, 3], V(1, 2, 3).Expand(4, -1), "Expand -1");
        Shape([2, 3], V(1, 2, 3).ExpandAs(m), "ExpandAs");
        var parts = t.Split([2, 4]);
        Assert.True(parts.Length == 2 && parts[0].Numel == 2 && parts[1].Numel == 4, "Split");
        Shape([2, 1], m.Split([1, 2], dim: 1)[0], "Split(dim)");
        Close([5, 4, 3, 2, 1, 0], t.Flip(0).ToArray(), 0, "Flip");
        Close([2, 3], m.Gather(1, Gs.FromArray(new long[,] { { 2 }, { 0 } })).ToArray(), 0, "Gather");
        Close([1, 1, 0], Gs.Zeros([3]).ScatterAdd(0, Gs.Tensor(new long[] { 0, 1 }), V(1, 1)).ToArray(), 0, "ScatterAdd");
        Close([1, 2, 4, 5], m.Narrow(1, 1, 2).ToArray(), 0, "Narrow");
        SameError(() => Genesis.ShapeOps.reshape(new[] { 4 }, t.FSharp), () => t.Reshape(4), "");
    }

    /// <summary>t[i], t[i, j], t[i, j, k], t[^k]; C# ranges (end exclusive): t[1..3], t[a..b, c..d], t[i, a..b].</summary>
    [Test]
    public static void IndexingAndRanges()
    {
        Init();
        var m = Gs.Arange(0.0, 12.0).Reshape(3, 4);
        Close([4, 5, 6, 7], m[1].ToArray(), 0, "t[i]");
        Assert.True(m[1, 2].Item() == 6, "t[i, j]");
        Assert.True(m.Reshape(3, 2, 2)[2, 1, 0].Item() == 10, "t[i, j, k]");
        Close([8, 9, 10, 11], m[^1].ToArray(), 0, "t[^1]");
        Close([8, 9, 10, 11], m[-1].ToArray(), 0, "t[-1] counts from the end");
        Shape([2, 4], m[1..3], "t[1..3] is rows 1 and 2");
        Close([4, 5, 6, 7, 8, 9, 10, 11], m[1..].ToArray(), 0, "t[1..]");
        Close([0, 1, 2, 3], m[..^2].ToArray(), 0, "t[..^2]");
        Shape([0, 4], m[1..1], "empty range");
        Close([1, 2, 5, 6], m[..2, 1..3].ToArray(), 0, "t[..2, 1..3]");
        Close([9, 10], m[2, 1..3].ToArray(), 0, "t[i, a..b]");
        Close([3], m[0, ^1..].ToArray(), 0, "t[i, ^1..]");
        var e = Catch(() => _ = m[1..9]);
        Assert.True(e is GenesisException, $"a range past the end raises the engine's error, got {e.GetType().Name}: {e.Message}");
        var grad = Gs.Zeros([3, 2], requiresGrad: true);
        grad[1..3].Sum().Backward();
        Close([0, 0, 1, 1, 1, 1], grad.Grad!.ToArray(), 0, "gradient through a range");
    }

    /// <summary>Shape, DType, Dim, Numel, Device, Item, ToArray, ToArray&lt;T&gt;, ToArray2D, ToShapedArray, ToString, equality.</summary>
    [Test]
    public static void PropertiesAndExport()
    {
        Init();
        var m = Gs.Tensor(new double[,] { { 1, 2, 3 }, { 4, 5, 6 } });
        var shape = m.Shape;
        shape[0] = 99;
        Assert.True(m.Shape[0] == 2, "Shape is a copy");
        Assert.True(m.Dim == 2 && m.Numel == 6 && m.DType == DType.Float64 && m.Device == "cpu", "Dim, Numel, DType, Device");
        Assert.True(m.ToArray() is [1, 2, 3, 4, 5, 6], "ToArray");
        Assert.True(m.ToArray<float>() is [1f, 2f, 3f, 4f, 5f, 6f], "ToArray<float>");
        Assert.True(m.ToArray<int>()[5] == 6 && m.ToArray<long>()[0] == 1 && m.ToArray<bool>()[0], "ToArray<int/long/bool>");
        Assert.True(m.ToArray<double>().Length == 6, "ToArray<double>");
        Assert.Throws<ArgumentException>(() => m.ToArray<decimal>(), "element type");
        var m2 = m.ToArray2D();
        Assert.True(m2.GetLength(0) == 2 && m2[1, 2] == 6, "ToArray2D");
        Assert.True(m.Float32().ToArray2D()[0, 1] == 2, "ToArray2D converts");
        Assert.Throws<GenesisException>(() => V(1, 2).ToArray2D(), "not 2");
        Assert.True(m.ToArray2D<int>()[1, 2] == 6, "ToArray2D<int>");
        Assert.Throws<GenesisException>(() => m.ToArray1D<double>(), "not 1");
        Assert.True(V(1, 2).ToArray1D<long>() is [1L, 2L], "ToArray1D<long>");
        var cube = Gs.Tensor(new long[][][] { [[1, 2], [3, 4]], [[5, 6], [7, 8]] });
        Assert.True(cube.Shape is [2, 2, 2] && cube.ToArray3D<long>()[1, 0, 1] == 6, "jagged long[][][] and ToArray3D<long>");
        Assert.True(Gs.Tensor(new long[][] { [1, 2, 3], [4, 5, 6] }).Shape is [2, 3], "jagged long[][]");
        Assert.Throws<GenesisException>(() => Gs.Tensor(new long[][] { [1, 2, 3], [4, 5] }), "ragged");
        Assert.True(m.Float32().ToShapedArray() is float[,] f && f[1, 0] == 4f, "ToShapedArray keeps rank and element type");
        Assert.True(Gs.Tensor(2.5).Item() == 2.5, "Item");
        SameError(() => m.FSharp.item(), () => m.Item(), "item() needs exactly one element");
        Assert.True(m.ToString() == m.FSharp.ToString() && m.ToString().StartsWith("tensor("), "ToString is the engine's");
        Assert.True(Tensor.FromFSharp(m.FSharp).Equals(m) && Tensor.FromFSharp(m.FSharp).GetHashCode() == m.GetHashCode(), "equal when wrapping the same tensor");
        Assert.True(!m.Equals(Gs.Tensor(m)) && !m.Equals((object?)null), "not equal to a copy");
    }
}
