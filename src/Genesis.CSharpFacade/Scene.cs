using System.Runtime.CompilerServices;
using Microsoft.FSharp.Core;
using static Genesis.CSharp.Fs;

namespace Genesis.CSharp;

/// <summary>
/// A simulation scene (Genesis gs.Scene; the engine's <c>Genesis.Scene</c>): add entities, build, step,
/// reset; with <see cref="SimOptions.RequiresGrad"/>, <see cref="Tensor.Backward"/> on a tensor of this scene
/// flows back through the recorded steps. One facade object per engine scene, so
/// <c>tensor.Scene == scene</c> holds.
/// </summary>
public sealed class Scene
{
    private static readonly ConditionalWeakTable<Genesis.Scene, Scene> Views = new();

    /// <summary>Creates a scene.</summary>
    /// <param name="options">Simulation options (null: the engine's defaults).</param>
    public Scene(SimOptions? options = null)
    {
        FSharp = new Genesis.Scene(Ref(options?.ToFSharp()));
        Views.Add(FSharp, this);
    }

    private Scene(Genesis.Scene value) => FSharp = value;

    /// <summary>The wrapped engine scene.</summary>
    public Genesis.Scene FSharp { get; }

    /// <summary>The facade view of an engine scene (the same object for the same scene).</summary>
    /// <param name="value">An engine scene.</param>
    public static Scene FromFSharp(Genesis.Scene value) => Of(value);

    internal static Scene Of(Genesis.Scene value) => Views.GetValue(value, v => new Scene(v));

    internal static FSharpOption<object>? Opt(Scene? scene) => scene is null ? null : Some<object>(scene.FSharp);

    /// <summary>The options this scene was created with.</summary>
    public SimOptions SimOptions => SimOptions.FromFSharp(FSharp.simOptions);

    /// <summary>True after <see cref="Build"/>.</summary>
    public bool IsBuilt => FSharp.isBuilt;

    /// <summary>Number of parallel environments (0 = not batched).</summary>
    public int NEnvs => FSharp.nEnvs;

    /// <summary>The time step in use (s): SimOptions' Dt when set, else the timestep a loaded MJCF states, else 0.01.</summary>
    public double Dt => FSharp.dt;

    /// <summary>Steps taken since build or the last reset.</summary>
    public int StepsTaken => FSharp.stepsTaken;

    /// <summary>Checkpoint segments recorded since build or the last reset (RequiresGrad with CheckpointEvery other than 1).</summary>
    public int RecordedSegments => FSharp.recordedSegments;

    /// <summary>The entities in the order they were added.</summary>
    public IReadOnlyList<RigidEntity> Entities => Array.ConvertAll(FSharp.entities, e => new RigidEntity(e));

    /// <summary>Adds an entity made from a morph (before <see cref="Build"/>).</summary>
    /// <param name="morph">A morph from <see cref="Morphs"/>.</param>
    public RigidEntity AddEntity(Morph morph) => new(FSharp.addEntity(morph.FSharp));

    /// <summary>Builds the model for <paramref name="nEnvs"/> parallel environments and sets the initial state.</summary>
    /// <param name="nEnvs">Number of environments (0 = not batched: no env dimension).</param>
    public void Build(int nEnvs = 0) => FSharp.build(Some(nEnvs));

    /// <summary>Advances the simulation by dt under the current controls.</summary>
    public void Step() => FSharp.step();

    /// <summary>Returns to the initial state (or <paramref name="state"/>, or <paramref name="qpos"/>/<paramref name="qvel"/>),
    /// clearing the recording and the backward flag; controls are zeroed. With <paramref name="envsIdx"/> (Genesis'
    /// envs_idx) only those envs are reset; the others keep their state (and, before a backward pass, its graph).</summary>
    /// <param name="state">A state from <see cref="GetState"/> (null: the initial state); with envsIdx its rows envsIdx are used.</param>
    /// <param name="envsIdx">The envs to reset (null: all, and the recording).</param>
    /// <param name="qpos">Positions [nq], [nEnvs, nq], or with envsIdx [envsIdx.Length, nq] (null: initial).</param>
    /// <param name="qvel">Velocities, shaped as qpos (null: zero).</param>
    public void Reset(SimState? state = null, int[]? envsIdx = null, Tensor? qpos = null, Tensor? qvel = null) =>
        FSharp.reset(Ref(state?.FSharp), Ref(envsIdx), Ref(qpos?.FSharp), Ref(qvel?.FSharp));

