module Genesis.Tests.Physics.UrdfTests

open System
open System.IO
open Expecto
open Genesis
open Genesis.Physics
open Genesis.Tests
open Genesis.Tests.TestUtil
open Genesis.Tests.Physics.MorphTestUtil

/// Fused mass properties are sums and products of file values: exact up to rounding.
let Tol = 1e-12

/// Convex-hull containment tolerance, relative to the mesh size.
let HullTol = 1e-7

/// A moving link with unit mass and inertia.
let private massive name =
    sprintf """<link name="%s"><inertial><mass value="1"/><inertia ixx="1" iyy="1" izz="1" ixy="0" ixz="0" iyz="0"/></inertial></link>""" name

/// Loads URDF text written to a temporary file named bad.urdf and expects a GenesisException.
let private expectError (fragments: string list) (text: string) =
    withTempDir (fun dir ->
        let f = writeFile dir "bad.urdf" text
        throwsWith<GenesisException> ("bad.urdf" :: fragments) (fun () -> Urdf.load (f, fixedBase = true) |> ignore))

let private fusionTests =
    testList "fusion" [
        test "fixed child: mass, COM and inertia combine by the parallel-axis theorem" {
            withTempDir (fun dir ->
                let f =
                    writeFile dir "fuse.urdf" """<robot name="r">
  <link name="base"/>
  <link name="a"><inertial><origin xyz="0 0 0"/><mass value="1"/><inertia ixx="0.1" iyy="0.2" izz="0.3" ixy="0" ixz="0" iyz="0"/></inertial>
    <collision><geometry><sphere radius="0.1"/></geometry></collision></link>
  <link name="b"><inertial><origin xyz="0 0 0" rpy="0 0 1.5707963267948966"/><mass value="3"/><inertia ixx="0.1" iyy="0.2" izz="0.3" ixy="0" ixz="0" iyz="0"/></inertial>
    <collision><origin xyz="0 0 0.5"/><geometry><box size="1 2 3"/></geometry></collision></link>
  <joint name="j" type="revolute"><parent link="base"/><child link="a"/><axis xyz="0 0 2"/><limit lower="-1" upper="1"/></joint>
  <joint name="weld" type="fixed"><parent link="a"/><child link="b"/><origin xyz="1 0 0" rpy="1.5707963267948966 0 0"/></joint>
</robot>"""
                let e = Urdf.load (f, fixedBase = true)
                Expect.equal (e.bodies |> Array.map (fun b -> b.name)) [| "base"; "a" |] "b fused into a"
                let a = e.bodies.[1]
                nearScalar Tol "mass" a.mass 4.0
                near Tol "COM" a.ipos [| 0.75; 0.0; 0.0 |]
                // b's inertia: rotated about z by 90 deg (inertial rpy), then about x by 90 deg (joint rpy)
                let rb = SpecMath.quatMul (SpecMath.eulerQuat "XYZ" [| Math.PI / 2.0; 0.0; 0.0 |]) (SpecMath.eulerQuat "XYZ" [| 0.0; 0.0; Math.PI / 2.0 |])
                let ib = SpecMath.rotateInertia rb (SpecMath.diag [| 0.1; 0.2; 0.3 |])
                let expected =
                    SpecMath.add (SpecMath.add (SpecMath.diag [| 0.1; 0.2; 0.3 |]) (SpecMath.parallelAxis 1.0 [| -0.75; 0.0; 0.0 |]))
                                 (SpecMath.add ib (SpecMath.parallelAxis 3.0 [| 0.25; 0.0; 0.0 |]))
                near Tol "inertia" a.inertia expected
                Expect.equal a.geoms.Length 2 "geoms appended"
                near Tol "moved geom pos" a.geoms.[1].pos [| 1.0; -0.5; 0.0 |]
                nearQuat Tol "moved geom quat" a.geoms.[1].quat (SpecMath.eulerQuat "XYZ" [| Math.PI / 2.0; 0.0; 0.0 |])
                near Tol "unit axis" a.joints.[0].axis [| 0.0; 0.0; 1.0 |]
                Expect.equal a.joints.[0].range (Some(-1.0, 1.0)) "range")
        }
        test "massless leaf links vanish; children of fused links take their place" {
            let e = Urdf.load (asset "two_link_arm/two_link_arm.urdf", fixedBase = true)
            Expect.equal (e.bodies |> Array.map (fun b -> b.name)) [| "base"; "arm1"; "arm2" |] "endEffector gone"
            nearScalar Tol "arm2 mass unchanged" e.bodies.[2].mass 1.0
            let f = Urdf.load (asset "franka_panda/panda_arm_hand.urdf", fixedBase = true)
            Expect.equal (f.bodies |> Array.map (fun b -> b.parent)) [| -1; 0; 1; 2; 3; 4; 5; 6; 7; 7 |] "fingers hang from link7"
            nearScalar Tol "link7 + hand" (body f "panda_link7").mass (0.54 + 0.73) // panda_link8 has no inertial
        }
        test "root 'world' link is the world; floating root gets a free joint named <root>_free_joint" {
            let a = Urdf.load (asset "acrobot/Acrobot.urdf")
            Expect.equal a.bodies.[0].name "world" "world root"
            Expect.isEmpty a.bodies.[0].joints "world stays fixed even with fixedBase = false"
            let g = Urdf.load (asset "go2/go2.urdf", pos = [| 0.0; 0.0; 0.42 |])
            Expect.equal g.bodies.[0].joints.[0].name "base_free_joint" "free joint name"
            Expect.equal (EntitySpec.nq g) 19 "nq"
            Expect.equal (EntitySpec.nv g) 18 "nv"
            near Tol "qpos0" (EntitySpec.qpos0 g).[0..6] [| 0.0; 0.0; 0.42; 1.0; 0.0; 0.0; 0.0 |]
            nearScalar 1e-9 "total mass" (EntitySpec.totalMass g) 15.019
            Expect.equal (EntitySpec.nbody g) 13 "head and feet fused"
        }
        test "a URDF 'floating' joint from a 'world' link is a free joint" {
            withTempDir (fun dir ->
                let f =
                    writeFile dir "fl.urdf" ("<robot name=\"r\">\n  <link name=\"world\"/>\n  " + massive "b"
                                             + "\n  <joint name=\"float\" type=\"floating\"><origin xyz=\"0 0 1\"/><parent link=\"world\"/><child link=\"b\"/></joint>\n</robot>")
                let e = Urdf.load f
                Expect.equal (e.bodies |> Array.map (fun b -> b.name, b.joints.Length)) [| "world", 0; "b", 1 |] "world static, b free"
                Expect.equal e.bodies.[1].joints.[0].jtype Free "free"
                near Tol "qpos0" (EntitySpec.qpos0 e) [| 0.0; 0.0; 1.0; 1.0; 0.0; 0.0; 0.0 |])
        }
        test "scale multiplies lengths, masses by s^3 and inertias by s^5" {
            let a = Urdf.load (asset "acrobot/Acrobot.urdf", fixedBase = true)
            let b = Urdf.load (asset "acrobot/Acrobot.urdf", fixedBase = true, scale = 2.0)
            for i in 1..2 do
                near Tol "pos" b.bodies.[i].pos (SpecMath.scale 2.0 a.bodies.[i].pos)
                near Tol "ipos" b.bodies.[i].ipos (SpecMath.scale 2.0 a.bodies.[i].ipos)
                nearScalar Tol "mass" b.bodies.[i].mass (8.0 * a.bodies.[i].mass)
                near 1e-11 "inertia" b.bodies.[i].inertia (SpecMath.scale 32.0 a.bodies.[i].inertia)
                near Tol "geom size" b.bodies.[i].geoms.[0].size (SpecMath.scale 2.0 a.bodies.[i].geoms.[0].size)
        }
        test "inertiaFromGeom gives massless links the mass of their collision geoms (density 1000)" {
            let f = Urdf.load (asset "franka_panda/panda_arm_hand.urdf", fixedBase = true, inertiaFromGeom = true)
            let g = Urdf.load (asset "franka_panda/panda_arm_hand.urdf", fixedBase = true)
            let sphere = 1000.0 * 4.0 / 3.0 * Math.PI * 0.04 ** 3.0
            Expect.isGreaterThan ((body f "panda_link7").mass - (body g "panda_link7").mass) (sphere * 0.99) "link8 sphere mass added"
        }
        test "all assets load with their README base; counts after fusion" {
            let expected =
                dict [ "plane/plane.urdf", (1, 0, 0)
                       "cartpole/cartpole.urdf", (3, 2, 2)
                       "two_link_arm/two_link_arm.urdf", (3, 2, 2)
                       "acrobot/Acrobot.urdf", (3, 2, 2)
                       "kuka_iiwa/iiwa14_spheres_collision.urdf", (8, 7, 7)
                       "kuka_iiwa/model.urdf", (8, 7, 7)
                       "franka_panda/panda_arm_hand.urdf", (10, 9, 9)
                       "go2/go2.urdf", (13, 19, 18) ]
            for file, fixedBase in urdfAssets do
                let e = Urdf.load (asset file, fixedBase = fixedBase)
                Expect.equal (EntitySpec.nbody e, EntitySpec.nq e, EntitySpec.nv e) expected.[file] file
                e.bodies |> Array.iteri (fun i b -> Expect.isLessThan b.parent i (file + ": parents first"))
        }
        test "non-standard elements are ignored (drake:*, transmission, gazebo, frame, mujoco, material)" {
            let e = Urdf.load (asset "kuka_iiwa/iiwa14_spheres_collision.urdf", fixedBase = true)
            Expect.equal e.bodies.[1].joints.[0].damping 0.5 "dynamics read"
            Expect.equal e.bodies.[1].joints.[0].effortLimit (Some 320.0) "effort limit"
            Expect.isSome e.bodies.[1].joints.[0].velocityLimit "velocity limit"
        }
    ]

