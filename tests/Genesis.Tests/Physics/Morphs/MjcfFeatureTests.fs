/// MJCF <option>, actuators and tendons: what the loader reads, and the errors bad input raises (file, line, element).
module Genesis.Tests.Physics.MjcfFeatureTests

open Expecto
open Genesis
open Genesis.Physics
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
    ]
