module Genesis.Tests.Vis.BrowserTests

open System
open System.IO
open Expecto
open Genesis
open Genesis.Vis
open Genesis.Tests
open Genesis.Tests.Vis

/// Window size of the headless browser (the canvas is the window minus the 44 px control bar).
let private windowW, windowH = 800, 600

/// A red ball on a hinge (link "bob", its origin at the ball's centre) swinging above the ground, recorded for 2 epochs;
/// with envs > 0 a batched scene whose env e starts 0.5 rad further round than env e - 1.
let private pendulumRecording (envs: int) (dir: string) =
    let xml =
        """<mujoco model="pendulum"><worldbody><geom name="floor" type="plane" size="2 2 0.1" rgba="0.6 0.6 0.6 1"/>
<body name="arm" pos="0 0 1.2"><joint name="hinge" type="hinge" axis="1 0 0"/>
<geom type="capsule" fromto="0 0 0 0 0 -0.5" size="0.02" rgba="0.2 0.2 0.2 1"/>
<body name="bob" pos="0 0 -0.5"><geom type="sphere" size="0.08" rgba="1 0 0 1"/></body></body></worldbody></mujoco>"""
    let path = Path.Combine(dir, "pendulum.xml")
    File.WriteAllText(path, xml)
    let scene = Scene(SimOptions(dt = 0.01))
    let e = scene.addEntity(Morphs.MJCF path)
    scene.build(nEnvs = envs)
    let rec' = scene.record(every = 2, contacts = true)
    for epoch in 0 .. 1 do
        scene.reset()
        let angle k = 1.2 - 0.4 * float epoch - 0.5 * float k
        e.setDofsPosition(if envs = 0 then gs.tensor([ angle 0 ]) else gs.tensor(Array.init envs (fun k -> [| angle k |])))
        rec'.capture()
        for _ in 1 .. 60 do
            scene.step()
            rec'.capture()
        rec'.endEpoch(float (2 - epoch))
    rec'.recording

/// Pixels of the page's canvas: (width, height, RGBA rows top-down).
let private pixels (b: Chromium.Browser) =
    let v = b.Eval "window.genesisViewer.pixels()"
    let w, h = v.GetProperty("width").GetInt32(), v.GetProperty("height").GetInt32()
    let raw = Convert.FromBase64String(v.GetProperty("rgba").GetString())
    let flipped = Array.zeroCreate<byte> raw.Length
    for row in 0 .. h - 1 do
        Array.blit raw (row * w * 4) flipped ((h - 1 - row) * w * 4) (w * 4)
    w, h, flipped

/// Pixel (column, row from the top) of a world point under the page's camera (three.js column-major matrices).
let private project (b: Chromium.Browser) (p: float[]) =
    let m = b.Eval "window.genesisViewer.cameraMatrices()"
    let arr (name: string) = m.GetProperty(name).EnumerateArray() |> Seq.map (fun x -> x.GetDouble()) |> Seq.toArray
    let view, proj = arr "view", arr "proj"
    let mul (a: float[]) (v: float[]) = Array.init 4 (fun r -> Seq.sum (seq { for c in 0 .. 3 -> a.[c * 4 + r] * v.[c] }))
    let clip = mul proj (mul view [| p.[0]; p.[1]; p.[2]; 1.0 |])
    let w, h = m.GetProperty("width").GetDouble(), m.GetProperty("height").GetDouble()
    (clip.[0] / clip.[3] + 1.0) / 2.0 * w, (1.0 - clip.[1] / clip.[3]) / 2.0 * h

let private isRed (w: int) (px: byte[]) (x: int) (y: int) =
    let o = (y * w + x) * 4
    px.[o] > 150uy && px.[o + 1] < 90uy && px.[o + 2] < 90uy

/// How many pixels differ (red or blue channel) between the page's first and last animation frames.
let private firstLastDiffer (b: Chromium.Browser) =
    let n = b.Eval("window.genesisViewer.frameCount()").GetInt32()
    b.Eval "window.genesisViewer.setFrame(0)" |> ignore
    let _, _, px0 = pixels b
    b.Eval(sprintf "window.genesisViewer.setFrame(%d)" (n - 1)) |> ignore
    let _, _, px1 = pixels b
    Array.init (px0.Length / 4) (fun k -> px0.[4 * k] <> px1.[4 * k] || px0.[4 * k + 2] <> px1.[4 * k + 2]) |> Array.filter id |> Array.length

