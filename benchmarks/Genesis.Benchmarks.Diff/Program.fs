/// Differentiable-simulation benchmark: forward rollout with recording, backward, gradient/forward ratio,
/// peak managed memory versus horizon with and without checkpointing, and AD versus central finite differences.
/// Usage: dotnet run --project benchmarks/Genesis.Benchmarks.Diff -c Release [-- --quick] [--steps: steps/s only]
module Genesis.Benchmarks.Diff.Program

open System
open System.Diagnostics
open Genesis

let private assets =
    let rec up (d: IO.DirectoryInfo) =
        if isNull d then failwith "assets/ not found"
        elif IO.Directory.Exists(IO.Path.Combine(d.FullName, "assets", "two_link_arm")) then IO.Path.Combine(d.FullName, "assets")
        else up d.Parent
    up (IO.DirectoryInfo(Environment.CurrentDirectory))

type private Robot =
    { name: string
      build: Scene -> RigidEntity }

let private arm =
    { name = "arm (iiwa14, 7 dofs)"
      build = fun s -> s.addEntity(Morphs.URDF(IO.Path.Combine(assets, "kuka_iiwa/iiwa14_spheres_collision.urdf"), fixedBase = true)) }

let private quadruped =
    { name = "quadruped (go2 on a plane, 18 dofs)"
      build = fun s ->
        s.addEntity(Morphs.Plane()) |> ignore
        s.addEntity(Morphs.URDF(IO.Path.Combine(assets, "go2/go2.urdf"), pos = [| 0.0; 0.0; 0.45 |])) }

/// A scene with the robot, built once, with gradients recorded and checkpoints every `checkpointEvery` steps.
let private sceneFor (robot: Robot) (checkpointEvery: int) =
    let scene = Scene(SimOptions(dt = 0.01, requiresGrad = true, checkpointEvery = checkpointEvery))
    let e = robot.build scene
    scene.build()
    scene, e

/// One rollout of T steps under PD position targets from the scene's initial state (scene.reset first, as an
/// optimisation loop does every epoch); returns the loss.
let private rolloutOn (scene: Scene, e: RigidEntity) (steps: int) (controls: Tensor) =
    scene.reset()
    for t in 0 .. steps - 1 do
        e.controlDofsPosition(controls.[t])
        scene.step()
    e.getLinksPos().pow(2.0).sum() + e.getDofsVelocity().pow(2.0).sum()

/// One rollout on a freshly built scene; returns the loss.
let private rollout (robot: Robot) (steps: int) (checkpointEvery: int) (controls: Tensor) =
    rolloutOn (sceneFor robot checkpointEvery) steps controls

