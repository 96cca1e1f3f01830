namespace Genesis.CSharp.Tests;

/// <summary>Tests that the facade assembly loads and reports its version.</summary>
public static class FacadeInfoTests
{
    /// <summary>The facade reports the package version.</summary>
    [Test]
    public static void VersionIsThePackageVersion() => Assert.True(FacadeInfo.Version.StartsWith("0.1.0"), "facade version 0.1.0");
}
