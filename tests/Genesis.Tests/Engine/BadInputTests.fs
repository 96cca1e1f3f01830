/// Regression tests of issue 18 (bad input never corrupts a scene), one per numbered item: index semantics of the
/// setters, validation at load and build, the explosion bound, options and messages (docs/errors.md).
module Genesis.Tests.Engine.BadInputTests

open System
open System.IO
open System.Text
open Expecto
open Genesis
open Genesis.Physics
open Genesis.Tests
open Genesis.Tests.TestUtil
open Genesis.Tests.Physics.MorphTestUtil

/// Bit patterns of floats, so that NaN entries compare equal to themselves.
let bits (v: float[]) = v |> Array.map BitConverter.DoubleToInt64Bits

let private arm (nEnvs: int) =
    let scene = Scene(SimOptions(dt = 0.01))
    let robot = scene.addEntity(Morphs.URDF(GsSetup.asset "two_link_arm/two_link_arm.urdf", fixedBase = true))
    scene.build(nEnvs = nEnvs)
    scene, robot

/// A moving URDF link with unit mass and inertia and the given collision geometry.
let private urdfLink (name: string) (geometry: string) =
    sprintf """<link name="%s"><inertial><mass value="1"/><inertia ixx="1" iyy="1" izz="1" ixy="0" ixz="0" iyz="0"/></inertial><collision><geometry>%s</geometry></collision></link>""" name geometry

/// A two-link URDF (base + a hinge child) whose child has the given geometry, origin and inertial text.
let private urdfWith (childLink: string) (jointExtra: string) =
    sprintf """<robot name="r"><link name="base"/>%s<joint name="j" type="revolute"><parent link="base"/><child link="c"/>%s<limit lower="-1" upper="1" effort="inf" velocity="1"/></joint></robot>""" childLink jointExtra

let private loadUrdf (dir: string) (text: string) = Urdf.load (writeFile dir "bad.urdf" text, fixedBase = true) |> ignore

let private mjcfWith (body: string) (extra: string) =
    sprintf """<mujoco model="m"><worldbody>%s</worldbody>%s</mujoco>""" body extra

let private ball = """<body name="b" pos="0 0 1"><joint name="h" type="hinge"/><geom type="sphere" size="0.1"/></body>"""

