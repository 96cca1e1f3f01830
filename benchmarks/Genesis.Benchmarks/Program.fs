/// Tensor and autodiff benchmarks (CPU). Every measurement is printed with a peer measured in the same run:
/// plain arrays, TensorPrimitives on raw arrays, MathNet.Numerics, or the primal for gradient cost.
/// Usage: dotnet run --project benchmarks/Genesis.Benchmarks -c Release [-- --quick] [--only small|large|matmul|gradient]
/// [--markdown FILE]; --spin MODE SECONDS runs one workload in a loop for a profiler (perf, dotnet-trace).
module Genesis.Benchmarks.Program

open System
open System.Numerics.Tensors
open Genesis
open Genesis.Benchmarks.Harness
open MathNet.Numerics.LinearAlgebra

/// The small-tensor chain: 20 x (mul, sin, add) = 60 ops on shape [3].
let smallOps = 60

let smallChain (x: Tensor) (c: Tensor) =
    let mutable y = x
    for _ in 1..20 do
        y <- (y * c).sin () + c
    y

/// The same chain on plain float[3] arrays (a new array per op, as a tensor op allocates its result).
let smallChainArrays (x: float[]) (c: float[]) =
    let mutable y = x
    for _ in 1..20 do
        let m = Array.map2 (*) y c
        let s = Array.map Math.Sin m
        y <- Array.map2 (+) s c
    y

/// A row timing f against its peer in alternating runs; `scale` divides both times (e.g. ops per call).
let pairRow (s: Settings) (name: string) (scale: float) (f: unit -> unit) (peerName: string) (peer: unit -> unit) (goal: string) =
    let tf, tp, ratio = measurePair s f peer
    { Name = name; Value = tf / scale; Unit = "ns"; Peer = peerName; PeerValue = tp / scale; Ratio = ratio; Goal = goal }

/// Per-op overhead on shape [3] in constant, forward and reverse mode.
let smallTensorOverhead (s: Settings) =
    let x = gs.tensor [ 0.3; -0.2; 0.5 ]
    let c = gs.tensor [ 0.9; 1.1; 0.7 ]
    let v = gs.tensor [ 1.0; 1.0; 1.0 ]
    let xa = x.toFloatArray ()
    let ca = c.toFloatArray ()
    let leaf = gs.tensor ([ 0.3; -0.2; 0.5 ], requiresGrad = true)
    let arrays () = sink <- smallChainArrays xa ca
    let peer = "float[3] arrays, new array per op"
    let ops = float smallOps
    printTable
        "Per-op overhead, shape [3] (60-op chain of mul, sin, add; time per op)"
        [ pairRow s "constant" ops (fun () -> sink <- smallChain x c) peer arrays ""
          pairRow s "forward (gs.jvp)" ops (fun () -> sink <- gs.jvp (fun t -> smallChain t c) x v) peer arrays ""
          pairRow s "reverse, recording only (requiresGrad)" ops (fun () -> sink <- smallChain leaf c) peer arrays ""
          pairRow s "reverse, record + backward()" ops (fun () -> (smallChain leaf c).backward v; leaf.zeroGrad ()) peer arrays "<= 1 us/op"
          pairRow s "reverse, gs.vjp" ops (fun () -> sink <- gs.vjp (fun t -> smallChain t c) x v) peer arrays "<= 1 us/op" ]

