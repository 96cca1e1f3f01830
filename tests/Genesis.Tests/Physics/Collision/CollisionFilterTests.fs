/// Which geom pairs may touch (Topology.bodyTree and Broadphase.pairFilter): no self-collision inside a tree, MJCF worldbody
/// geoms touch every moving tree of their file, static bodies never touch each other; the same on both paths.
module Genesis.Tests.Physics.CollisionFilterTests

open Expecto
open Genesis
open Genesis.Physics
open Genesis.Tests
open Genesis.Tests.Physics.MorphTestUtil

/// Two free spheres of radius 0.1 stacked over a worldbody floor, in one MJCF file (no joint between them).
let private twoSpheres = """<mujoco model="two_spheres">
  <worldbody>
    <geom name="floor" type="plane" size="0 0 1"/>
    <body name="low" pos="0 0 0.1"><freejoint/><geom type="sphere" size="0.1" mass="1"/></body>
    <body name="high" pos="0 0 0.3"><freejoint/><geom type="sphere" size="0.1" mass="1"/></body>
  </worldbody>
</mujoco>"""

/// The body index of a name in a model.
let private bodyOf (m: Model) (name: string) = Array.findIndex ((=) name) m.topology.bodyName

/// True when Broadphase.pairFilter lets the first geoms of two bodies touch.
let private touches (m: Model) (a: string) (b: string) =
    let topo = m.topology
    let ia, ib = bodyOf m a, bodyOf m b
    Broadphase.pairFilter topo (ia, topo.bodyGeoms[ia][0]) (ib, topo.bodyGeoms[ib][0])

[<Tests>]
let tests =
    testList "Physics.CollisionFilter" [
        test "humanoid.xml: the world is tree -1, every other body belongs to the torso's tree" {
            GsSetup.ensure64 ()
            let m = Model.build [| Mjcf.load (asset "mjcf/humanoid.xml") |] DType.Float64
            let topo = m.topology
            Expect.equal topo.bodyTree[0] -1 "world"
            let torso = bodyOf m "torso"
            for b in 1 .. topo.nbody - 1 do
                Expect.equal topo.bodyTree[b] torso (sprintf "%s in the torso's tree" topo.bodyName[b])
        }
        test "humanoid.xml: the floor touches the torso (its child) and the feet; limbs of one tree do not touch" {
            GsSetup.ensure64 ()
            let m = Model.build [| Mjcf.load (asset "mjcf/humanoid.xml") |] DType.Float64
            Expect.isTrue (touches m "world" "torso") "floor - torso (parent welded to the world)"
            Expect.isTrue (touches m "world" "foot_right") "floor - right foot"
            Expect.isFalse (touches m "torso" "thigh_left") "torso - left thigh (one tree)"
            Expect.isFalse (touches m "foot_left" "foot_right") "feet (one tree)"
        }
        test "entities: a URDF is one tree with its fixed base; static bodies of two entities never touch" {
            GsSetup.ensure64 ()
            let arm = Urdf.load (asset "kuka_iiwa/iiwa14_spheres_collision.urdf", fixedBase = true)
            let m = Model.build [| Primitives.plane (); arm; Primitives.box ([| 0.1; 0.1; 0.1 |], pos = [| 1.0; 0.0; 0.05 |]) |] DType.Float64
            let topo = m.topology
            let armBodies = [ 1 .. arm.bodies.Length ]
            for b in armBodies do Expect.equal topo.bodyTree[b] 1 (sprintf "%s in the arm's tree" topo.bodyName[b])
            Expect.equal topo.bodyTree[0] 0 "plane"
            Expect.equal topo.bodyTree[topo.nbody - 1] (topo.nbody - 1) "box"
            let withGeoms = armBodies |> List.filter (fun b -> topo.bodyGeoms[b].Length > 0)
            let baseB, tip = List.head withGeoms, List.last withGeoms
            let allowed = Broadphase.pairFilter topo
            let first b = b, topo.bodyGeoms[b][0]
            Expect.isFalse (allowed (first baseB) (first tip)) "fixed base - distal link (one tree)"
            Expect.isFalse (allowed (first 0) (first baseB)) "plane - fixed base (both static)"
            Expect.isTrue (allowed (first 0) (first tip)) "plane - distal link"
            Expect.isTrue (allowed (first tip) (first (topo.nbody - 1))) "distal link - free box"
        }
        test "humanoid.xml alone lands on its own floor (fast path and Tensor path)" {
            GsSetup.ensure64 ()
            for requiresGrad in [ false; true ] do
                let scene = Scene(SimOptions(dt = 0.005, requiresGrad = requiresGrad))
                let humanoid = scene.addEntity(Morphs.MJCF(asset "mjcf/humanoid.xml"))
                scene.build()
                let steps = if requiresGrad then 120 else 400
                for _ in 1 .. steps do scene.step()
                let z = (humanoid.getLink("torso").getPos().toFloatArray())[2]
                // free fall from 1.282 m would reach 1.282 - g t^2 / 2 < -1 m; lying on the floor the torso is ~0.1 m up
                Expect.isGreaterThan z 0.05 (sprintf "torso above the floor after %d steps (requiresGrad = %b)" steps requiresGrad)
                Expect.isLessThan z 1.3 "torso not launched"
        }
        test "two free spheres of one MJCF file collide with each other and its floor: the upper stays stacked" {
            GsSetup.ensure64 ()
            withTempDir (fun dir ->
                let file = writeFile dir "two_spheres.xml" twoSpheres
                let scene = Scene(SimOptions(dt = 0.005))
                let e = scene.addEntity(Morphs.MJCF file)
                scene.build()
                for _ in 1 .. 200 do scene.step()
                let z (name: string) = (e.getLink(name).getPos().toFloatArray())[2]
                Expect.floatClose { absolute = 5e-3; relative = 0.0 } (z "low") 0.1 "lower sphere on the floor"
                Expect.floatClose { absolute = 1e-2; relative = 0.0 } (z "high") 0.3 "upper sphere on the lower one")
        }
    ]
