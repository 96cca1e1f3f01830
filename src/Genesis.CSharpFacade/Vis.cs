using Microsoft.FSharp.Core;
using static Genesis.CSharp.Fs;
using FsRecording = Genesis.Vis.Recording;
using FsRecordingModule = Genesis.Vis.RecordingModule;

namespace Genesis.CSharp;

/// <summary>
/// Records link poses of a built scene every <see cref="Every"/> steps (the engine's <c>Genesis.Vis.Recorder</c>):
/// call <see cref="Capture"/> after each step, <see cref="EndEpoch"/> after each optimisation epoch.
/// </summary>
public sealed class Recorder
{
    internal Recorder(Genesis.Vis.Recorder value) => FSharp = value;

    /// <summary>The wrapped engine recorder.</summary>
    public Genesis.Vis.Recorder FSharp { get; }

    /// <summary>Steps between frames.</summary>
    public int Every => FSharp.every;

    /// <summary>Captures a frame when the scene's step count is a multiple of <see cref="Every"/>.</summary>
    public void Capture() => FSharp.capture();

    /// <summary>Ends the current trajectory; the next capture starts a new epoch.</summary>
    public void NewEpoch() => FSharp.newEpoch();

    /// <summary>Ends the current trajectory with its loss.</summary>
    /// <param name="loss">The epoch's loss.</param>
    public void EndEpoch(double loss) => FSharp.endEpoch(loss);

    /// <summary>The recording so far.</summary>
    public Recording Recording => new(FSharp.recording);
}

/// <summary>A recording (plain data: links, envs, one trajectory per epoch); JSON, HTML, PNG frames and GIF output.</summary>
public sealed class Recording
{
    internal Recording(FsRecording value) => FSharp = value;

    /// <summary>The wrapped engine recording (an F# record of arrays).</summary>
    public FsRecording FSharp { get; }

    /// <summary>Reads a recording saved with <see cref="Save"/>.</summary>
    /// <param name="path">JSON file.</param>
    public static Recording Load(string path) => new(FsRecordingModule.load(path));

    /// <summary>A recording from JSON text written by <see cref="ToJson"/>.</summary>
    /// <param name="json">JSON text.</param>
    public static Recording FromJson(string json) => new(FsRecordingModule.ofJson(json));

    /// <summary>Link names as "entity/link", in recording order.</summary>
    public IReadOnlyList<string> LinkNames => Array.ConvertAll(FSharp.links, l => l.entity + "/" + l.name);

    /// <summary>The scene's env indices that were recorded.</summary>
    public IReadOnlyList<int> Envs => FSharp.envs;

    /// <summary>Steps between frames.</summary>
    public int Every => FSharp.every;

    /// <summary>Time step of the scene in seconds.</summary>
    public double Dt => FSharp.dt;

    /// <summary>Number of epochs (trajectories).</summary>
    public int EpochCount => FSharp.epochs.Length;

    /// <summary>Skipped visual elements, one message each.</summary>
    public IReadOnlyList<string> Warnings => FSharp.warnings;

    /// <summary>The loss of an epoch (NaN when not given).</summary>
    /// <param name="epoch">Epoch index.</param>
    public double Loss(int epoch) => FSharp.epochs[epoch].loss;

    /// <summary>The step of every frame of an epoch.</summary>
    /// <param name="epoch">Epoch index.</param>
    public int[] Steps(int epoch) => Array.ConvertAll(FSharp.epochs[epoch].frames, f => f.step);

    /// <summary>Position [x, y, z] of a link in a frame.</summary>
    /// <param name="epoch">Epoch index.</param>
    /// <param name="frame">Frame index within the epoch.</param>
    /// <param name="env">Position of the env in <see cref="Envs"/>.</param>
    /// <param name="link">Link index (see <see cref="LinkNames"/>).</param>
    public double[] LinkPos(int epoch, int frame, int env, int link) =>
        FsRecordingModule.linkPos(FSharp, FSharp.epochs[epoch].frames[frame], env, link);

    /// <summary>Orientation [w, x, y, z] of a link in a frame.</summary>
    /// <param name="epoch">Epoch index.</param>
    /// <param name="frame">Frame index within the epoch.</param>
    /// <param name="env">Position of the env in <see cref="Envs"/>.</param>
    /// <param name="link">Link index (see <see cref="LinkNames"/>).</param>
    public double[] LinkQuat(int epoch, int frame, int env, int link) =>
        FsRecordingModule.linkQuat(FSharp, FSharp.epochs[epoch].frames[frame], env, link);

    /// <summary>The recording as JSON text.</summary>
    public string ToJson() => FsRecordingModule.toJson(FSharp);

    /// <summary>Writes the recording as JSON.</summary>
    /// <param name="path">Output file.</param>
    public void Save(string path) => FsRecordingModule.save(path, FSharp);

