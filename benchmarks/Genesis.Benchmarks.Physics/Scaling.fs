/// Cost against scene size (issue 19): steps/s and bytes allocated per step of our fast path (FastSim, one env) and
/// of MuJoCo 2.2.2's mj_step measured in the same process on the same generated MJCF file, for 1..100 humanoids
/// (contacts off on both sides: the tree's cost), chains of 1..1000 links (no contact) and 10..10,000 free spheres
/// resting on a plane (contacts on: the broad phase's cost), and 10,000 of which 100 rest on another (the islands' cost).
/// Usage: dotnet run -c Release --project benchmarks/Genesis.Benchmarks.Physics -- --scaling [--quick]
///        [--max-spheres N] [--max-links N] [--max-humanoids N] [--only humanoids|chain|spheres]
module Genesis.Benchmarks.Physics.Scaling

open System
open System.Diagnostics
open System.IO
open System.Xml.Linq
open Genesis
open Genesis.Physics
open Genesis.Tests.Oracle

/// One scene size.
type private Scene =
    { /// Family and size, printed.
      name: string
      /// Number of repeated units (humanoids, links, spheres): the per-unit cost divides by it.
      units: int
      /// Writes the MJCF into the folder and returns its path.
      write: string -> string
      /// Contacts on (both engines) or off.
      contact: bool
      /// Steps before timing.
      warmup: int }

let private samples = "/usr/share/mujoco/model"

/// N copies of 22_humanoids.xml's first humanoid (names prefixed hN_) with their motors, on a 2 m grid.
let private humanoids (n: int) (dir: string) =
    let doc = XDocument.Load(Path.Combine(samples, "humanoid", "22_humanoids.xml"))
    let root = doc.Root
    let world = root.Element(XName.Get "worldbody")
    let bodies = world.Elements(XName.Get "body") |> Seq.toArray
    let acts = root.Elements(XName.Get "actuator") |> Seq.toArray
    let body0, act0 = XElement(bodies[0]), XElement(acts[0])
    for b in bodies do b.Remove()
    for a in acts do a.Remove()
    let cols = int (ceil (sqrt (float n)))
    let renamed (e: XElement) (i: int) =
        let c = XElement(e)
        for a in c.DescendantsAndSelf() |> Seq.collect (fun d -> d.Attributes()) do
            if a.Value.StartsWith "1a_" then a.Value <- sprintf "h%d_%s" i (a.Value.Substring 3)
        c
    for i in 0 .. n - 1 do
        let b = renamed body0 i
        b.SetAttributeValue(XName.Get "pos", sprintf "%g %g 1.5" (2.0 * float (i % cols)) (2.0 * float (i / cols)))
        world.Add b
        root.Add(renamed act0 i)
    let path = Path.Combine(dir, sprintf "humanoids_%d.xml" n)
    doc.Save path
    path

/// A chain of n capsule links on hinges about y (no contact), hanging from the world.
let private chain (n: int) (dir: string) =
    let sb = Text.StringBuilder()
    sb.Append("<mujoco model=\"chain\"><option timestep=\"0.002\"/><worldbody>") |> ignore
    for i in 0 .. n - 1 do
        sb.AppendFormat("<body name=\"l{0}\" pos=\"{1} 0 0\"><joint name=\"j{0}\" type=\"hinge\" axis=\"0 1 0\" damping=\"0.01\"/>", i, (if i = 0 then "0" else "0.1"))
          .Append("<geom type=\"capsule\" fromto=\"0 0 0 0.1 0 0\" size=\"0.01\" contype=\"0\" conaffinity=\"0\"/>") |> ignore
    for _ in 1 .. n do sb.Append("</body>") |> ignore
    sb.Append("</worldbody></mujoco>") |> ignore
    let path = Path.Combine(dir, sprintf "chain_%d.xml" n)
    File.WriteAllText(path, sb.ToString())
    path

/// n free spheres (radius 0.05) resting on a plane on a 0.15 m grid, the first `stacked` of them carrying a second
/// sphere (n + stacked in all: each such pair is an island of the implicit contact solve).
let private spheres (n: int) (stacked: int) (dir: string) =
    let sb = Text.StringBuilder()
    // MuJoCo 2.2.2 keeps nconmax contacts (default 100); room for two per sphere
    sb.AppendFormat("<mujoco model=\"spheres\"><option timestep=\"0.002\"/><size nconmax=\"{0}\" njmax=\"{1}\"/><worldbody>", 2 * n + 100, 8 * n + 400) |> ignore
    sb.Append("<geom name=\"floor\" type=\"plane\" size=\"0 0 1\"/>") |> ignore
    let cols = int (ceil (sqrt (float n)))
    for i in 0 .. n - 1 do
        sb.AppendFormat(Globalization.CultureInfo.InvariantCulture, "<body name=\"s{0}\" pos=\"{1} {2} 0.05\"><freejoint/><geom type=\"sphere\" size=\"0.05\"/></body>", i, 0.15 * float (i % cols), 0.15 * float (i / cols)) |> ignore
        if i < stacked then
            sb.AppendFormat(Globalization.CultureInfo.InvariantCulture, "<body name=\"t{0}\" pos=\"{1} {2} 0.15\"><freejoint/><geom type=\"sphere\" size=\"0.05\"/></body>", i, 0.15 * float (i % cols), 0.15 * float (i / cols)) |> ignore
    sb.Append("</worldbody></mujoco>") |> ignore
    let path = Path.Combine(dir, sprintf "spheres_%d_%d.xml" n stacked)
    File.WriteAllText(path, sb.ToString())
    path

/// Seconds per step: the fastest of 3 windows of at least budget / 3 s and 2 steps each (the machine is shared).
let private secondsPerStep (budget: float) (step: unit -> unit) = Timing.fastestWindow 3 budget 2 1 (fun _ -> step ())

