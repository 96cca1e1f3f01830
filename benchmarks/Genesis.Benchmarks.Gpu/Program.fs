/// Throughput of the GPU raw backend against the CPU raw backend measured in the same run: elementwise add and exp,
/// sum reduction (GB/s) and matmul (GFLOP/s), with the GPU/CPU speed ratio and the crossover size.
/// With --physics: the physics table instead (PhysicsBench: humanoid and go2, GPU scene vs the CPU fast path).
/// Usage: dotnet run --project benchmarks/Genesis.Benchmarks.Gpu -c Release -- [--quick] [--f64] [--physics]
module Genesis.Benchmarks.Gpu.Program

open System
open System.Diagnostics
open Genesis
open Genesis.Cpu
open Genesis.Gpu

/// Frees a raw tensor's device memory now (GPU), or leaves it to the GC (CPU).
let release (t: RawTensor) =
    match box t with
    | :? IDisposable as d -> d.Dispose()
    | _ -> ()

/// Seconds per call of op, timed over enough repetitions to last minSeconds (after one warm-up call that compiles).
let timeOp (minSeconds: float) (sync: unit -> unit) (op: unit -> RawTensor) =
    release (op ())
    sync ()
    let sw = Stopwatch.StartNew()
    let mutable reps = 0
    while sw.Elapsed.TotalSeconds < minSeconds || reps < 2 do
        release (op ())
        reps <- reps + 1
    sync ()
    sw.Elapsed.TotalSeconds / float reps

/// Random data of a dtype on a backend.
let upload (backend: IRawBackend) (dtype: DType) (shape: int[]) (seed: int) =
    let r = Random(seed)
    let n = Shape.numel shape
    let data: Array =
        if dtype = DType.Float64 then Array.init n (fun _ -> r.NextDouble() - 0.5) :> Array
        else Array.init n (fun _ -> float32 (r.NextDouble() - 0.5)) :> Array
    backend.FromHostArray(data, shape)

/// One row of results: name, size, seconds on CPU and GPU, and the work (bytes or flops) of one call.
type Row = { Op: string; Size: int; Cpu: float; Gpu: float; Work: float; Unit: string }

let printRow (r: Row) =
    let rate s = r.Work / s / 1e9
    printfn "%-8s %10d  %11.3f %9.3g  %11.3f %9.3g  %8.3gx" r.Op r.Size (r.Cpu * 1e3) (rate r.Cpu) (r.Gpu * 1e3) (rate r.Gpu) (r.Cpu / r.Gpu)

let crossover (rows: Row list) =
    for op in rows |> List.map (fun r -> r.Op) |> List.distinct do
        let mine = rows |> List.filter (fun r -> r.Op = op)
        match mine |> List.tryFind (fun r -> r.Gpu < r.Cpu) with
        | Some r -> printfn "crossover %-8s GPU faster from size %d (%.2fx there)" op r.Size (r.Cpu / r.Gpu)
        | None -> printfn "crossover %-8s none: the GPU backend is slower at every size measured" op

[<EntryPoint>]
let main argv =
    let quick = Array.contains "--quick" argv
    let dtype = if Array.contains "--f64" argv then DType.Float64 else DType.Float32
    let elem = float dtype.SizeInBytes
    let minSeconds = if quick then 0.05 else 0.3
    let sizes = if quick then [ 1_000; 10_000 ] else [ 1_000; 10_000; 100_000; 1_000_000; 10_000_000 ]
    let matSizes = if quick then [ 32; 64 ] else [ 64; 128; 256; 512; 1024; 2048 ]
    let gpuBackend =
        match Environment.GetEnvironmentVariable "GENESIS_GPU" with
        | "cpu" -> GpuBackend.createCpuAccelerator ()
        | _ ->
            try GpuBackend.createCuda ()
            with :? GenesisException as e ->
                let cut = e.Message.IndexOf ". Set"
                printfn "%s\nfalling back to ILGPU's CPU accelerator: GPU numbers are only indicative" (if cut > 0 then e.Message.Substring(0, cut) else e.Message)
                GpuBackend.createCpuAccelerator ()
    if Array.contains "--physics" argv then
        printfn "GPU backend: %O (%s), CPU: %d cores, %s" gpuBackend.Device gpuBackend.Accelerator.Name Environment.ProcessorCount (if quick then "quick" else "full")
        PhysicsBench.run quick gpuBackend
        gpuBackend.Dispose()
        exit 0
    let cpu = CpuRawTensor.Instance
    let gpu = gpuBackend :> IRawBackend
    printfn "GPU backend: %O (%s), CPU backend: %d cores, dtype %O, %s" gpu.Device gpuBackend.Accelerator.Name Environment.ProcessorCount dtype (if quick then "quick" else "full")
    printfn "%-8s %10s  %11s %9s  %11s %9s  %9s" "op" "size" "cpu ms" "cpu G/s" "gpu ms" "gpu G/s" "gpu/cpu"
    let rows = ResizeArray<Row>()
    let run (op: string) (size: int) (work: float) (unit: string) (f: IRawBackend -> (unit -> RawTensor)) =
        let c = timeOp minSeconds ignore (f cpu)
        let g = timeOp minSeconds gpuBackend.Synchronize (f gpu)
        let row = { Op = op; Size = size; Cpu = c; Gpu = g; Work = work; Unit = unit }
        printRow row
        rows.Add row
        max c g
    printfn "-- elementwise and reduction (G/s = GB/s of memory traffic)"
    for n in sizes do
        let inputs (b: IRawBackend) = upload b dtype [| n |] 1, upload b dtype [| n |] 2
        let withInputs (body: RawTensor -> RawTensor -> RawTensor) (b: IRawBackend) =
            let x, y = inputs b
            fun () -> body x y
        run "add" n (3.0 * elem * float n) "GB/s" (withInputs (fun x y -> x.Binary(BinaryKind.Add, y))) |> ignore
        run "exp" n (2.0 * elem * float n) "GB/s" (withInputs (fun x _ -> x.Unary UnaryKind.Exp)) |> ignore
        run "sum" n (elem * float n) "GB/s" (withInputs (fun x _ -> x.Reduce(ReduceKind.Sum, [| 0 |], false))) |> ignore
    printfn "-- matmul n x n (G/s = GFLOP/s, 2 n^3 flops)"
    let mutable stop = false
    for n in matSizes do
        if not stop then
            let slowest =
                run "matmul" n (2.0 * float n ** 3.0) "GFLOP/s" (fun b ->
                    let x = upload b dtype [| n; n |] 3
                    let y = upload b dtype [| n; n |] 4
                    fun () -> x.MatMul y)
            if slowest > (if quick then 0.5 else 10.0) then
                printfn "(stopping matmul: one call took %.1f s)" slowest
                stop <- true
    crossover (List.ofSeq rows)
    gpuBackend.Dispose()
    0
