/// Scenes of many bodies on the fast path (issue 19): MuJoCo's 22_humanoids.xml steps with contacts and stays finite;
/// after the first steps a scene of many spheres allocates (almost) nothing per step (the broad phase's buffers have grown).
module Genesis.Tests.Physics.ScaleTests

open System
open System.IO
open Expecto
open Genesis
open Genesis.Physics
open Genesis.Tests

/// MuJoCo's 22 humanoids (Debian's libmujoco-samples; a system path, not part of the repo).
let private humanoids22 = "/usr/share/mujoco/model/humanoid/22_humanoids.xml"

[<Tests>]
let tests =
    testList "Physics.Scale" [
        test "22_humanoids.xml: 100 steps with contacts stay finite, and the humanoids fall" {
            if not (File.Exists humanoids22) then skiptest "libmujoco-samples is not installed"
            GsSetup.ensure64 ()
            let spec = Mjcf.load humanoids22
            let m = Model.build [| spec |] DType.Float64
            Broadphase.checkSupportedPairs m.topology
            let sim = FastSim(m, { SimParams.defaults with dt = spec.options.timestep }, 1)
            let z0 = sim.qpos[2]
            for _ in 1 .. 100 do sim.step ()
            Expect.isTrue (Array.forall Double.IsFinite sim.qpos && Array.forall Double.IsFinite sim.qvel) "finite state"
            Expect.isLessThan sim.qpos[2] (z0 - 0.01) "the first torso fell"
        }
        test "300 spheres on a plane (nv 1800): allocation per step independent of the size once the buffers have grown" {
            GsSetup.ensure64 ()
            let specs =
                [| yield Primitives.plane ()
                   for i in 0 .. 299 do
                       yield Primitives.sphere (0.05, pos = [| 0.2 * float (i % 17); 0.2 * float (i / 17); 0.05 + 0.01 * float (i % 3) |]) |]
            let m = Model.build specs DType.Float64
            let sim = FastSim(m, { SimParams.defaults with dt = 0.002 }, 1)
            for _ in 1 .. 20 do sim.step ()
            let before = GC.GetAllocatedBytesForCurrentThread()
            for _ in 1 .. 20 do sim.step ()
            let bytes = GC.GetAllocatedBytesForCurrentThread() - before
            // 0 with tiered compilation off (the scaling benchmark); the runtime's tiering may allocate a few bytes here,
            // where a per-dof array per step would be 20 x 4 x 1800 = 144 KB
            Expect.isLessThan bytes 2048L "bytes allocated by 20 steps"
            Expect.isTrue (Array.forall Double.IsFinite sim.qpos) "finite state"
        }
        test "a contact that couples two moving trees makes an island of their dofs (12 x 12 buffer), one on the plane none" {
            GsSetup.ensure64 ()
            let afterSteps (specs: EntitySpec[]) =
                let m = Model.build specs DType.Float64
                let sim = FastSim(m, { SimParams.defaults with dt = 0.002 }, 1)
                for _ in 1 .. 3 do sim.step ()
                let fm = FastStep.prepare m
                let w = FastModelBuild.rent fm
                try w.islands, w.islandBlock, w.cross.Count finally FastModelBuild.giveBack fm w
            let islands, block, terms = afterSteps [| Primitives.plane (); Primitives.sphere (0.1, pos = [| 0.0; 0.0; 0.099 |]) |]
            Expect.isTrue (isNull islands) "a sphere on the plane: C stays in M's pattern, no island"
            Expect.isEmpty block "no dense buffer"
            Expect.equal terms 0 "no cross terms"
            let islands, block, terms =
                afterSteps [| Primitives.plane (); Primitives.sphere (0.1, pos = [| 0.0; 0.0; 0.099 |]); Primitives.sphere (0.1, pos = [| 0.03; 0.0; 0.29 |]) |]
            Expect.isFalse (isNull islands) "a sphere resting on another: an island"
            Expect.equal islands.Count 1 "one island"
            Expect.equal islands.Largest 12 "of both spheres' dofs"
            Expect.equal block.Length (12 * 12) "the dense buffer: the island's dofs squared"
            Expect.isGreaterThan terms 0 "the coupling terms"
        }
        test "10,000 free spheres on a plane (nv 60,000) through the Scene: 100 steps, memory linear in bodies" {
            GsSetup.ensure64 ()
            let n = 10000
            GC.Collect()
            GC.WaitForPendingFinalizers()
            let retainedBefore = GC.GetTotalMemory true
            let allocatedBefore = GC.GetTotalAllocatedBytes true
            let scene = Scene(SimOptions(dt = 0.002))
            scene.addEntity(Morphs.Plane()) |> ignore
            // a 0.15 m grid: each sphere touches the plane only, so no contact couples two trees (C stays in M's pattern)
            for i in 0 .. n - 1 do
                scene.addEntity(Morphs.Sphere(0.05, pos = [| 0.15 * float (i % 100); 0.15 * float (i / 100); 0.06 |])) |> ignore
            scene.build ()
            for _ in 1 .. 100 do scene.step ()
            let allocated = GC.GetTotalAllocatedBytes true - allocatedBefore
            let retained = GC.GetTotalMemory true - retainedBefore
            let fm = FastStep.prepare scene.model
            // M dense would be nv^2 = 3.6e9 doubles (28.8 GB) per work buffer; in the tree pattern it is 21 per sphere
            Expect.equal (TreePattern.nnz fm.pattern) (21 * n) "M's entries: 1 + 2 + ... + 6 per free sphere"
            let w = FastModelBuild.rent fm
            Expect.isTrue (isNull w.islands) "no island: no contact coupled two trees"
            FastModelBuild.giveBack fm w
            // linear in bodies: under 20 KB per sphere kept (model, state, work buffers) and 200 KB per sphere
            // allocated over the build and the 100 steps (dense M and C would each be 2.9 MB per sphere)
            Expect.isLessThan retained (int64 n * 20_000L) (sprintf "bytes retained (%d)" retained)
            Expect.isLessThan allocated (int64 n * 200_000L) (sprintf "bytes allocated by the build and 100 steps (%d)" allocated)
            // free joints' qpos: [x y z qw qx qy qz] per sphere
            let qpos = scene.State.qpos.toFloatArray()
            let z = Array.init n (fun i -> qpos[7 * i + 2])
            Expect.isTrue (Array.forall Double.IsFinite z) "finite state"
            Expect.isLessThan (z |> Array.map (fun z -> abs (z - 0.05)) |> Array.max) 0.01 "every sphere settled on the plane (z = r)"
            GC.KeepAlive scene
        }
        test "10,000 spheres, 100 of them resting on another (100 islands): 100 steps, buffers sized by the islands, memory linear in bodies" {
            GsSetup.ensure64 ()
            let n, pairs = 10000, 100
            GC.Collect()
            GC.WaitForPendingFinalizers()
            let retainedBefore = GC.GetTotalMemory true
            let allocatedBefore = GC.GetTotalAllocatedBytes true
            // a 0.15 m grid of spheres on the plane; the first `pairs` cells carry a second sphere resting on the first
            let specs =
                [| yield Primitives.plane ()
                   for i in 0 .. n - pairs - 1 do
                       let x, y = 0.15 * float (i % 100), 0.15 * float (i / 100)
                       yield Primitives.sphere (0.05, pos = [| x; y; 0.0499 |])
                       if i < pairs then yield Primitives.sphere (0.05, pos = [| x; y; 0.1498 |]) |]
            let m = Model.build specs DType.Float64
            let sim = FastSim(m, { SimParams.defaults with dt = 0.002 }, 1)
            for _ in 1 .. 100 do sim.step ()
            let allocated = GC.GetTotalAllocatedBytes true - allocatedBefore
            let retained = GC.GetTotalMemory true - retainedBefore
            let fm = FastStep.prepare m
            Expect.equal fm.nv (6 * n) "nv"
            let w = FastModelBuild.rent fm
            try
                Expect.isFalse (isNull w.islands) "the pairs made islands"
                Expect.equal w.islands.Count pairs "one island per pair"
                Expect.equal w.islands.Largest 12 "two spheres' dofs each"
                Expect.equal w.islandBlock.Length (12 * 12) "the largest dense buffer: the island's dofs squared (not nv^2 = 3.6e9)"
                Expect.equal w.islandSol.Length (pairs * 12) "the islands' solutions: their dofs"
                Expect.isLessThan w.cross.Values.Length (pairs * 36 * 8) "the cross terms: linear in the contacts"
            finally FastModelBuild.giveBack fm w
            // linear in bodies: the same bounds as without islands (20 KB kept, 200 KB allocated per sphere)
            Expect.isLessThan retained (int64 n * 20_000L) (sprintf "bytes retained (%d)" retained)
            Expect.isLessThan allocated (int64 n * 200_000L) (sprintf "bytes allocated by the build and 100 steps (%d)" allocated)
            let top = Array.init pairs (fun i -> sim.qpos[7 * (2 * i + 1) + 2])
            Expect.isTrue (Array.forall Double.IsFinite sim.qpos) "finite state"
            Expect.isLessThan (top |> Array.map (fun z -> abs (z - 0.15)) |> Array.max) 0.01 "every upper sphere rests on its lower one (z = 3 r)"
            GC.KeepAlive sim
        }
    ]