type private Result =
    { ours: float
      bytesPerStep: float
      firstStepBytes: float
      firstStepSeconds: float
      mujoco: float option
      nbody: int
      nv: int }

let private measure (budget: float) (s: Scene) (dir: string) =
    let file = s.write dir
    // ours: build, first step (work buffers are allocated there), then steady steps
    let a0 = GC.GetTotalAllocatedBytes true
    let sw = Stopwatch.StartNew()
    let spec = Mjcf.load file
    let model = Model.build [| spec |] DType.Float64
    let sp = { SimParams.defaults with dt = spec.options.timestep; enableContact = s.contact }
    let sim = FastSim(model, sp, 1)
    sim.step ()
    let firstSeconds = sw.Elapsed.TotalSeconds
    let firstBytes = float (GC.GetTotalAllocatedBytes true - a0)
    for _ in 2 .. s.warmup do sim.step ()
    let b0 = GC.GetAllocatedBytesForCurrentThread()
    let k = 3
    for _ in 1 .. k do sim.step ()
    let perStep = float (GC.GetAllocatedBytesForCurrentThread() - b0) / float k
    let ours = 1.0 / secondsPerStep budget sim.step
    let mj =
        if not (MuJoCo.isAvailable ()) then None
        else
            // MuJoCo 2.2.2's XML parser stops at 100 nested elements (its chains longer than ~97 links do not load)
            match (try Ok(MuJoCo.load file) with e -> Error e.Message) with
            | Error e ->
                eprintfn "%s: MuJoCo did not load the scene (n/a): %s" s.name e
                None
            | Ok m ->
                use m = m
                if not s.contact then m.SetOption("disableflags", 16.0) // mjDSBL_CONTACT
                m.Step s.warmup
                Some(1.0 / secondsPerStep budget (fun () -> m.Step 1))
    { ours = ours; bytesPerStep = perStep; firstStepBytes = firstBytes; firstStepSeconds = firstSeconds; mujoco = mj
      nbody = model.topology.nbody; nv = model.topology.nv }

/// Runs the scaling table (see the module comment for the arguments).
let run (argv: string[]) =
    let quick = Array.contains "--quick" argv
    let arg name d = argv |> Array.tryFindIndex ((=) name) |> Option.map (fun i -> int argv[i + 1]) |> Option.defaultValue d
    let only = argv |> Array.tryFindIndex ((=) "--only") |> Option.map (fun i -> argv[i + 1])
    let budget = if quick then 0.3 else 1.0
    let maxSpheres, maxLinks, maxHumanoids = arg "--max-spheres" 10000, arg "--max-links" 1000, arg "--max-humanoids" 100
    let haveSamples = File.Exists(Path.Combine(samples, "humanoid", "22_humanoids.xml"))
    let scenes =
        [ if haveSamples then
              for n in [ 1; 4; 22; 100 ] do
                  if n <= maxHumanoids then
                      yield "humanoids", { name = sprintf "%d humanoid%s" n (if n = 1 then "" else "s"); units = n; write = humanoids n; contact = false; warmup = 20 }
          for n in [ 1; 10; 90; 400; 1000 ] do
              if n <= maxLinks then
                  yield "chain", { name = sprintf "chain of %d links" n; units = n; write = chain n; contact = false; warmup = 5 }
          for n in [ 10; 100; 1000; 10000 ] do
              if n <= maxSpheres then
                  yield "spheres", { name = sprintf "%d spheres on a plane" n; units = n; write = spheres n 0; contact = true; warmup = 5 }
          // 100 of the spheres resting on another (100 islands of two trees)
          if maxSpheres >= 10000 then
              yield "spheres", { name = "9900 spheres + 100 stacked"; units = 10000; write = spheres 9900 100; contact = true; warmup = 5 } ]
        |> List.filter (fun (family, _) -> only.IsNone || only = Some family)
    if not haveSamples then printfn "humanoid scenes skipped: libmujoco-samples is not installed"
    printfn "Scaling (issue 19): %d cores, .NET %s, MuJoCo %s; fast path (FastSim, 1 env) vs mj_step, same MJCF file"
        Environment.ProcessorCount (Environment.Version.ToString())
        (match MuJoCo.availability.Force() with Ok v -> sprintf "%d.%d.%d" (v / 100) (v / 10 % 10) (v % 10) | Error e -> "unavailable: " + e)
    printfn "%-26s %6s %6s %7s %12s %12s %8s %11s %12s %11s %9s" "scene" "nbody" "nv" "contact" "ours st/s" "MuJoCo st/s" "ratio" "us/unit" "bytes/step" "1st step MB" "1st step s"
    let dir = Path.Combine(Path.GetTempPath(), "genesis-scaling-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory dir |> ignore
    try
        for _, s in scenes do
            try
                let r = measure budget s dir
                let mj = r.mujoco |> Option.map (fun v -> v.ToString("N1")) |> Option.defaultValue "n/a"
                let ratio = r.mujoco |> Option.map (fun v -> sprintf "%.2fx" (r.ours / v)) |> Option.defaultValue "n/a"
                printfn "%-26s %6d %6d %7s %12s %12s %8s %11.2f %12s %11.1f %9.2f" s.name r.nbody r.nv (if s.contact then "on" else "off")
                    (r.ours.ToString("N1")) mj ratio (1e6 / r.ours / float s.units) (r.bytesPerStep.ToString("N0")) (r.firstStepBytes / 1e6) r.firstStepSeconds
            with e -> printfn "%-26s failed: %s: %s" s.name (e.GetType().Name) e.Message
            GC.Collect()
    finally
        try Directory.Delete(dir, true) with _ -> ()
    0
