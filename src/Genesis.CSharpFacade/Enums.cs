namespace Genesis.CSharp;

/// <summary>The compute backend chosen at <see cref="Gs.Init"/> (the engine's <c>Genesis.Backend</c>).</summary>
public enum Backend
{
    /// <summary>Managed CPU backend (SIMD through System.Numerics.Tensors).</summary>
    Cpu,
    /// <summary>ILGPU backend (CUDA, or ILGPU's CPU accelerator for testing).</summary>
    Gpu,
}

/// <summary>Element types (the engine's <c>Genesis.DType</c>). <see cref="Float"/> and <see cref="Int"/> are
/// families resolved by the precision given to <see cref="Gs.Init"/>.</summary>
public enum DType
{
    /// <summary>32-bit float.</summary>
    Float32,
    /// <summary>64-bit float.</summary>
    Float64,
    /// <summary>32-bit integer.</summary>
    Int32,
    /// <summary>64-bit integer.</summary>
    Int64,
    /// <summary>Boolean.</summary>
    Bool,
    /// <summary>The float type of the current precision ("32" gives Float32, "64" Float64).</summary>
    Float,
    /// <summary>The int type of the current precision ("32" gives Int32, "64" Int64).</summary>
    Int,
    /// <summary>Unsigned 8-bit integer 0..255 (image bytes; CPU backend only).</summary>
    UInt8,
}

/// <summary>Time integrators (the engine's <c>Genesis.Physics.Integrator</c>).</summary>
public enum Integrator
{
    /// <summary>Semi-implicit Euler with implicit joint damping (MuJoCo's default).</summary>
    Euler,
    /// <summary>Classic 4th-order Runge-Kutta.</summary>
    RK4,
}

/// <summary>Joint kinds (the engine's <c>Genesis.Physics.JointType</c>).</summary>
public enum JointType
{
    /// <summary>Six-DOF joint: qpos [x y z qw qx qy qz], qvel [v; w].</summary>
    Free,
    /// <summary>Spherical joint: qpos is a unit quaternion, qvel 3 angular rates.</summary>
    Ball,
    /// <summary>Revolute joint: one angle (rad).</summary>
    Hinge,
    /// <summary>Prismatic joint: one displacement (m).</summary>
    Slide,
}

/// <summary>Conversions between the facade's enums and the engine's unions (one case to one case).</summary>
internal static class Enums
{
    public static Genesis.Backend ToFs(this Backend b) => b switch
    {
        Backend.Cpu => Genesis.Backend.Cpu,
        Backend.Gpu => Genesis.Backend.Gpu,
        _ => throw new ArgumentOutOfRangeException(nameof(b), b, "unknown Backend"),
    };

    public static Backend ToCs(this Genesis.Backend b) => b.Tag switch
    {
        Genesis.Backend.Tags.Cpu => Backend.Cpu,
        Genesis.Backend.Tags.Gpu => Backend.Gpu,
        _ => throw new ArgumentOutOfRangeException(nameof(b), b, "unknown Backend"),
    };

    public static Genesis.DType ToFs(this DType d) => d switch
    {
        DType.Float32 => Genesis.DType.Float32,
        DType.Float64 => Genesis.DType.Float64,
        DType.Int32 => Genesis.DType.Int32,
        DType.Int64 => Genesis.DType.Int64,
        DType.Bool => Genesis.DType.Bool,
        DType.Float => Genesis.DType.Float,
        DType.Int => Genesis.DType.Int,
        DType.UInt8 => Genesis.DType.UInt8,
        _ => throw new ArgumentOutOfRangeException(nameof(d), d, "unknown DType"),
    };

    public static DType ToCs(this Genesis.DType d) => d.Tag switch
    {
        Genesis.DType.Tags.Float32 => DType.Float32,
        Genesis.DType.Tags.Float64 => DType.Float64,
        Genesis.DType.Tags.Int32 => DType.Int32,
        Genesis.DType.Tags.Int64 => DType.Int64,
        Genesis.DType.Tags.Bool => DType.Bool,
        Genesis.DType.Tags.Float => DType.Float,
        Genesis.DType.Tags.Int => DType.Int,
        Genesis.DType.Tags.UInt8 => DType.UInt8,
        _ => throw new ArgumentOutOfRangeException(nameof(d), d, "unknown DType"),
    };

    public static Genesis.Physics.Integrator ToFs(this Integrator i) => i switch
    {
        Integrator.Euler => Genesis.Physics.Integrator.Euler,
        Integrator.RK4 => Genesis.Physics.Integrator.RK4,
        _ => throw new ArgumentOutOfRangeException(nameof(i), i, "unknown Integrator"),
    };

    public static Integrator ToCs(this Genesis.Physics.Integrator i) => i.Tag switch
    {
        Genesis.Physics.Integrator.Tags.Euler => Integrator.Euler,
        Genesis.Physics.Integrator.Tags.RK4 => Integrator.RK4,
        _ => throw new ArgumentOutOfRangeException(nameof(i), i, "unknown Integrator"),
    };

    public static JointType ToCs(this Genesis.Physics.JointType j) => j.Tag switch
    {
        Genesis.Physics.JointType.Tags.Free => JointType.Free,
        Genesis.Physics.JointType.Tags.Ball => JointType.Ball,
        Genesis.Physics.JointType.Tags.Hinge => JointType.Hinge,
        Genesis.Physics.JointType.Tags.Slide => JointType.Slide,
        _ => throw new ArgumentOutOfRangeException(nameof(j), j, "unknown JointType"),
    };

    public static Microsoft.FSharp.Core.FSharpOption<Genesis.DType>? FsOpt(DType? d) => d.HasValue ? Fs.Some(d.Value.ToFs()) : null;

    public static Microsoft.FSharp.Core.FSharpOption<Genesis.Backend>? FsOpt(Backend? b) => b.HasValue ? Fs.Some(b.Value.ToFs()) : null;
}
