// Genesis' trajectory optimisation as an F# script (single source:
// examples/Genesis.Examples/TrajectoryOptimization.fs). It references the engine as a user would, by its package
// (see examples/quickstart.fsx for making artifacts/packages a package source), and ScottPlot (the example's
// optional loss plot) at the version pinned in Directory.Packages.props. From any folder:
//   dotnet fsi <clone>/examples/trajectory_optimization.fsx [epochs] [output-prefix]      (default 20)
// Writes the viewer (every 10th epoch and the last) and the last epoch's animation to output-prefix.html and .gif
// (default: trajectory in GENESIS_EXAMPLES_OUT, else out/examples under the current folder) and prints their full
// paths.
// Exits 1 unless the loss went down.
#r "nuget: Genesis.FSharp, 0.2.0"
#r "nuget: ScottPlot, 5.1.59"
#load "Genesis.Examples/Plots.fs" "Genesis.Examples/Pictures.fs" "Genesis.Examples/TrajectoryOptimization.fs"

open Genesis
open Genesis.Examples

let epochs = match fsi.CommandLineArgs with [| _ |] -> 20 | a -> int a[1]
let prefix = match fsi.CommandLineArgs with [| _; _; p |] -> p | _ -> Pictures.outputPrefix "trajectory"
gs.init(precision = "64", seed = 0)
let losses = TrajectoryOptimization.runWith epochs None (Some prefix)
let first, last = losses[0], losses[losses.Length - 1]
printfn "trajectory_optimization.fsx: loss %.3e -> %.3e (%.0fx lower)" first last (first / last)
if not (last < first) then exit 1
