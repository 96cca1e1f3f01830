namespace Genesis.CSharp;

/// <summary>Version information of the C# facade.</summary>
public static class FacadeInfo
{
    /// <summary>The facade's assembly version.</summary>
    public static string Version => typeof(FacadeInfo).Assembly.GetName().Version?.ToString() ?? "unknown";
}
