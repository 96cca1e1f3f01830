/// Runs an example: `trajectory` (default; the README's main example) or `quickstart`.
module Genesis.Examples.Program

open Genesis

[<EntryPoint>]
let main argv =
    gs.init(precision = "64", seed = 0)
    match argv |> Array.tryHead |> Option.defaultValue "trajectory" with
    | "quickstart" ->
        Quickstart.run () |> ignore
        0
    | "trajectory" ->
        let epochs = if argv.Length > 1 then int argv[1] else 100
        let losses =
            TrajectoryOptimization.runWith epochs (Some(Assets.path "../docs/images/trajectory-loss.png")) (Some(Assets.path "../docs/images/trajectory"))
        printfn "loss: %.3e -> %.3e (%.0fx lower)" losses[0] losses[losses.Length - 1] (losses[0] / losses[losses.Length - 1])
        0
    | other ->
        eprintfn "unknown example '%s' (use trajectory or quickstart)" other
        2
