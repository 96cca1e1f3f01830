module Genesis.Tests.Vis.VisualGeometryTests

open System
open System.IO
open Expecto
open Genesis
open Genesis.Physics
open Genesis.Tests.TestUtil
open Genesis.Tests.Physics.MorphTestUtil
open Genesis.Tests.Oracle

let private body (e: EntitySpec) (name: string) = e.bodies |> Array.find (fun b -> b.name = name)

/// A one-link URDF whose <visual> holds the given geometry XML.
let private oneLink (geometry: string) (extra: string) =
    sprintf """<robot name="r"><link name="l"><inertial><mass value="1"/><inertia ixx="1" iyy="1" izz="1" ixy="0" ixz="0" iyz="0"/></inertial>
<visual><origin xyz="0.1 0.2 0.3"/><geometry>%s</geometry>%s</visual></link></robot>""" geometry extra

[<Tests>]
let tests =
    testList "Vis.VisualGeometry" [
        test "URDF visuals sit beside collision geoms, with named material colours" {
            let e = Urdf.load (asset "two_link_arm/two_link_arm.urdf", fixedBase = true)
            let arm1 = body e "arm1"
            Expect.equal arm1.visuals.Length 1 "one <visual>"
            Expect.equal arm1.geoms.Length 1 "collision geom kept"
            let v = arm1.visuals.[0]
            Expect.equal v.gtype Box "box"
            Expect.sequenceEqual v.size [| 0.5; 0.05; 0.05 |] "half extents of size 1 .1 .1"
            Expect.sequenceEqual v.pos [| 0.5; 0.0; 0.0 |] "origin"
            Expect.sequenceEqual v.rgba [| 0.0; 0.0; 0.0; 0.7 |] "named material 'black' from the robot's <material>"
            Expect.sequenceEqual (body e "arm2").visuals.[0].rgba [| 1.0; 1.0; 1.0; 0.7 |] "named material 'white'"
            Expect.isEmpty e.visualWarnings "nothing skipped"
        }
        test "URDF inline <material><color> and visuals of fused links follow the fusion" {
            let e = Urdf.load (asset "cartpole/cartpole.urdf", fixedBase = true)
            let all = e.bodies |> Array.collect (fun b -> b.visuals)
            Expect.equal all.Length 3 "three visuals in the file"
            Expect.contains (all |> Array.map (fun v -> v.rgba)) [| 0.0; 0.8; 0.8; 1.0 |] "inline green"
            // the slider (rail) is the static root; its visual stays at the origin
            Expect.sequenceEqual (body e (e.bodies.[0].name)).visuals.[0].pos [| 0.0; 0.0; 0.0 |] "rail visual at the root"
        }
        test "a fixed child's visual moves into its parent's frame" {
            withTempDir (fun dir ->
                let p =
                    writeFile dir "f.urdf" """<robot name="r">
<link name="a"><inertial><mass value="1"/><inertia ixx="1" iyy="1" izz="1" ixy="0" ixz="0" iyz="0"/></inertial></link>
<link name="b"><visual><origin xyz="0 0 0.5"/><geometry><sphere radius="0.1"/></geometry></visual></link>
<joint name="j" type="fixed"><parent link="a"/><child link="b"/><origin xyz="1 0 0" rpy="0 0 1.5707963267948966"/></joint></robot>"""
                let e = Urdf.load (p, fixedBase = true)
                Expect.equal e.bodies.Length 1 "b fused into a"
                let v = e.bodies.[0].visuals.[0]
                Expect.isLessThan (maxDiff v.pos [| 1.0; 0.0; 0.5 |]) 1e-12 "position composed with the joint origin"
                Expect.isLessThan (maxDiff v.quat [| cos (Math.PI / 4.0); 0.0; 0.0; sin (Math.PI / 4.0) |]) 1e-12 "orientation composed"
                Expect.sequenceEqual v.rgba VisualSpec.defaultRgba "no material: default grey")
        }
        test "URDF OBJ visual meshes keep every triangle of the file" {
            let e = Urdf.load (asset "kuka_iiwa/model.urdf", fixedBase = true)
            let v = e.bodies.[0].visuals.[0]
            Expect.equal v.gtype Mesh "mesh"
            let lines = File.ReadAllLines(asset "kuka_iiwa/meshes/link_0.obj")
            let nv = lines |> Array.filter (fun l -> l.StartsWith "v ") |> Array.length
            let ntri = lines |> Array.filter (fun l -> l.StartsWith "f ") |> Array.sumBy (fun l -> l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length - 3)
            Expect.equal v.meshVertices.Length (3 * nv) "all vertices (not only the hull)"
            Expect.equal v.meshFaces.Length (3 * ntri) "fan-triangulated faces"
            Expect.isTrue (v.meshFaces |> Array.forall (fun k -> k >= 0 && k < nv)) "indices in range"
            Expect.sequenceEqual v.rgba [| 0.2; 0.2; 0.2; 1.0 |] "named material Grey"
        }
        test "URDF STL visual meshes (binary) with scale" {
            withTempDir (fun dir ->
                let stl = asset "kuka_iiwa/meshes/link_0.stl"
                let p = writeFile dir "s.urdf" (oneLink (sprintf "<mesh filename=\"%s\" scale=\"2 2 2\"/>" stl) "")
                let e = Urdf.load (p, fixedBase = true)
                let v = e.bodies.[0].visuals.[0]
                let ntri = int ((FileInfo stl).Length - 84L) / 50
                Expect.equal v.meshFaces.Length (3 * ntri) "one triangle per STL facet"
                let bytes = File.ReadAllBytes stl
                Expect.floatClose Accuracy.veryHigh v.meshVertices.[0] (2.0 * float (BitConverter.ToSingle(bytes, 84 + 12))) "first vertex, scaled by 2"
                Expect.sequenceEqual v.pos [| 0.1; 0.2; 0.3 |] "origin")
        }
        test "a missing visual mesh names the file and the link" {
            withTempDir (fun dir ->
                let p = writeFile dir "m.urdf" (oneLink "<mesh filename=\"nowhere/missing.obj\"/>" "")
                throwsWith<GenesisException> [ "missing.obj"; "link 'l'"; "m.urdf" ] (fun () -> Urdf.load (p, fixedBase = true) |> ignore))
        }
        test "an unsupported visual shape is skipped with a warning naming link and shape" {
            withTempDir (fun dir ->
                let p = writeFile dir "u.urdf" (oneLink "<torus radius=\"1\"/>" "")
                let e = Urdf.load (p, fixedBase = true)
                Expect.isEmpty e.bodies.[0].visuals "skipped"
                Expect.equal e.visualWarnings.Length 1 "one warning"
                for frag in [ "u.urdf"; "link 'l'"; "<torus>"; "skipped" ] do
                    Expect.stringContains e.visualWarnings.[0] frag "warning text")
        }
        test "MJCF geoms are visuals with rgba from the element or the default class" {
            withTempDir (fun dir ->
                let p =
                    writeFile dir "m.xml" """<mujoco><default><geom rgba="0 0 1 1"/></default><worldbody>
<geom name="floor" type="plane" size="1 1 0.1"/>
<body name="b"><freejoint/><geom name="g1" type="sphere" size="0.1" rgba="1 0 0 0.5"/><geom name="g2" type="box" size="0.1 0.2 0.3" pos="0 0 1" contype="0" conaffinity="0"/></body>
</worldbody></mujoco>"""
                let e = Mjcf.load p
                Expect.sequenceEqual e.bodies.[0].visuals.[0].rgba [| 0.0; 0.0; 1.0; 1.0 |] "class default"
                let b = body e "b"
                Expect.equal (b.visuals |> Array.map (fun v -> v.name)) [| "g1"; "g2" |] "every geom is drawn, visual-only ones included"
                Expect.sequenceEqual b.visuals.[0].rgba [| 1.0; 0.0; 0.0; 0.5 |] "element rgba"
                Expect.sequenceEqual b.visuals.[1].size [| 0.1; 0.2; 0.3 |] "box size"
                Expect.sequenceEqual b.visuals.[1].pos [| 0.0; 0.0; 1.0 |] "box pos")
        }
        test "MJCF material= colours: asset materials, material classes, geom rgba overriding unless it is the default grey" {
            withTempDir (fun dir ->
                let p =
                    writeFile dir "mat.xml" """<mujoco>
<default>
  <default class="c"><geom material="red"/></default>
  <default class="m"><material rgba="0 0 0 1"/></default>
</default>
<asset>
  <texture name="t" type="2d" builtin="checker" width="8" height="8"/>
  <material name="red" rgba="1 0 0 1" texture="t"/>
  <material name="blue" rgba="0 0 1 0.5"/>
  <material name="dark" class="m"/>
  <material name="plain"/>
</asset>
<worldbody>
<body name="b"><freejoint/>
  <geom name="blue" type="sphere" size="0.1" material="blue"/>
  <geom name="classred" class="c" type="sphere" size="0.1"/>
  <geom name="green" class="c" type="sphere" size="0.1" rgba="0 1 0 1"/>
  <geom name="greyblue" type="sphere" size="0.1" material="blue" rgba="0.5 0.5 0.5 1"/>
  <geom name="none" type="sphere" size="0.1"/>
  <geom name="dark" type="sphere" size="0.1" material="dark"/>
  <geom name="plain" type="sphere" size="0.1" material="plain"/>
</body>
</worldbody></mujoco>"""
                let b = body (Mjcf.load p) "b"
                let colour n = (b.visuals |> Array.find (fun v -> v.name = n)).rgba
                Expect.sequenceEqual (colour "blue") [| 0.0; 0.0; 1.0; 0.5 |] "material rgba"
                Expect.sequenceEqual (colour "classred") [| 1.0; 0.0; 0.0; 1.0 |] "material from the default class"
                Expect.sequenceEqual (colour "green") [| 0.0; 1.0; 0.0; 1.0 |] "geom rgba overrides the material"
                Expect.sequenceEqual (colour "greyblue") [| 0.0; 0.0; 1.0; 0.5 |] "the default grey does not override (MuJoCo's rule)"
                Expect.sequenceEqual (colour "none") VisualSpec.defaultRgba "no material: grey"
                Expect.sequenceEqual (colour "dark") [| 0.0; 0.0; 0.0; 1.0 |] "material class default rgba"
                Expect.sequenceEqual (colour "plain") [| 1.0; 1.0; 1.0; 1.0 |] "a material without rgba is white"
                let bad = writeFile dir "bad.xml" """<mujoco><worldbody><geom type="sphere" size="1" material="nowhere"/></worldbody></mujoco>"""
                throwsWith<GenesisException> [ "material 'nowhere'"; "bad.xml" ] (fun () -> Mjcf.load bad |> ignore))
        }
        test "MJCF materials of MuJoCo's humanoid (Debian libmujoco-samples) give the colours MuJoCo compiles" {
            if not (File.Exists debianHumanoid) then skiptest "libmujoco-samples is not installed"
            let e = Mjcf.load debianHumanoid
            let torso = body e "torso"
            Expect.isLessThan (maxDiff torso.visuals.[0].rgba [| 0.8; 0.6; 0.4; 1.0 |]) 1e-12 "class 'body' geoms use material 'body'"
            Expect.sequenceEqual e.bodies.[0].visuals.[0].rgba [| 1.0; 1.0; 1.0; 1.0 |] "the floor's material 'grid' has no rgba: white"
            match MuJoCo.availability.Force() with
            | Error why -> skiptest why
            | Ok _ ->
                use m = MuJoCo.load debianHumanoid
                let geomRgba, matId, matRgba, geomBody = m.Model "geom_rgba", m.Model "geom_matid", m.Model "mat_rgba", m.Model "geom_bodyid"
                let ours = e.bodies |> Array.mapi (fun bi b -> b.visuals |> Array.map (fun v -> bi, v.rgba)) |> Array.concat
                Expect.equal ours.Length m.ngeom "one visual per MuJoCo geom"
                for g in 0 .. m.ngeom - 1 do
                    // MuJoCo's renderer: the material's rgba unless the geom's rgba differs from the default grey
                    let own = geomRgba.[4 * g .. 4 * g + 3]
                    let k = int matId.[g]
                    let expected = if k >= 0 && own = [| 0.5; 0.5; 0.5; 1.0 |] then matRgba.[4 * k .. 4 * k + 3] else own
                    let bi, rgba = ours.[g]
                    Expect.equal bi (int geomBody.[g]) (sprintf "geom %d on the same body" g)
                    Expect.isLessThan (maxDiff rgba expected) 1e-6 (sprintf "geom %d colour (MuJoCo stores float32)" g)
        }
        test "primitives draw their own shape" {
            let e = Primitives.sphere (0.3, pos = [| 0.0; 0.0; 1.0 |])
            Expect.equal e.bodies.[0].visuals.[0].gtype Sphere "sphere"
            Expect.sequenceEqual e.bodies.[0].visuals.[0].size [| 0.3; 0.0; 0.0 |] "radius"
        }
    ]
