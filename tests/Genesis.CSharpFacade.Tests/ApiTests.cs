using System.Reflection;
using System.Text.RegularExpressions;

namespace Genesis.CSharp.Tests;

/// <summary>The shape of the public API: no F# collection/option/function types in signatures, and every public
/// facade member used by these tests.</summary>
public static class ApiTests
{
    private static readonly Assembly Facade = typeof(Gs).Assembly;

    private static IEnumerable<Type> PublicTypes => Facade.GetExportedTypes().Where(t => t.Namespace == "Genesis.CSharp");

    private static IEnumerable<MemberInfo> PublicMembers(Type t) =>
        t.GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
            .Where(m => m.GetCustomAttribute<System.Runtime.CompilerServices.CompilerGeneratedAttribute>() is null)
            .Where(m => m is not MethodInfo { IsSpecialName: true } || m.Name.StartsWith("op_"));

    private static IEnumerable<Type> Expand(Type t) =>
        t.HasElementType ? Expand(t.GetElementType()!)
        : t.IsGenericType ? t.GetGenericArguments().SelectMany(Expand).Prepend(t.GetGenericTypeDefinition())
        : [t];

    /// <summary>No FSharpList, FSharpOption, FSharpFunc (curried functions) or F# tuples in any public facade signature.</summary>
    [Test]
    public static void NoFSharpTypesInSignatures()
    {
        var bad = new List<string>();
        foreach (var t in PublicTypes)
            foreach (var m in PublicMembers(t))
            {
                var types = m switch
                {
                    MethodInfo mi => mi.GetParameters().Select(p => p.ParameterType).Append(mi.ReturnType),
                    ConstructorInfo ci => ci.GetParameters().Select(p => p.ParameterType),
                    PropertyInfo pi => pi.GetIndexParameters().Select(p => p.ParameterType).Append(pi.PropertyType),
                    _ => [],
                };
                foreach (var used in types.SelectMany(Expand))
                    if (used.Namespace == "Microsoft.FSharp.Core" || used.Namespace == "Microsoft.FSharp.Collections" || used == typeof(Tuple<,>))
                        bad.Add($"{t.Name}.{m.Name} uses {used.Name}");
            }
        Assert.True(bad.Count == 0, string.Join("; ", bad));
    }

    /// <summary>Every public facade member (method, property, constructor; operators and indexers have their own tests)
    /// appears in these test sources: `.Name(`, `.Name` or `new Type(`, `Name =` for init properties.</summary>
    [Test]
    public static void EveryMemberIsExercised()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Genesis.CSharpFacade.Tests.csproj"))) dir = dir.Parent;
        Assert.True(dir is not null, "EveryMemberIsExercised: the test sources (Genesis.CSharpFacade.Tests.csproj and its *.cs) are not above " + AppContext.BaseDirectory);
        var source = string.Concat(dir!.GetFiles("*.cs").Where(f => f.Name != "ApiTests.cs").Select(f => File.ReadAllText(f.FullName)));
        var missing = new List<string>();
        foreach (var t in PublicTypes.Where(t => !t.IsEnum))
            foreach (var m in PublicMembers(t))
            {
                if (m.Name.StartsWith("op_") || m.Name is "Equals" or "GetHashCode" or "ToString" or "At" or "get_At") continue;
                var pattern = m switch
                {
                    ConstructorInfo => $@"new {Regex.Escape(t.Name)}\(|new\(",
                    PropertyInfo { SetMethod: not null } p => $@"\.{p.Name}\b|\b{p.Name}\s*[:=]",
                    _ => $@"\.{Regex.Escape(m.Name)}\b",
                };
                if (!Regex.IsMatch(source, pattern)) missing.Add($"{t.Name}.{m.Name}");
            }
        Assert.True(missing.Count == 0, "not exercised by any test: " + string.Join(", ", missing.Distinct()));
    }
}