let private meshTests =
    testList "meshes" [
        test "kuka model.urdf: STL collision meshes become convex hulls containing every vertex" {
            let e = Urdf.load (asset "kuka_iiwa/model.urdf", fixedBase = true)
            for b in e.bodies do
                let g = b.geoms.[0]
                Expect.equal g.gtype Mesh b.name
                let hull = g.meshVertices.Value
                let raw = MeshFile.loadVertices g.meshFile.Value
                let v, tris = ConvexHull.compute raw
                Expect.equal hull v "hull of the file"
                Expect.isLessThan (hull.Length / 3) (raw.Length / 3) "hull drops interior vertices"
                let p i = [| v.[3 * i]; v.[3 * i + 1]; v.[3 * i + 2] |]
                let size = g.size |> Array.max
                for t in 0 .. tris.Length / 3 - 1 do
                    let a, bb, c = p tris.[3 * t], p tris.[3 * t + 1], p tris.[3 * t + 2]
                    let n = SpecMath.normalize (SpecMath.cross (SpecMath.sub bb a) (SpecMath.sub c a))
                    for k in 0 .. raw.Length / 3 - 1 do
                        let d = SpecMath.dot n (SpecMath.sub [| raw.[3 * k]; raw.[3 * k + 1]; raw.[3 * k + 2] |] a)
                        if d > HullTol * size then failtestf "%s: vertex %d outside hull face %d by %g" b.name k t d
        }
        test "hull of a cube with interior and face points: 8 vertices, 12 triangles, V - E + F = 2" {
            let corners = [| for x in [ -1.0; 1.0 ] do for y in [ -1.0; 1.0 ] do for z in [ -1.0; 1.0 ] do yield! [| x; y; z |] |]
            let extra = [| 0.0; 0.0; 0.0; 0.5; 0.5; 1.0; 0.0; 1.0; 0.0; 0.2; -0.3; 0.1; 1.0; 1.0; 0.0 |]
            let v, t = ConvexHull.compute (Array.append extra corners)
            Expect.equal (v.Length / 3) 8 "vertices"
            Expect.equal (t.Length / 3) 12 "triangles"
            Expect.equal (8 - 18 + 12) 2 "Euler"
            let rnd = Random 7
            let pts = Array.init 3000 (fun _ -> rnd.NextDouble() * 2.0 - 1.0)
            let v2, t2 = ConvexHull.compute pts
            Expect.equal (v2.Length / 3 - (t2.Length / 3) * 3 / 2 + t2.Length / 3) 2 "closed triangulated sphere"
        }
        test "OBJ and ASCII STL readers; mesh scale attribute" {
            withTempDir (fun dir ->
                writeFile dir "tet.obj" "# tetra\nv 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 2 3\n" |> ignore
                writeFile dir "tet.stl" "solid t\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\nvertex 0 1 0\nendloop\nendfacet\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 0 1 0\nvertex 0 0 1\nendloop\nendfacet\nendsolid t\n" |> ignore
                Expect.equal (MeshFile.loadVertices (Path.Combine(dir, "tet.obj"))).Length 12 "obj"
                Expect.equal (MeshFile.loadVertices (Path.Combine(dir, "tet.stl"))).Length 12 "stl dedupes"
                let f =
                    writeFile dir "m.urdf" """<robot name="m"><link name="a"><collision><geometry><mesh filename="package://pkg/tet.obj" scale="2 3 4"/></geometry></collision></link></robot>"""
                let e = Urdf.load (f, fixedBase = true)
                near Tol "scaled extents" e.bodies.[0].geoms.[0].size [| 2.0; 3.0; 4.0 |])
        }
    ]

