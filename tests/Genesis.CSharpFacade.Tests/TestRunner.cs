using System.Reflection;

namespace Genesis.CSharp.Tests;

/// <summary>Marks a public static void method as a test.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class TestAttribute : Attribute { }

/// <summary>Minimal assertions for the facade tests.</summary>
public static class Assert
{
    /// <summary>Fails unless the condition holds.</summary>
    public static void True(bool condition, string what)
    {
        if (!condition) throw new Exception($"assertion failed: {what}");
    }

    /// <summary>Fails unless |expected - actual| &lt;= tol.</summary>
    public static void Close(double expected, double actual, double tol, string what)
    {
        if (!(Math.Abs(expected - actual) <= tol))
            throw new Exception($"{what}: expected {expected} but got {actual} (tolerance {tol})");
    }

    /// <summary>Fails unless the action throws an exception of type T whose message contains the fragment.</summary>
    public static void Throws<T>(Action action, string fragment) where T : Exception
    {
        try { action(); }
        catch (T e)
        {
            if (!e.Message.Contains(fragment)) throw new Exception($"expected message containing '{fragment}', got '{e.Message}'");
            return;
        }
        throw new Exception($"expected {typeof(T).Name} containing '{fragment}'");
    }
}

/// <summary>Runs every [Test] method in this assembly and prints `N passed, N failed`.</summary>
public static class Program
{
    /// <summary>Entry point: an optional argument filters tests by substring.</summary>
    public static int Main(string[] args)
    {
        var tests = typeof(Program).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
            .Where(m => m.GetCustomAttribute<TestAttribute>() != null)
            .Where(m => args.Length == 0 || $"{m.DeclaringType!.Name}.{m.Name}".Contains(args[0]))
            .OrderBy(m => m.DeclaringType!.Name).ThenBy(m => m.Name)
            .ToList();
        int passed = 0, failed = 0;
        foreach (var m in tests)
        {
            var name = $"{m.DeclaringType!.Name}.{m.Name}";
            try
            {
                m.Invoke(null, null);
                passed++;
            }
            catch (TargetInvocationException e)
            {
                failed++;
                Console.WriteLine($"FAILED {name}: {e.InnerException?.GetType().Name}: {e.InnerException?.Message}");
            }
        }
        Console.WriteLine($"{passed} passed, {failed} failed");
        return failed == 0 && passed > 0 ? 0 : 1;
    }
}
