// Genesis' differentiable-simulation quick start as an F# script (single source:
// examples/Genesis.Examples/Quickstart.fs). Needs the Release build of the engine:
//   dotnet build src/Genesis.FSharp -c Release
//   dotnet fsi examples/quickstart.fsx [output-prefix]
// Writes the motion's offline viewer and animation to output-prefix.html and .gif (default: quickstart in
// GENESIS_EXAMPLES_OUT, else out/examples, which git ignores) and prints their full paths.
#r "../src/Genesis.FSharp/bin/Release/net10.0/Genesis.FSharp.dll"
#load "Genesis.Examples/Assets.fs" "Genesis.Examples/Pictures.fs" "Genesis.Examples/Quickstart.fs"

open Genesis
open Genesis.Examples

let prefix = match fsi.CommandLineArgs with [| _; p |] -> p | _ -> Pictures.outputPrefix "quickstart"
gs.init(precision = "64", seed = 0)
let loss, initialPosGrad = Quickstart.runWith (Some prefix)
printfn "quickstart.fsx: loss %.6f, |initialPos.grad| = %.6f" loss (initialPosGrad.norm().item())
