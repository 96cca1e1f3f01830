/// Physics step throughput: our array fast path (FastSim, and through Scene.step) and the Tensor path (Physics.step)
/// against MuJoCo 2.2.2's mj_step measured in the same process, same model files, dt and start state, contacts on.
/// Usage: dotnet run -c Release --project benchmarks/Genesis.Benchmarks.Physics [-- --quick] [--profile] [--model NAME]
/// (`-- --scaling`: cost against scene size, see Scaling.fs)
module Genesis.Benchmarks.Physics.Program

open System
open System.Diagnostics
open System.IO
open Genesis
open Genesis.Physics
open Genesis.Tests.Oracle
open Genesis.Benchmarks.Physics.Models

/// Seconds per step of `run n` (n steps per call): the fastest of 5 windows of at least budget / 5 seconds and minSteps
/// steps each, after a warm-up call (the machine is shared; the fastest window is the least disturbed).
let private secondsPerStep (budget: float) (minSteps: int) (batch: int) (run: int -> unit) =
    run (max 1 (min batch minSteps))
    Timing.fastestWindow 5 budget minSteps batch run

type private Row = { engine: string; envs: int; envStepsPerSecond: float }

let private printRows (mujoco: float option) (rows: Row list) =
    let cores = Environment.ProcessorCount
    printfn "  %-34s %6s %14s %10s %12s" "engine" "envs" "env-steps/s" "vs MuJoCo" "per core"
    for r in rows do
        let ratio = mujoco |> Option.map (fun mj -> sprintf "%9.2fx" (r.envStepsPerSecond / mj)) |> Option.defaultValue "       n/a"
        let perCore =
            match mujoco with
            | Some mj when r.envs > 1 && not (r.engine.StartsWith "MuJoCo") -> sprintf "%11.2fx" (r.envStepsPerSecond / float cores / mj)
            | _ -> ""
        printfn "  %-34s %6d %14s %10s %12s" r.engine r.envs (r.envStepsPerSecond.ToString("N0")) ratio perCore

/// MuJoCo's steps/s on the case from our start state (its own warm-up), and its contact count after the warm-up.
let private timeMuJoCo (case: Case) (qpos0: float[]) (budget: float) =
    if not (MuJoCo.isAvailable ()) then None
    else
        let dir = Path.Combine(Path.GetTempPath(), "genesis-bench-" + Guid.NewGuid().ToString("N"))
        Directory.CreateDirectory dir |> ignore
        try
            use m = case.mujoco dir
            if m.nq <> qpos0.Length then failwithf "%s: MuJoCo has nq = %d, we have %d" case.name m.nq qpos0.Length
            m.Qpos <- qpos0
            m.Qvel <- Array.zeroCreate m.nv
            m.Step case.warmup
            let ncon = int (m.DataScalar "ncon")
            let s = secondsPerStep budget 200 200 (fun n -> m.Step n)
            Some(1.0 / s, ncon)
        finally
            try Directory.Delete(dir, true) with _ -> ()