    /// <summary>The current state (its tensors carry this scene).</summary>
    public SimState GetState() => new(FSharp.getState());

    /// <summary>Number of active equality constraints (MJCF &lt;equality&gt;) of the built model.</summary>
    public int NEqualities => FSharp.nEqualities;

    /// <summary>The violation of each equality constraint at the current state ([nEq], or [nEnvs, nEq]): the norm of
    /// its residual (m for connect, m and sin(angle / 2) for weld, rad or m for joint), differentiable.</summary>
    public Tensor GetEqualityViolation() => new(FSharp.getEqualityViolation());

    /// <summary>Sets gravity; a tensor that requires grad receives d loss / d gravity through backward.</summary>
    /// <param name="gravity">Gravity [3] in m/s^2.</param>
    public void SetGravity(Tensor gravity) => FSharp.setGravity(gravity.FSharp);

    /// <summary>Sets contact stiffness, damping and friction (scalar tensors; any may require grad; null keeps the current value).</summary>
    /// <param name="stiffness">Normal stiffness in N/m.</param>
    /// <param name="damping">Normal damping in N s/m.</param>
    /// <param name="friction">Friction coefficient.</param>
    public void SetContactParams(Tensor? stiffness = null, Tensor? damping = null, Tensor? friction = null) =>
        FSharp.setContactParams(Ref(stiffness?.FSharp), Ref(damping?.FSharp), Ref(friction?.FSharp));

    /// <summary>A recorder of link poses every <paramref name="every"/> steps (see <see cref="Recorder"/>).</summary>
    /// <param name="every">Steps between frames.</param>
    /// <param name="envs">Env indices to record (null: all).</param>
    /// <param name="contacts">Also record contact points and forces.</param>
    public Recorder Record(int every = 1, int[]? envs = null, bool contacts = false) =>
        new(new Genesis.Vis.Recorder(FSharp, Some(every), Ref(envs), Some(contacts)));

    /// <summary>A camera (Genesis scene.add_camera) of the given resolution at <paramref name="pos"/> looking at <paramref name="lookat"/>.</summary>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="pos">Eye position.</param>
    /// <param name="lookat">Point looked at.</param>
    /// <param name="fov">Vertical field of view in degrees, in (0, 180).</param>
    /// <param name="up">Up direction (null: z).</param>
    public Camera AddCamera(int width, int height, double[] pos, double[] lookat, double fov = 40, double[]? up = null) =>
        new(new Genesis.Vis.Camera(FSharp, new Tuple<int, int>(width, height), pos, lookat, up ?? [0.0, 0.0, 1.0], fov));

    /// <summary>Replaces the current state.</summary>
    /// <param name="state">A state (qpos/qvel shaped [nq] or [nEnvs, nq]).</param>
    public void SetState(SimState state) => FSharp.setState(state.FSharp);
}

/// <summary>A snapshot of the simulation state (Genesis SimState; the engine's <c>Genesis.SimState</c>).</summary>
public sealed class SimState
{
    internal SimState(Genesis.SimState value) => FSharp = value;

    /// <summary>The wrapped engine state.</summary>
    public Genesis.SimState FSharp { get; }

    /// <summary>Generalised positions ([nq] or [nEnvs, nq]).</summary>
    public Tensor Qpos => new(FSharp.qpos);

    /// <summary>Generalised velocities ([nv] or [nEnvs, nv]).</summary>
    public Tensor Qvel => new(FSharp.qvel);

    /// <summary>Simulated time in seconds.</summary>
    public double Time => FSharp.time;

    /// <summary>Link origins ([nLinks, 3] or [nEnvs, nLinks, 3]).</summary>
    public Tensor LinksPos => new(FSharp.linksPos);

    /// <summary>Link orientations (w, x, y, z) ([nLinks, 4] or [nEnvs, nLinks, 4]).</summary>
    public Tensor LinksQuat => new(FSharp.linksQuat);
}
