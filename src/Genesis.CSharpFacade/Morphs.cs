using static Genesis.CSharp.Fs;

namespace Genesis.CSharp;

/// <summary>What an entity is made from (Genesis gs.morphs.*): create one with <see cref="Morphs"/>.</summary>
public sealed class Morph
{
    internal Morph(Genesis.Morph value) => FSharp = value;

    /// <summary>The wrapped engine morph.</summary>
    public Genesis.Morph FSharp { get; }
}

/// <summary>
/// Morph constructors (Genesis <c>gs.morphs.*</c>; the engine's <c>Genesis.Morphs</c>). Genesis' <c>fixed</c>
/// is <c>fixedBase</c> (a keyword in C#). Positions in m, quaternions (w, x, y, z), Euler angles in degrees (xyz).
/// </summary>
public static class Morphs
{
    /// <summary>A URDF robot; fixedBase = false gives the root a free joint.</summary>
    /// <param name="file">The .urdf file.</param>
    /// <param name="pos">Root position (3 values).</param>
    /// <param name="quat">Root orientation (w, x, y, z).</param>
    /// <param name="euler">Root orientation as Euler angles in degrees (used when quat is null).</param>
    /// <param name="fixedBase">Weld the root to the world (Genesis `fixed`).</param>
    /// <param name="scale">Length scale.</param>
    /// <param name="mergeFixedLinks">Merge links joined by fixed joints into their parent (Genesis merge_fixed_links; default true).</param>
    /// <param name="linksToKeep">Links kept as bodies even when merging (Genesis links_to_keep).</param>
    public static Morph Urdf(string file, double[]? pos = null, double[]? quat = null, double[]? euler = null, bool fixedBase = false, double? scale = null,
                             bool mergeFixedLinks = true, string[]? linksToKeep = null) =>
        new(Genesis.Morphs.URDF(file, Ref(pos), Ref(quat), Ref(euler), Some(fixedBase), Opt(scale), Some(mergeFixedLinks), Ref(linksToKeep)));

    /// <summary>An MJCF (MuJoCo XML) model; &lt;tendon&gt;/&lt;equality&gt; raise unless ignored explicitly.</summary>
    /// <param name="file">The .xml file.</param>
    /// <param name="ignoreTendonsAndEqualities">Skip &lt;tendon&gt; and &lt;equality&gt; (not modelled) with a warning instead of raising.</param>
    public static Morph Mjcf(string file, bool ignoreTendonsAndEqualities = false) =>
        new(Genesis.Morphs.MJCF(file, Some(ignoreTendonsAndEqualities)));

    /// <summary>A static ground plane at z = 0 (or at pos/quat).</summary>
    /// <param name="pos">Position (3 values).</param>
    /// <param name="quat">Orientation (w, x, y, z).</param>
    public static Morph Plane(double[]? pos = null, double[]? quat = null) =>
        new(Genesis.Morphs.Plane(Ref(pos), Ref(quat)));

    /// <summary>A box of full side lengths <paramref name="size"/>; free unless fixedBase.</summary>
    /// <param name="size">Side lengths (3 values).</param>
    /// <param name="pos">Position (3 values).</param>
    /// <param name="quat">Orientation (w, x, y, z).</param>
    /// <param name="euler">Orientation as Euler angles in degrees (used when quat is null).</param>
    /// <param name="fixedBase">Weld to the world.</param>
    /// <param name="density">Density in kg/m^3 (engine default 1000).</param>
    /// <param name="mass">Mass in kg (overrides density).</param>
    public static Morph Box(double[] size, double[]? pos = null, double[]? quat = null, double[]? euler = null, bool fixedBase = false, double? density = null, double? mass = null) =>
        new(Genesis.Morphs.Box(size, Ref(pos), Ref(quat), Ref(euler), Some(fixedBase), Opt(density), Opt(mass)));

    /// <summary>A sphere; free unless fixedBase.</summary>
    /// <param name="radius">Radius in m.</param>
    /// <param name="pos">Position (3 values).</param>
    /// <param name="quat">Orientation (w, x, y, z).</param>
    /// <param name="fixedBase">Weld to the world.</param>
    /// <param name="density">Density in kg/m^3.</param>
    /// <param name="mass">Mass in kg (overrides density).</param>
    public static Morph Sphere(double radius, double[]? pos = null, double[]? quat = null, bool fixedBase = false, double? density = null, double? mass = null) =>
        new(Genesis.Morphs.Sphere(radius, Ref(pos), Ref(quat), Some(fixedBase), Opt(density), Opt(mass)));

    /// <summary>A cylinder along z; free unless fixedBase.</summary>
    /// <param name="radius">Radius in m.</param>
    /// <param name="height">Height in m.</param>
    /// <param name="pos">Position (3 values).</param>
    /// <param name="quat">Orientation (w, x, y, z).</param>
    /// <param name="fixedBase">Weld to the world.</param>
    /// <param name="density">Density in kg/m^3.</param>
    /// <param name="mass">Mass in kg (overrides density).</param>
    public static Morph Cylinder(double radius, double height, double[]? pos = null, double[]? quat = null, bool fixedBase = false, double? density = null, double? mass = null) =>
        new(Genesis.Morphs.Cylinder(radius, height, Ref(pos), Ref(quat), Some(fixedBase), Opt(density), Opt(mass)));

    /// <summary>A capsule along z; free unless fixedBase.</summary>
    /// <param name="radius">Radius in m.</param>
    /// <param name="height">Height of the cylindrical part in m.</param>
    /// <param name="pos">Position (3 values).</param>
    /// <param name="quat">Orientation (w, x, y, z).</param>
    /// <param name="fixedBase">Weld to the world.</param>
    /// <param name="density">Density in kg/m^3.</param>
    /// <param name="mass">Mass in kg (overrides density).</param>
    public static Morph Capsule(double radius, double height, double[]? pos = null, double[]? quat = null, bool fixedBase = false, double? density = null, double? mass = null) =>
        new(Genesis.Morphs.Capsule(radius, height, Ref(pos), Ref(quat), Some(fixedBase), Opt(density), Opt(mass)));
}
