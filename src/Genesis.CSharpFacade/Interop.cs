using System.Reflection;
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
/// The Tensor members that the engine declares as F# type extensions in other files than the type
/// (Autodiff/TensorMembers.fs, Autodiff/Reverse.fs). F# compiles such "optional extension" members to
/// static methods named <c>Tensor.member</c>, which C# cannot name, so they are bound here once, by
/// exact name and signature, to delegates. A missing or changed member fails the first use of
/// <see cref="Tensor"/> with the member named; the facade tests call every binding.
/// </summary>
internal static class TensorExt
{
    private static readonly Type Members = typeof(TensorMembers);
    private static readonly Type Backward = typeof(TensorBackward);

    private static T Bind<T>(Type owner, string member) where T : Delegate
    {
        var parameters = typeof(T).GetMethod("Invoke")!.GetParameters().Select(p => p.ParameterType).ToArray();
        var method = owner.GetMethod("Tensor." + member, BindingFlags.Public | BindingFlags.Static, parameters);
        if (method is null)
            throw new MissingMethodException(
                $"Genesis.CSharpFacade: the engine has no member Tensor.{member}({string.Join(", ", parameters.Skip(1).Select(p => p.Name))}) in {owner.FullName}; the facade and engine versions differ");
        return method.CreateDelegate<T>();
    }

    // Reverse.fs
    public static readonly Action<FsTensor, FSharpOption<FsTensor>?, FSharpOption<bool>?> backward = Bind<Action<FsTensor, FSharpOption<FsTensor>?, FSharpOption<bool>?>>(Backward, "backward");

    // TensorMembers.fs: shape
    public static readonly Func<FsTensor, IEnumerable<int>, FsTensor> reshape = Bind<Func<FsTensor, IEnumerable<int>, FsTensor>>(Members, "reshape");
    public static readonly Func<FsTensor, IEnumerable<int>, FsTensor> view = Bind<Func<FsTensor, IEnumerable<int>, FsTensor>>(Members, "view");
    public static readonly Func<FsTensor, FsTensor> flatten = Bind<Func<FsTensor, FsTensor>>(Members, "flatten");
    public static readonly Func<FsTensor, IEnumerable<int>, FsTensor> permute = Bind<Func<FsTensor, IEnumerable<int>, FsTensor>>(Members, "permute");
    public static readonly Func<FsTensor, int, int, FsTensor> transpose = Bind<Func<FsTensor, int, int, FsTensor>>(Members, "transpose");
    public static readonly Func<FsTensor, FsTensor> T = Bind<Func<FsTensor, FsTensor>>(Members, "get_T");
    public static readonly Func<FsTensor, FSharpOption<int>?, FsTensor> squeeze = Bind<Func<FsTensor, FSharpOption<int>?, FsTensor>>(Members, "squeeze");
    public static readonly Func<FsTensor, int, FsTensor> unsqueeze = Bind<Func<FsTensor, int, FsTensor>>(Members, "unsqueeze");
    public static readonly Func<FsTensor, IEnumerable<int>, FsTensor> expand = Bind<Func<FsTensor, IEnumerable<int>, FsTensor>>(Members, "expand");
    public static readonly Func<FsTensor, FsTensor, FsTensor> expandAs = Bind<Func<FsTensor, FsTensor, FsTensor>>(Members, "expandAs");
    public static readonly Func<FsTensor, IEnumerable<int>, FSharpOption<int>?, FsTensor[]> split = Bind<Func<FsTensor, IEnumerable<int>, FSharpOption<int>?, FsTensor[]>>(Members, "split");
    public static readonly Func<FsTensor, IEnumerable<int>, FsTensor> flip = Bind<Func<FsTensor, IEnumerable<int>, FsTensor>>(Members, "flip");
    public static readonly Func<FsTensor, int, FsTensor, FsTensor> gather = Bind<Func<FsTensor, int, FsTensor, FsTensor>>(Members, "gather");
    public static readonly Func<FsTensor, int, FsTensor, FsTensor, FsTensor> scatterAdd = Bind<Func<FsTensor, int, FsTensor, FsTensor, FsTensor>>(Members, "scatterAdd");
    public static readonly Func<FsTensor, int, int, int, FsTensor> narrow = Bind<Func<FsTensor, int, int, int, FsTensor>>(Members, "narrow");

