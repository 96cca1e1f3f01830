// Genesis' trajectory optimisation through the C# facade (the same computation as
// examples/Genesis.Examples/TrajectoryOptimization.fs): PD position targets for every step are
// optimised with Adam so that the two-link arm's end link reaches a target at the end of a 1 s
// horizon; scene.Reset() each epoch.
// Usage: dotnet run --project examples/CSharp.TrajectoryOptimization -c Release [-- epochs [prefix]]
// Writes prefix.html (the offline viewer of every 10th epoch and the last), prefix.gif (the last epoch) and
// prefix.png (the final pose), both from the software camera, and prints their full paths; the prefix defaults to
// trajectory-csharp in GENESIS_EXAMPLES_OUT, else out/examples (git-ignored); docs/images/trajectory-csharp.png
// comes from `-- 100 docs/images/trajectory-csharp`.
// Exits 0 when the loss went down, 1 otherwise.
using Genesis.CSharp;
using Genesis.CSharp.Examples;

int epochs = args.Length > 0 ? int.Parse(args[0]) : 100;
string prefix = Path.GetFullPath(args.Length > 1 ? args[1] : ExamplePaths.OutputPrefix("trajectory-csharp"));

Gs.Init(Backend.Cpu, precision: "64", seed: 0);

const int nSteps = 100;
var scene = new Scene(new SimOptions { Dt = 0.01, RequiresGrad = true });
var robot = scene.AddEntity(Morphs.Urdf(AssetPath("two_link_arm/two_link_arm.urdf"), fixedBase: true));
scene.Build();
var tip = robot.GetLink("arm2");
var target = Gs.Tensor([0.8, 0.0, -0.6]);
var controls = Gs.Zeros([nSteps, robot.NDofs], requiresGrad: true);
var adam = new Adam([controls], lr: 0.01);

var losses = new List<double>();
var recorder = scene.Record(every: 5);
for (int epoch = 0; epoch < epochs; epoch++)
{
    scene.Reset();
    adam.ZeroGrad();
    var recorded = epoch % 10 == 0 || epoch == epochs - 1 ? recorder : null;
    recorded?.Capture();
    for (int t = 0; t < nSteps; t++)
    {
        robot.ControlDofsPosition(controls[t]);
        scene.Step();
        recorded?.Capture();
    }
    var loss = (tip.GetPos() - target).Pow(2).Sum();
    recorded?.EndEpoch(loss.Item());
    loss.Backward();
    adam.Step();
    losses.Add(loss.Item());
    const int width = 30;
    int filled = (epoch + 1) * width / epochs;
    Console.WriteLine($"[{new string('#', filled)}{new string('.', width - filled)}] epoch {epoch + 1,3}/{epochs}  loss {loss.Item():0.000e+00}");
}

double[] cameraPos = [1.0, -2.7, 0.2], cameraLookat = [1.0, 0.0, -0.4];
Directory.CreateDirectory(Path.GetDirectoryName(prefix)!);
recorder.Recording.SaveHtml(prefix + ".html", "Trajectory optimisation (C#)");
recorder.Recording.SaveGif(prefix + ".gif", 320, 240, cameraPos, cameraLookat, fov: 45, frameMs: 50);
scene.AddCamera(320, 240, cameraPos, cameraLookat, fov: 45).SaveImage(prefix + ".png");
Console.WriteLine($"viewer written to {prefix}.html, animation to {prefix}.gif, final pose to {prefix}.png");

double first = losses[0], last = losses[^1];
Console.WriteLine($"loss: {first:0.000e+00} -> {last:0.000e+00} ({first / last:0}x lower)");
return last < first ? 0 : 1;

// The path of a file under the repository's assets/ folder.
static string AssetPath(string relative) => ExamplePaths.Asset(relative);
