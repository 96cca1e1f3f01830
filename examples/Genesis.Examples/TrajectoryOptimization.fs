/// Genesis' trajectory optimisation: PD position targets for every step are optimised with Adam so that the
/// two-link arm's end link reaches a target at the end of a 1 s horizon; scene.reset() each epoch.
module Genesis.Examples.TrajectoryOptimization

open System
open Genesis

/// Camera of the pictures: in front of the arm's plane of motion (x-z), z up.
let cameraPos, cameraLookat = [| 1.0; -2.7; 0.2 |], [| 1.0; 0.0; -0.4 |]

/// Runs the optimisation (gs must be initialised) and returns the loss of each epoch; writes a loss-curve PNG when
/// given a path, and with visualPrefix Some p also p.html (the viewer: every 10th epoch and the last, coloured by
/// loss) and p.gif (the last epoch, software camera).
let runWith (epochs: int) (pngPath: string option) (visualPrefix: string option) =
    let nSteps = 100
    let scene = Scene(SimOptions(dt = 0.01, requiresGrad = true))
    let robot = scene.addEntity(Morphs.URDF("two_link_arm/two_link_arm.urdf", fixedBase = true))
    scene.build()
    let tip = robot.getLink "arm2"
    let target = gs.tensor([ 0.8; 0.0; -0.6 ])
    let controls = gs.zeros([ nSteps; robot.nDofs ], requiresGrad = true)
    let adam = Adam([ controls ], lr = 0.01)
    let losses = ResizeArray<float>()
    let recorder = visualPrefix |> Option.map (fun _ -> Vis.Recorder(scene, every = 5))
    for epoch in 0 .. epochs - 1 do
        scene.reset()
        adam.zeroGrad()
        let recorded = recorder |> Option.filter (fun _ -> epoch % 10 = 0 || epoch = epochs - 1)
        recorded |> Option.iter (fun r -> r.capture())
        for t in 0 .. nSteps - 1 do
            robot.controlDofsPosition(controls.[t])
            scene.step()
            recorded |> Option.iter (fun r -> r.capture())
        let loss = (tip.getPos() - target).pow(2.0).sum()
        recorded |> Option.iter (fun r -> r.endEpoch(loss.item()))
        loss.backward()
        adam.step()
        losses.Add(loss.item())
        let width = 30
        let filled = (epoch + 1) * width / epochs
        printfn "[%s%s] epoch %3d/%d  loss %.3e" (String('#', filled)) (String('.', width - filled)) (epoch + 1) epochs (loss.item())
    pngPath |> Option.iter (fun file ->
        Plots.saveLogCurve file "Trajectory optimisation (two-link arm, Adam lr 0.01)" "log10 loss" losses)
    match visualPrefix, recorder with
    | Some prefix, Some r -> Pictures.saveViewerAndGif prefix "Trajectory optimisation (two-link arm)" r.recording cameraPos cameraLookat 50
    | _ -> ()
    losses.ToArray()

/// Runs the optimisation (gs must be initialised) and returns the loss of each epoch; writes a loss-curve PNG when given a path.
let run (epochs: int) (pngPath: string option) = runWith epochs pngPath None