    // TensorMembers.fs: reductions
    public static readonly Func<FsTensor, FSharpOption<int>?, FSharpOption<bool>?, FsTensor> sum = Bind<Func<FsTensor, FSharpOption<int>?, FSharpOption<bool>?, FsTensor>>(Members, "sum");
    public static readonly Func<FsTensor, int[], FSharpOption<bool>?, FsTensor> sumDims = Bind<Func<FsTensor, int[], FSharpOption<bool>?, FsTensor>>(Members, "sum");
    public static readonly Func<FsTensor, FSharpOption<int>?, FSharpOption<bool>?, FsTensor> mean = Bind<Func<FsTensor, FSharpOption<int>?, FSharpOption<bool>?, FsTensor>>(Members, "mean");
    public static readonly Func<FsTensor, int[], FSharpOption<bool>?, FsTensor> meanDims = Bind<Func<FsTensor, int[], FSharpOption<bool>?, FsTensor>>(Members, "mean");
    public static readonly Func<FsTensor, FSharpOption<int>?, FSharpOption<bool>?, FsTensor> max = Bind<Func<FsTensor, FSharpOption<int>?, FSharpOption<bool>?, FsTensor>>(Members, "max");
    public static readonly Func<FsTensor, FSharpOption<int>?, FSharpOption<bool>?, FsTensor> min = Bind<Func<FsTensor, FSharpOption<int>?, FSharpOption<bool>?, FsTensor>>(Members, "min");
    public static readonly Func<FsTensor, FSharpOption<int>?, FSharpOption<bool>?, FsTensor> argmax = Bind<Func<FsTensor, FSharpOption<int>?, FSharpOption<bool>?, FsTensor>>(Members, "argmax");
    public static readonly Func<FsTensor, FSharpOption<int>?, FSharpOption<bool>?, FsTensor> argmin = Bind<Func<FsTensor, FSharpOption<int>?, FSharpOption<bool>?, FsTensor>>(Members, "argmin");
    public static readonly Func<FsTensor, int, FsTensor> cumsum = Bind<Func<FsTensor, int, FsTensor>>(Members, "cumsum");
    public static readonly Func<FsTensor, FSharpOption<double>?, FSharpOption<int>?, FSharpOption<bool>?, FsTensor> norm = Bind<Func<FsTensor, FSharpOption<double>?, FSharpOption<int>?, FSharpOption<bool>?, FsTensor>>(Members, "norm");

    // TensorMembers.fs: linear algebra
    public static readonly Func<FsTensor, FsTensor, FsTensor> matmul = Bind<Func<FsTensor, FsTensor, FsTensor>>(Members, "matmul");
    public static readonly Func<FsTensor, FsTensor, FsTensor> dot = Bind<Func<FsTensor, FsTensor, FsTensor>>(Members, "dot");
    public static readonly Func<FsTensor, FsTensor, FsTensor> outer = Bind<Func<FsTensor, FsTensor, FsTensor>>(Members, "outer");
    public static readonly Func<FsTensor, FsTensor, FSharpOption<int>?, FsTensor> cross = Bind<Func<FsTensor, FsTensor, FSharpOption<int>?, FsTensor>>(Members, "cross");

    // TensorMembers.fs: casts, indexing, export
    public static readonly Func<FsTensor, FsTensor> float32 = Bind<Func<FsTensor, FsTensor>>(Members, "float32");
    public static readonly Func<FsTensor, FsTensor> float64 = Bind<Func<FsTensor, FsTensor>>(Members, "float64");
    public static readonly Func<FsTensor, FsTensor> int32 = Bind<Func<FsTensor, FsTensor>>(Members, "int32");
    public static readonly Func<FsTensor, FsTensor> int64 = Bind<Func<FsTensor, FsTensor>>(Members, "int64");
    public static readonly Func<FsTensor, FsTensor> @bool = Bind<Func<FsTensor, FsTensor>>(Members, "bool");
    public static readonly Func<FsTensor, int, FsTensor> item1 = Bind<Func<FsTensor, int, FsTensor>>(Members, "get_Item");
    public static readonly Func<FsTensor, int, int, FsTensor> item2 = Bind<Func<FsTensor, int, int, FsTensor>>(Members, "get_Item");
    public static readonly Func<FsTensor, int, int, int, FsTensor> item3 = Bind<Func<FsTensor, int, int, int, FsTensor>>(Members, "get_Item");
    public static readonly Func<FsTensor, Array> toArray = Bind<Func<FsTensor, Array>>(Members, "toArray");
}
