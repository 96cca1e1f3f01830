// Genesis' trajectory optimisation as an F# script (single source:
// examples/Genesis.Examples/TrajectoryOptimization.fs). Needs the Release builds of the engine and of
// that example project (whose output holds ScottPlot, used by the example's optional loss plot, at
// the version pinned in Directory.Packages.props; so the script restores no package):
//   dotnet build examples/Genesis.Examples -c Release
//   dotnet fsi examples/trajectory_optimization.fsx [epochs] [output-prefix]      (default 20)
// Writes the viewer (every 10th epoch and the last) and the last epoch's animation to output-prefix.html and .gif
// (default: trajectory in GENESIS_EXAMPLES_OUT, else out/examples, which git ignores) and prints their full paths.
// Exits 1 unless the loss went down.
#r "../src/Genesis.FSharp/bin/Release/net10.0/Genesis.FSharp.dll"
#r "Genesis.Examples/bin/Release/net10.0/ScottPlot.dll"
#load "Genesis.Examples/Assets.fs" "Genesis.Examples/Plots.fs" "Genesis.Examples/Pictures.fs" "Genesis.Examples/TrajectoryOptimization.fs"

open Genesis
open Genesis.Examples

let epochs = match fsi.CommandLineArgs with [| _ |] -> 20 | a -> int a[1]
let prefix = match fsi.CommandLineArgs with [| _; _; p |] -> p | _ -> Pictures.outputPrefix "trajectory"
gs.init(precision = "64", seed = 0)
let losses = TrajectoryOptimization.runWith epochs None (Some prefix)
let first, last = losses[0], losses[losses.Length - 1]
printfn "trajectory_optimization.fsx: loss %.3e -> %.3e (%.0fx lower)" first last (first / last)
if not (last < first) then exit 1
