/// MJCF <option>, actuators and tendons: what the loader reads, and the errors bad input raises (file, line, element).
module Genesis.Tests.Physics.MjcfFeatureTests

open Expecto
open Genesis
open Genesis.Physics
open Genesis.Tests
open Genesis.Tests.TestUtil
open Genesis.Tests.Physics.MorphTestUtil

/// Loads MJCF text written to a temporary file named bad.xml and expects an exception 'E naming the fragments.
let private expectErrorT<'E when 'E :> exn> (fragments: string list) (text: string) =
    withTempDir (fun dir ->
        let f = writeFile dir "bad.xml" text
        throwsWith<'E> ("bad.xml" :: fragments) (fun () -> Mjcf.load f |> ignore))

/// Loads MJCF text from a temporary file.
let internal loadText (text: string) =
    let mutable e = Unchecked.defaultof<EntitySpec>
    withTempDir (fun dir -> e <- Mjcf.load (writeFile dir "m.xml" text))
    e

let private pendulum (option: string) = sprintf """<mujoco>%s<worldbody><body name="a">
<joint name="j" type="hinge"/><geom type="sphere" size="0.1"/></body></worldbody></mujoco>""" option

[<Tests>]
let tests =
    testList "Physics.Morphs.MjcfFeatures" [
        test "<option>: timestep, gravity, integrator read; flag gravity=disable zeroes gravity; defaults as MuJoCo's" {
            let o = (loadText (pendulum """<option timestep="0.003" gravity="1 2 3" integrator="RK4"/>""")).options
            Expect.equal (o.timestep, o.timestepGiven, o.gravity, o.gravityGiven, o.integrator) (0.003, true, [| 1.0; 2.0; 3.0 |], true, Some Integrator.RK4) "stated"
            let d = (loadText (pendulum "")).options
            Expect.equal (d.timestep, d.timestepGiven, d.gravity, d.gravityGiven, d.integrator) (0.002, false, [| 0.0; 0.0; -9.81 |], false, None) "defaults"
            let f = (loadText (pendulum """<option><flag gravity="disable"/></option>""")).options
            Expect.equal f.gravity [| 0.0; 0.0; 0.0 |] "gravity disabled"
        }
        test "<option>: implicit integrator and fluid forces are not supported; a bad integrator name is an error (line)" {
            expectErrorT<GenesisNotSupportedException> [ "line 1"; "integrator=\"implicit\"" ] (pendulum """<option integrator="implicit"/>""")
            expectErrorT<GenesisNotSupportedException> [ "line 1"; "viscosity" ] (pendulum """<option viscosity="0.1"/>""")
            expectErrorT<GenesisException> [ "line 1"; "integrator"; "'Verlet'" ] (pendulum """<option integrator="Verlet"/>""")
        }

        test "actuators: motor, position (kp), velocity (kv), general (gainprm, affine biasprm) with gear, ctrlrange, forcerange and class defaults" {
            let e =
                loadText """<mujoco><default><position kp="7" ctrlrange="-2 2"/></default><worldbody><body name="a">
<joint name="j" type="hinge"/><geom type="sphere" size="0.1"/></body></worldbody>
<actuator><motor name="m" joint="j" gear="3"/><position name="p" joint="j"/><velocity name="v" joint="j" kv="2" forcerange="-1 1"/>
<general name="g" joint="j" gainprm="4" biastype="affine" biasprm="1 -2 -3" ctrllimited="false"/></actuator></mujoco>"""
            let a = e.actuators
            Expect.equal (a |> Array.map (fun x -> x.kind)) [| Motor; Position; Velocity; General |] "kinds"
            Expect.equal (a[0].gear, a[0].gain, a[0].bias, a[0].ctrlrange) (3.0, 1.0, [| 0.0; 0.0; 0.0 |], Some(-2.0, 2.0)) "motor (class ctrlrange, autolimits)"
            Expect.equal (a[1].gain, a[1].bias) (7.0, [| 0.0; -7.0; 0.0 |]) "position: class kp"
            Expect.equal (a[2].gain, a[2].bias, a[2].forcerange) (2.0, [| 0.0; 0.0; -2.0 |], Some(-1.0, 1.0)) "velocity"
            Expect.equal (a[3].gain, a[3].bias, a[3].ctrlrange, a[3].transmission) (4.0, [| 1.0; -2.0; -3.0 |], None, JointTrn "j") "general"
        }
        test "bad actuators name file, line and element: muscle, dyntype, undefined joint, two transmissions, site transmission" {
            let model (act: string) = sprintf "<mujoco><worldbody><body name=\"a\"><joint name=\"j\"/><geom type=\"sphere\" size=\"0.1\"/></body></worldbody>\n<actuator>\n%s</actuator></mujoco>" act
            expectErrorT<GenesisNotSupportedException> [ "line 3"; "<muscle name='mu'>"; "muscles" ] (model "<muscle name=\"mu\" joint=\"j\"/>")
            expectErrorT<GenesisNotSupportedException> [ "line 3"; "dyntype 'filter'" ] (model "<general name=\"f\" joint=\"j\" dyntype=\"filter\"/>")
            expectErrorT<GenesisException> [ "line 3"; "<motor name='x'>"; "joint 'nope'" ] (model "<motor name=\"x\" joint=\"nope\"/>")
            expectErrorT<GenesisException> [ "line 3"; "several transmissions" ] (model "<motor name=\"x\" joint=\"j\" cranksite=\"s\"/>")
            expectErrorT<GenesisNotSupportedException> [ "line 3"; "site transmissions" ] (model "<motor name=\"x\" site=\"s\"/>")
        }
        test "tendons: fixed (joints, coefs), spatial (sites), stiffness, damping, springlength, range" {
            let e =
                loadText """<mujoco><worldbody><site name="s0"/><body name="a"><joint name="j" type="hinge"/><joint name="k" type="slide"/>
<geom type="sphere" size="0.1"/><site name="s1" pos="0 0 1"/></body></worldbody>
<tendon><fixed name="f" stiffness="2" damping="0.5" springlength="0.3" range="-1 1"><joint joint="j" coef="1"/><joint joint="k" coef="-2"/></fixed>
<spatial name="s"><site site="s0"/><site site="s1"/></spatial></tendon></mujoco>"""
            Expect.equal e.tendons[0] { name = "f"; path = FixedPath [| "j", 1.0; "k", -2.0 |]; stiffness = 2.0; damping = 0.5; springlength = Some 0.3; range = Some(-1.0, 1.0) } "fixed"
            Expect.equal (e.tendons[1].path, e.tendons[1].springlength, e.tendons[1].range) (SpatialPath [| "s0"; "s1" |], None, None) "spatial"
            Expect.equal (e.sites |> Array.map (fun s -> s.name, s.body)) [| "s0", 0; "s1", 1 |] "sites and their bodies"
        }
        test "bad tendons name file, line and element: a fixed tendon without joints, an undefined joint or site, wrapping" {
            let model (t: string) = sprintf "<mujoco><worldbody><site name=\"s0\"/><body name=\"a\"><joint name=\"j\"/><geom type=\"sphere\" size=\"0.1\"/></body></worldbody>\n<tendon>\n%s</tendon></mujoco>" t
            expectErrorT<GenesisException> [ "line 3"; "tendon <fixed name='t'>"; "no joints" ] (model "<fixed name=\"t\"></fixed>")
            expectErrorT<GenesisException> [ "line 3"; "joint 'q'"; "not defined" ] (model "<fixed name=\"t\"><joint joint=\"q\" coef=\"1\"/></fixed>")
            expectErrorT<GenesisException> [ "line 3"; "site 'zz'" ] (model "<spatial name=\"t\"><site site=\"s0\"/><site site=\"zz\"/></spatial>")
            expectErrorT<GenesisNotSupportedException> [ "line 3"; "wrapping" ] (model "<spatial name=\"t\"><site site=\"s0\"/><geom geom=\"g\"/></spatial>")
        }
        test "MuJoCo's arm26.xml names the first unsupported feature (geom wrapping) with its line" {
            let f = "/usr/share/mujoco/model/tendon_arm/arm26.xml"
            if not (System.IO.File.Exists f) then failtest "libmujoco-samples is not installed"
            throwsWith<GenesisNotSupportedException> [ "arm26.xml (line 73)"; "tendon <spatial name='SF'>"; "wrapping" ] (fun () -> Mjcf.load f |> ignore)
        }
        test "a Scene rejects tendon springs (its step lacks them) and controlActuators rejects a slider-crank, naming them" {
            GsSetup.ensure64 ()
            let spring =
                loadText """<mujoco><worldbody><body name="a"><joint name="j"/><geom type="sphere" size="0.1"/></body></worldbody>
<tendon><fixed name="tt" stiffness="1"><joint joint="j" coef="1"/></fixed></tendon></mujoco>"""
            let s = Scene()
            s.addEntity (MorphSpec spring) |> ignore
            throwsWith<GenesisNotSupportedException> [ "tendon 'tt'"; "stiffness" ] (fun () -> s.build ())
            let crank =
                loadText """<mujoco><worldbody><site name="sl" pos="0 0 1"/><body name="a"><joint name="j"/><geom type="sphere" size="0.1"/>
<site name="cr" pos="0.1 0 0"/></body></worldbody><actuator><position name="sc" cranksite="cr" slidersite="sl" cranklength="1"/></actuator></mujoco>"""
            let s2 = Scene()
            let ent = s2.addEntity (MorphSpec crank)
            s2.build ()
            throwsWith<GenesisNotSupportedException> [ "actuator 'sc'"; "slider-crank" ] (fun () -> ent.controlActuators (gs.tensor [| 0.5 |]))
        }
    ]