let private time (f: unit -> 'a) =
    let sw = Stopwatch.StartNew()
    let r = f ()
    r, sw.Elapsed.TotalSeconds

/// Runs f until the runtime has finished compiling it: methods are first compiled without optimisation, then (after ~30
/// calls, in the background) with instrumentation, then optimised, so the gradient of one rollout reaches its steady
/// speed only after seconds of calls (4-5 s for the arm at T = 100 on 2 cores; up to 4x slower before). Calls f until
/// a window of at least one second and three calls compiles no method (at least 2 s, at most 60 s); returns the
/// seconds spent.
let private warmUp (f: unit -> unit) =
    let warm = Stopwatch.StartNew()
    let quietWindow () =
        let compiled = Runtime.JitInfo.GetCompiledMethodCount(false)
        let sw = Stopwatch.StartNew()
        let mutable calls = 0
        while calls < 3 || sw.Elapsed.TotalSeconds < 1.0 do
            f ()
            calls <- calls + 1
        Runtime.JitInfo.GetCompiledMethodCount(false) = compiled
    while not (quietWindow ()) && warm.Elapsed.TotalSeconds < 60.0 || warm.Elapsed.TotalSeconds < 2.0 do ()
    GC.Collect()
    warm.Elapsed.TotalSeconds

/// Seconds per call of f over `runs` calls in one loop after the warm-up. A loop charges each variant the garbage
/// collections its own allocations cause, which single timings attribute at random.
let private perCall (runs: int) (f: unit -> unit) =
    warmUp f |> ignore
    let (), t = time (fun () -> for _ in 1 .. runs do f ())
    t / float runs

/// Median seconds per rollout with recording and per backward pass, both timed in one loop of `runs` gradients on
/// one scene (reset before each rollout, so scene building is not timed). Medians, because this shared machine
/// slows down whole seconds at a time.
let private forwardAndBackward (runs: int) (robot: Robot) (steps: int) (every: int) (controls: Tensor) =
    let sc = sceneFor robot every
    let warm = warmUp (fun () -> (rolloutOn sc steps controls).backward())
    let tf, tb = Array.zeroCreate runs, Array.zeroCreate runs
    for r in 0 .. runs - 1 do
        let loss, f = time (fun () -> rolloutOn sc steps controls)
        let (), b = time (fun () -> loss.backward())
        tf[r] <- f
        tb[r] <- b
    let median (xs: float[]) = let s = Array.sort xs in if runs % 2 = 1 then s[runs / 2] else 0.5 * (s[runs / 2 - 1] + s[runs / 2])
    median tf, median tb, warm

let private measure (robot: Robot) (steps: int) (runs: int) =
    let probe = Scene(SimOptions(dt = 0.01))
    let n = (robot.build probe).nDofs
    let controls = gs.full([ steps; n ], 0.1, requiresGrad = true)
    // forward without recording (the array fast path) for reference
    let plain = Scene(SimOptions(dt = 0.01))
    let pe = robot.build plain
    plain.build()
    let tPlain = perCall runs (fun () -> plain.reset(); for t in 0 .. steps - 1 do (pe.controlDofsPosition(controls.[t].detach()); plain.step()))
    let fCk, bCk, warm = forwardAndBackward (max runs 10) robot steps 0 controls
    let fFull, bFull, _ = forwardAndBackward runs robot steps 1 controls
    printfn "| %s | %d | %.4f | %.4f | %.4f | %.2f | %.2f | %.0f | %.4f | %.4f | %.2f | %.1f |" robot.name steps tPlain fCk bCk (bCk / fCk) ((fCk + bCk) / fCk) warm fFull bFull ((fFull + bFull) / fFull) (min (fCk + bCk) (fFull + bFull) / tPlain)

let private peakMemory (robot: Robot) (steps: int) (checkpointEvery: int) =
    GC.Collect(2, GCCollectionMode.Forced, true, true)
    let before = GC.GetTotalMemory(true)
    let probe = Scene(SimOptions(dt = 0.01))
    let n = (robot.build probe).nDofs
    let controls = gs.full([ steps; n ], 0.1, requiresGrad = true)
    let loss = rollout robot steps checkpointEvery controls
    GC.Collect(2, GCCollectionMode.Forced, true, true)
    let held = GC.GetTotalMemory(true) - before
    loss.backward()
    GC.KeepAlive loss
    float held / 1048576.0

let private fdVersusAd (steps: int) =
    let robot = arm
    let n = 7
    let x0 = Array.init (steps * n) (fun i -> 0.1 * sin (float i))
    let lossOf (x: Tensor) = rollout robot steps 0 x
    let leaf = gs.fromArray(x0, shape = [ steps; n ], requiresGrad = true)
    let (), tAd = time (fun () -> (lossOf leaf).backward())
    let ad = leaf.grad.reshape([ -1 ]).toFloatArray()
    let h = 1e-5
    let fd, tFd =
        time (fun () ->
            Array.init x0.Length (fun i ->
                let xp = Array.copy x0
                let xm = Array.copy x0
                xp[i] <- xp[i] + h
                xm[i] <- xm[i] - h
                let f (x: float[]) = (lossOf (gs.fromArray(x, shape = [ steps; n ]))).item()
                (f xp - f xm) / (2.0 * h)))
    let err = Array.map2 (fun a b -> abs (a - b)) ad fd |> Array.max
    let scale = fd |> Array.map abs |> Array.max
    printfn "| arm, T = %d, %d parameters | %.3f | %.3f | %.0fx | %.2e |" steps x0.Length tAd tFd (tFd / tAd) (err / scale)

/// Steps per second of the (non-recorded) Tensor path on the assets, single and batched.
let private stepRates (quick: bool) =
    let models: (string * (Scene -> unit)) list =
        [ "acrobot (2 dofs)", (fun s -> s.addEntity(Morphs.URDF(IO.Path.Combine(assets, "acrobot/Acrobot.urdf"), fixedBase = true)) |> ignore)
          "arm (iiwa14, 7 dofs)", (fun s -> s.addEntity(Morphs.URDF(IO.Path.Combine(assets, "kuka_iiwa/iiwa14_spheres_collision.urdf"), fixedBase = true)) |> ignore)
          "quadruped (go2 on a plane)", (fun s -> s.addEntity(Morphs.Plane()) |> ignore; s.addEntity(Morphs.URDF(IO.Path.Combine(assets, "go2/go2.urdf"), pos = [| 0.0; 0.0; 0.45 |])) |> ignore)
          "humanoid (mjcf/humanoid.xml)", (fun s -> s.addEntity(Morphs.MJCF(IO.Path.Combine(assets, "mjcf/humanoid.xml"))) |> ignore) ]
    let rate (build: Scene -> unit) (nEnvs: int) (steps: int) =
        let scene = Scene(SimOptions(dt = 0.005))
        build scene
        scene.build(nEnvs = nEnvs)
        scene.step()
        let (), t = time (fun () -> for _ in 1 .. steps do scene.step())
        float (steps * max 1 nEnvs) / t
    printfn "Steps per second, Tensor path without recording, dt = 0.005, contacts on (env-steps/s when batched)"
    printfn ""
    printfn "| model | 1 env | nEnvs = 64 | nEnvs = 1024 |"
    printfn "|---|---|---|---|"
    for (name, build) in models do
        let n = if quick then 20 else 200
        let b64 = rate build 64 (if quick then 5 else 50)
        let b1024 = if quick then nan else rate build 1024 5
        printfn "| %s | %.0f | %.0f | %.0f |" name (rate build 0 n) b64 b1024

[<EntryPoint>]
let main argv =
    let quick = argv |> Array.contains "--quick"
    let runs = if quick then 5 else 10
    gs.init(precision = "64", seed = 0)
    if argv |> Array.contains "--steps" then
        stepRates quick
        exit 0
    printfn "Machine: %d cores, %s, .NET %s" Environment.ProcessorCount (Runtime.InteropServices.RuntimeInformation.OSDescription) (Environment.Version.ToString())
    printfn ""
    printfn "Rollout time (s per rollout, median over a loop of gradients after a warm-up: 10 checkpointed, %d with full" runs
    printfn "recording, 3 and 2 at T = 1000). Fast path: forward without gradients. Checkpointed"
    printfn "(default): forward on values; backward re-runs each segment saving every step, then hand-written adjoints."
    printfn "Full recording (checkpointEvery = 1):"
    printfn "forward records every op. Forward (scene.reset, T steps, the loss; the scene is built once) and backward are"
    printfn "timed in one loop of gradients after a warm-up that lasts until the runtime stops compiling (warm-up column,"
    printfn "seconds of gradients; before that the backward runs up to 4x slower). b/f = backward / forward; (f+b)/f ="
    printfn "(forward + backward) / forward of the same mode; grad/fast = the faster gradient (forward + backward) over the"
    printfn "fast-path forward."
    printfn ""
    printfn "| model | T | fast path | checkpointed fwd | backward | b/f | (f+b)/f | warm-up | full-recording fwd | backward | (f+b)/f | grad/fast |"
    printfn "|---|---|---|---|---|---|---|---|---|---|---|---|"
    let horizons = if quick then [ 100 ] else [ 100; 1000 ]
    for t in horizons do measure arm t (if t >= 1000 then 3 else runs)
    for t in (if quick then [ 20 ] else [ 100; 1000 ]) do measure quadruped t (if t >= 1000 then 2 else runs)
    printfn ""
    printfn "Managed memory held by the recorded graph after the forward pass (MiB), arm"
    printfn ""
    printfn "| T | full recording (checkpointEvery = 1) | checkpointed (automatic, ~sqrt T) |"
    printfn "|---|---|---|"
    for t in (if quick then [ 100; 400 ] else [ 100; 1000; 10000 ]) do
        let full = if t <= 1000 then sprintf "%.1f" (peakMemory arm t 1) else "(skipped: too large)"
        printfn "| %d | %s | %.1f |" t full (peakMemory arm t 0)
    printfn ""
    printfn "Gradient by AD (one backward) versus central finite differences (2 x parameters rollouts)"
    printfn ""
    printfn "| case | AD (s) | FD (s) | FD/AD | max rel. difference |"
    printfn "|---|---|---|---|---|"
    fdVersusAd (if quick then 5 else 20)
    0
