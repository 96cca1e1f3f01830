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
        test "item 1: a non-finite entry never spills into other dofs or envs" {
            GsSetup.ensure64 ()
            let scene = Scene(SimOptions(dt = 0.01))
            let iiwa = scene.addEntity(Morphs.URDF(GsSetup.asset "kuka_iiwa/iiwa14_spheres_collision.urdf", fixedBase = true))
            scene.build()
            let lo0 = scene.parameters.forceLo.toFloatArray()
            iiwa.setDofsForceRange(gs.tensor [ -infinity; -infinity ], gs.tensor [ infinity; infinity ], dofsIdx = [| 0; 1 |])
            let lo = scene.parameters.forceLo.toFloatArray()
            Expect.equal lo[0..1] [| -infinity; -infinity |] "the addressed bounds are unbounded"
            Expect.equal (bits lo[2..]) (bits lo0[2..]) "the other dofs' bounds are unchanged (no NaN)"
            let scene, robot = arm 8
            let before = scene.getState().qpos.toFloatArray()
            robot.setDofsPosition(gs.fromArray([| nan; 1.0; 2.0; 2.0 |], shape = [ 2; 2 ]), envsIdx = [| 5; 6 |])
            let q = scene.getState().qpos.toFloatArray()
            Expect.isTrue (Double.IsNaN q[10]) "env 5 dof 0 holds the NaN it was given"
            Expect.equal q[11] 1.0 "env 5 dof 1"
            Expect.equal q[12..13] [| 2.0; 2.0 |] "env 6 is not touched by env 5's NaN"
            for e in [ 0; 1; 2; 3; 4; 7 ] do
                Expect.equal (bits q[2 * e .. 2 * e + 1]) (bits before[2 * e .. 2 * e + 1]) (sprintf "env %d unchanged" e)
            let _, robot = arm 0
            robot.controlDofsForce(gs.tensor [ infinity; 1.0 ], dofsIdx = [| 1; 0 |])
            Expect.equal (robot.getDofsForce().toFloatArray()) [| 1.0; infinity |] "out-of-order dofsIdx: each value lands on its dof"
        }

        test "item 2: repeated indices are rejected and change nothing" {
            GsSetup.ensure64 ()
            let scene, robot = arm 4
            let q0 = scene.getState().qpos.toFloatArray()
            throwsWith<GenesisException> [ "setDofsPosition"; "index 0 appears more than once in dofsIdx" ] (fun () ->
                robot.setDofsPosition(gs.tensor [ 1.0; 2.0 ], dofsIdx = [| 0; 0 |]))
            throwsWith<GenesisException> [ "setDofsVelocity"; "index 3 appears more than once in envsIdx" ] (fun () ->
                robot.setDofsVelocity(gs.fromArray([| 1.0; 2.0; 3.0; 4.0 |], shape = [ 2; 2 ]), envsIdx = [| 3; 3 |]))
            throwsWith<GenesisException> [ "controlDofsForce"; "dofsIdx" ] (fun () -> robot.controlDofsForce(gs.tensor [ 1.0; 2.0 ], dofsIdx = [| 1; 1 |]))
            throwsWith<GenesisException> [ "setLinksMass"; "linksIdx" ] (fun () -> robot.setLinksMass(gs.tensor [ 1.0; 2.0 ], linksIdx = [| 1; 1 |]))
            throwsWith<GenesisException> [ "setDofsKp"; "dofsIdx" ] (fun () -> robot.setDofsKp(gs.tensor [ 1.0; 2.0 ], dofsIdx = [| 0; 0 |]))
            Expect.equal (scene.getState().qpos.toFloatArray()) q0 "state unchanged"
            Expect.equal (robot.getDofsForce().toFloatArray()) (Array.zeroCreate 8) "controls unchanged"
            robot.setDofsPosition(gs.tensor [ 1.0; 2.0 ], dofsIdx = [| 1; 0 |])
            Expect.equal ((scene.getState().qpos.toFloatArray())[0..1]) [| 2.0; 1.0 |] "distinct indices in any order still work"
        }

        test "item 2: gradients follow the index rule: each written value's gradient comes from its one entry" {
            GsSetup.ensure64 ()
            let weights = gs.tensor [ 1.0; 10.0 ]
            let run (values: float[]) (dofsIdx: int[] option) =
                let scene = Scene(SimOptions(dt = 0.01, requiresGrad = true))
                let robot = scene.addEntity(Morphs.URDF(GsSetup.asset "two_link_arm/two_link_arm.urdf", fixedBase = true))
                scene.build()
                let x = gs.tensor(values, requiresGrad = true)
                robot.setDofsPosition(x, ?dofsIdx = dofsIdx)
                for _ in 1 .. 5 do scene.step()
                (robot.getDofsPosition() * weights).sum().backward()
                x.grad.toFloatArray()
            let permuted = run [| 0.3; -0.2 |] (Some [| 1; 0 |])
            let natural = run [| -0.2; 0.3 |] None
            Expect.isGreaterThan (abs natural[0] + abs natural[1]) 1e-3 "non-zero gradient"
            Expect.floatClose Accuracy.veryHigh permuted[0] natural[1] "value 0 went to dof 1 and takes dof 1's gradient"
            Expect.floatClose Accuracy.veryHigh permuted[1] natural[0] "value 1 went to dof 0 and takes dof 0's gradient"
            // batched: rows of values go to envs 2 and 0; env 1 keeps its state and sends no gradient to them
            let scene = Scene(SimOptions(dt = 0.01, requiresGrad = true))
            let robot = scene.addEntity(Morphs.URDF(GsSetup.asset "two_link_arm/two_link_arm.urdf", fixedBase = true))
            scene.build(nEnvs = 3)
            let x = gs.fromArray([| 0.1; 0.2; 0.3; 0.4 |], shape = [ 2; 2 ], requiresGrad = true)
            robot.setDofsPosition(x, envsIdx = [| 2; 0 |])
            (robot.getDofsPosition() * gs.fromArray([| 1.0; 10.0; 100.0; 1000.0; 1e4; 1e5 |], shape = [ 3; 2 ])).sum().backward()
            Expect.equal (x.grad.toFloatArray()) [| 1e4; 1e5; 1.0; 10.0 |] "row 0 takes env 2's weights, row 1 env 0's"
        }

        test "a refused setState keeps the steps of the open checkpoint segment" {
            GsSetup.ensure64 ()
            let scene = Scene(SimOptions(dt = 0.01, requiresGrad = true, checkpointEvery = 10))
            let robot = scene.addEntity(Morphs.URDF(GsSetup.asset "two_link_arm/two_link_arm.urdf", fixedBase = true))
            scene.build()
            robot.setDofsVelocity(gs.tensor [ 1.0; -2.0 ])
            let twin = Scene(SimOptions(dt = 0.01))
            let r2 = twin.addEntity(Morphs.URDF(GsSetup.asset "two_link_arm/two_link_arm.urdf", fixedBase = true))
            twin.build()
            r2.setDofsVelocity(gs.tensor [ 1.0; -2.0 ])
            for _ in 1 .. 3 do
                scene.step()
                twin.step()
            let bad = { twin.getState() with qpos = gs.tensor [ 1.0; 2.0; 3.0 ] }
            throwsWith<GenesisException> [ "qpos: expected shape [2]"; "got [3]" ] (fun () -> scene.setState bad)
            Expect.equal (scene.getState().qpos.toFloatArray()) (twin.getState().qpos.toFloatArray()) "the three steps are kept"
            Expect.equal scene.stepsTaken 3 "steps taken"
            throwsWith<GenesisException> [ "setState: time must be finite" ] (fun () -> scene.setState { twin.getState() with time = nan })
            throwsWith<GenesisException> [ "reset: time must be finite" ] (fun () -> scene.reset { twin.getState() with time = infinity })
            Expect.equal (scene.getState().qpos.toFloatArray()) (twin.getState().qpos.toFloatArray()) "still kept"
        }

        test "item 3: MJCF <equality> loads, or is ignored on request with a warning; a tendon without joints names file and line" {
            withTempDir (fun dir ->
                let two = """<body name="a" pos="0 0 1"><joint name="ja" type="hinge"/><geom type="sphere" size="0.1"/></body><body name="c" pos="1 0 1"><joint name="jc" type="hinge"/><geom type="sphere" size="0.1"/></body>"""
                let eq = writeFile dir "eq.xml" (mjcfWith two "\n<equality>\n<connect name=\"link\" body1=\"a\" body2=\"c\" anchor=\"0 0 0\"/>\n</equality>")
                Expect.equal ((Mjcf.load eq).equalities |> Array.map (fun q -> q.kind, q.obj1, q.obj2)) [| Connect, "a", "c" |] "the connect loads"
                let td = writeFile dir "td.xml" (mjcfWith two "\n\n<tendon><fixed name=\"t\"></fixed></tendon>")
                throwsWith<GenesisException> [ "td.xml (line 3)"; "tendon <fixed name='t'> has no joints" ] (fun () -> Morphs.MJCF td |> ignore)
                let e = Mjcf.load (eq, ignoreTendonsAndEqualities = true)
                Expect.equal e.options.warnings.Length 1 "one warning"
                Expect.stringContains e.options.warnings[0] "eq.xml (line 3): <equality><connect name='link'> ignored" "the warning names file, line and element"
                Expect.equal e.bodies.Length 3 "the model still loads")
        }

        test "item 4: an MJCF nested 50,000 bodies deep raises instead of overflowing the stack" {
            withTempDir (fun dir ->
                let nested (depth: int) =
                    let sb = StringBuilder("<mujoco><worldbody>\n")
                    for i in 1 .. depth do sb.Append(sprintf "<body name=\"b%d\"><joint type=\"hinge\"/><geom size=\"0.1\"/>\n" i) |> ignore
                    for _ in 1 .. depth do sb.Append("</body>") |> ignore
                    sb.Append("</worldbody></mujoco>").ToString()
                let sw = Diagnostics.Stopwatch.StartNew()
                let f = writeFile dir "deep.xml" (nested 50000)
                throwsWith<GenesisException> [ "deep.xml (line 2048)"; "nested more than 2048 levels deep" ] (fun () -> Mjcf.load f |> ignore)
                Expect.isLessThan sw.Elapsed.TotalSeconds 20.0 "refused without building the whole document"
                let f = writeFile dir "deeper.xml" (nested 1100)
                throwsWith<GenesisException> [ "deeper.xml (line 1002)"; "body 'b1001' is nested 1001 bodies deep; at most 1000" ] (fun () -> Mjcf.load f |> ignore)
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
            // the arguments of morphs are values, not files: ArgumentException naming the argument
            throwsWith<ArgumentException> [ "pos must be finite" ] (fun () -> Morphs.Box([| 1.0; 1.0; 1.0 |], pos = [| nan; 0.0; 0.0 |]) |> ignore)
            throwsWith<ArgumentException> [ "radius must be finite and > 0" ] (fun () -> Morphs.Sphere(infinity) |> ignore)
            throwsWith<ArgumentException> [ "quat must be finite" ] (fun () -> Morphs.Box([| 1.0; 1.0; 1.0 |], euler = [| 0.0; nan; 0.0 |]) |> ignore)
            throwsWith<ArgumentException> [ "pos and quat must be finite" ] (fun () ->
                Morphs.URDF(GsSetup.asset "two_link_arm/two_link_arm.urdf", pos = [| 0.0; 0.0; infinity |]) |> ignore)
        }

        test "item 7: every pair of convex geoms has a narrow phase: a capsule and a cylinder build with contact on" {
            GsSetup.ensure64 ()
            let scene = Scene()
            scene.addEntity(Morphs.Plane()) |> ignore
            scene.addEntity(Morphs.Capsule(0.1, 0.4, pos = [| 0.0; 0.0; 1.0 |])) |> ignore
            scene.addEntity(Morphs.Cylinder(0.1, 0.4, pos = [| 5.0; 0.0; 1.0 |])) |> ignore
            scene.build()
            Expect.isTrue scene.isBuilt "the capsule-cylinder pair has a narrow phase (ConvexPair)"
        }

        test "item 8: a step whose state exceeds maxStateMagnitude raises, keeps the state and suggests a smaller dt" {
            GsSetup.ensure64 ()
            let scene, robot = arm 0
            robot.controlDofsForce(gs.tensor [ 1e300; 0.0 ])
            let q0, v0 = scene.getState().qpos.toFloatArray(), scene.getState().qvel.toFloatArray()
            throwsWith<GenesisException> [ "huge velocity"; "maxStateMagnitude = 1e+08"; "smaller dt (now 0.01)"; "previous state is kept" ] (fun () -> scene.step())
            Expect.equal (scene.getState().qpos.toFloatArray()) q0 "qpos kept"
            Expect.equal (scene.getState().qvel.toFloatArray()) v0 "qvel kept"
            Expect.equal scene.stepsTaken 0 "no step counted"
            let loose = Scene(SimOptions(dt = 0.01, maxStateMagnitude = infinity))
            let r = loose.addEntity(Morphs.URDF(GsSetup.asset "two_link_arm/two_link_arm.urdf", fixedBase = true))
            loose.build()
            r.controlDofsForce(gs.tensor [ 1e300; 0.0 ])
            loose.step()
            Expect.isGreaterThan (abs (loose.getState().qvel.toFloatArray()[0])) 1e200 "infinity disables the bound"
            throwsWith<GenesisException> [ "maxStateMagnitude"; "must be > 0" ] (fun () -> SimOptions(maxStateMagnitude = 0.0) |> ignore)
        }

        test "item 9: invalid options and bool controls are rejected naming the option" {
            GsSetup.ensure64 ()
            throwsWith<GenesisException> [ "SimOptions: dt"; "finite" ] (fun () -> SimOptions(dt = infinity) |> ignore)
            throwsWith<GenesisException> [ "SimOptions: dt" ] (fun () -> SimOptions(dt = nan) |> ignore)
            throwsWith<GenesisException> [ "SimOptions: checkpointEvery"; "-5" ] (fun () -> SimOptions(checkpointEvery = -5) |> ignore)
            throwsWith<GenesisException> [ "SimOptions: contactStiffness"; "-1" ] (fun () -> SimOptions(contactStiffness = -1.0) |> ignore)
            throwsWith<GenesisException> [ "SimOptions: contactDamping"; "-1" ] (fun () -> SimOptions(contactDamping = -1.0) |> ignore)
            throwsWith<GenesisException> [ "SimOptions: friction" ] (fun () -> SimOptions(friction = nan) |> ignore)
            throwsWith<GenesisException> [ "SimOptions: gravity"; "finite" ] (fun () -> SimOptions(gravity = [| 0.0; 0.0; infinity |]) |> ignore)
            let scene, robot = arm 0
            throwsWith<GenesisException> [ "controlDofsForce"; "expected a float tensor"; "bool tensor" ] (fun () -> robot.controlDofsForce(gs.tensor [| true; false |]))
            throwsWith<GenesisException> [ "setContactParams"; "stiffness"; "must be finite and >= 0" ] (fun () -> scene.setContactParams(stiffness = gs.tensor(-1.0)))
            throwsWith<GenesisException> [ "setLinksMass"; "finite and >= 0" ] (fun () -> robot.setLinksMass(gs.tensor [ -1.0 ], linksIdx = [| 1 |]))
            Expect.equal (robot.getDofsForce().toFloatArray()) [| 0.0; 0.0 |] "controls unchanged"
            let later = Scene()
            later.addEntity(Morphs.Sphere(0.1)) |> ignore
            throwsWith<GenesisException> [ "build: nEnvs must be >= 0, got -1" ] (fun () -> later.build(nEnvs = -1))
            later.build(nEnvs = 2)
            Expect.equal later.nEnvs 2 "a refused build leaves the scene buildable"
        }

        test "item 10: messages name the file, line, link and rule; MJCF timestep used unless dt is given" {
            GsSetup.ensure64 ()
            withTempDir (fun dir ->
                let empty = writeFile dir "empty.urdf" ""
                throwsWith<GenesisException> [ "URDF file"; "empty.urdf is empty" ] (fun () -> Urdf.load empty |> ignore)
                let message = try Urdf.load (writeFile dir "blank.urdf" "  ") |> ignore; "" with :? GenesisException as e -> e.Message
                Expect.stringContains message "blank.urdf is empty" "a blank file is empty"
                Expect.isFalse (message.Contains "(line 0)") "no line 0"
                writeFile dir "broken.obj" "v 1 2\n" |> ignore
                let meshLink = urdfLink "c" """<mesh filename="broken.obj"/>"""
                throwsWith<GenesisException> [ "bad.urdf (line 1)"; "link 'c'"; "mesh 'broken.obj'"; "malformed vertex line" ] (fun () -> loadUrdf dir (urdfWith meshLink ""))
                let light = (urdfLink "c" """<sphere radius="0.1"/>""").Replace("mass value=\"1\"", "mass value=\"1e-300\"")
                throwsWith<GenesisException> [ "mass is 1e-300"; "needs mass > 1e-15" ] (fun () -> loadUrdf dir (urdfWith light ""))
                let f = writeFile dir "ts.xml" ("""<mujoco><option timestep="0.004"/><worldbody>""" + ball + "</worldbody></mujoco>")
                let fromFile = Scene()
                fromFile.addEntity(Morphs.MJCF f) |> ignore
                fromFile.build()
                Expect.equal fromFile.dt 0.004 "the file's timestep when SimOptions gives no dt"
                let given = Scene(SimOptions(dt = 0.01))
                given.addEntity(Morphs.MJCF f) |> ignore
                given.build()
                Expect.equal given.dt 0.01 "SimOptions' dt wins")
            let scene, robot = arm 0
            scene.step()
            throwsWith<GenesisException> [ "backward"; "SimOptions(requiresGrad = true)" ] (fun () -> robot.getPos().sum().backward())
        }
        test "a per-dof value without the floating base's dofs names them and suggests dofsIdx (issue 22)" {
            GsSetup.ensure64 ()
            let scene = Scene(SimOptions(dt = 0.01))
            let dog = scene.addEntity(Morphs.URDF(asset "go2/go2.urdf", pos = [| 0.0; 0.0; 0.4 |]))
            scene.build()
            Expect.equal dog.nDofs 18 "6 base dofs and 12 joints"
            let before = dog.getDofsForce().toFloatArray()
            for call in [ (fun (v: Tensor) -> dog.controlDofsPosition v); (fun v -> dog.controlDofsForce v); (fun v -> dog.controlDofsVelocity v); (fun v -> dog.setDofsVelocity v) ] do
                throwsWith<GenesisException> [ "expected shape [18]"; "got [12]"; "floating base"; "dofsIdx = [| 6 .. 17 |]" ] (fun () -> call (gs.zeros([ 12 ])))
            Expect.equal (dog.getDofsForce().toFloatArray()) before "nothing changed"
            // the suggested call works
            dog.controlDofsPosition(gs.zeros([ 12 ]), dofsIdx = [| 6 .. 17 |])
            // other wrong shapes keep the plain message
            throwsWith<GenesisException> [ "expected shape [18]"; "got [5]" ] (fun () -> dog.controlDofsForce(gs.zeros([ 5 ])))
        }
    ]
