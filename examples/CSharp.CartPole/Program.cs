// Cart-pole balancing by analytic policy gradients through the C# facade (the same computation as
// examples/Genesis.Examples/CartPole.fs): an MLP policy (observation -> force on the cart) is trained through the
// differentiable simulator over 64 envs with random starts, in closed-loop rollouts with truncated windows
// (scene.Rollout), Adam and gradient clipping; then tested on 100 random starts for 5 s.
// Usage: dotnet run --project examples/CSharp.CartPole -c Release [-- epochs [png [prefix]]]
// Prints "cart-pole (C#): N/100 random starts balanced ..." and exits 0 when N >= 95, 1 otherwise. Writes the trained
// policy on nine new starts (one cart-pole per start) to prefix.html (offline viewer) and prefix.gif (the first start,
// software camera) and prints their full paths; the prefix defaults to cartpole-csharp in GENESIS_EXAMPLES_OUT, else
// out/examples (git-ignored). With png ("-" for none) it also writes the learning curve.
using System.Diagnostics;
using Genesis.CSharp;
using Genesis.CSharp.Examples;
using Genesis.CSharp.NN;

int epochs = args.Length > 0 ? int.Parse(args[0]) : 200;
string? png = args.Length > 1 && args[1] != "-" ? Path.GetFullPath(args[1]) : null;
string prefix = Path.GetFullPath(args.Length > 2 ? args[2] : ExamplePaths.OutputPrefix("cartpole-csharp"));

Gs.Init(Backend.Cpu, precision: "64", seed: 0);

const int nEnvs = 64, horizon = 100, window = 50;
const double maxForce = 10.0, railLimit = 2.4, angleLimit = 0.2;
var rnd = new Random(1);
var (scene, robot) = MakeScene(nEnvs, requiresGrad: true);
var net = Nn.Mlp([4, 32, 1], Activation.Tanh);
var adam = new Adam(net.Parameters(), lr: 0.01);
var weights = Gs.Tensor([0.1, 1.0]);

var losses = new List<double>();
var clock = Stopwatch.StartNew();
for (int epoch = 0; epoch < epochs; epoch++)
{
    scene.Reset();
    var (q, v) = SampleStarts(rnd, nEnvs);
    robot.SetDofsPosition(Gs.FromArray(q, [nEnvs, 2]));
    robot.SetDofsVelocity(Gs.FromArray(v, [nEnvs, 2]));
    adam.ZeroGrad();
    var total = scene.Rollout(horizon, () => Act(robot, net), net.Parameters(), cost: Cost, truncateEvery: window)!;
    var loss = total.Mean() / horizon;
    loss.Backward();
    Nn.ClipGradNorm(net.Parameters(), 1.0);
    adam.Step();
    losses.Add(loss.Item());
    if (epoch % 10 == 0 || epoch == epochs - 1)
        Console.WriteLine($"epoch {epoch + 1,3}/{epochs}  loss {loss.Item():0.0000}  ({clock.Elapsed.TotalSeconds:0.0} s)");
}
double trainSeconds = clock.Elapsed.TotalSeconds;

int balanced = Evaluate(net, new Random(12345), 100, 5.0);
Console.WriteLine($"cart-pole (C#): {balanced}/100 random starts balanced for 5 s (pole within +-{angleLimit} rad, cart within +-{railLimit} m); trained {epochs} epochs in {trainSeconds:0.0} s");
if (png is not null)
{
    using var plot = new ScottPlot.Plot();
    plot.Add.Scatter(Enumerable.Range(0, losses.Count).Select(i => (double)i).ToArray(), losses.Select(Math.Log10).ToArray());
    plot.Title($"Cart-pole APG (C#), {nEnvs} envs: {balanced}/100 balanced");
    plot.XLabel("epoch");
    plot.YLabel("log10 mean running cost");
    plot.SavePng(png, 640, 400);
    Console.WriteLine($"learning curve written to {png}");
}
Show(net, new Random(7), 9, 5.0, prefix);
return balanced >= 95 ? 0 : 1;

