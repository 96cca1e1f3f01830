// Genesis' differentiable-simulation quick start as an F# script (single source:
// examples/Genesis.Examples/Quickstart.fs). Needs the Release build of the engine:
//   dotnet build src/Genesis.FSharp -c Release
//   dotnet fsi examples/quickstart.fsx
#r "../src/Genesis.FSharp/bin/Release/net10.0/Genesis.FSharp.dll"
#load "Genesis.Examples/Assets.fs" "Genesis.Examples/Quickstart.fs"

open Genesis
open Genesis.Examples

gs.init(precision = "64", seed = 0)
let loss, initialPosGrad = Quickstart.run ()
printfn "quickstart.fsx: loss %.6f, |initialPos.grad| = %.6f" loss (initialPosGrad.norm().item())
