using Microsoft.FSharp.Core;
using FsTensor = Genesis.Tensor;

namespace Genesis.CSharp;

/// <summary>F# options and functions from C# values (adaptation only).</summary>
internal static class Fs
{
    /// <summary>Some(value).</summary>
    public static FSharpOption<T> Some<T>(T value) => FSharpOption<T>.Some(value);

    /// <summary>Some(value) for a value, None (null) for null.</summary>
    public static FSharpOption<T>? Opt<T>(T? value) where T : struct => value.HasValue ? FSharpOption<T>.Some(value.Value) : null;

    /// <summary>Some(value) for a reference, None (null) for null.</summary>
    public static FSharpOption<T>? Ref<T>(T? value) where T : class => value is null ? null : FSharpOption<T>.Some(value);

    /// <summary>An F# function Tensor -> Tensor calling a C# delegate on facade tensors.</summary>
    public static FSharpFunc<FsTensor, FsTensor> Fun(Func<Tensor, Tensor> f) =>
        FuncConvert.FromFunc<FsTensor, FsTensor>(x => f(new Tensor(x)).FSharp);

    /// <summary>The F# tensors of facade tensors.</summary>
    public static FsTensor[] Unwrap(IEnumerable<Tensor> tensors) => tensors.Select(t => t.FSharp).ToArray();

    /// <summary>Facade tensors around F# tensors.</summary>
    public static Tensor[] Wrap(FsTensor[] tensors) => Array.ConvertAll(tensors, t => new Tensor(t));
}

/// <summary>
/// The Tensor members that the engine declares as F# type extensions (Autodiff/TensorMembers.fs,
/// Autodiff/Reverse.fs), as delegates over the engine's <c>TensorCalls</c> static methods: every
/// binding is a compile-time checked method group (a changed member fails the build, not a run).
/// </summary>
internal static class TensorExt
{
    // Reverse.fs
    public static readonly Action<FsTensor, FSharpOption<FsTensor>?, FSharpOption<bool>?> backward = TensorCalls.backward;

    // TensorMembers.fs: shape
    public static readonly Func<FsTensor, IEnumerable<int>, FsTensor> reshape = TensorCalls.reshape;
    public static readonly Func<FsTensor, IEnumerable<int>, FsTensor> view = TensorCalls.view;
    public static readonly Func<FsTensor, FsTensor> flatten = TensorCalls.flatten;
    public static readonly Func<FsTensor, IEnumerable<int>, FsTensor> permute = TensorCalls.permute;
    public static readonly Func<FsTensor, int, int, FsTensor> transpose = TensorCalls.transpose;
    public static readonly Func<FsTensor, FsTensor> T = TensorCalls.T;
    public static readonly Func<FsTensor, FSharpOption<int>?, FsTensor> squeeze = TensorCalls.squeeze;
    public static readonly Func<FsTensor, int, FsTensor> unsqueeze = TensorCalls.unsqueeze;
    public static readonly Func<FsTensor, IEnumerable<int>, FsTensor> expand = TensorCalls.expand;
    public static readonly Func<FsTensor, FsTensor, FsTensor> expandAs = TensorCalls.expandAs;
    public static readonly Func<FsTensor, IEnumerable<int>, FSharpOption<int>?, FsTensor[]> split = TensorCalls.split;
    public static readonly Func<FsTensor, IEnumerable<int>, FsTensor> flip = TensorCalls.flip;
    public static readonly Func<FsTensor, int, FsTensor, FsTensor> gather = TensorCalls.gather;
    public static readonly Func<FsTensor, int, FsTensor, FsTensor, FsTensor> scatterAdd = TensorCalls.scatterAdd;
    public static readonly Func<FsTensor, int, int, int, FsTensor> narrow = TensorCalls.narrow;

    // TensorMembers.fs: reductions
    public static readonly Func<FsTensor, FSharpOption<int>?, FSharpOption<bool>?, FsTensor> sum = TensorCalls.sum;
    public static readonly Func<FsTensor, int[], FSharpOption<bool>?, FsTensor> sumDims = TensorCalls.sumDims;
    public static readonly Func<FsTensor, FSharpOption<int>?, FSharpOption<bool>?, FsTensor> mean = TensorCalls.mean;
    public static readonly Func<FsTensor, int[], FSharpOption<bool>?, FsTensor> meanDims = TensorCalls.meanDims;
    public static readonly Func<FsTensor, FSharpOption<int>?, FSharpOption<bool>?, FsTensor> max = TensorCalls.max;
    public static readonly Func<FsTensor, FSharpOption<int>?, FSharpOption<bool>?, FsTensor> min = TensorCalls.min;
    public static readonly Func<FsTensor, FSharpOption<int>?, FSharpOption<bool>?, FsTensor> argmax = TensorCalls.argmax;
    public static readonly Func<FsTensor, FSharpOption<int>?, FSharpOption<bool>?, FsTensor> argmin = TensorCalls.argmin;
    public static readonly Func<FsTensor, int, FsTensor> cumsum = TensorCalls.cumsum;
    public static readonly Func<FsTensor, FSharpOption<double>?, FSharpOption<int>?, FSharpOption<bool>?, FsTensor> norm = TensorCalls.norm;

    // TensorMembers.fs: linear algebra
    public static readonly Func<FsTensor, FsTensor, FsTensor> matmul = TensorCalls.matmul;
    public static readonly Func<FsTensor, FsTensor, FsTensor> dot = TensorCalls.dot;
    public static readonly Func<FsTensor, FsTensor, FsTensor> outer = TensorCalls.outer;
    public static readonly Func<FsTensor, FsTensor, FSharpOption<int>?, FsTensor> cross = TensorCalls.cross;

    // TensorMembers.fs: casts, indexing, export
    public static readonly Func<FsTensor, FsTensor> float32 = TensorCalls.float32;
    public static readonly Func<FsTensor, FsTensor> float64 = TensorCalls.float64;
    public static readonly Func<FsTensor, FsTensor> int32 = TensorCalls.int32;
    public static readonly Func<FsTensor, FsTensor> int64 = TensorCalls.int64;
    public static readonly Func<FsTensor, FsTensor> @bool = TensorCalls.@bool;
    public static readonly Func<FsTensor, FsTensor> uint8 = TensorCalls.uint8;
    public static readonly Func<FsTensor, int, FsTensor> item1 = TensorCalls.item1;
    public static readonly Func<FsTensor, int, int, FsTensor> item2 = TensorCalls.item2;
    public static readonly Func<FsTensor, int, int, int, FsTensor> item3 = TensorCalls.item3;
    public static readonly Func<FsTensor, Array> toArray = TensorCalls.toArray;
}