// Running cost on the state after each step: pole angle, cart position, velocities (per env).
Tensor Cost()
{
    var q = robot.GetDofsPosition();
    var v = robot.GetDofsVelocity();
    return (q * q * weights).Sum(1) + (v * v).Sum(1) * 0.01;
}

// Observation [B, 4] -> force maxForce tanh(net(obs)) on the cart.
static void Act(RigidEntity robot, Module net)
{
    var obs = Gs.Cat([robot.GetDofsPosition(), robot.GetDofsVelocity()], 1);
    robot.ControlDofsForce(net.Forward(obs).Tanh() * maxForce, dofsIdx: [0]);
}

// Random starts: cart in +-1 m, pole in +-0.15 rad, velocities in +-0.2.
static (double[] Q, double[] V) SampleStarts(Random rnd, int n)
{
    double U(double a) => (2.0 * rnd.NextDouble() - 1.0) * a;
    var q = new double[2 * n];
    var v = new double[2 * n];
    for (int e = 0; e < n; e++)
    {
        q[2 * e] = U(1.0);
        q[2 * e + 1] = U(0.15);
        v[2 * e] = U(0.2);
        v[2 * e + 1] = U(0.2);
    }
    return (q, v);
}

static (Scene, RigidEntity) MakeScene(int n, bool requiresGrad)
{
    var scene = new Scene(new SimOptions { Dt = 0.02, RequiresGrad = requiresGrad, EnableContact = false });
    var robot = scene.AddEntity(Morphs.Mjcf(AssetPath("cartpole/cartpole_classic.xml")));
    scene.Build(nEnvs: n);
    return (scene, robot);
}

// Starts held with the pole within +-angleLimit and the cart within +-railLimit for the whole time.
static int Evaluate(Module net, Random rnd, int trials, double seconds)
{
    var (scene, robot) = MakeScene(trials, requiresGrad: false);
    var (q, v) = SampleStarts(rnd, trials);
    robot.SetDofsPosition(Gs.FromArray(q, [trials, 2]));
    robot.SetDofsVelocity(Gs.FromArray(v, [trials, 2]));
    var ok = Enumerable.Repeat(true, trials).ToArray();
    using (Gs.NoGrad())
    {
        for (int t = 0; t < (int)Math.Round(seconds / 0.02); t++)
        {
            Act(robot, net);
            scene.Step();
            var p = robot.GetDofsPosition().ToArray();
            for (int e = 0; e < trials; e++)
                if (Math.Abs(p[2 * e]) > railLimit || Math.Abs(p[2 * e + 1]) > angleLimit) ok[e] = false;
        }
    }
    return ok.Count(x => x);
}

// Records the policy on `starts` new random starts (one env each) and writes prefix.html and prefix.gif.
static void Show(Module net, Random rnd, int starts, double seconds, string prefix)
{
    var (scene, robot) = MakeScene(starts, requiresGrad: false);
    var (q, v) = SampleStarts(rnd, starts);
    robot.SetDofsPosition(Gs.FromArray(q, [starts, 2]));
    robot.SetDofsVelocity(Gs.FromArray(v, [starts, 2]));
    var recorder = scene.Record(every: 2);
    using (Gs.NoGrad())
    {
        recorder.Capture();
        for (int t = 0; t < (int)Math.Round(seconds / 0.02); t++)
        {
            Act(robot, net);
            scene.Step();
            recorder.Capture();
        }
    }
    Directory.CreateDirectory(Path.GetDirectoryName(prefix)!);
    recorder.Recording.SaveHtml(prefix + ".html", $"Cart-pole balanced by a policy trained through the simulator (C#, {starts} starts)");
    recorder.Recording.SaveGif(prefix + ".gif", 320, 240, [0.0, -2.6, 0.6], [0.0, 0.0, 0.45], fov: 45, frameMs: 40);
    Console.WriteLine($"viewer written to {prefix}.html, animation to {prefix}.gif");
}

// The path of a file under the repository's assets/ folder.
static string AssetPath(string relative) => ExamplePaths.Asset(relative);
