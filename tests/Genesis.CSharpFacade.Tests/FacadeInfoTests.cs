namespace Genesis.CSharp.Tests;

/// <summary>Tests that the facade assembly loads and reports its version.</summary>
public static class FacadeInfoTests
{
    /// <summary>The facade reports the package version.</summary>
    [Test]
    public static void VersionIsThePackageVersion()
    {
        // the one version of Directory.Build.props, which the packages carry (CHANGELOG.md)
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Directory.Build.props"))) dir = dir.Parent;
        Assert.True(dir is not null, "Directory.Build.props not found above " + AppContext.BaseDirectory);
        var props = File.ReadAllText(Path.Combine(dir!.FullName, "Directory.Build.props"));
        var version = System.Text.RegularExpressions.Regex.Match(props, "<Version>([^<]+)</Version>").Groups[1].Value;
        Assert.True(version.Length > 0 && FacadeInfo.Version.StartsWith(version), $"facade version {FacadeInfo.Version}, Directory.Build.props {version}");
        Assert.True(typeof(Genesis.Tensor).Assembly.GetName().Version?.ToString() == FacadeInfo.Version, "the engine and the facade carry one version");
    }
}
