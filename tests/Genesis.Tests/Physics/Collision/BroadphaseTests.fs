/// The broad phases (the kernel's sweep and prune with grown buffers, the Tensor path's Broadphase.candidatePairs) find
/// exactly the pairs of the all-pairs reference (static filter, then the bounding-sphere test) on random scenes, and the
/// build-time check of unsupported pairs still raises naming both geoms.
module Genesis.Tests.Physics.BroadphaseTests

open System
open Expecto
open Genesis
open Genesis.Physics
open Genesis.Tests
open Genesis.Tests.TestUtil
open Genesis.Tests.Physics.MorphTestUtil

/// A plane, a humanoid (one tree) and n random boxes, spheres and capsules (some fixed) packed into a 1.5 m cube.
let private randomScene (rnd: Random) (n: int) =
    let pos () = [| rnd.NextDouble() * 1.5; rnd.NextDouble() * 1.5; rnd.NextDouble() * 1.5 |]
    let size () = 0.05 + 0.15 * rnd.NextDouble()
    [| yield Primitives.plane ()
       yield Mjcf.load (asset "mjcf/humanoid.xml")
       for _ in 1 .. n do
           let fixedBase = rnd.NextDouble() < 0.2
           match rnd.Next 3 with
           | 0 -> yield Primitives.box ([| size (); size (); size () |], pos = pos (), fixedBase = fixedBase)
           | 1 -> yield Primitives.sphere (size (), pos = pos (), fixedBase = fixedBase)
           | _ -> yield Primitives.capsule (size () / 2.0, size () * 2.0, pos = pos (), fixedBase = fixedBase) |]

/// A random pose: free roots anywhere in the cube with a random orientation, other joints at random angles.
let private randomPose (rnd: Random) (topo: Topology) =
    let q = Array.copy topo.qpos0
    for j in 0 .. topo.jntType.Length - 1 do
        let a = topo.jntQposAdr[j]
        match topo.jntType[j] with
        | Free ->
            for i in 0 .. 2 do q[a + i] <- rnd.NextDouble() * 1.5
            let u = Array.init 4 (fun _ -> rnd.NextDouble() - 0.5)
            let n = sqrt (Array.sumBy (fun x -> x * x) u)
            for i in 0 .. 3 do q[a + 3 + i] <- u[i] / n
        | Ball -> ()
        | _ -> q[a] <- rnd.NextDouble() - 0.5
    q

/// The all-pairs reference: every statically allowed pair whose inflated bounding spheres pass isCandidate's test.
let private allPairs (topo: Topology) (geomXpos: float[]) (margin: float) =
    let geoms = Broadphase.collidable topo
    Broadphase.staticPairs topo
    |> Array.filter (fun (a, b) ->
        let ra, rb = Broadphase.boundRadius (snd geoms[a]) + margin, Broadphase.boundRadius (snd geoms[b]) + margin
        if Double.IsInfinity ra || Double.IsInfinity rb then true
        else
            let d i = geomXpos[a * 3 + i] - geomXpos[b * 3 + i]
            abs (d 0) <= ra + rb && d 1 * d 1 + d 2 * d 2 <= (ra + rb) * (ra + rb))
    |> Set.ofArray