[<Tests>]
let tests =
    testList "Engine.BadInput" [
        test "item 3: MJCF <equality> and <tendon> are rejected naming element and line, or ignored on request with a warning" {
            withTempDir (fun dir ->
                let two = """<body name="a" pos="0 0 1"><joint name="ja" type="hinge"/><geom type="sphere" size="0.1"/></body><body name="c" pos="1 0 1"><joint name="jc" type="hinge"/><geom type="sphere" size="0.1"/></body>"""
                let eq = writeFile dir "eq.xml" (mjcfWith two "\n<equality>\n<connect name=\"link\" body1=\"a\" body2=\"c\" anchor=\"0 0 0\"/>\n</equality>")
                throwsWith<GenesisNotSupportedException> [ "eq.xml (line 3)"; "<equality><connect name='link'>"; "ignoreTendonsAndEqualities" ] (fun () -> Mjcf.load eq |> ignore)
                let td = writeFile dir "td.xml" (mjcfWith two "\n\n<tendon><fixed name=\"t\"><joint joint=\"ja\" coef=\"1\"/></fixed></tendon>")
                throwsWith<GenesisNotSupportedException> [ "td.xml (line 3)"; "<tendon><fixed name='t'>" ] (fun () -> Morphs.MJCF td |> ignore)
                let e = Mjcf.load (eq, ignoreTendonsAndEqualities = true)
                Expect.equal e.options.warnings.Length 1 "one warning"
                Expect.stringContains e.options.warnings[0] "eq.xml (line 3): <equality><connect name='link'> ignored" "the warning names file, line and element"
                Expect.equal e.bodies.Length 3 "the model still loads")
        }

        test "item 4: an MJCF nested 50,000 bodies deep raises instead of overflowing the stack" {
            withTempDir (fun dir ->
                let depth = 50000
                let sb = StringBuilder("<mujoco><worldbody>\n")
                for i in 1 .. depth do sb.Append(sprintf "<body name=\"b%d\"><joint type=\"hinge\"/><geom size=\"0.1\"/>\n" i) |> ignore
                for _ in 1 .. depth do sb.Append("</body>") |> ignore
                sb.Append("</worldbody></mujoco>") |> ignore
                let f = writeFile dir "deep.xml" (sb.ToString())
                throwsWith<GenesisException> [ "deep.xml (line 1002)"; "body 'b1001' is nested 1001 bodies deep; at most 1000" ] (fun () -> Mjcf.load f |> ignore)
                let links = StringBuilder("<robot name=\"deep\">")
                for i in 0 .. 5000 do links.Append(urdfLink (sprintf "l%d" i) "<sphere radius=\"0.1\"/>") |> ignore
                for i in 1 .. 5000 do
                    links.Append(sprintf """<joint name="j%d" type="continuous"><parent link="l%d"/><child link="l%d"/></joint>""" i (i - 1) i) |> ignore
                links.Append("</robot>") |> ignore
                let u = writeFile dir "deep.urdf" (links.ToString())
                throwsWith<GenesisException> [ "deep.urdf"; "link 'l1001' is nested 1001 links deep" ] (fun () -> Urdf.load (u, fixedBase = true) |> ignore))
        }

        test "item 5: URDF geoms with zero or negative sizes are rejected naming file, line and link" {
            withTempDir (fun dir ->
                for geometry, fragment in
                    [ """<sphere radius="-0.1"/>""", "<sphere> 'radius' must be > 0, got -0.1"
                      """<box size="0.1 0 0.1"/>""", "<box> 'size' values must be > 0"
                      """<cylinder radius="0.1" length="-1"/>""", "<cylinder> 'length' must be > 0"
                      """<capsule radius="0" length="1"/>""", "<capsule> 'radius' must be > 0" ] do
                    throwsWith<GenesisException> [ "bad.urdf (line 1)"; "link 'c'"; fragment ] (fun () -> loadUrdf dir (urdfWith (urdfLink "c" geometry) "")))
        }

        test "item 6: NaN, infinite and huge numbers in model files are rejected at load naming file, line and attribute" {
            withTempDir (fun dir ->
                let sphere = urdfLink "c" """<sphere radius="0.1"/>"""
                for bad, fragment in
                    [ urdfWith sphere """<origin xyz="0 nan 0"/>""", "<origin> attribute 'xyz': 'nan' is not a number"
                      urdfWith sphere """<axis xyz="Infinity 0 0"/>""", "<axis> attribute 'xyz': 'Infinity' is infinite"
                      urdfWith (sphere.Replace("mass value=\"1\"", "mass value=\"1e400\"")) "", "<mass> attribute 'value': '1e400' is infinite"
                      urdfWith (sphere.Replace("ixx=\"1\"", "ixx=\"1e308\"")) "", "<inertia> attribute 'ixx': '1e308' is too large" ] do
                    throwsWith<GenesisException> [ "bad.urdf (line 1)"; fragment ] (fun () -> loadUrdf dir bad)
                let f = writeFile dir "bad.xml" (mjcfWith (ball.Replace("pos=\"0 0 1\"", "pos=\"0 0 NaN\"")) "")
                throwsWith<GenesisException> [ "bad.xml (line 1)"; "<body> attribute 'pos': 'NaN' is not a number" ] (fun () -> Mjcf.load f |> ignore)
                // bounds may be infinite: an unbounded effort loads
                loadUrdf dir (urdfWith sphere ""))
        }

        test "item 7: unsupported contact pairs are rejected at build naming both geoms and bodies" {
            GsSetup.ensure64 ()
            let scene = Scene()
            scene.addEntity(Morphs.Plane()) |> ignore
            scene.addEntity(Morphs.Capsule(0.1, 0.4, pos = [| 0.0; 0.0; 1.0 |])) |> ignore
            scene.addEntity(Morphs.Cylinder(0.1, 0.4, pos = [| 5.0; 0.0; 1.0 |])) |> ignore
            throwsWith<GenesisNotSupportedException> [ "contact between the Capsule geom"; "of body 'capsule'"; "Cylinder geom"; "of body 'cylinder'"; "enableContact = false" ] (fun () ->
                scene.build())
            Expect.isFalse scene.isBuilt "the scene is not built"
            let off = Scene(SimOptions(enableContact = false))
            off.addEntity(Morphs.Capsule(0.1, 0.4, pos = [| 0.0; 0.0; 1.0 |])) |> ignore
            off.addEntity(Morphs.Cylinder(0.1, 0.4, pos = [| 5.0; 0.0; 1.0 |])) |> ignore
            off.build()
            Expect.isTrue off.isBuilt "without contact the pair needs no narrow phase"
        }
    ]
