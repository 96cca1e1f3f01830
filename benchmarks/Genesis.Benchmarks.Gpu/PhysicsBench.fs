/// The physics on the GPU backend against the CPU fast path on all cores, in the same run: env-steps/s of the
/// humanoid and the go2 on a plane against nEnvs, forward (scene.step) and forward+backward (a checkpointed rollout of
/// `horizon` steps under force controls that require grad, then backward), with the kernel launches per step, the
/// host-device transfers per step and the device memory held.
module Genesis.Benchmarks.Gpu.PhysicsBench

open System
open System.Diagnostics
open Genesis
open Genesis.Gpu

/// The asset folder (found from the working directory up).
let private asset (rel: string) =
    let rec up (dir: string) =
        let p = IO.Path.Combine(dir, "assets", rel)
        if IO.File.Exists p then p
        else
            match IO.Directory.GetParent dir with
            | null -> failwithf "assets/%s not found above %s" rel Environment.CurrentDirectory
            | parent -> up parent.FullName
    up Environment.CurrentDirectory

/// A model to measure: its name and the entities it adds (the robot driven by forces last).
type Case = { Name: string; Add: Scene -> RigidEntity }

let private cases =
    [ { Name = "humanoid"; Add = fun s -> s.addEntity(Morphs.MJCF(asset "mjcf/humanoid.xml")) }
      { Name = "go2"
        Add = fun s ->
            s.addEntity(Morphs.Plane()) |> ignore
            s.addEntity(Morphs.URDF(asset "go2/go2.urdf", pos = [| 0.0; 0.0; 0.42 |])) } ]

/// One measurement: env-steps/s forward and forward+backward; kernel launches and host-device transfers per forward
/// step, device bytes held after the forward steps.
type Row =
    { Case: string; Backend: string; Envs: int; Forward: float; Gradient: float; Launches: float; Transfers: float; DeviceBytes: int64 }

/// Small deterministic forces [nEnvs; n] for step t.
let private forces (n: int) (nEnvs: int) (t: int) (grad: bool) =
    gs.fromArray(Array.init (nEnvs * n) (fun i -> 0.2 * sin (0.3 * float t + 0.11 * float i)), shape = [ nEnvs; n ], requiresGrad = grad)

/// Seconds per call of f after one warm-up call, over at least minSeconds and 2 calls; with `before`, called after
/// the warm-up (to read counters), and the number of timed calls.
let private time (minSeconds: float) (sync: unit -> unit) (before: unit -> unit) (f: unit -> unit) =
    f ()
    sync ()
    before ()
    let sw = Stopwatch.StartNew()
    let mutable n = 0
    while n < 2 || sw.Elapsed.TotalSeconds < minSeconds do
        f ()
        n <- n + 1
    sync ()
    sw.Elapsed.TotalSeconds / float n, n

/// Measures one case at nEnvs on backend (gs must be initialised on it).
let private measure (case: Case) (backend: Backend) (device: GpuBackend) (nEnvs: int) (steps: int) (horizon: int) (minSeconds: float) =
    let onGpu = backend = Backend.Gpu
    let sync () = if onGpu then device.Synchronize()
    let scene = Scene(SimOptions(dt = 0.005, checkNonFinite = false))
    let robot = case.Add scene
    scene.build (nEnvs = nEnvs)
    robot.controlDofsForce(forces robot.nDofs nEnvs 0 false)
    let mutable launches0, transfers0 = 0L, 0L
    let forward, calls =
        time minSeconds sync (fun () -> launches0 <- device.KernelLaunches; transfers0 <- device.Uploads + device.Downloads) (fun () ->
            for _ in 1 .. steps do scene.step ())
    let stepsRun = float (calls * steps)
    let launches = float (device.KernelLaunches - launches0) / stepsRun
    let transfers = float (device.Uploads + device.Downloads - transfers0) / stepsRun
    let bytes = if onGpu then device.AllocatedBytes else 0L
    let gradScene = Scene(SimOptions(dt = 0.005, checkNonFinite = false, requiresGrad = true))
    let gradRobot = case.Add gradScene
    gradScene.build (nEnvs = nEnvs)
    let gradient, _ =
        time minSeconds sync ignore (fun () ->
            gradScene.reset ()
            let leaves = Array.init horizon (fun t -> forces gradRobot.nDofs nEnvs t true)
            for t in 0 .. horizon - 1 do
                gradRobot.controlDofsForce(leaves[t])
                gradScene.step ()
            let loss = gradRobot.getDofsVelocity().pow(2.0).sum()
            loss.backward ()
            leaves[0].grad |> ignore)
    { Case = case.Name
      Backend = (if onGpu then string device.Device else sprintf "cpu fast path (%d cores)" Environment.ProcessorCount)
      Envs = nEnvs
      Forward = float (nEnvs * steps) / forward
      Gradient = float (nEnvs * horizon) / gradient
      Launches = launches
      Transfers = transfers
      DeviceBytes = bytes }

/// Runs the physics table: nEnvs 1..16384 (quick: 1 env, one step, a 2-step gradient), GPU then CPU at each size.
let run (quick: bool) (device: GpuBackend) =
    let sizes = if quick then [ 1 ] else [ 1; 16; 128; 1024; 8192; 16384 ]
    let steps, horizon, minSeconds = (if quick then 1, 2, 0.0 else 5, 16, 1.0)
    printfn "-- physics: env-steps/s (forward = scene.step; gradient = %d-step checkpointed rollout + backward, per env-step)" horizon
    printfn "%-9s %-28s %6s %14s %14s %9s %12s %14s" "model" "backend" "envs" "forward/s" "gradient/s" "grad cost" "launches/st" "device bytes"
    GpuBackend.Default <- device
    for case in cases do
        for n in sizes do
            for backend in [ Backend.Gpu; Backend.Cpu ] do
                gs.destroy ()
                gs.init (backend = backend, precision = "32", seed = 0)
                try
                    let r = measure case backend device n steps horizon minSeconds
                    printfn "%-9s %-28s %6d %14.4g %14.4g %8.2fx %12s %14s" r.Case r.Backend r.Envs r.Forward r.Gradient (r.Forward / r.Gradient)
                        (if backend = Backend.Gpu then sprintf "%.0f" r.Launches else "-") (if backend = Backend.Gpu then string r.DeviceBytes else "-")
                    if backend = Backend.Gpu && r.Transfers > 0.0 then printfn "  (%.2f host-device transfers per forward step)" r.Transfers
                with :? GenesisException as e -> printfn "%-9s %-28s %6d  failed: %s" case.Name (string backend) n e.Message
                gs.destroy ()
