// Paths of the C# examples (linked into each example project): the repository's assets/ folder and the folder
// the examples write their pictures to.
namespace Genesis.CSharp.Examples;

/// <summary>Where the C# examples read assets and write pictures.</summary>
internal static class ExamplePaths
{
    /// <summary>The repository root: the first folder holding assets/two_link_arm, walking up from the working
    /// directory and from the program's folder.</summary>
    public static string Root()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (Directory.Exists(Path.Combine(dir.FullName, "assets", "two_link_arm")))
                    return dir.FullName;
        throw new DirectoryNotFoundException("cannot find the assets/ folder: run from inside the repository");
    }

    /// <summary>The full path of a file under the repository's assets/ folder.</summary>
    /// <param name="relative">Path relative to assets/.</param>
    public static string Asset(string relative) => Path.GetFullPath(Path.Combine(Root(), "assets", relative));

    /// <summary>The full path prefix <paramref name="name"/> in GENESIS_EXAMPLES_OUT, else in out/examples of the
    /// repository (git-ignored), so that running an example never dirties the working tree.</summary>
    /// <param name="name">File name without extension.</param>
    public static string OutputPrefix(string name)
    {
        var dir = Environment.GetEnvironmentVariable("GENESIS_EXAMPLES_OUT");
        return Path.GetFullPath(Path.Combine(string.IsNullOrEmpty(dir) ? Path.Combine(Root(), "out", "examples") : dir, name));
    }
}
