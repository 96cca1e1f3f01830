/// The differentiable-simulation quick start of Genesis' guide: set an initial position that requires grad,
/// run 100 controlled steps, take an MSE loss to a target, back-propagate, and read initialPos.grad.
module Genesis.Examples.Quickstart

open Genesis

/// Runs the quick start (gs must be initialised) and returns (loss, initialPos.grad); with visualPrefix Some p it also
/// records the motion and writes p.html (the offline viewer) and p.gif (software camera).
let runWith (visualPrefix: string option) =
    let scene = Scene(SimOptions(dt = 0.01, requiresGrad = true))
    let robot = scene.addEntity(Morphs.URDF("two_link_arm/two_link_arm.urdf", fixedBase = true))
    scene.build()
    let initialPos = gs.tensor([ 0.3; -0.2 ], requiresGrad = true)
    robot.setDofsPosition(initialPos)
    let recorder = visualPrefix |> Option.map (fun _ -> Vis.Recorder(scene, every = 2))
    recorder |> Option.iter (fun r -> r.capture())
    let controls = gs.full([ 100; robot.nDofs ], 0.5, requiresGrad = true)
    for t in 0 .. 99 do
        robot.controlDofsForce(controls.[t])
        scene.step()
        recorder |> Option.iter (fun r -> r.capture())
    let target = gs.tensor([ 0.4; 0.2; -0.6 ])
    let tip = robot.getLink("arm2").getPos()
    let loss = (tip - target).pow(2.0).mean()
    loss.backward()
    printfn "quickstart: loss = %.6f" (loss.item())
    printfn "initialPos.grad = %O" initialPos.grad
    printfn "controls.grad[0] = %O" controls.grad.[0]
    match visualPrefix, recorder with
    | Some prefix, Some r ->
        Pictures.saveViewerAndGif prefix "Quick start: the two-link arm under constant torques" r.recording [| 1.0; -2.7; 0.2 |] [| 1.0; 0.0; -0.4 |] 40
    | _ -> ()
    loss.item(), initialPos.grad

/// Runs the quick start (gs must be initialised) and returns (loss, initialPos.grad).
let run () = runWith None