[<Tests>]
let tests =
    testList "Physics.Broadphase" [
        test "kernel sweep and prune = Tensor path = all pairs on random scenes, over successive poses" {
            GsSetup.ensure64 ()
            let margin = 20.0 * SimParams.defaults.contact.softness + 1e-3
            let mutable total = 0
            for seed in 1 .. 12 do
                let rnd = Random seed
                let m = Model.build (randomScene rnd (5 + seed * 4)) DType.Float64
                let topo = m.topology
                let fm = FastStep.prepare m
                let w = FastModelBuild.rent fm
                let geoms = Broadphase.collidable topo
                let index (b: int, g: GeomSpec) = geoms |> Array.findIndex (fun (b', g') -> b = b' && Object.ReferenceEquals(g, g'))
                // the same work buffers over several poses: the sweep starts from the last order
                for pose in 0 .. 3 do
                    let q = randomPose rnd topo
                    let kernel = FastStep.Instances.broadphaseFloat fm w SimParams.defaults.contact q
                    let expected = allPairs topo w.geomXpos margin
                    Expect.equal (Array.length kernel) (Set.count (Set.ofArray kernel)) "no pair twice"
                    Expect.equal (Set.ofArray kernel) expected (sprintf "seed %d pose %d: kernel candidates" seed pose)
                    let kin = Kinematics.compute m (gs.tensor(q).unsqueeze(0))
                    let tensor = Broadphase.candidatePairs topo kin margin |> List.map (fun (a, b) -> index a, index b) |> Set.ofList
                    Expect.equal tensor expected (sprintf "seed %d pose %d: Tensor path candidates" seed pose)
                    total <- total + expected.Count
                FastModelBuild.giveBack fm w
            Expect.isGreaterThan total 200 "the scenes have many candidate pairs"
        }
        test "candidate buffers grow on demand: 400 spheres in a heap" {
            GsSetup.ensure64 ()
            let rnd = Random 5
            let specs =
                [| yield Primitives.plane ()
                   for _ in 1 .. 400 do
                       yield Primitives.sphere (0.1, pos = [| rnd.NextDouble(); rnd.NextDouble(); rnd.NextDouble() |]) |]
            let m = Model.build specs DType.Float64
            let fm = FastStep.prepare m
            let w = FastModelBuild.rent fm
            let kernel = FastStep.Instances.broadphaseFloat fm w SimParams.defaults.contact (Array.copy m.topology.qpos0)
            let margin = 20.0 * SimParams.defaults.contact.softness + 1e-3
            Expect.isGreaterThan kernel.Length 1000 "many pairs"
            Expect.equal (Set.ofArray kernel) (allPairs m.topology w.geomXpos margin) "all pairs"
            FastModelBuild.giveBack fm w
        }
        test "one robot on a plane: no sweep (no two finite geoms may touch), the plane's pairs = all pairs" {
            GsSetup.ensure64 ()
            let m = Model.build [| Primitives.plane (); Urdf.load (asset "go2/go2.urdf", fixedBase = false) |] DType.Float64
            let fm = FastStep.prepare m
            Expect.isFalse fm.sweepPairs "no sweep"
            Expect.isTrue fm.anyPairs "plane pairs"
            let w = FastModelBuild.rent fm
            let rnd = Random 3
            for _ in 0 .. 2 do
                let kernel = FastStep.Instances.broadphaseFloat fm w SimParams.defaults.contact (randomPose rnd m.topology)
                Expect.equal (Set.ofArray kernel) (allPairs m.topology w.geomXpos (20.0 * SimParams.defaults.contact.softness + 1e-3)) "all pairs"
                Expect.isNonEmpty kernel "the plane against the robot"
            FastModelBuild.giveBack fm w
        }
        test "the build check passes a scene of every geom type (every pair has a narrow phase)" {
            GsSetup.ensure64 ()
            let mesh = PhysicsTestUtil.meshGeom [| for x in [ -0.1; 0.1 ] do for y in [ -0.1; 0.1 ] do for z in [ -0.1; 0.1 ] do yield! [ x; y; z ] |]
            let all =
                Model.build [| Primitives.plane (); Primitives.sphere (0.1); Primitives.box ([| 0.1; 0.1; 0.1 |], pos = [| 1.0; 0.0; 0.0 |])
                               Primitives.cylinder (0.1, 0.2, pos = [| 2.0; 0.0; 0.0 |]); Primitives.capsule (0.1, 0.2, pos = [| 3.0; 0.0; 0.0 |])
                               PhysicsTestUtil.bodyOf (GeomSpec.create "e" Ellipsoid [| 0.1; 0.2; 0.3 |]) [| 4.0; 0.0; 0.0 |] [| 1.0; 0.0; 0.0; 0.0 |]
                               PhysicsTestUtil.bodyOf mesh [| 5.0; 0.0; 0.0 |] [| 1.0; 0.0; 0.0; 0.0 |] |] DType.Float64
            Broadphase.checkSupportedPairs all.topology
            let kinds = Broadphase.staticPairs all.topology |> Array.length
            Expect.equal kinds 21 "every pair of the 7 geoms is allowed (plane-plane aside)"
        }
    ]
