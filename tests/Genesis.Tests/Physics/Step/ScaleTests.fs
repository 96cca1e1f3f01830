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
        test "the nv x nv contact buffer is allocated by the first contact that couples two moving trees, and only then" {
            GsSetup.ensure64 ()
            let cmatAfterSteps (specs: EntitySpec[]) =
                let m = Model.build specs DType.Float64
                let sim = FastSim(m, { SimParams.defaults with dt = 0.002 }, 1)
                for _ in 1 .. 3 do sim.step ()
                let fm = FastStep.prepare m
                let w = FastModelBuild.rent fm
                try w.cmat finally FastModelBuild.giveBack fm w
            let onPlane = cmatAfterSteps [| Primitives.plane (); Primitives.sphere (0.1, pos = [| 0.0; 0.0; 0.099 |]) |]
            Expect.isTrue (isNull onPlane) "a sphere on the plane: C stays in M's pattern, no nv x nv buffer"
            let stacked = cmatAfterSteps [| Primitives.plane (); Primitives.sphere (0.1, pos = [| 0.0; 0.0; 0.099 |]); Primitives.sphere (0.1, pos = [| 0.03; 0.0; 0.29 |]) |]
            Expect.isFalse (isNull stacked) "a sphere resting on another: the dense fallback's buffer exists"
            Expect.equal stacked.Length (12 * 12) "nv x nv"
            Expect.isTrue (Array.exists (fun x -> x <> 0.0) stacked) "the coupling entries are non-zero"
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
            Expect.isTrue (isNull w.cmat) "no nv x nv buffer: no contact coupled two trees"
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
    ]
