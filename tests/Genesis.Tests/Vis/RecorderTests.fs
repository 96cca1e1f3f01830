module Genesis.Tests.Vis.RecorderTests

open System
open System.IO
open Expecto
open Genesis
open Genesis.Vis
open Genesis.Tests
open Genesis.Tests.TestUtil

let private armScene (nEnvs: int) = Genesis.Tests.Engine.SceneTests.armScene false nEnvs

[<Tests>]
let tests =
    testList "Vis.Recorder" [
        test "poses every k steps equal getLinksPos/getLinksQuat at those steps" {
            GsSetup.ensure64 ()
            let scene, robot = armScene 0
            let rec' = scene.record(every = 3)
            let expected = Collections.Generic.Dictionary<int, float[] * float[]>()
            rec'.capture()
            expected.[0] <- robot.getLinksPos().toFloatArray(), robot.getLinksQuat().toFloatArray()
            for t in 1 .. 10 do
                robot.controlDofsForce(gs.tensor([ 2.0 * sin (float t); -1.0 ]))
                scene.step()
                rec'.capture()
                if t % 3 = 0 then expected.[t] <- robot.getLinksPos().toFloatArray(), robot.getLinksQuat().toFloatArray()
            let r = rec'.recording
            Expect.equal r.links.Length robot.nLinks "one record per link"
            Expect.equal (r.links |> Array.map (fun l -> l.name)) (robot.links |> Array.map (fun l -> l.name)) "link order"
            Expect.equal r.epochs.Length 1 "one open trajectory"
            let frames = r.epochs.[0].frames
            Expect.equal (frames |> Array.map (fun f -> f.step)) [| 0; 3; 6; 9 |] "every third step"
            for f in frames do
                let p, q = expected.[f.step]
                Expect.sequenceEqual f.pos p (sprintf "positions at step %d" f.step)
                Expect.sequenceEqual f.quat q (sprintf "orientations at step %d" f.step)
                Expect.floatClose Accuracy.veryHigh f.time (0.01 * float f.step) "time"
            Expect.isGreaterThan (Array.map2 (fun a b -> abs (a - b)) frames.[3].pos frames.[0].pos |> Array.max) 1e-3 "the arm moved"
        }
        test "chosen envs of a batched scene, in the order given" {
            GsSetup.ensure64 ()
            let scene, robot = armScene 3
            robot.setDofsPosition(gs.tensor([ [ 0.1; 0.0 ]; [ 0.2; 0.0 ]; [ 0.3; 0.0 ] ]))
            let rec' = scene.record(envs = [| 2; 0 |])
            rec'.capture()
            let all = robot.getLinksPos().toFloatArray() // [3; nLinks; 3]
            let nl = robot.nLinks
            let f = rec'.recording.epochs.[0].frames.[0]
            Expect.sequenceEqual f.pos (Array.append all.[2 * nl * 3 .. 3 * nl * 3 - 1] all.[0 .. nl * 3 - 1]) "env 2 then env 0"
            throwsWith<ArgumentException> [ "env 5"; "3 envs" ] (fun () -> scene.record(envs = [| 5 |]).capture())
        }
        test "epochs: one trajectory per epoch with its loss" {
            GsSetup.ensure64 ()
            let scene, robot = armScene 0
            let rec' = scene.record(every = 2)
            for epoch in 0 .. 2 do
                scene.reset()
                rec'.capture()
                for _ in 1 .. 4 do
                    robot.controlDofsForce(gs.tensor([ float epoch; 0.0 ]))
                    scene.step()
                    rec'.capture()
                rec'.endEpoch(10.0 - float epoch)
            let r = rec'.recording
            Expect.equal (r.epochs |> Array.map (fun e -> e.loss)) [| 10.0; 9.0; 8.0 |] "losses"
            Expect.equal (r.epochs |> Array.map (fun e -> e.frames |> Array.map (fun f -> f.step))) (Array.create 3 [| 0; 2; 4 |]) "frames per epoch"
            Expect.notEqual r.epochs.[0].frames.[2].pos r.epochs.[2].frames.[2].pos "different controls, different trajectories"
        }
        test "JSON round trip (file and text), NaN loss included" {
            GsSetup.ensure64 ()
            let scene, robot = armScene 0
            let rec' = scene.record()
            rec'.capture()
            robot.controlDofsForce(gs.tensor([ 1.0; 0.0 ]))
            scene.step()
            rec'.capture()
            let r = rec'.recording
            Expect.isTrue (Double.IsNaN r.epochs.[0].loss) "open epoch: no loss"
            // F# equality says NaN <> NaN: compare with the NaN losses replaced, and the losses apart
            let same (a: Recording) (b: Recording) =
                let noNan (x: Recording) = { x with epochs = x.epochs |> Array.map (fun e -> { e with loss = 0.0 }) }
                noNan a = noNan b && Array.forall2 (fun (x: EpochRecord) (y: EpochRecord) -> x.loss.Equals y.loss) a.epochs b.epochs
            let back = Recording.ofJson (Recording.toJson r)
            Expect.isTrue (same r back) "text round trip equals"
            let path = Path.Combine(Path.GetTempPath(), sprintf "genesis-rec-%s.json" (Guid.NewGuid().ToString "N"))
            try
                r.save path
                Expect.isTrue (same r (Recording.load path)) "file round trip"
                Expect.stringContains (File.ReadAllText path) "\"links\"" "plain JSON"
            finally File.Delete path
            throwsWith<GenesisException> [ "malformed" ] (fun () -> Recording.ofJson "{ not json" |> ignore)
            throwsWith<GenesisException> [ "not found"; "nowhere.json" ] (fun () -> Recording.load "nowhere.json" |> ignore)
        }
        test "contacts: points with forces once a box rests on the ground" {
            GsSetup.ensure64 ()
            let scene = Scene(SimOptions(dt = 0.005))
            scene.addEntity(Morphs.Plane()) |> ignore
            let box = scene.addEntity(Morphs.Box([| 0.2; 0.2; 0.2 |], pos = [| 0.0; 0.0; 0.3 |]))
            scene.build()
            let rec' = scene.record(every = 10, contacts = true)
            rec'.capture()
            for _ in 1 .. 200 do
                scene.step()
                rec'.capture()
            let frames = rec'.recording.epochs.[0].frames
            Expect.isEmpty frames.[0].contacts "in the air: no contact"
            let last = frames.[frames.Length - 1]
            Expect.isNonEmpty last.contacts "resting: contacts"
            let fz = last.contacts |> Array.sumBy (fun c -> abs c.force.[2])
            let weight = box.getLinksMass().toFloatArray() |> Array.sum |> (*) 9.81
            Expect.floatClose { absolute = 0.05 * weight; relative = 0.05 } fz weight "the contact forces carry the weight"
            Expect.isTrue (last.contacts |> Array.forall (fun c -> abs c.pos.[2] < 0.01)) "points on the ground"
        }
    ]
