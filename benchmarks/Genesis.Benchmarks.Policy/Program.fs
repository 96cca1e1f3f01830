/// Policy-gradient benchmark on the classic cart-pole with an MLP policy (4-32-1, tanh): throughput in env-steps/s of
/// the forward rollout alone (no gradients) and of a closed-loop rollout plus its backward, versus nEnvs; and the
/// graph a T-step closed loop holds (nodes, bytes of values) and its time, functional rollout versus imperative loop.
/// Usage: dotnet run --project benchmarks/Genesis.Benchmarks.Policy -c Release [-- --quick]
module Genesis.Benchmarks.Policy.Program

open System
open System.Diagnostics
open Genesis
open Genesis.NN

let private asset =
    let rec up (d: IO.DirectoryInfo) =
        if isNull d then failwith "assets/ not found"
        elif IO.Directory.Exists(IO.Path.Combine(d.FullName, "assets", "two_link_arm")) then IO.Path.Combine(d.FullName, "assets", "cartpole", "cartpole_classic.xml")
        else up d.Parent
    up (IO.DirectoryInfo(Environment.CurrentDirectory))

let private setup (n: int) (requiresGrad: bool) =
    let scene = Scene(SimOptions(dt = 0.02, requiresGrad = requiresGrad, enableContact = false))
    let robot = scene.addEntity(Morphs.MJCF asset)
    scene.build(nEnvs = n)
    scene, robot

let private start (scene: Scene) (robot: RigidEntity) (n: int) =
    scene.reset()
    robot.setDofsPosition(gs.fromArray(Array.init (2 * n) (fun i -> 0.1 * sin (float i)), shape = [ n; 2 ]))

let private policy (robot: RigidEntity) (net: Module) () =
    robot.controlDofsForce(net.forward(gs.cat([ robot.getDofsPosition(); robot.getDofsVelocity() ], 1)).tanh() * 10.0, dofsIdx = [| 0 |])

let private cost (robot: RigidEntity) () = robot.getDofsPosition().pow(2.0).sum(1)

/// Median seconds of f over reps runs (after one warm-up run).
let private time (reps: int) (f: unit -> unit) =
    f ()
    Array.init reps (fun _ ->
        let sw = Stopwatch.StartNew()
        f ()
        sw.Elapsed.TotalSeconds)
    |> Array.sort
    |> fun a -> a[a.Length / 2]

[<EntryPoint>]
let main argv =
    let quick = argv |> Array.contains "--quick"
    gs.init(precision = "64", seed = 0)
    let net = NN.mlp([ 4; 32; 1 ])
    let steps = 50
    printfn "Cart-pole, MLP 4-32-1 (tanh), %d steps per rollout, dt 0.02; %d CPU cores" steps Environment.ProcessorCount
    printfn ""
    printfn "%8s %18s %22s %10s" "nEnvs" "forward env-steps/s" "fwd+bwd env-steps/s" "bwd/fwd"
    for n in (if quick then [ 1; 16; 64 ] else [ 1; 4; 16; 64; 256; 1024 ]) do
        let reps = if n >= 256 then 1 else 3
        let fs, fr = setup n false
        let tf = time 5 (fun () ->
            start fs fr n
            gs.noGrad (fun () -> for _ in 1 .. steps do (policy fr net (); fs.step())))
        let gsn, gr = setup n true
        let tg = time reps (fun () ->
            start gsn gr n
            net.zeroGrad()
            let total = gsn.rollout(steps, policy gr net, net.parameters(), cost = cost gr)
            total.sum().backward())
        printfn "%8d %18.0f %22.0f %10.2f" n (float (n * steps) / tf) (float (n * steps) / tg) (tg / tf)
    printfn ""
    printfn "Graph held after a T-step closed loop (16 envs), functional rollout vs imperative loop (read, act, step):"
    printfn "%6s %12s %14s %10s %12s %14s %10s" "T" "fn nodes" "fn bytes" "fn s" "imp nodes" "imp bytes" "imp s"
    let n = 16
    let scene, robot = setup n true
    for t in (if quick then [ 64; 256 ] else [ 64; 256; 1024 ]) do
        let run (functional: bool) () =
            start scene robot n
            net.zeroGrad()
            let total =
                if functional then scene.rollout(t, policy robot net, net.parameters(), cost = cost robot)
                else
                    let mutable acc = null
                    for _ in 1 .. t do
                        policy robot net ()
                        scene.step()
                        let c = cost robot ()
                        acc <- if isNull acc then c else acc + c
                    acc
            let loss = total.sum()
            loss, ClosedLoop.graphSize loss
        let sizeOf functional = snd (run functional ())
        let (fnN, fnB), (impN, impB) = sizeOf true, sizeOf false
        let secs functional = time 1 (fun () -> (fst (run functional ())).backward())
        printfn "%6d %12d %14d %10.3f %12d %14d %10.3f" t fnN fnB (secs true) impN impB (secs false)
    0