let private runCase (case: Case) (quick: bool) (profile: bool) =
    let budget = if quick then 0.15 else 1.0
    let model = Model.build (case.specs ()) DType.Float64
    let topo = model.topology
    let sp = { SimParams.defaults with dt = case.dt }
    let q0 = case.qpos topo
    // the start state for every engine but MuJoCo: the fast path's state after the warm-up
    let warm = FastSim(model, sp, 1)
    Array.blit q0 0 warm.qpos 0 topo.nq
    for _ in 1 .. case.warmup do warm.step()
    let mj = timeMuJoCo case q0 budget
    printfn ""
    printfn "%s: %s; nq %d, nv %d, dt %g, %d warm-up steps%s" case.name case.description topo.nq topo.nv case.dt case.warmup
        (match mj with Some(_, ncon) -> sprintf "; MuJoCo contacts after warm-up: %d" ncon | None -> "; MuJoCo unavailable")
    let rows = ResizeArray<Row>()
    mj |> Option.iter (fun (sps, _) -> rows.Add { engine = "MuJoCo 2.2.2 mj_step (1 thread)"; envs = 1; envStepsPerSecond = sps })
    // fast path over arrays
    for n in [ 1; 64; 1024 ] do
        let sim = FastSim(model, sp, n)
        for e in 0 .. n - 1 do
            Array.blit warm.qpos 0 sim.qpos (e * topo.nq) topo.nq
            Array.blit warm.qvel 0 sim.qvel (e * topo.nv) topo.nv
        let s = secondsPerStep budget (if n = 1 then 200 else 4) (if n = 1 then 100 else 1) (fun k -> for _ in 1 .. k do sim.step())
        rows.Add { engine = "fast path (FastSim)"; envs = n; envStepsPerSecond = float n / s }
    // fast path through Scene.step (tensors in and out)
    let scene = Scene(SimOptions(dt = case.dt, requiresGrad = false, checkNonFinite = false))
    for spec in case.specs () do scene.addEntity(MorphSpec spec) |> ignore
    scene.build()
    scene.setState ({ qpos = gs.tensor(warm.qpos); qvel = gs.tensor(warm.qvel); time = 0.0; linksPos = null; linksQuat = null })
    let s = secondsPerStep budget 100 50 (fun k -> for _ in 1 .. k do scene.step())
    rows.Add { engine = "fast path via Scene.step"; envs = 1; envStepsPerSecond = 1.0 / s }
    // Tensor path
    let tensorSizes = if quick then [ 1 ] else [ 1; 64; 1024 ]
    for n in tensorSizes do
        let state =
            { qpos = gs.tensor(warm.qpos).unsqueeze(0).expand([ n; topo.nq ])
              qvel = gs.tensor(warm.qvel).unsqueeze(0).expand([ n; topo.nv ])
              time = 0.0 }
        let control = { modes = Array.create topo.nv ControlMode.Force; values = gs.zeros([ n; topo.nv ]) }
        let mutable st = state
        let s = secondsPerStep (if n = 1 then budget else 0.0) (if n = 1 then 3 else 1) 1 (fun k -> for _ in 1 .. k do st <- Physics.step model sp st control)
        rows.Add { engine = "Tensor path (Physics.step)"; envs = n; envStepsPerSecond = float n / s }
    printRows (mj |> Option.map fst) (List.ofSeq rows)
    if profile then
        let state = { qpos = gs.tensor(warm.qpos).unsqueeze(0); qvel = gs.tensor(warm.qvel).unsqueeze(0); time = 0.0 }
        let control = { modes = Array.create topo.nv ControlMode.Force; values = gs.zeros([ 1; topo.nv ]) }
        printfn "  Tensor path stages (1 env):"
        printfn "    %-34s %10s %12s %12s" "stage" "kernels" "ms/call" "us/kernel"
        for name, f in Profile.stages model sp state control do
            let s, ops = Profile.measure budget f
            printfn "    %-34s %10d %12.3f %12.2f" name ops (s * 1e3) (if ops > 0L then s * 1e6 / float ops else 0.0)

/// The per-model table (acrobot, arm, quadruped, humanoid).
let private models (argv: string[]) =
    let quick = Array.contains "--quick" argv
    let profile = Array.contains "--profile" argv
    let only = argv |> Array.tryFindIndex ((=) "--model") |> Option.map (fun i -> argv[i + 1])
    gs.init(precision = "64")
    let total = Stopwatch.StartNew()
    printfn "Physics step benchmark%s: %d cores, .NET %s, MuJoCo %s" (if quick then " (--quick)" else "") Environment.ProcessorCount
        (Environment.Version.ToString()) (match MuJoCo.availability.Force() with Ok v -> sprintf "%d.%d.%d" (v / 100) (v / 10 % 10) (v % 10) | Error e -> "unavailable: " + e)
    if profile then
        printfn ""
        printfn "Single ops (float64):"
        for name, f in Profile.micro () do
            let s, ops = Profile.measure 0.2 f
            printfn "  %-34s %6d kernels %10.2f us" name ops (s * 1e6)
    for case in cases () do
        if only.IsNone || only = Some case.name then
            if case.name = "humanoid" && not (File.Exists humanoidXml) then printfn "\n%s: skipped (%s not installed: libmujoco-samples)" case.name humanoidXml
            else runCase case quick profile
    printfn ""
    printfn "total %.1f s" total.Elapsed.TotalSeconds
    0

[<EntryPoint>]
let main argv =
    if Array.contains "--scaling" argv then
        gs.init(precision = "64")
        Scaling.run argv
    else models argv