/// Elementwise add/mul/exp and sum of 1e6 float64 elements against a plain loop, TensorPrimitives and MathNet.
let largeTensorThroughput (s: Settings) (n: int) =
    let rnd = Random(1)
    let a = Array.init n (fun _ -> rnd.NextDouble() - 0.5)
    let b = Array.init n (fun _ -> rnd.NextDouble() - 0.5)
    let ta = gs.tensor a
    let tb = gs.tensor b
    let va = Vector<float>.Build.DenseOfArray(Array.copy a)
    let vb = Vector<float>.Build.DenseOfArray(Array.copy b)
    let dst = Array.zeroCreate<float> n
    let fresh () = GC.AllocateUninitializedArray<float> n
    let loop2 (f: float -> float -> float) () =
        let r = Array.zeroCreate<float> n
        for i in 0 .. n - 1 do
            r[i] <- f a[i] b[i]
        sink <- r
    let loopExp () =
        let r = Array.zeroCreate<float> n
        for i in 0 .. n - 1 do
            r[i] <- Math.Exp a[i]
        sink <- r
    let loopSum () =
        let mutable acc = 0.0
        for i in 0 .. n - 1 do
            acc <- acc + a[i]
        sink <- box acc
    let cases =
        [ "add", (fun () -> sink <- ta + tb), loop2 (+),
          (fun () -> TensorPrimitives.Add(ReadOnlySpan a, ReadOnlySpan b, Span dst)),
          (fun () -> let r = fresh () in TensorPrimitives.Add(ReadOnlySpan a, ReadOnlySpan b, Span r); sink <- r),
          (fun () -> sink <- va + vb)
          "mul", (fun () -> sink <- ta * tb), loop2 (*),
          (fun () -> TensorPrimitives.Multiply(ReadOnlySpan a, ReadOnlySpan b, Span dst)),
          (fun () -> let r = fresh () in TensorPrimitives.Multiply(ReadOnlySpan a, ReadOnlySpan b, Span r); sink <- r),
          (fun () -> sink <- va.PointwiseMultiply vb)
          "exp", (fun () -> sink <- ta.exp ()), loopExp,
          (fun () -> TensorPrimitives.Exp(ReadOnlySpan a, Span dst)),
          (fun () -> let r = fresh () in TensorPrimitives.Exp(ReadOnlySpan a, Span r); sink <- r),
          (fun () -> sink <- va.PointwiseExp())
          "sum", (fun () -> sink <- ta.sum ()), loopSum,
          (fun () -> sink <- box (TensorPrimitives.Sum(ReadOnlySpan a))),
          (fun () -> sink <- box (TensorPrimitives.Sum(ReadOnlySpan a))),
          (fun () -> sink <- box (va.Sum())) ]
    let rows =
        [ for name, genesis, loop, tpInto, tpNew, mathnet in cases do
              if name <> "sum" then
                  yield pairRow s (name + ": vs TensorPrimitives, new result") 1.0 genesis "TensorPrimitives + new array" tpNew "<= 1.5x"
              yield pairRow s (name + ": vs TensorPrimitives, into buffer") 1.0 genesis "TensorPrimitives, preallocated" tpInto (if name = "sum" then "<= 1.5x" else "(compute only)")
              yield pairRow s (name + ": vs plain loop") 1.0 genesis "for loop, new array" loop ""
              yield pairRow s (name + ": vs MathNet") 1.0 genesis "MathNet Vector<float>" mathnet "" ]
    printTable (sprintf "Large tensors: %g float64 elements (a Genesis op allocates its result)" (float n)) rows

/// 256 x 256 float64 matmul against MathNet's managed provider.
let matmulThroughput (s: Settings) (n: int) =
    let rnd = Random(2)
    let a = Array2D.init n n (fun _ _ -> rnd.NextDouble())
    let b = Array2D.init n n (fun _ _ -> rnd.NextDouble())
    let ta = gs.tensor a
    let tb = gs.tensor b
    let ma = Matrix<float>.Build.DenseOfArray a
    let mb = Matrix<float>.Build.DenseOfArray b
    printTable (sprintf "Matmul %d x %d (float64)" n n) [ pairRow s "matmul" 1.0 (fun () -> sink <- ta.matmul tb) "MathNet Matrix<float> *" (fun () -> sink <- ma * mb) "" ]

/// A scalar chain of 1000 ops (250 x sin, mul, mul, add).
let scalarChain (x: Tensor) =
    let mutable y = x
    for _ in 1..250 do
        y <- y.sin () * 0.9 + y * 0.1
    y

/// Reverse-mode gradient of the 1000-op scalar chain against its primal.
let gradientCost (s: Settings) =
    let x = gs.tensor 0.7
    let leaf = gs.tensor (0.7, requiresGrad = true)
    let primal () = sink <- scalarChain x
    let peer = "primal (1000 ops on constants)"
    printTable
        "Gradient of a 1000-op scalar chain (time / primal time)"
        [ pairRow s "gs.grad" 1.0 (fun () -> sink <- gs.grad scalarChain x) peer primal "<= 4x"
          pairRow s "requiresGrad + backward()" 1.0 (fun () -> (scalarChain leaf).backward (); leaf.zeroGrad ()) peer primal "<= 4x"
          pairRow s "recording only (requiresGrad)" 1.0 (fun () -> sink <- scalarChain leaf) peer primal ""
          pairRow s "gs.diff (forward mode)" 1.0 (fun () -> sink <- gs.diff scalarChain x) peer primal "" ]

