namespace Genesis.Vis

open System
open Genesis
open Genesis.Physics

/// Records link poses of a built scene every `every` steps for the chosen envs, one trajectory per
/// epoch, optionally with contact points and forces. Call capture() after each scene.step() (and
/// once after build/reset for the initial pose); newEpoch()/endEpoch(loss) separate trajectories.
/// Reading poses closes the scene's open checkpoint segment (gradients are unchanged).
type Recorder(scene: Scene, ?every: int, ?envs: int[], ?contacts: bool) =
    let k = defaultArg every 1
    do if k < 1 then raise (ArgumentException(sprintf "Recorder: every must be >= 1, got %d" k, "every"))
    let withContacts = defaultArg contacts false
    let epochs = ResizeArray<EpochRecord>()
    let frames = ResizeArray<FrameRecord>()
    let mutable loss = nan
    let mutable open' = false
    let mutable links: LinkRecord[] = [||]
    let mutable envIdx: int[] = [||]

    let ensureStarted () =
        if not scene.isBuilt then raise (GenesisException "Recorder: the scene is not built yet: call scene.build() first")
        if links.Length = 0 then
            links <- scene.entities |> Array.collect (fun e -> Recording.linksOf e.Spec)
            let n = max 1 scene.nEnvs
            envIdx <-
                match envs with
                | None -> Array.init n id
                | Some es ->
                    if es.Length = 0 then raise (ArgumentException("Recorder: envs is empty", "envs"))
                    match es |> Array.tryFind (fun e -> e < 0 || e >= n) with
                    | Some bad -> raise (ArgumentException(sprintf "Recorder: env %d is out of range (the scene has %d envs)" bad n, "envs"))
                    | None -> Array.copy es

    /// Values of a per-entity tensor [nLinks; k] or [nEnvs; nLinks; k], as [recordedEnvs; allLinks; k] flattened.
    let gather (get: RigidEntity -> Tensor) (k: int) =
        let perEntity = scene.entities |> Array.map (fun e -> e.nLinks, (get e).detach().toFloatArray())
        [| for env in envIdx do
               for nl, v in perEntity do
                   let o = if scene.nEnvs = 0 then 0 else env * nl * k
                   yield! v.[o .. o + nl * k - 1] |]

    let contactPoints () =
        let st = scene.State
        let cp = scene.simOptions.ToSimParams().contact
        [| for pf in Contact.pointForces scene.model cp scene.Kin st.qvel 0.0 do
               let pts = pf.points.point.detach().toFloatArray()
               let frc = pf.force.detach().toFloatArray()
               let n = pf.points.point.shape.[1]
               for k, env in Array.indexed envIdx do
                   for i in 0 .. n - 1 do
                       let o = (env * n + i) * 3
                       let f = frc.[o .. o + 2]
                       if f |> Array.exists (fun x -> x <> 0.0) then
                           yield { env = k; pos = pts.[o .. o + 2]; force = f } |]

    let close () =
        if open' then
            epochs.Add { epoch = epochs.Count; loss = loss; frames = frames.ToArray() }
            frames.Clear()
            loss <- nan
            open' <- false

    /// Steps between frames.
    member _.every = k

    /// Captures a frame when scene.stepsTaken is a multiple of `every` (once per step).
    member r.capture() =
        ensureStarted ()
        let step = scene.stepsTaken
        if step % k = 0 && not (open' && frames.Count > 0 && frames.[frames.Count - 1].step = step) then
            open' <- true
            frames.Add
                { step = step
                  time = scene.State.time
                  pos = gather (fun e -> e.getLinksPos()) 3
                  quat = gather (fun e -> e.getLinksQuat()) 4
                  contacts = if withContacts then contactPoints () else [||] }

    /// Ends the current trajectory (if any) and starts a new epoch at the next capture.
    member r.newEpoch() = close ()

    /// Ends the current trajectory with its loss.
    member r.endEpoch(loss': float) =
        loss <- loss'
        open' <- open' || frames.Count > 0
        close ()

    /// The recording so far (an open trajectory is included as the last epoch, loss NaN).
    member r.recording: Recording =
        ensureStarted ()
        let current = if open' then [| { epoch = epochs.Count; loss = loss; frames = frames.ToArray() } |] else [||]
        { links = links
          envs = Array.copy envIdx
          every = k
          dt = scene.simOptions.dt
          epochs = Array.append (epochs.ToArray()) current
          warnings = scene.entities |> Array.collect (fun e -> e.Spec.visualWarnings) }

/// Scene.record: a Recorder for the scene.
[<AutoOpen>]
module SceneRecordExtensions =
    type Scene with
        /// A recorder of link poses every `every` steps (default 1) for envs (default all), with contacts if asked.
        member scene.record(?every: int, ?envs: int[], ?contacts: bool) = Recorder(scene, ?every = every, ?envs = envs, ?contacts = contacts)