let private errorTests =
    testList "errors" [
        test "malformed XML names file and line" {
            expectError [ "line 3"; "malformed XML" ] "<robot name=\"r\">\n  <link name=\"a\"/>\n  <link name=\"b\">\n</robot>\n"
        }
        test "missing file" {
            throwsWith<GenesisException> [ "URDF file not found"; "nope.urdf" ] (fun () -> Urdf.load "nope.urdf" |> ignore)
        }
        test "unknown joint type" {
            expectError [ "line 4"; "joint 'j'"; "unknown joint type 'screw'" ]
                ("<robot name=\"r\">\n  <link name=\"a\"/>\n  " + massive "b" + "\n  <joint name=\"j\" type=\"screw\"><parent link=\"a\"/><child link=\"b\"/></joint>\n</robot>")
        }
        test "unknown geometry type" {
            expectError [ "line 2"; "link 'a'"; "unknown geometry type <cone>" ]
                "<robot name=\"r\">\n  <link name=\"a\"><collision><geometry><cone radius=\"1\"/></geometry></collision></link>\n</robot>"
        }
        test "missing parent and child links" {
            expectError [ "line 3"; "joint 'j'"; "parent link 'x'" ]
                ("<robot name=\"r\">\n  " + massive "b" + "\n  <joint name=\"j\" type=\"revolute\"><parent link=\"x\"/><child link=\"b\"/></joint>\n</robot>")
            expectError [ "line 3"; "joint 'j'"; "child link 'y'" ]
                ("<robot name=\"r\">\n  " + massive "b" + "\n  <joint name=\"j\" type=\"revolute\"><parent link=\"b\"/><child link=\"y\"/></joint>\n</robot>")
        }
        test "duplicate link and joint names" {
            expectError [ "line 3"; "duplicate link name 'a'"; "line 2" ] ("<robot name=\"r\">\n  " + massive "a" + "\n  " + massive "a" + "\n</robot>")
            expectError [ "line 6"; "duplicate joint name 'j'" ]
                ("<robot name=\"r\">\n  <link name=\"a\"/>\n  " + massive "b" + "\n  " + massive "c"
                 + "\n  <joint name=\"j\" type=\"revolute\"><parent link=\"a\"/><child link=\"b\"/></joint>\n  <joint name=\"j\" type=\"revolute\"><parent link=\"a\"/><child link=\"c\"/></joint>\n</robot>")
        }
        test "kinematic loops: a link with two parents, and a cycle without root" {
            expectError [ "line 6"; "kinematic loop"; "link 'c' has two parents"; "joint 'j1'"; "joint 'j2'" ]
                ("<robot name=\"r\">\n  <link name=\"a\"/>\n  " + massive "b" + "\n  " + massive "c"
                 + "\n  <joint name=\"j1\" type=\"revolute\"><parent link=\"a\"/><child link=\"c\"/></joint>\n  <joint name=\"j2\" type=\"revolute\"><parent link=\"b\"/><child link=\"c\"/></joint>\n</robot>")
            expectError [ "kinematic loop"; "no root link" ]
                ("<robot name=\"r\">\n  " + massive "a" + "\n  " + massive "b"
                 + "\n  <joint name=\"j1\" type=\"revolute\"><parent link=\"a\"/><child link=\"b\"/></joint>\n  <joint name=\"j2\" type=\"revolute\"><parent link=\"b\"/><child link=\"a\"/></joint>\n</robot>")
        }
        test "moving link with mass 0 or a non-positive-definite inertia" {
            expectError [ "line 3"; "link 'b'"; "joint 'j'"; "mass" ]
                "<robot name=\"r\">\n  <link name=\"a\"/>\n  <link name=\"b\"/>\n  <joint name=\"j\" type=\"continuous\"><parent link=\"a\"/><child link=\"b\"/></joint>\n</robot>"
            expectError [ "line 3"; "link 'b'"; "joint 'j'"; "not positive definite" ]
                "<robot name=\"r\">\n  <link name=\"a\"/>\n  <link name=\"b\"><inertial><mass value=\"1\"/><inertia ixx=\"1\" iyy=\"1\" izz=\"1\" ixy=\"2\" ixz=\"0\" iyz=\"0\"/></inertial></link>\n  <joint name=\"j\" type=\"continuous\"><parent link=\"a\"/><child link=\"b\"/></joint>\n</robot>"
        }
        test "floating root without mass fails, with the file and link" {
            withTempDir (fun dir ->
                let f = writeFile dir "bad.urdf" "<robot name=\"r\">\n  <link name=\"r0\"/>\n</robot>"
                throwsWith<GenesisException> [ "bad.urdf"; "line 2"; "link 'r0'"; "r0_free_joint"; "mass" ] (fun () -> Urdf.load f |> ignore))
        }
        test "mesh file missing" {
            expectError [ "line 2"; "link 'a'"; "mesh file not found"; "gone.stl" ]
                "<robot name=\"r\">\n  <link name=\"a\"><collision><geometry><mesh filename=\"meshes/gone.stl\"/></geometry></collision></link>\n</robot>"
        }
        test "inertia from a mesh geom is not supported" {
            withTempDir (fun dir ->
                writeFile dir "tet.obj" "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\n" |> ignore
                let f = writeFile dir "bad.urdf" "<robot name=\"r\">\n  <link name=\"a\"><collision><geometry><mesh filename=\"tet.obj\"/></geometry></collision></link>\n</robot>"
                throwsWith<GenesisNotSupportedException> [ "bad.urdf"; "line 2"; "link 'a'"; "mesh" ] (fun () -> Urdf.load (f, fixedBase = true, inertiaFromGeom = true) |> ignore))
        }
        test "unsupported URDF joint types are GenesisNotSupportedException" {
            withTempDir (fun dir ->
                let f = writeFile dir "bad.urdf" ("<robot name=\"r\">\n  <link name=\"a\"/>\n  " + massive "b" + "\n  <joint name=\"p\" type=\"planar\"><parent link=\"a\"/><child link=\"b\"/></joint>\n</robot>")
                throwsWith<GenesisNotSupportedException> [ "bad.urdf"; "line 4"; "joint 'p'"; "planar" ] (fun () -> Urdf.load (f, fixedBase = true) |> ignore))
        }
    ]

