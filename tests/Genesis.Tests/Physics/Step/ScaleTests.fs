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
    ]
