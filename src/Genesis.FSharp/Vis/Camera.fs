namespace Genesis.Vis

open System
open System.IO
open Genesis

/// Rendering of recordings (frames, GIF) with the software renderer.
module Render =
    /// Placed shapes of recorded env position `env` in a frame (visual or collision geometry; visual falls back to
    /// collision for a link without visuals).
    let internal placeFrame (r: Recording) (f: FrameRecord) (env: int) (collision: bool) : Placed[] =
        r.links
        |> Array.mapi (fun li l ->
            let p, q = Recording.linkPos r f env li, Recording.linkQuat r f env li
            // a link without visuals is drawn with its collision shapes
            (if collision || l.visuals.Length = 0 then l.collisions else l.visuals) |> Array.map (Raster.place p q))
        |> Array.concat

    /// Renders one frame of a recording.
    let frame (v: CameraView) (r: Recording) (f: FrameRecord) (env: int) (collision: bool) : Image =
        if env < 0 || env >= r.envs.Length then
            raise (GenesisException(sprintf "render: env position %d is out of range (the recording has %d envs)" env r.envs.Length))
        let rgb, depth = Raster.render v (placeFrame r f env collision)
        { width = v.width; height = v.height; rgb = rgb; depth = depth }

    /// The epoch of a recording by index (-1 = last); raises naming the count when out of range.
    let epochOf (r: Recording) (epoch: int) =
        let n = r.epochs.Length
        let k = if epoch < 0 then n + epoch else epoch
        if k < 0 || k >= n then raise (GenesisException(sprintf "recording has %d epochs; epoch %d does not exist" n epoch))
        r.epochs.[k]

    /// Renders every frame of one epoch (-1 = last) to RGB images.
    let frames (v: CameraView) (r: Recording) (epoch: int) (env: int) (collision: bool) : Image[] =
        (epochOf r epoch).frames |> Array.map (fun f -> frame v r f env collision)

/// Files of rendered recordings.
module RenderFiles =
    /// Writes one PNG per frame of an epoch (-1 = last) into a folder (frame_0000.png, ...); returns the paths.
    let saveFrames (r: Recording) (folder: string) (res: int * int) (pos: float[]) (lookat: float[]) (fov: float) (epoch: int) (env: int) (collision: bool) =
        let v = Raster.view res pos lookat [| 0.0; 0.0; 1.0 |] fov
        Directory.CreateDirectory folder |> ignore
        Render.frames v r epoch env collision
        |> Array.mapi (fun i img ->
            let path = Path.Combine(folder, sprintf "frame_%04d.png" i)
            ImageFiles.savePng path img.width img.height img.rgb
            path)

    /// Writes an animated GIF of an epoch (-1 = last), frameMs milliseconds per frame.
    let saveGif (r: Recording) (path: string) (res: int * int) (pos: float[]) (lookat: float[]) (fov: float) (epoch: int) (env: int) (collision: bool) (frameMs: int) =
        let v = Raster.view res pos lookat [| 0.0; 0.0; 1.0 |] fov
        let imgs = Render.frames v r epoch env collision
        ImageFiles.saveGif path v.width v.height (imgs |> Array.map (fun i -> i.rgb)) frameMs

    /// PNG bytes of `count` evenly spaced frames of an epoch (-1 = last), side by side (first frame on the left).
    let filmstripPng (r: Recording) (res: int * int) (pos: float[]) (lookat: float[]) (fov: float) (epoch: int) (env: int) (count: int) =
        let v = Raster.view res pos lookat [| 0.0; 0.0; 1.0 |] fov
        let frames = (Render.epochOf r epoch).frames
        if count < 1 || frames.Length = 0 then raise (GenesisException(sprintf "filmstrip: needs count >= 1 and frames, got count %d and %d frames" count frames.Length))
        let picks = Array.init count (fun k -> if count = 1 then frames.Length - 1 else k * (frames.Length - 1) / (count - 1))
        let tiles = picks |> Array.map (fun k -> Render.frame v r frames.[k] env false)
        let w, h = v.width, v.height
        let rgb = Array.zeroCreate<byte> (count * w * h * 3)
        tiles |> Array.iteri (fun t img ->
            for i in 0 .. h - 1 do
                Array.blit img.rgb (i * w * 3) rgb ((i * count * w + t * w) * 3) (w * 3))
        ImageFiles.pngBytes (count * w) h rgb

