/// Runs an example: `trajectory` (default; the README's main example), `quickstart [prefix]`, `cartpole [epochs]`,
/// `sysid [epochs]`, `pendulum [epochs]` or `go2-stand [epochs]`. Trajectory, cart-pole, sysid, pendulum and go2-stand
/// write their pictures into docs/images; the quick start writes prefix.html and prefix.gif (default: quickstart in
/// GENESIS_EXAMPLES_OUT, else out/examples).
module Genesis.Examples.Program

open Genesis

[<EntryPoint>]
let main argv =
    gs.init(precision = "64", seed = 0)
    match argv |> Array.tryHead |> Option.defaultValue "trajectory" with
    | "quickstart" ->
        let prefix = if argv.Length > 1 then argv[1] else Pictures.outputPrefix "quickstart"
        Quickstart.runWith (Some prefix) |> ignore
        0
    | "trajectory" ->
        let epochs = if argv.Length > 1 then int argv[1] else 100
        let losses =
            TrajectoryOptimization.runWith epochs (Some(Assets.path "../docs/images/trajectory-loss.png")) (Some(Assets.path "../docs/images/trajectory"))
        printfn "loss: %.3e -> %.3e (%.0fx lower)" losses[0] losses[losses.Length - 1] (losses[0] / losses[losses.Length - 1])
        0
    | "cartpole" ->
        let epochs = if argv.Length > 1 then int argv[1] else 200
        let r = CartPole.run epochs 64 (Some(Assets.path "../docs/images/cartpole-learning.png"))
        CartPole.show r.policy (System.Random(7)) 9 5.0 (Assets.path "../docs/images/cartpole")
        printfn "cart-pole: %d/100 random starts balanced for 5 s (pole within +-%.1f rad, cart within +-%.1f m); trained %d epochs in %.1f s"
            r.balanced CartPole.angleLimit CartPole.railLimit epochs r.trainSeconds
        if r.balanced >= 95 then 0 else 1
    | "sysid" ->
        let epochs = if argv.Length > 1 then int argv[1] else 300
        let r = SystemId.runWith epochs (Some(Assets.path "../docs/images/sysid-loss.png")) (Some(Assets.path "../docs/images/sysid"))
        let relErr = Array.map2 (fun f t -> abs (f - t) / t) (Array.append r.found.masses r.found.damping) (Array.append r.truth.masses r.truth.damping) |> Array.max
        printfn "system identification: masses %A (true %A), damping %A (true %A); largest relative error %.2e"
            r.found.masses r.truth.masses r.found.damping r.truth.damping relErr
        if relErr < 0.01 then 0 else 1
    | "pendulum" ->
        let epochs = if argv.Length > 1 then int argv[1] else 300
        let clock = System.Diagnostics.Stopwatch.StartNew()
        let shac = Pendulum.runShac epochs 64 32
        let apg = Pendulum.runApg shac.envSteps 64
        Plots.saveCurves (Assets.path "../docs/images/pendulum-learning.png")
            (sprintf "Pendulum swing-up: SHAC %d/100, APG %d/100 upright" shac.upright apg.upright) "mean reward per env-step"
            [ "SHAC", shac.rewards; "APG", apg.rewards ]
        Pendulum.show shac.policy (Assets.path "../docs/images/pendulum")
        printfn "pendulum APG: %d/100 hanging starts swung up and held within +-%.1f rad for the last %.0f s; trained %d env-steps in %.1f s"
            apg.upright Pendulum.uprightLimit Pendulum.holdSeconds apg.envSteps apg.trainSeconds
        printfn "pendulum SHAC: %d/100 hanging starts swung up and held within +-%.1f rad for the last %.0f s; trained %d epochs (%d env-steps) in %.1f s; example %.0f s"
            shac.upright Pendulum.uprightLimit Pendulum.holdSeconds epochs shac.envSteps shac.trainSeconds clock.Elapsed.TotalSeconds
        if shac.upright >= 90 then 0 else 1
    | "go2-stand" ->
        let epochs = if argv.Length > 1 then int argv[1] else 40
        let nEnvs = if argv.Length > 2 then int argv[2] else 256
        let r = Go2Stand.runWith Go2Stand.defaults epochs nEnvs (Some(Assets.path "../docs/images/go2-stand-learning.png")) (Some(Assets.path "../docs/images/go2-stand"))
        printfn "go2 stand-up: mean base height %.3f m -> %.3f m (target %.2f m), standing (base above %.2f m and upright after %.1f s) %.0f%% -> %.0f%% of 64 test envs; trained %d epochs over %d envs in %.1f s"
            r.heightBefore r.heightAfter Go2Stand.targetHeight Go2Stand.standingHeight (float Go2Stand.testSteps * Go2Stand.dt) (100.0 * r.standingBefore) (100.0 * r.standingAfter) epochs nEnvs r.trainSeconds
        0
    | other ->
        eprintfn "unknown example '%s' (use trajectory, quickstart, cartpole, sysid, pendulum or go2-stand)" other
        2
