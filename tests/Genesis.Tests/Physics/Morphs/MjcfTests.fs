module Genesis.Tests.Physics.MjcfTests

open System
open System.IO
open Expecto
open Genesis
open Genesis.Physics
open Genesis.Tests.TestUtil
open Genesis.Tests.Physics.MorphTestUtil

/// Closed-form values and file values: exact up to rounding.
let Tol = 1e-12

/// Loads MJCF text written to a temporary file named bad.xml and expects an exception 'E.
let private expectErrorT<'E when 'E :> exn> (fragments: string list) (text: string) =
    withTempDir (fun dir ->
        let f = writeFile dir "bad.xml" text
        throwsWith<'E> ("bad.xml" :: fragments) (fun () -> Mjcf.load f |> ignore))

let private expectError fragments text = expectErrorT<GenesisException> fragments text

[<Tests>]
let tests =
    testList "Physics.Morphs.Mjcf" [
        test "Debian humanoid: 17 bodies incl. world, nq 28, nv 27, 21 motors, timestep 0.005" {
            if not (File.Exists debianHumanoid) then skiptest "libmujoco-samples is not installed"
            let e = Mjcf.load debianHumanoid
            Expect.equal (EntitySpec.nbody e, EntitySpec.nq e, EntitySpec.nv e, EntitySpec.nu e) (17, 28, 27, 21) "sizes"
            Expect.equal e.options.timestep 0.005 "timestep"
            Expect.equal e.bodies.[0].name "world" "world body first"
            Expect.equal e.bodies.[0].geoms.[0].gtype Plane "floor"
            Expect.equal e.bodies.[1].joints.[0].jtype Free "free root"
            let knee = e.bodies |> Array.collect (fun b -> b.joints) |> Array.find (fun j -> j.name = "right_knee")
            Expect.equal knee.range (Some(-160.0 * Math.PI / 180.0, 2.0 * Math.PI / 180.0)) "degrees -> rad"
            nearScalar Tol "class default damping" knee.damping 0.2
            let hipy = e.bodies |> Array.collect (fun b -> b.joints) |> Array.find (fun j -> j.name = "right_hip_y")
            nearScalar Tol "nested class stiffness" hipy.stiffness 20.0
            nearScalar Tol "nested class damping" hipy.damping 5.0
            let a = e.actuators |> Array.find (fun a -> a.name = "right_hip_y")
            Expect.equal (a.transmission, a.gear, a.ctrlrange) (JointTrn "right_hip_y", 120.0, Some(-1.0, 1.0)) "motor"
        }
        test "all assets/mjcf files load; one_ball_joint has a ball joint (nq 4, nv 3)" {
            for f in mjcfAssets () do Mjcf.load (asset f) |> ignore
            let e = Mjcf.load (asset "mjcf/one_ball_joint.xml")
            Expect.equal (EntitySpec.nq e, EntitySpec.nv e) (4, 3) "ball"
            Expect.equal (EntitySpec.qpos0 e) [| 1.0; 0.0; 0.0; 0.0 |] "identity quaternion"
            let seg0 = body e "seg0"
            nearScalar 1e-12 "density 500 capsule" seg0.mass (500.0 * Math.PI * (0.02 * 0.02 * 0.1 + 4.0 / 3.0 * 0.02 ** 3.0))
            near 1e-12 "fromto midpoint is the COM" seg0.ipos [| 0.05; 0.0; 0.0 |]
        }
        test "fromto: pos at the midpoint, size[1] half the length, z axis from 'to' to 'from' (as MuJoCo)" {
            withTempDir (fun dir ->
                let f =
                    writeFile dir "f.xml" """<mujoco><worldbody><body name="b"><joint type="slide" axis="1 0 0"/>
  <geom name="g" type="capsule" fromto="0 0 0 1 0 0" size="0.1"/>
  <geom name="h" type="box" fromto="0 0 0 0 0 2" size="0.3"/>
</body></worldbody></mujoco>"""
                let g = (Mjcf.load f).bodies.[1].geoms
                near Tol "pos" g.[0].pos [| 0.5; 0.0; 0.0 |]
                near Tol "size" g.[0].size [| 0.1; 0.5; 0.0 |]
                nearQuat 1e-15 "quat" g.[0].quat [| sqrt 0.5; 0.0; -(sqrt 0.5); 0.0 |]
                near Tol "box size" g.[1].size [| 0.3; 0.3; 1.0 |]
                near 1e-15 "box quat" g.[1].quat [| cos (Math.PI / 2.0); 1.0; 0.0; 0.0 |])
        }
        test "default classes: nested inheritance, childclass, partial vector overrides" {
            withTempDir (fun dir ->
                let f =
                    writeFile dir "d.xml" """<mujoco>
  <default>
    <geom friction="0.5 0.1 0.2" size="0.1 0.2"/>
    <default class="a"><joint damping="2" armature="0.1"/><geom type="box" size="0.3 0.3 0.3"/>
      <default class="b"><joint damping="3"/></default>
    </default>
  </default>
  <worldbody>
    <body name="p" childclass="a"><joint name="j1"/><geom name="g1" friction="0.9"/>
      <body name="q"><joint name="j2" class="b"/><geom name="g2" class="main" type="capsule" size="0.05"/></body>
    </body>
  </worldbody>
</mujoco>"""
                let e = Mjcf.load f
                let p, q = body e "p", body e "q"
                Expect.equal (p.joints.[0].damping, p.joints.[0].armature) (2.0, 0.1) "childclass a"
                Expect.equal (q.joints.[0].damping, q.joints.[0].armature) (3.0, 0.1) "class b inherits a"
                Expect.equal p.geoms.[0].gtype Box "type from class"
                near Tol "partial friction override" p.geoms.[0].friction [| 0.9; 0.1; 0.2 |]
                near Tol "partial size override" q.geoms.[0].size [| 0.05; 0.2; 0.0 |]
                nearScalar 1e-9 "box mass from geom" p.mass (1000.0 * 0.6 ** 3.0))
        }
        test "explicit inertial: diaginertia rotated by quat, fullinertia order ixx iyy izz ixy ixz iyz" {
            withTempDir (fun dir ->
                let f =
                    writeFile dir "i.xml" """<mujoco><compiler angle="radian"/><worldbody>
  <body name="a"><joint/><inertial pos="0 0 1" euler="0 0 1.5707963267948966" mass="2" diaginertia="1 2 3"/><geom size="1"/></body>
  <body name="b"><joint/><inertial pos="0 0 0" mass="2" fullinertia="2 2 3 0.1 0.2 0.3"/></body>
</worldbody></mujoco>"""
                let e = Mjcf.load f
                nearScalar Tol "inertial overrides geoms" (body e "a").mass 2.0
                near 1e-15 "rotated" (body e "a").inertia (SpecMath.diag [| 2.0; 1.0; 3.0 |])
                near Tol "full" (body e "b").inertia [| 2.0; 0.1; 0.2; 0.1; 2.0; 0.3; 0.2; 0.3; 3.0 |])
        }
        test "errors name file, line and element" {
            expectError [ "line 1"; "malformed XML" ] "<mujoco><worldbody></mujoco>"
            expectError [ "line 3"; "joint 'j'"; "unknown type 'screw'" ]
                "<mujoco>\n<worldbody><body name=\"b\">\n<joint name=\"j\" type=\"screw\"/><geom size=\"1\"/></body></worldbody>\n</mujoco>"
            expectError [ "line 2"; "geom 'g'"; "unknown geom type 'cone'" ]
                "<mujoco><worldbody><body name=\"b\"><joint/>\n<geom name=\"g\" type=\"cone\" size=\"1\"/></body></worldbody>\n</mujoco>"
            expectError [ "line 2"; "unknown default class 'nope'" ]
                "<mujoco><worldbody><body name=\"b\">\n<joint class=\"nope\"/><geom size=\"1\"/></body></worldbody></mujoco>"
            expectError [ "line 2"; "body 'b'"; "mass" ] "<mujoco><worldbody>\n<body name=\"b\"><joint name=\"j\"/></body></worldbody></mujoco>"
            expectError [ "line 3"; "duplicate body name 'b'" ]
                "<mujoco><worldbody>\n<body name=\"b\"><geom size=\"1\"/></body>\n<body name=\"b\"><geom size=\"1\"/></body></worldbody></mujoco>"
            expectError [ "line 2"; "free joint"; "world" ]
                "<mujoco><worldbody><body name=\"a\"><joint/><geom size=\"1\"/><body name=\"b\">\n<freejoint name=\"f\"/><geom size=\"1\"/></body></body></worldbody></mujoco>"
            expectError [ "line 2"; "plane" ] "<mujoco><worldbody>\n<body name=\"b\"><joint/><geom type=\"plane\" size=\"1 1 1\"/><geom size=\"1\"/></body></worldbody></mujoco>"
            expectErrorT<GenesisNotSupportedException> [ "line 2"; "mesh" ]
                "<mujoco><worldbody><body name=\"b\"><joint/>\n<geom type=\"mesh\" mesh=\"m\"/></body></worldbody></mujoco>"
            throwsWith<GenesisException> [ "MJCF file not found"; "missing.xml" ] (fun () -> Mjcf.load "missing.xml" |> ignore)
        }
        test "<include>: relative to the including file, nested, merged top-level defaults; = the inlined file" {
            withTempDir (fun dir ->
                Directory.CreateDirectory(Path.Combine(dir, "parts")) |> ignore
                writeFile dir "parts/arm.xml" """<mujoco><default><joint damping="0.7"/></default>
  <worldbody><body name="arm" pos="0 0 1"><joint name="j" type="hinge"/><geom type="capsule" size="0.05 0.2"/>
    <include file="hand.xml"/></body></worldbody></mujoco>""" |> ignore
                writeFile dir "parts/hand.xml" """<mujoco><body name="hand" pos="0 0 0.4"><joint name="k" type="slide"/>
  <geom type="sphere" size="0.1"/></body></mujoco>""" |> ignore
                let main =
                    writeFile dir "main.xml" """<mujoco><include file="parts/arm.xml"/><default><geom density="500"/></default>
  <worldbody><geom type="plane" size="1 1 0.1"/></worldbody></mujoco>"""
                let inlined =
                    writeFile dir "inlined.xml" """<mujoco><default><joint damping="0.7"/><geom density="500"/></default>
  <worldbody><body name="arm" pos="0 0 1"><joint name="j" type="hinge"/><geom type="capsule" size="0.05 0.2"/>
    <body name="hand" pos="0 0 0.4"><joint name="k" type="slide"/><geom type="sphere" size="0.1"/></body></body>
  <geom type="plane" size="1 1 0.1"/></worldbody></mujoco>"""
                let a, b = Mjcf.load main, Mjcf.load inlined
                Expect.equal (a.bodies |> Array.map (fun x -> x.name)) [| "world"; "arm"; "hand" |] "bodies in file order"
                Expect.equal (a.bodies |> Array.map (fun x -> x.name)) (b.bodies |> Array.map (fun x -> x.name)) "same bodies"
                for x, y in Array.zip a.bodies b.bodies do
                    nearScalar Tol ("mass of " + x.name) x.mass y.mass
                    Expect.equal (x.joints |> Array.map (fun j -> j.name, j.damping)) (y.joints |> Array.map (fun j -> j.name, j.damping)) "joints"
                nearScalar Tol "default from the included file" (body a "hand").joints.[0].damping 0.7)
        }
        test "<include>: a cycle and a missing file name the including file and line; errors inside name the included file" {
            withTempDir (fun dir ->
                writeFile dir "a.xml" "<mujoco>\n<include file=\"b.xml\"/></mujoco>" |> ignore
                writeFile dir "b.xml" "<mujoco>\n\n<include file=\"a.xml\"/></mujoco>" |> ignore
                throwsWith<GenesisException> [ "b.xml (line 3)"; "cycle"; "a.xml -> b.xml -> a.xml" ] (fun () -> Mjcf.load (Path.Combine(dir, "a.xml")) |> ignore)
                let self = writeFile dir "self.xml" "<mujoco><worldbody>\n<include file=\"self.xml\"/></worldbody></mujoco>"
                throwsWith<GenesisException> [ "self.xml (line 2)"; "cycle" ] (fun () -> Mjcf.load self |> ignore)
                let missing = writeFile dir "m.xml" "<mujoco>\n\n\n<include file=\"nothere.xml\"/></mujoco>"
                throwsWith<GenesisException> [ "m.xml (line 4)"; "nothere.xml"; "not found" ] (fun () -> Mjcf.load missing |> ignore)
                writeFile dir "badpart.xml" "<mujoco><worldbody>\n<body name=\"p\"><geom type=\"sphere\" size=\"-1\"/></body></worldbody></mujoco>" |> ignore
                let outer = writeFile dir "outer.xml" "<mujoco><include file=\"badpart.xml\"/></mujoco>"
                throwsWith<GenesisException> [ "badpart.xml (line 2)"; "size" ] (fun () -> Mjcf.load outer |> ignore))
        }
        test "MuJoCo's humanoid100.xml (an <include>) loads: nv 627" {
            let f = "/usr/share/mujoco/model/humanoid100/humanoid100.xml"
            if not (File.Exists f) then skiptest "libmujoco-samples is not installed"
            let e = Mjcf.load f
            Expect.equal (EntitySpec.nv e) 627 "nv"
        }
    ]
