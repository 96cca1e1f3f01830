/// Timing shared by the physics benchmarks.
module Genesis.Benchmarks.Physics.Timing

open System.Diagnostics

/// Seconds per unit of `run n` (n units per call): the fastest of `windows` windows of at least budget / windows
/// seconds and minUnits units each (the machine is shared; the fastest window is the least disturbed). The caller
/// warms up first.
let fastestWindow (windows: int) (budget: float) (minUnits: int) (batch: int) (run: int -> unit) =
    let window () =
        let sw = Stopwatch.StartNew()
        let mutable n = 0
        while n < minUnits || sw.Elapsed.TotalSeconds < budget / float windows do
            run batch
            n <- n + batch
        sw.Elapsed.TotalSeconds / float n
    Array.init windows (fun _ -> window ()) |> Array.min
