// Genesis' differentiable-simulation quick start as an F# script (single source:
// examples/Genesis.Examples/Quickstart.fs). It references the engine as a user would, by its package:
// `bash tools/pack.sh` builds it into artifacts/packages, and that folder must be a package source, either once per
// machine (`dotnet nuget add source <clone>/artifacts/packages --name genesis-local`) or with a line
// `#i "nuget: <absolute path to the folder>"` above the #r (dotnet fsi takes no relative path there). Then, from any
// folder: dotnet fsi <clone>/examples/quickstart.fsx. CI passes the folder as a source through the environment
// (tools/package-env.sh). The robot is found under the assets the package ships (gs.assetsDir).
// Usage: dotnet fsi quickstart.fsx [output-prefix]: writes the motion's offline viewer and animation to
// output-prefix.html and .gif (default: quickstart in GENESIS_EXAMPLES_OUT, else out/examples under the current
// folder) and prints their full paths.
#r "nuget: Genesis.FSharp, 0.2.0"
#load "Genesis.Examples/Pictures.fs" "Genesis.Examples/Quickstart.fs"

open Genesis
open Genesis.Examples

let prefix = match fsi.CommandLineArgs with [| _; p |] -> p | _ -> Pictures.outputPrefix "quickstart"
gs.init(precision = "64", seed = 0)
let loss, initialPosGrad = Quickstart.runWith (Some prefix)
printfn "quickstart.fsx: loss %.6f, |initialPos.grad| = %.6f" loss (initialPosGrad.norm().item())