/// Kept links change no dynamics: the welded body's mass properties are the fused ones, split.
let KeptTol = 1e-10

let private keptTests =
    let franka = "franka_panda/panda_arm_hand.urdf"
    let row (a: float[]) = gs.fromArray(a, shape = [| 1; a.Length |], dtype = DType.Float64)
    let bodyIndex (e: EntitySpec) name = e.bodies |> Array.findIndex (fun b -> b.name = name)
    testList "kept links" [
        test "linksToKeep keeps panda_hand as a body welded to link 7; the fingers hang from it" {
            let merged = Urdf.load (asset franka, fixedBase = true)
            let kept = Urdf.load (asset franka, fixedBase = true, linksToKeep = [| "panda_hand" |])
            Expect.isFalse (merged.bodies |> Array.exists (fun b -> b.name = "panda_hand")) "merged by default"
            let hand = kept.bodies[bodyIndex kept "panda_hand"]
            Expect.equal hand.joints.Length 0 "no joints: welded"
            Expect.equal kept.bodies[hand.parent].name "panda_link7" "parent is link 7 (link 8 is merged)"
            Expect.isGreaterThan hand.geoms.Length 0 "the hand's collision geoms are on the kept body"
            let finger = kept.bodies[bodyIndex kept "panda_leftfinger"]
            Expect.equal kept.bodies[finger.parent].name "panda_hand" "fingers hang from the kept hand"
            Expect.equal kept.bodies.Length (merged.bodies.Length + 1) "one body more"
            nearScalar KeptTol "total mass" (kept.bodies |> Array.sumBy (fun b -> b.mass)) (merged.bodies |> Array.sumBy (fun b -> b.mass))
            let geoms (e: EntitySpec) = e.bodies |> Array.sumBy (fun b -> b.geoms.Length)
            Expect.equal (geoms kept) (geoms merged) "the same geoms, on other bodies"
        }
        test "a kept link's pose is its parent's pose times the fixed joints' transforms" {
            GsSetup.ensure64 ()
            let kept = Urdf.load (asset franka, fixedBase = true, linksToKeep = [| "panda_hand" |])
            let m = Model.build [| kept |] DType.Float64
            let q = GsSetup.randomQpos (Random 7) kept
            let kin = Kinematics.compute m (row q)
            let xpos, xmat = kin.xpos.toFloatArray(), kin.xmat.toFloatArray()
            let l7, h = bodyIndex kept "panda_link7", bodyIndex kept "panda_hand"
            let r7 = xmat[l7 * 9 .. l7 * 9 + 8]
            // panda_joint8: xyz (0, 0, 0.107); panda_hand_joint: rpy (0, 0, -pi/4)
            let expectedPos = Array.init 3 (fun i -> xpos[l7 * 3 + i] + r7[i * 3 + 2] * 0.107)
            let c, s = cos (-Math.PI / 4.0), sin (-Math.PI / 4.0)
            let rz = [| c; -s; 0.0; s; c; 0.0; 0.0; 0.0; 1.0 |]
            let expectedR = Array.init 9 (fun k -> let i, j = k / 3, k % 3 in Array.sum (Array.init 3 (fun t -> r7[i * 3 + t] * rz[t * 3 + j])))
            near KeptTol "hand position" xpos[h * 3 .. h * 3 + 2] expectedPos
            near KeptTol "hand orientation" xmat[h * 9 .. h * 9 + 8] expectedR
        }
        test "kept links leave the mass matrix, bias forces and a trajectory unchanged" {
            GsSetup.ensure64 ()
            let merged = Urdf.load (asset franka, fixedBase = true)
            let kept = Urdf.load (asset franka, fixedBase = true, mergeFixedLinks = false)
            let mm, mk = Model.build [| merged |] DType.Float64, Model.build [| kept |] DType.Float64
            Expect.equal mk.topology.nv mm.topology.nv "the same dofs"
            let rnd = Random 11
            for _ in 1 .. 5 do
                let q = GsSetup.randomQpos rnd merged
                let v = Array.init mm.topology.nv (fun _ -> GsSetup.uniform rnd -1.0 1.0)
                let dm = Dynamics.compute mm (Kinematics.compute mm (row q)) (row v)
                let dk = Dynamics.compute mk (Kinematics.compute mk (row q)) (row v)
                near KeptTol "qM" (dk.qM.toFloatArray()) (dm.qM.toFloatArray())
                near KeptTol "bias" (dk.qfrcBias.toFloatArray()) (dm.qfrcBias.toFloatArray())
            let sp = { SimParams.defaults with enableContact = false }
            let run (m: Model) =
                let mutable st = { qpos = row (GsSetup.randomQpos (Random 3) merged); qvel = gs.zeros([ 1; m.topology.nv ], dtype = DType.Float64); time = 0.0 }
                let ctrl = { values = gs.zeros([ 1; m.topology.nv ], dtype = DType.Float64); modes = Array.create m.topology.nv ControlMode.Force }
                for _ in 1 .. 50 do st <- FastStep.step m sp st ctrl
                st.qpos.toFloatArray()
            near KeptTol "qpos after 50 steps" (run mk) (run mm)
        }
        test "mergeFixedLinks = false keeps every link" {
            let kept = Urdf.load (asset franka, fixedBase = true, mergeFixedLinks = false)
            let links = Xml.Linq.XDocument.Load(asset franka).Root.Elements(Xml.Linq.XName.Get "link") |> Seq.map (fun l -> l.Attribute(Xml.Linq.XName.Get "name").Value) |> Set.ofSeq
            Expect.equal (kept.bodies |> Array.map (fun b -> b.name) |> Set.ofArray) links "one body per link"
        }
        test "an unknown link to keep names the file, the link and the links there are" {
            throwsWith<GenesisException> [ "panda_arm_hand.urdf"; "linksToKeep"; "'panda_palm'"; "panda_hand" ]
                (fun () -> Urdf.load (asset franka, fixedBase = true, linksToKeep = [| "panda_palm" |]) |> ignore)
        }
    ]

[<Tests>]
let tests = testList "Physics.Morphs.Urdf" [ fusionTests; meshTests; errorTests; keptTests ]