[<EntryPoint>]
let main argv =
    let quick = Array.contains "--quick" argv
    let markdownFile =
        match Array.tryFindIndex ((=) "--markdown") argv with
        | Some i when i + 1 < argv.Length -> Some argv[i + 1]
        | _ -> None
    let s = if quick then { RunMs = 30.0; Runs = 3 } else { RunMs = 150.0; Runs = 7 }
    gs.init (backend = Backend.Cpu, precision = "64", seed = 1)
    match Array.tryFindIndex ((=) "--spin") argv with
    | Some i ->
        // a fixed workload to run under a profiler: --spin constant|forward|reverse SECONDS
        let mode = argv[i + 1]
        let seconds = float argv[i + 2]
        let x = gs.tensor [ 0.3; -0.2; 0.5 ]
        let c = gs.tensor [ 0.9; 1.1; 0.7 ]
        let leaf = gs.tensor ([ 0.3; -0.2; 0.5 ], requiresGrad = true)
        let sw = Diagnostics.Stopwatch.StartNew()
        let mutable n = 0
        while sw.Elapsed.TotalSeconds < seconds do
            match mode with
            | "constant" -> sink <- smallChain x c
            | "forward" -> sink <- gs.jvp (fun t -> smallChain t c) x c
            | "primal" -> sink <- scalarChain (gs.tensor 0.7)
            | "grad" -> sink <- gs.grad scalarChain (gs.tensor 0.7)
            | "record" -> sink <- scalarChain (gs.tensor (0.7, requiresGrad = true))
            | "backward" -> (scalarChain (gs.tensor (0.7, requiresGrad = true))).backward ()
            | _ -> (smallChain leaf c).backward c
            n <- n + 1
        printfn "%d chains, GCs gen0 %d gen1 %d gen2 %d, %.0f MB allocated, GC pauses %.2f s" n (GC.CollectionCount 0) (GC.CollectionCount 1) (GC.CollectionCount 2) (float (GC.GetTotalAllocatedBytes()) / 1e6) (GC.GetTotalPauseDuration()).TotalSeconds
        exit 0
    | None -> ()
    printfn "Genesis tensors and autodiff (CPU), float64, %d logical cores, %s, %s" Environment.ProcessorCount (Runtime.InteropServices.RuntimeInformation.FrameworkDescription) (Runtime.InteropServices.RuntimeInformation.OSDescription)
    printfn "each time is the median of %d runs of >= %.0f ms after a warm-up, in %s; each ratio is the median of per-run ratios, subject and peer timed in alternating runs" s.Runs s.RunMs (if Clock.threadCpuAvailable then "thread CPU time" else "wall-clock time")
    let sw = Diagnostics.Stopwatch.StartNew()
    // let tiered compilation reach its optimised code for the engine's hot paths before anything is timed
    let wx = gs.tensor [ 0.3; -0.2; 0.5 ]
    while sw.Elapsed.TotalSeconds < (if quick then 0.5 else 2.0) do
        sink <- gs.grad (fun t -> (smallChain t wx).sum ()) wx
        sink <- gs.jvp (fun t -> smallChain t wx) wx wx
        sink <- gs.grad scalarChain (gs.tensor 0.7)
    // --only small|large|matmul|gradient runs one section
    let only =
        match Array.tryFindIndex ((=) "--only") argv with
        | Some i when i + 1 < argv.Length -> Some argv[i + 1]
        | _ -> None
    let sections =
        [ "small", "Per-op overhead, shape [3]", (fun () -> smallTensorOverhead s)
          "large", "Large tensors, 1e6 elements", (fun () -> largeTensorThroughput s 1_000_000)
          "matmul", "Matmul 256 x 256", (fun () -> matmulThroughput s 256)
          "gradient", "Gradient cost", (fun () -> gradientCost s) ]
        |> List.filter (fun (key, _, _) -> only.IsNone || only = Some key)
        |> List.map (fun (_, title, run) -> title, run ())
    printfn ""
    printfn "total %.1f s" sw.Elapsed.TotalSeconds
    match markdownFile with
    | Some f ->
        let text = sections |> List.map (fun (title, rows) -> sprintf "### %s\n\n%s\n" title (markdown rows)) |> String.concat "\n"
        IO.File.WriteAllText(f, text)
        printfn "wrote %s" f
    | None -> ()
    0