/// A camera in a scene (Genesis scene.add_camera): render() gives RGB and depth of the current state
/// from a deterministic software renderer (res = (width, height), up vector, vertical fov in degrees).
/// Rendering is not differentiable.
type Camera(scene: Scene, res: int * int, pos: float[], lookat: float[], up: float[], fov: float) =
    let mutable current = Raster.view res pos lookat up fov

    /// The view (resolution, pose, fov, focal length in pixels).
    member _.view = current
    /// Resolution (width, height).
    member _.res = current.width, current.height
    /// Vertical field of view (degrees).
    member _.fov = current.fov

    /// Moves the camera: eye pos, target lookat, up (default z).
    member _.setPose(pos: float[], lookat: float[], ?up: float[]) =
        current <- Raster.view (current.width, current.height) pos lookat (defaultArg up [| 0.0; 0.0; 1.0 |]) current.fov

    /// Renders env `env` (default 0) of the scene's current state, visual geometry unless collision = true.
    member _.renderImage(?env: int, ?collision: bool) : Image =
        let env = defaultArg env 0
        let n = max 1 scene.nEnvs
        if env < 0 || env >= n then raise (GenesisException(sprintf "camera render: env %d is out of range (the scene has %d envs)" env n))
        let rec' = Recorder(scene, envs = [| env |])
        rec'.capture()
        let r = rec'.recording
        Render.frame current r r.epochs.[0].frames.[0] 0 (defaultArg collision false)

    /// RGB [H; W; 3] (uint8, on the CPU whatever the backend) and depth [H; W] (float64 m along the viewing axis; +inf where empty).
    member c.render(?env: int, ?collision: bool) : Tensor * Tensor =
        let img = c.renderImage(?env = env, ?collision = collision)
        // uint8 is a CPU-only dtype: the image stays in host memory even on Backend.Gpu
        Tensor(TConst(Genesis.Cpu.CpuRawTensor.Instance.FromHostArray(img.rgb, [| img.height; img.width; 3 |])), null),
        gs.fromArray(img.depth, shape = [ img.height; img.width ], dtype = DType.Float64)

    /// Renders and writes a PNG file.
    member c.saveImage(path: string, ?env: int, ?collision: bool) =
        let img = c.renderImage(?env = env, ?collision = collision)
        ImageFiles.savePng path img.width img.height img.rgb

/// scene.addCamera and recording rendering members.
[<AutoOpen>]
module CameraExtensions =
    type Scene with
        /// A camera of resolution res = (width, height) at pos looking at lookat, vertical fov in degrees (default 40), up default z.
        member scene.addCamera(res: int * int, pos: float[], lookat: float[], ?fov: float, ?up: float[]) =
            Camera(scene, res, pos, lookat, defaultArg up [| 0.0; 0.0; 1.0 |], defaultArg fov 40.0)

    type Recording with
        /// Writes one PNG per frame of an epoch (-1 = last) into a folder (frame_0000.png, ...); returns the paths.
        member r.saveFrames(folder: string, res: int * int, pos: float[], lookat: float[], ?fov: float, ?epoch: int, ?env: int, ?collision: bool) =
            RenderFiles.saveFrames r folder res pos lookat (defaultArg fov 40.0) (defaultArg epoch -1) (defaultArg env 0) (defaultArg collision false)

        /// Writes an animated GIF of an epoch (-1 = last), frameMs per frame (default: the recorded frame period, at least 20 ms).
        member r.saveGif(path: string, res: int * int, pos: float[], lookat: float[], ?fov: float, ?epoch: int, ?env: int, ?collision: bool, ?frameMs: int) =
            let ms = defaultArg frameMs (max 20 (int (Math.Round(1000.0 * r.dt * float r.every))))
            RenderFiles.saveGif r path res pos lookat (defaultArg fov 40.0) (defaultArg epoch -1) (defaultArg env 0) (defaultArg collision false) ms
