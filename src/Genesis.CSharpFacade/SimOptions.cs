using static Genesis.CSharp.Fs;

namespace Genesis.CSharp;

/// <summary>
/// Simulation options of a <see cref="Scene"/> (Genesis SimOptions + rigid options), set with object
/// initialisers: <c>new SimOptions { Dt = 0.01, RequiresGrad = true }</c>. Unset properties keep the
/// engine's defaults (read from <c>Genesis.SimOptions</c>); the scene receives an engine
/// <c>Genesis.SimOptions</c> made from all of them.
/// </summary>
public sealed record SimOptions
{
    private static readonly Genesis.SimOptions Defaults = new(null, null, null, null, null, null, null, null, null, null, null, null, null);

    private readonly double _dt = Defaults.dt;
    private readonly bool _dtGiven;

    /// <summary>Time step in seconds (engine default 0.01, or the timestep a loaded MJCF file states when Dt is not set).</summary>
    public double Dt { get => _dt; init { _dt = value; _dtGiven = true; } }

    /// <summary>Sub-steps per step (engine default 1).</summary>
    public int Substeps { get; init; } = Defaults.substeps;

    private readonly IReadOnlyList<double> _gravity = Defaults.gravity;
    private readonly bool _gravityGiven;

    /// <summary>Gravity in m/s^2, 3 values (engine default 0, 0, -9.81, or the gravity a loaded MJCF file states when Gravity is not set).</summary>
    public IReadOnlyList<double> Gravity { get => _gravity; init { _gravity = value; _gravityGiven = true; } }

    /// <summary>Record steps so that loss.Backward() reaches controls, initial state and parameters (default false).</summary>
    public bool RequiresGrad { get; init; } = Defaults.requiresGrad;

    private readonly Integrator _integrator = Defaults.integrator.ToCs();
    private readonly bool _integratorGiven;

    /// <summary>The integrator (default Euler, as MuJoCo, or the one a loaded MJCF file states when Integrator is not set).</summary>
    public Integrator Integrator { get => _integrator; init { _integrator = value; _integratorGiven = true; } }

    /// <summary>Contacts on (default true).</summary>
    public bool EnableContact { get; init; } = Defaults.enableContact;

    /// <summary>Contact normal stiffness in N/m.</summary>
    public double ContactStiffness { get; init; } = Defaults.contactStiffness;

    /// <summary>Contact normal damping in N s/m.</summary>
    public double ContactDamping { get; init; } = Defaults.contactDamping;

    /// <summary>Friction coefficient overriding the geoms' (0 = use the geoms').</summary>
    public double Friction { get; init; } = Defaults.friction;

    /// <summary>Steps per checkpoint segment for backward (0 = automatic, sqrt of the horizon; 1 = record every step).</summary>
    public int CheckpointEvery { get; init; } = Defaults.checkpointEvery;

    /// <summary>Raise (naming env and dof) when a step produces a non-finite state (default true).</summary>
    public bool CheckNonFinite { get; init; } = Defaults.checkNonFinite;

    /// <summary>Joint position limits (from the model files) enforced (default true).</summary>
    public bool EnableJointLimits { get; init; } = Defaults.enableJointLimits;

    /// <summary>Largest |qpos| or |qvel| entry a step may produce before it raises as an explosion, keeping the previous state (default 1e8; infinity disables).</summary>
    public double MaxStateMagnitude { get; init; } = Defaults.maxStateMagnitude;

    /// <summary>The engine's options with these values (the engine validates them).</summary>
    public Genesis.SimOptions ToFSharp() => new(
        _dtGiven ? Some(Dt) : null, Some(Substeps), _gravityGiven ? Some(Gravity.ToArray()) : null, Some(RequiresGrad),
        _integratorGiven ? Some(Integrator.ToFs()) : null,
        Some(EnableContact), Some(ContactStiffness), Some(ContactDamping), Some(Friction),
        Some(CheckpointEvery), Some(CheckNonFinite), Some(EnableJointLimits), Some(MaxStateMagnitude));

    /// <summary>The facade view of the engine's options.</summary>
    /// <param name="options">Engine options.</param>
    public static SimOptions FromFSharp(Genesis.SimOptions options)
    {
        var o = new SimOptions
        {
            Substeps = options.substeps,
            RequiresGrad = options.requiresGrad,
            EnableContact = options.enableContact,
            ContactStiffness = options.contactStiffness,
            ContactDamping = options.contactDamping,
            Friction = options.friction,
            CheckpointEvery = options.checkpointEvery,
            CheckNonFinite = options.checkNonFinite,
            EnableJointLimits = options.enableJointLimits,
            MaxStateMagnitude = options.maxStateMagnitude,
        };
        if (options.dtGiven) o = o with { Dt = options.dt };
        if (options.gravityGiven) o = o with { Gravity = options.gravity };
        return options.integratorGiven ? o with { Integrator = options.integrator.ToCs() } : o;
    }
}
