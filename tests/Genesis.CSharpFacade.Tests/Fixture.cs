using System.Reflection;
using Microsoft.FSharp.Core;
using FsTensor = Genesis.Tensor;

namespace Genesis.CSharp.Tests;

/// <summary>Shared set-up and helpers: the engine initialised in float64, F# calls made without the facade.</summary>
internal static class Fx
{
    /// <summary>Tolerance for values that the facade and the engine compute identically.</summary>
    public const double Same = 1e-12;

    /// <summary>Tolerance for closed-form comparisons in float64.</summary>
    public const double Tol = 1e-9;

    /// <summary>Initialises the engine in float64 with seed 0 unless it already is.</summary>
    public static void Init()
    {
        if (Gs.IsInitialized && Gs.Precision == "64") return;
        if (Gs.IsInitialized) Gs.Destroy();
        Gs.Init(Backend.Cpu, precision: "64", seed: 0);
    }

    /// <summary>The path of a file under the repository's assets/ folder.</summary>
    public static string Asset(string relative) => Path.Combine(RepoRoot, "assets", relative);

    /// <summary>The repository root (the folder holding assets/two_link_arm), found from the test binary.</summary>
    public static string RepoRoot
    {
        get
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
                if (Directory.Exists(Path.Combine(d.FullName, "assets", "two_link_arm"))) return d.FullName;
            throw new DirectoryNotFoundException("assets/two_link_arm not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>Fails unless the arrays have equal length and elements within tol.</summary>
    public static void Close(double[] expected, double[] actual, double tol, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        for (var i = 0; i < expected.Length; i++) Assert.Close(expected[i], actual[i], tol, $"{what}[{i}]");
    }

    /// <summary>Fails unless the shapes are equal.</summary>
    public static void Shape(int[] expected, Tensor t, string what) =>
        Assert.True(expected.SequenceEqual(t.Shape), $"{what}: shape [{string.Join(", ", t.Shape)}], expected [{string.Join(", ", expected)}]");

    /// <summary>The exception an action throws (fails when it throws none).</summary>
    public static Exception Catch(Action action)
    {
        try { action(); }
        catch (Exception e) { return e; }
        throw new Exception("expected an exception, none was thrown");
    }

    /// <summary>Both actions throw the same exception type with the same message (the facade neither wraps nor
    /// rewrites engine errors); the type is the engine's GenesisException (or a subclass) unless argumentError.</summary>
    public static void SameError(Action fsharp, Action facade, string fragment, bool argumentError = false)
    {
        var expected = Catch(fsharp);
        var actual = Catch(facade);
        Assert.True(actual.GetType() == expected.GetType(), $"facade threw {actual.GetType().Name}, F# threw {expected.GetType().Name}");
        Assert.True(actual.Message == expected.Message, $"facade message '{actual.Message}' differs from F# '{expected.Message}'");
        Assert.True(actual.Message.Contains(fragment), $"message '{actual.Message}' should contain '{fragment}'");
        if (argumentError) Assert.True(actual is ArgumentException, $"{actual.GetType().Name} should be an ArgumentException");
        else Assert.True(actual is GenesisException, $"{actual.GetType().Name} should be a Genesis.GenesisException");
    }

    // ---- the engine called directly (no facade) ------------------------------------------------

    /// <summary>Some(value).</summary>
    public static FSharpOption<T> Some<T>(T value) => FSharpOption<T>.Some(value);

    /// <summary>An F# function from a C# lambda over engine tensors.</summary>
    public static FSharpFunc<FsTensor, FsTensor> Fn(Func<FsTensor, FsTensor> f) => FuncConvert.FromFunc(f);

    /// <summary>F# t.sum() (the reduction module function the member calls).</summary>
    public static FsTensor FsSum(FsTensor t) => Genesis.Reductions.sumDims(Array.Empty<int>(), false, t);

    /// <summary>F# t.[i].</summary>
    public static FsTensor FsRow(FsTensor t, int i) => Genesis.ShapeOps.select(0, i, t);

    /// <summary>An F# float tensor from values.</summary>
    public static FsTensor FsTensorOf(double[] values, bool requiresGrad = false) =>
        Genesis.gs.tensor(values, null, Some(requiresGrad), null, null);

    /// <summary>F# t.backward(), invoked through reflection (F# type extensions compile to methods C# cannot name).</summary>
    public static void FsBackward(FsTensor t, FsTensor? gradient = null, bool retainGraph = false)
    {
        var m = typeof(Genesis.TensorBackward).GetMethod("Tensor.backward", BindingFlags.Public | BindingFlags.Static)!;
        try { m.Invoke(null, new object?[] { t, gradient is null ? null : Some(gradient), Some(retainGraph) }); }
        catch (TargetInvocationException e) { throw e.InnerException!; }
    }
}