/// Opens the page written by `write dir` (returning its path) in headless Chromium once `ready` is true.
let private withPageReady (ready: string) (write: string -> string) (f: Chromium.Browser -> string -> unit) =
    GsSetup.ensure64 ()
    let dir = Path.Combine(Path.GetTempPath(), "genesis-browser-" + Guid.NewGuid().ToString "N")
    Directory.CreateDirectory dir |> ignore
    try
        let html = write dir
        use b = Chromium.Browser.launch (windowW, windowH)
        let url = Uri(html).AbsoluteUri
        b.Open(url, ready)
        f b url
    finally
        try Directory.Delete(dir, true) with _ -> ()

/// Opens a viewer page (written by `write dir`), paused.
let private withPageOf (write: string -> string) (f: Chromium.Browser -> string -> unit) =
    withPageReady "window.genesisReady === true" write (fun b url ->
        b.Eval "window.genesisViewer.pause()" |> ignore
        f b url)

let private withPendulumPage (envs: int) (f: Chromium.Browser -> Recording -> string -> unit) =
    let recording = ref None
    withPageOf
        (fun dir ->
            let r = pendulumRecording envs dir
            let html = Path.Combine(dir, "pendulum.html")
            r.saveHtml html
            recording.Value <- Some r
            html)
        (fun b url -> f b recording.Value.Value url)

let private withPage f = withPendulumPage 0 f

/// How many pixels differ (any of R, G, B) between two canvases of the same size.
let private differing (a: byte[]) (b: byte[]) =
    Array.init (a.Length / 4) (fun k -> a.[4 * k] <> b.[4 * k] || a.[4 * k + 1] <> b.[4 * k + 1] || a.[4 * k + 2] <> b.[4 * k + 2]) |> Array.filter id |> Array.length

/// True when a red pixel lies within 1 px of where the page's camera projects p (and p is inside the canvas).
let private redAt (b: Chromium.Browser) (p: float[]) =
    let x, y = project b p
    let w, h, px = pixels b
    let xi, yi = int (round x), int (round y)
    xi > 2 && xi < w - 2 && yi > 2 && yi < h - 2 && ([ for dx in -1 .. 1 do for dy in -1 .. 1 -> isRed w px (xi + dx) (yi + dy) ] |> List.exists id)

/// Loaded without console errors or network requests, a non-blank canvas (most common colour under 97 %).
let private checkClean (b: Chromium.Browser) (url: string) =
    Expect.isEmpty (b.Errors()) "console errors"
    let others = b.Requests() |> List.filter (fun u -> u <> url)
    Expect.isEmpty others "network requests besides the page itself"
    let w, h, px = pixels b
    Expect.isGreaterThan (w * h) 100000 "canvas size"
    let colours = Array.init (w * h) (fun k -> (int px.[4 * k] <<< 16) ||| (int px.[4 * k + 1] <<< 8) ||| int px.[4 * k + 2]) |> Array.countBy id
    let background = colours |> Array.maxBy snd |> snd
    Expect.isGreaterThan (colours.Length) 10 "several colours (shaded geometry, grid; a blank canvas has one)"
    Expect.isLessThan (float background / float (w * h)) 0.97 "not one flat colour (a blank canvas is 100 %)"

/// An example's page: `write prefix` writes prefix.html and prefix.gif into a fresh folder; the page must load clean
/// (checkClean), its first and last frames must differ where the robot moves, and `check` adds the example's own.
let private examplePage (name: string) (write: string -> unit) (check: Chromium.Browser -> unit) =
    withPageOf
        (fun dir ->
            let prefix = Path.Combine(dir, name)
            write prefix
            Expect.isTrue (File.Exists(prefix + ".gif")) (name + ": GIF written")
            prefix + ".html")
        (fun b url ->
            checkClean b url
            check b
            Expect.isGreaterThan (firstLastDiffer b) 200 (name + ": first and last frames differ"))