    /// <summary>Writes one self-contained offline HTML page showing the recording.</summary>
    /// <param name="path">Output file.</param>
    /// <param name="title">Page title.</param>
    public void SaveHtml(string path, string title = "Genesis recording") => Genesis.Vis.HtmlViewer.save(path, title, FSharp);

    /// <summary>The viewer as an iframe element (the page in srcdoc) for a notebook's HTML output: the robot inline, offline.</summary>
    /// <param name="title">Page title.</param>
    /// <param name="height">Height in pixels (at least 100).</param>
    public string IframeHtml(string title = "Genesis recording", int height = 480) => Genesis.Vis.HtmlViewer.iframe(title, height, FSharp);

    /// <summary>Writes an animated GIF of an epoch rendered by the software camera.</summary>
    /// <param name="path">Output file.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="pos">Camera position.</param>
    /// <param name="lookat">Point looked at.</param>
    /// <param name="fov">Vertical field of view in degrees.</param>
    /// <param name="epoch">Epoch (-1 = last).</param>
    /// <param name="env">Position of the env in <see cref="Envs"/>.</param>
    /// <param name="frameMs">Milliseconds per frame.</param>
    public void SaveGif(string path, int width, int height, double[] pos, double[] lookat, double fov = 40, int epoch = -1, int env = 0, int frameMs = 40) =>
        Genesis.Vis.RenderFiles.saveGif(FSharp, path, width, height, pos, lookat, fov, epoch, env, false, frameMs);

    /// <summary>Writes one PNG per frame of an epoch into a folder; returns the paths.</summary>
    /// <param name="folder">Output folder.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="pos">Camera position.</param>
    /// <param name="lookat">Point looked at.</param>
    /// <param name="fov">Vertical field of view in degrees.</param>
    /// <param name="epoch">Epoch (-1 = last).</param>
    /// <param name="env">Position of the env in <see cref="Envs"/>.</param>
    public string[] SaveFrames(string folder, int width, int height, double[] pos, double[] lookat, double fov = 40, int epoch = -1, int env = 0) =>
        Genesis.Vis.RenderFiles.saveFrames(FSharp, folder, width, height, pos, lookat, fov, epoch, env, false);
}

/// <summary>A rendered image: RGB bytes [H, W, 3] and depth [H, W] in metres (row 0 at the top).</summary>
public sealed class CameraImage
{
    internal CameraImage(Genesis.Vis.Image value) => FSharp = value;

    /// <summary>The wrapped engine image.</summary>
    public Genesis.Vis.Image FSharp { get; }

    /// <summary>Width in pixels.</summary>
    public int Width => FSharp.width;

    /// <summary>Height in pixels.</summary>
    public int Height => FSharp.height;

    /// <summary>Colour bytes [H, W, 3] flattened.</summary>
    public byte[] Rgb => FSharp.rgb;

    /// <summary>Depth along the viewing axis [H, W] flattened, in metres (+infinity where nothing is hit).</summary>
    public double[] Depth => FSharp.depth;
}

/// <summary>A camera in a scene (Genesis scene.add_camera): deterministic software rendering, not differentiable.</summary>
public sealed class Camera
{
    internal Camera(Genesis.Vis.Camera value) => FSharp = value;

    /// <summary>The wrapped engine camera.</summary>
    public Genesis.Vis.Camera FSharp { get; }

    /// <summary>Width in pixels.</summary>
    public int Width => FSharp.view.width;

    /// <summary>Height in pixels.</summary>
    public int Height => FSharp.view.height;

    /// <summary>Vertical field of view in degrees.</summary>
    public double Fov => FSharp.fov;

    /// <summary>Moves the camera.</summary>
    /// <param name="pos">Eye position.</param>
    /// <param name="lookat">Point looked at.</param>
    /// <param name="up">Up direction (null: z).</param>
    public void SetPose(double[] pos, double[] lookat, double[]? up = null) => FSharp.setPose(pos, lookat, Ref(up));

    /// <summary>RGB [H, W, 3] (UInt8, on the CPU) and depth [H, W] (Float64 metres) of the current state.</summary>
    /// <param name="env">Env index.</param>
    /// <param name="collision">Draw collision geometry instead of visual geometry.</param>
    public (Tensor Rgb, Tensor Depth) Render(int env = 0, bool collision = false)
    {
        var r = FSharp.render(Some(env), Some(collision));
        return (new Tensor(r.Item1), new Tensor(r.Item2));
    }

    /// <summary>The rendered image as bytes and depths.</summary>
    /// <param name="env">Env index.</param>
    /// <param name="collision">Draw collision geometry instead of visual geometry.</param>
    public CameraImage RenderImage(int env = 0, bool collision = false) => new(FSharp.renderImage(Some(env), Some(collision)));

    /// <summary>Renders and writes a PNG file.</summary>
    /// <param name="path">Output file.</param>
    /// <param name="env">Env index.</param>
    /// <param name="collision">Draw collision geometry instead of visual geometry.</param>
    public void SaveImage(string path, int env = 0, bool collision = false) => FSharp.saveImage(path, Some(env), Some(collision));
}
