/// System identification: the two-link arm's link masses and joint damping are recovered from an observed trajectory
/// (joint angles and velocities every step under known forces) by gradient descent through the simulator.
module Genesis.Examples.SystemId

open System
open Genesis

/// The parameters identified: link masses (arm1, arm2) and joint damping (two hinges).
type Parameters = { masses: float[]; damping: float[] }

/// What an identification run produced.
type Result =
    { /// Loss (mean squared joint-angle error, rad^2) per epoch.
      losses: float[]
      /// The parameters that generated the observations.
      truth: Parameters
      /// The initial guess.
      guess: Parameters
      /// The identified parameters.
      found: Parameters }

let private steps = 100

/// Known excitation: forces on both joints, step t.
let private force (t: int) =
    let t = float t
    gs.tensor([| 4.0 * sin (0.11 * t) + 2.0 * sin (0.37 * t); 2.5 * cos (0.17 * t) + 1.5 * sin (0.53 * t) |])

/// Simulates the arm with the given parameter tensors and returns joint angles and velocities [steps; 4] (differentiable).
let private simulate (scene: Scene) (robot: RigidEntity) (masses: Tensor) (damping: Tensor) (recorder: Vis.Recorder option) =
    scene.reset()
    robot.setLinksMass(masses, linksIdx = [| 1; 2 |])
    robot.setDofsDamping(damping)
    recorder |> Option.iter (fun r -> r.capture())
    gs.stack(
        [| for t in 0 .. steps - 1 do
             robot.controlDofsForce(force t)
             scene.step()
             recorder |> Option.iter (fun r -> r.capture())
             yield gs.cat([ robot.getDofsPosition(); robot.getDofsVelocity() ]) |])

/// Identifies masses and damping from observations generated with `truth`, starting from `guess` (log-parameters,
/// Adam); writes the loss curve when given a PNG path, and with a visual prefix prefix.html (the viewer: the observed
/// motion as epoch 0, then the fitted model's every 25 epochs, coloured by loss) and prefix.gif (the last fit).
let runWith (epochs: int) (pngPath: string option) (visualPrefix: string option) =
    let truth = { masses = [| 1.3; 0.7 |]; damping = [| 0.3; 0.1 |] }
    let guess = { masses = [| 1.0; 1.0 |]; damping = [| 0.05; 0.05 |] }
    let scene = Scene(SimOptions(dt = 0.01, requiresGrad = true))
    let robot = scene.addEntity(Morphs.URDF(Assets.path "two_link_arm/two_link_arm.urdf", fixedBase = true))
    scene.build()
    let recorder = visualPrefix |> Option.map (fun _ -> Vis.Recorder(scene, every = 2))
    let observed = (gs.noGrad (fun () -> simulate scene robot (gs.tensor truth.masses) (gs.tensor truth.damping) recorder)).detach(true)
    recorder |> Option.iter (fun r -> r.endEpoch 0.0)
    let logMass = gs.tensor(guess.masses |> Array.map log, requiresGrad = true)
    let logDamping = gs.tensor(guess.damping |> Array.map log, requiresGrad = true)
    let adam = Adam([ logMass; logDamping ], lr = 0.05)
    let schedule = StepLR(adam, 50, gamma = 0.5)
    let losses = ResizeArray<float>()
    for epoch in 0 .. epochs - 1 do
        adam.zeroGrad()
        let recorded = recorder |> Option.filter (fun _ -> epoch % 25 = 0 || epoch = epochs - 1)
        let q = simulate scene robot (logMass.exp()) (logDamping.exp()) recorded
        let loss = (q - observed).pow(2.0).mean()
        recorded |> Option.iter (fun r -> r.endEpoch(loss.item()))
        loss.backward()
        adam.step()
        schedule.step()
        losses.Add(loss.item())
        if epoch % 25 = 0 || epoch = epochs - 1 then
            printfn "epoch %3d/%d  loss %.3e  masses %A  damping %A" (epoch + 1) epochs (loss.item())
                (logMass.exp().toFloatArray() |> Array.map (fun x -> Math.Round(x, 4))) (logDamping.exp().toFloatArray() |> Array.map (fun x -> Math.Round(x, 4)))
    let found = { masses = logMass.exp().toFloatArray(); damping = logDamping.exp().toFloatArray() }
    pngPath |> Option.iter (fun file ->
        Plots.saveLogCurve file "System identification (two-link arm masses, damping)" "log10 trajectory MSE" losses)
    match visualPrefix, recorder with
    | Some prefix, Some r ->
        Pictures.saveViewerAndGif prefix "System identification: observed motion (epoch 0) and fits" r.recording [| 1.0; -2.7; 0.2 |] [| 1.0; 0.0; -0.4 |] 40
    | _ -> ()
    { losses = losses.ToArray(); truth = truth; guess = guess; found = found }

/// runWith without pictures.
let run (epochs: int) (pngPath: string option) = runWith epochs pngPath None