[<Tests>]
let tests =
    testList "Vis.Browser" [
        test "the page loads offline: no console error, no network request, a non-blank WebGL canvas" {
            withPage (fun b _ url -> checkClean b url)
        }
        test "two animation times differ where the robot moves; the ball is drawn at its projected pixel" {
            withPage (fun b r _ ->
                let bob = Recording.linkIndex r "bob"
                let frames = r.epochs.[r.epochs.Length - 1].frames
                let check (k: int) =
                    Expect.equal (b.Eval(sprintf "window.genesisViewer.setFrame(%d)" k).GetInt32()) k "frame set"
                    let p = Recording.linkPos r frames.[k] 0 bob
                    let x, y = project b p
                    let w, h, px = pixels b
                    let xi, yi = int (round x), int (round y)
                    Expect.isTrue (xi > 20 && xi < w - 20 && yi > 20 && yi < h - 20) (sprintf "ball in view at frame %d (%d, %d)" k xi yi)
                    let redNear = [ for dx in -1 .. 1 do for dy in -1 .. 1 -> isRed w px (xi + dx) (yi + dy) ] |> List.exists id
                    Expect.isTrue redNear (sprintf "red ball at its projected pixel (%d, %d), frame %d" xi yi k)
                    (x, y), px, w
                let (x0, y0), px0, w = check 0
                let (x1, y1), px1, _ = check (frames.Length - 1)
                Expect.isGreaterThan (sqrt ((x1 - x0) ** 2.0 + (y1 - y0) ** 2.0)) 10.0 "the ball moved on screen"
                Expect.isFalse (isRed w px1 (int (round x0)) (int (round y0))) "the ball left its first pixel"
                let differing = Array.init (px0.Length / 4) (fun k -> px0.[4 * k] <> px1.[4 * k] || px0.[4 * k + 1] <> px1.[4 * k + 1]) |> Array.filter id |> Array.length
                Expect.isGreaterThan differing 200 "screenshots at two times differ")
        }
        test "hovering the ball names its link; the visual toggle hides it, the collision toggle shows its geom" {
            withPage (fun b r _ ->
                let bob = Recording.linkIndex r "bob"
                b.Eval "window.genesisViewer.setFrame(0)" |> ignore
                let x, y = project b (Recording.linkPos r r.epochs.[r.epochs.Length - 1].frames.[0] 0 bob)
                let hover (x: float) (y: float) =
                    b.Eval(sprintf "(() => { const c = document.querySelector('canvas'); c.dispatchEvent(new MouseEvent('mousemove', { clientX: %f, clientY: %f, bubbles: true })); const t = document.getElementById('tip'); return t.style.display === 'none' ? '' : t.textContent; })()" x y).GetString()
                Expect.equal (hover x y) "pendulum/bob" "link name under the mouse"
                Expect.equal (hover 5.0 5.0) "" "nothing named over the empty corner"
                let click (id: string) = b.Eval(sprintf "document.getElementById('%s').click()" id) |> ignore
                click "visual"
                let w, _, px = pixels b
                Expect.isFalse (isRed w px (int (round x)) (int (round y))) "visual geometry hidden"
                click "collision"
                let _, _, px2 = pixels b
                let o = (int (round y) * w + int (round x)) * 4
                Expect.isTrue (int px2.[o] > int px2.[o + 2] + 60) (sprintf "collision geometry (orange) drawn at the ball: %d %d %d" px2.[o] px2.[o + 1] px2.[o + 2]))
        }
        test "a batched recording: the grid shows every env, the env selector one; each ball at its projected pixel" {
            withPendulumPage 4 (fun b r url ->
                checkClean b url
                let options = b.Eval("Array.from(document.querySelectorAll('#env option')).map(o => o.value).join(',')").GetString()
                Expect.equal options "grid,0,1,2,3" "the grid first (the default), then one option per env"
                b.Eval "document.getElementById('traj').click()" |> ignore // no trajectory lines (one is red) under the balls
                b.Eval "window.genesisViewer.setFrame(0)" |> ignore
                let bob = Recording.linkIndex r "bob"
                let frame0 = r.epochs.[r.epochs.Length - 1].frames.[0]
                let ball (env: int) (offset: float[]) = Array.map2 (+) (Recording.linkPos r frame0 env bob) offset
                let layout () =
                    b.Eval("window.genesisViewer.envLayout()").EnumerateArray()
                    |> Seq.map (fun g -> g.GetProperty("visible").GetBoolean(), g.GetProperty("offset").EnumerateArray() |> Seq.map (fun x -> x.GetDouble()) |> Seq.toArray)
                    |> Seq.toArray
                let grid = layout ()
                Expect.equal (grid |> Array.map fst) [| true; true; true; true |] "grid: every env shown"
                Expect.equal (grid |> Array.map snd |> Array.distinct |> Array.length) 4 "grid: each env in its own place"
                for e in 0 .. 3 do
                    Expect.isTrue (redAt b (ball e (snd grid.[e]))) (sprintf "grid: env %d's ball at its projected pixel" e)
                let _, _, gridPx = pixels b
                let origin = [| 0.0; 0.0; 0.0 |]
                b.Eval "window.genesisViewer.setEnv(2)" |> ignore
                let one = layout ()
                Expect.equal (one |> Array.map fst) [| false; false; true; false |] "env 2 alone"
                Expect.sequenceEqual (snd one.[2]) origin "env 2 at the origin"
                Expect.isTrue (redAt b (ball 2 origin)) "env 2's ball at its projected pixel"
                Expect.isFalse (redAt b (ball 0 origin)) "env 0's ball (another angle) not drawn"
                let _, _, px2 = pixels b
                b.Eval "window.genesisViewer.setEnv(0)" |> ignore
                Expect.isTrue (redAt b (ball 0 origin)) "env 0's ball at its projected pixel"
                Expect.isFalse (redAt b (ball 2 origin)) "env 2's ball not drawn"
                let _, _, px0 = pixels b
                Expect.isGreaterThan (differing px0 px2) 200 "env 0 and env 2 look different"
                Expect.isGreaterThan (differing gridPx px2) 200 "the grid and one env look different"
                b.Eval "window.genesisViewer.setEnv('grid')" |> ignore
                Expect.equal (layout () |> Array.map fst) [| true; true; true; true |] "back to the grid")
        }
        test "the speed control scales how far the animation advances in the same playing time" {
            withPage (fun b _ _ ->
                // plays until the page has spent 1.5 s playing (its animation-loop time), at a speed; reads back the
                // animation clock, the playing time and the wall time the page measured
                let play (speed: string) =
                    let v =
                        b.Eval(
                            sprintf "(async () => { const g = window.genesisViewer, s = document.getElementById('speed'); g.pause(); s.value = '%s'; s.dispatchEvent(new Event('change')); const c0 = g.clock(), p0 = g.played(), t0 = performance.now(); g.play(); await new Promise(r => { const check = () => (g.played() - p0 >= 1.5 || performance.now() - t0 > 20000) ? r() : setTimeout(check, 10); check(); }); g.pause(); return { advance: g.clock() - c0, played: g.played() - p0, wall: (performance.now() - t0) / 1000, speed: s.value }; })()"
                                speed)
                    Expect.equal (v.GetProperty("speed").GetString()) speed "the control holds the speed"
                    v.GetProperty("advance").GetDouble(), v.GetProperty("played").GetDouble(), v.GetProperty("wall").GetDouble()
                for speed, factor in [ "0.25", 0.25; "4", 4.0 ] do
                    let advance, played, wall = play speed
                    Expect.isGreaterThanOrEqual played 1.5 (sprintf "%sx: played %.3f s (the animation loop runs)" speed played)
                    // rAF timestamps are frame start times: allow a frame or so of jitter against performance.now()
                    Expect.isLessThanOrEqual played (wall + 0.1) (sprintf "%sx: playing time %.3f s within the wall time %.3f s" speed played wall)
                    Expect.floatClose Accuracy.high advance (factor * played) (sprintf "%sx: %.3f s of animation in %.3f s of playing" speed advance played)
                let slow, slowPlayed, _ = play "0.25"
                let fast, fastPlayed, _ = play "4"
                Expect.isGreaterThan (fast / slow) 8.0 (sprintf "4x advances about 16 times as far as 0.25x in about the same time (%.3f s in %.3f s vs %.3f s in %.3f s)" fast fastPlayed slow slowPlayed))
        }
        test "inline: the viewer in an iframe (recording.iframeHtml) of another page loads offline and draws the ball" {
            let recording = ref None
            withPageReady "document.querySelector('iframe')?.contentWindow?.genesisReady === true"
                (fun dir ->
                    let r = pendulumRecording 0 dir
                    recording.Value <- Some r
                    let html = Path.Combine(dir, "inline.html")
                    File.WriteAllText(html, "<!DOCTYPE html><html><body><p>a notebook's output</p>" + r.iframeHtml("pendulum", 500) + "</body></html>")
                    html)
                (fun b url ->
                    // the helpers read window.genesisViewer: point it at the viewer inside the iframe
                    b.Eval "window.genesisViewer = document.querySelector('iframe').contentWindow.genesisViewer; window.genesisViewer.pause()" |> ignore
                    checkClean b url
                    let r = recording.Value.Value
                    b.Eval "window.genesisViewer.setFrame(0)" |> ignore
                    let bob = Recording.linkIndex r "bob"
                    Expect.isTrue (redAt b (Recording.linkPos r r.epochs.[1].frames.[0] 0 bob)) "the ball at its projected pixel inside the iframe"
                    Expect.isGreaterThan (firstLastDiffer b) 200 "the animation moves")
        }
        test "the trajectory-optimisation example's page: clean load, epochs coloured by loss, the arm moves" {
            examplePage "trajectory" (fun prefix -> Genesis.Examples.TrajectoryOptimization.runWith 12 None (Some prefix) |> ignore) (fun b ->
                Expect.equal (b.Eval("window.genesisViewer.recording.epochs.length").GetInt32()) 3 "epochs 0, 10 and 11 recorded"
                let colours = b.Eval("Array.from(document.querySelectorAll('#epoch option')).map(o => o.textContent).join('|')").GetString()
                Expect.stringContains colours "loss" "epochs listed with their losses")
        }
        test "the cart-pole and system-identification examples' pages: clean load, the robots move" {
            // an untrained policy: the poles fall, which is movement enough for the page
            examplePage "cartpole" (fun prefix -> Genesis.Examples.CartPole.show (Genesis.NN.NN.mlp([ 4; 8; 1 ])) (System.Random(3)) 4 2.0 prefix) (fun b ->
                Expect.equal (b.Eval("window.genesisViewer.recording.envs.length").GetInt32()) 4 "one cart-pole per start")
            examplePage "sysid" (fun prefix -> Genesis.Examples.SystemId.runWith 2 None (Some prefix) |> ignore) (fun b ->
                Expect.equal (b.Eval("window.genesisViewer.recording.epochs.length").GetInt32()) 3 "the observed motion and epochs 0 and 1")
        }
        test "contact forces are arrows at the recorded contact points; trajectories are coloured by loss" {
            withPageOf
                (fun dir ->
                    let scene = Scene(SimOptions(dt = 0.005))
                    scene.addEntity(Morphs.Plane()) |> ignore
                    let box = scene.addEntity(Morphs.Box([| 0.2; 0.2; 0.2 |], pos = [| 0.0; 0.0; 0.3 |]))
                    scene.build()
                    let rec' = scene.record(every = 20, contacts = true)
                    for epoch in 0 .. 2 do
                        scene.reset()
                        box.setPos(gs.tensor([ 0.0; 0.0; 0.3 + 0.1 * float epoch ]))
                        rec'.capture()
                        for _ in 1 .. 200 do
                            scene.step()
                            rec'.capture()
                        rec'.endEpoch(float epoch)
                    let html = Path.Combine(dir, "box.html")
                    rec'.recording.saveHtml html
                    html)
                (fun b url ->
                    checkClean b url
                    let count () = b.Eval("window.genesisViewer.arrows().length").GetInt32()
                    b.Eval "window.genesisViewer.setFrame(0)" |> ignore
                    Expect.equal (count ()) 0 "no contact in the air"
                    let last = b.Eval("window.genesisViewer.frameCount()").GetInt32() - 1
                    b.Eval(sprintf "window.genesisViewer.setFrame(%d)" last) |> ignore
                    let expected = b.Eval("window.genesisViewer.recording.epochs[2].frames.at(-1).contacts.length").GetInt32()
                    Expect.isGreaterThan expected 0 "contacts recorded at rest"
                    Expect.equal (count ()) expected "one arrow per contact"
                    let a = b.Eval("window.genesisViewer.arrows()[0]")
                    let dir = a.GetProperty("dir").EnumerateArray() |> Seq.map (fun x -> x.GetDouble()) |> Seq.toArray
                    Expect.isGreaterThan (abs dir.[2]) 0.9 "the force on a resting box is vertical"
                    b.Eval "document.getElementById('contacts').click()" |> ignore
                    b.Eval(sprintf "window.genesisViewer.setFrame(%d)" last) |> ignore
                    Expect.equal (count ()) 0 "toggle off: no arrows"
                    let colours = b.Eval("window.genesisViewer.trajectoryColours()").EnumerateArray() |> Seq.map (fun c -> c.EnumerateArray() |> Seq.map (fun x -> x.GetDouble()) |> Seq.toArray) |> Seq.toArray
                    Expect.equal colours.Length 3 "one trajectory per epoch"
                    Expect.isGreaterThan colours.[0].[1] colours.[0].[0] "lowest loss: green"
                    Expect.isGreaterThan colours.[2].[0] colours.[2].[1] "highest loss: red")
        }
    ]
