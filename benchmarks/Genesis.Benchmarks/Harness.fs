/// A small Stopwatch harness: each measurement is the median of several timed runs after a warm-up, and every
/// result is printed next to a peer measured in the same process, as a ratio.
module Genesis.Benchmarks.Harness

open System
open System.Diagnostics
open System.Runtime.InteropServices

/// The calling thread's CPU time (clock_gettime CLOCK_THREAD_CPUTIME_ID on Linux). On a machine shared with
/// other work, CPU time counts only what the measured code used, where wall-clock time also counts the time it
/// waited for a core. Wall-clock time is the fallback elsewhere.
module Clock =
    [<Struct; StructLayout(LayoutKind.Sequential)>]
    type Timespec =
        val mutable Sec: int64
        val mutable NSec: int64

    [<DllImport("libc", EntryPoint = "clock_gettime")>]
    extern int private clockGettime(int clockId, Timespec& ts)

    let private threadCpuClock = 3

    /// True when thread CPU time is available.
    let threadCpuAvailable =
        RuntimeInformation.IsOSPlatform OSPlatform.Linux
        && (try
                let mutable ts = Timespec()
                clockGettime (threadCpuClock, &ts) = 0
            with _ -> false)

    /// Nanoseconds of CPU time used by this thread.
    let threadCpuNs () =
        let mutable ts = Timespec()
        clockGettime (threadCpuClock, &ts) |> ignore
        float ts.Sec * 1e9 + float ts.NSec

/// Run-length settings: the time each timed run lasts and how many runs are taken (median reported).
type Settings =
    { RunMs: float
      Runs: int }

/// Keeps results alive so that the JIT cannot drop the measured work.
let mutable sink: obj = null

/// Nanoseconds per call of f over one run of n calls (thread CPU time where available, else wall clock).
let private timeRun (n: int) (f: unit -> unit) =
    if Clock.threadCpuAvailable then
        let t0 = Clock.threadCpuNs ()
        for _ in 1..n do
            f ()
        (Clock.threadCpuNs () - t0) / float n
    else
        let sw = Stopwatch.StartNew()
        for _ in 1..n do
            f ()
        sw.Elapsed.TotalMilliseconds * 1e6 / float n

/// Warms f up for at least warmMs (and 3 calls) and returns the calls that fill runMs.
let private calibrate (s: Settings) (f: unit -> unit) =
    let warm = Stopwatch.StartNew()
    let mutable calls = 0
    while calls < 3 || warm.Elapsed.TotalMilliseconds < s.RunMs do
        f ()
        calls <- calls + 1
    max 1 (int (s.RunMs / (warm.Elapsed.TotalMilliseconds / float calls)))

let private median (xs: float[]) =
    let a = Array.sort xs
    a[a.Length / 2]

/// Median nanoseconds per call of f: warm up, calibrate the calls per run, then time `Runs` runs.
let measure (s: Settings) (f: unit -> unit) : float =
    let n = calibrate s f
    Array.init s.Runs (fun _ -> timeRun n f) |> median

/// f and its peer timed in alternating runs: (median ns of f, median ns of peer, median of the per-run ratios).
/// Alternating keeps the ratio honest on a machine whose load drifts during the run.
let measurePair (s: Settings) (f: unit -> unit) (peer: unit -> unit) =
    let nf = calibrate s f
    let np = calibrate s peer
    let runs = Array.init s.Runs (fun _ -> let tf = timeRun nf f in let tp = timeRun np peer in tf, tp)
    median (Array.map fst runs), median (Array.map snd runs), median (runs |> Array.map (fun (a, b) -> a / b))

/// One row of a results table.
type Row =
    { Name: string
      Value: float
      Unit: string
      Peer: string
      PeerValue: float
      /// Median of the per-run ratios value / peer value.
      Ratio: float
      Goal: string }

/// Formats a time in ns with a sensible unit.
let formatTime (ns: float) =
    if ns >= 1e6 then sprintf "%.2f ms" (ns / 1e6)
    elif ns >= 1e3 then sprintf "%.2f us" (ns / 1e3)
    else sprintf "%.0f ns" ns

/// Prints a section's rows as an aligned table (and returns them for the Markdown summary).
let printTable (title: string) (rows: Row list) =
    printfn ""
    printfn "## %s" title
    printfn "%-44s %14s   %-34s %14s %9s   %s" "measurement" "time" "peer" "peer time" "ratio" "goal"
    for r in rows do
        printfn "%-44s %14s   %-34s %14s %8.2fx   %s" r.Name (formatTime r.Value) r.Peer (formatTime r.PeerValue) r.Ratio r.Goal
    rows

/// The rows as a Markdown table.
let markdown (rows: Row list) =
    [ yield "| measurement | time | peer | peer time | ratio | goal |"
      yield "|---|---:|---|---:|---:|---|"
      for r in rows do
          yield sprintf "| %s | %s | %s | %s | %.2fx | %s |" r.Name (formatTime r.Value) r.Peer (formatTime r.PeerValue) r.Ratio r.Goal ]
    |> String.concat "\n"
