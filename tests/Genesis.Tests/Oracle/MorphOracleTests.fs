/// Loader vs MuJoCo 2.2.2: the same file through Urdf.load / Mjcf.load and through mj_loadXML must
/// give the same bodies (count, order, names, parents, pos/quat, mass, COM, full inertia), joints
/// (type, axis, anchor, limits, damping, armature, friction loss, stiffness, addresses), geoms
/// (type, size, pose, friction, contact bits), actuators and options.
///
/// Body mapping. MuJoCo's body 0 is the world. When our bodies[0] is static (a fixed-base URDF
/// root, or an MJCF world body), it IS MuJoCo's world: MuJoCo's URDF importer welds the root and
/// fuses it into the world (fusestatic), so our body i = MuJoCo body i (MuJoCo discards the
/// root's mass; we skip that comparison). When our root floats, MuJoCo has no free URDF root of
/// its own, so the oracle loads a scratch copy with a `world` link and a `floating` joint named
/// `<root>_free_joint` (MuJoCo turns that into a free joint) and our body i = MuJoCo body i + 1.
///
/// URDF mass semantics. By default Urdf.load follows URDF (and Genesis): a link without
/// <inertial> is massless. MuJoCo's URDF default instead computes such links' inertia from their
/// collision geoms (inertiafromgeom="auto"), so the URDF-semantics comparison loads a scratch copy
/// with <mujoco><compiler inertiafromgeom="false"/></mujoco>, and the as-shipped MuJoCo behaviour
/// is compared against Urdf.load(..., inertiaFromGeom = true). Scratch copies also get
/// strippath="false" and absolute mesh paths so they can live in a temporary folder.
module Genesis.Tests.Oracle.MorphOracleTests

open System
open System.IO
open System.Text.RegularExpressions
open System.Xml.Linq
open Expecto
open Genesis.Physics
open Genesis.Tests.Physics.MorphTestUtil
open Genesis.Tests.Oracle

/// Positions, quaternions, masses, inertias, axes, sizes: MuJoCo and we compute them in float64
/// from the same file values; differences come only from rounding and MuJoCo's eigen-solver.
let Tol = 1e-9

/// MuJoCo 2.2.2 stores an inertia as principal moments (body_inertia, accurate to rounding) and
/// principal axes (body_iquat) from its Jacobi solver, whose axes carry small errors: R diag(I) R^T
/// differs from the exact tensor by up to 3e-8 x the largest moment for a single full inertia
/// (Franka) and 1.4e-6 x after two fusestatic steps (Go2 base; MuJoCo re-diagonalises the parent
/// after every fused child). The full tensor is compared to Tol + InertiaAxesTol times the
/// largest moment.
let InertiaAxesTol = 1e-5

/// Principal moments agree to 1e-10 except where MuJoCo fused a child into a parent whose tensor it
/// had rebuilt from those axes (measured worst 1.9e-8 x the largest moment, the synthetic URDF's
/// slider); they are compared to Tol + MomentsTol times the largest moment.
let MomentsTol = 1e-7

/// Reference numbers from assets/README.md are printed there to 6-7 significant digits.
let ReadmeTol = 1e-5

let private skipUnlessMuJoCo () =
    match MuJoCo.availability.Force() with
    | Ok _ -> ()
    | Error e -> skiptest e

/// Full inertia in the body frame from MuJoCo's principal moments and principal-axes quaternion.
let private mjInertia (m: MuJoCo.Model) (k: int) =
    let inert = m.Model "body_inertia"
    let iquat = m.Model "body_iquat"
    SpecMath.rotateInertia iquat.[4 * k .. 4 * k + 3] (SpecMath.diag inert.[3 * k .. 3 * k + 2])

let private jointTypeOf (t: JointType) =
    match t with
    | Free -> MuJoCo.MjJoint.Free
    | Ball -> MuJoCo.MjJoint.Ball
    | Hinge -> MuJoCo.MjJoint.Hinge
    | Slide -> MuJoCo.MjJoint.Slide

let private geomTypeOf (t: GeomType) =
    match t with
    | Plane -> MuJoCo.MjGeom.Plane
    | Sphere -> MuJoCo.MjGeom.Sphere
    | Capsule -> MuJoCo.MjGeom.Capsule
    | Box -> MuJoCo.MjGeom.Box
    | Cylinder -> MuJoCo.MjGeom.Cylinder
    | Ellipsoid -> MuJoCo.MjGeom.Ellipsoid
    | Mesh -> MuJoCo.MjGeom.Mesh

/// Compares a spec with a MuJoCo model, body i of ours = MuJoCo body i + offset.
let compareWithMuJoCo (label: string) (e: EntitySpec) (m: MuJoCo.Model) =
    let staticRoot = e.bodies.[0].joints.Length = 0
    let offset = if staticRoot then 0 else 1
    let at what i = sprintf "%s: %s of body %d '%s'" label what i e.bodies.[i].name
    Expect.equal m.nbody (e.bodies.Length + offset) (label + ": body count")
    Expect.equal m.nq (EntitySpec.nq e) (label + ": nq")
    Expect.equal m.nv (EntitySpec.nv e) (label + ": nv")
    Expect.equal m.njnt (EntitySpec.njnt e) (label + ": njnt")
    let names = m.BodyNames
    let parents = m.Model "body_parentid"
    let mass, ipos, pos, quat = m.Model "body_mass", m.Model "body_ipos", m.Model "body_pos", m.Model "body_quat"
    let geomNum, geomAdr = m.Model "body_geomnum", m.Model "body_geomadr"
    let gType, gSize, gPos, gQuat = m.Model "geom_type", m.Model "geom_size", m.Model "geom_pos", m.Model "geom_quat"
    let gFriction, gContype, gConaff, gCondim = m.Model "geom_friction", m.Model "geom_contype", m.Model "geom_conaffinity", m.Model "geom_condim"
    Expect.equal m.ngeom (e.bodies |> Array.sumBy (fun b -> b.geoms.Length)) (label + ": geom count")
    for i in 0 .. e.bodies.Length - 1 do
        let b = e.bodies.[i]
        let k = i + offset
        let isWorld = staticRoot && i = 0
        if not isWorld then
            Expect.equal names.[k] b.name (at "name" i)
            Expect.equal (int parents.[k]) (b.parent + offset) (at "parent" i)
            nearScalar Tol (at "mass" i) b.mass mass.[k]
            near Tol (at "COM" i) b.ipos ipos.[3 * k .. 3 * k + 2]
            let moments = Array.sort (m.Model "body_inertia").[3 * k .. 3 * k + 2]
            near (Tol + MomentsTol * moments.[2]) (at "principal moments" i) (SpecMath.symEigenvalues b.inertia) moments
            near (Tol + InertiaAxesTol * moments.[2]) (at "inertia tensor" i) b.inertia (mjInertia m k)
            // MuJoCo keeps the free body's pose as its qpos0
            near Tol (at "pos" i) b.pos pos.[3 * k .. 3 * k + 2]
            nearQuat Tol (at "quat" i) b.quat quat.[4 * k .. 4 * k + 3]
        Expect.equal (int geomNum.[k]) b.geoms.Length (at "geom count" i)
        b.geoms
        |> Array.iteri (fun j g ->
            let gi = int geomAdr.[k] + j
            let w = at (sprintf "geom %d" j) i
            Expect.equal (enum<MuJoCo.MjGeom> (int gType.[gi])) (geomTypeOf g.gtype) (w + " type")
            near Tol (w + " friction") g.friction gFriction.[3 * gi .. 3 * gi + 2]
            Expect.equal (int gContype.[gi], int gConaff.[gi], int gCondim.[gi]) (g.contype, g.conaffinity, g.condim) (w + " contact bits")
            // MuJoCo re-centres mesh geoms on the mesh's inertial frame; ours keep the file's frame
            if g.gtype <> Mesh then
                near Tol (w + " size") g.size gSize.[3 * gi .. 3 * gi + 2]
                near Tol (w + " pos") g.pos gPos.[3 * gi .. 3 * gi + 2]
                nearQuat Tol (w + " quat") g.quat gQuat.[4 * gi .. 4 * gi + 3])
    // joints
    let jType, jBody, jQpos, jDof = m.Model "jnt_type", m.Model "jnt_bodyid", m.Model "jnt_qposadr", m.Model "jnt_dofadr"
    let jAxis, jPos, jLimited, jRange, jStiff = m.Model "jnt_axis", m.Model "jnt_pos", m.Model "jnt_limited", m.Model "jnt_range", m.Model "jnt_stiffness"
    let qpos0, qspring = m.Model "qpos0", m.Model "qpos_spring"
    let dDamp, dArm, dFric = m.Model "dof_damping", m.Model "dof_armature", m.Model "dof_frictionloss"
    let qposAdr, dofAdr = EntitySpec.jointQposAdr e, EntitySpec.jointDofAdr e
    EntitySpec.joints e
    |> Array.iteri (fun ji (bi, j) ->
        let w = sprintf "%s: joint %d '%s'" label ji j.name
        Expect.equal m.JointNames.[ji] j.name (w + " name")
        Expect.equal (enum<MuJoCo.MjJoint> (int jType.[ji])) (jointTypeOf j.jtype) (w + " type")
        Expect.equal (int jBody.[ji]) (bi + offset) (w + " body")
        Expect.equal (int jQpos.[ji], int jDof.[ji]) (qposAdr.[ji], dofAdr.[ji]) (w + " addresses")
        if j.jtype = Hinge || j.jtype = Slide then
            near Tol (w + " axis") j.axis jAxis.[3 * ji .. 3 * ji + 2]
            nearScalar Tol (w + " ref") j.ref qpos0.[qposAdr.[ji]]
            nearScalar Tol (w + " springref") j.springref qspring.[qposAdr.[ji]]
        near Tol (w + " anchor") j.pos jPos.[3 * ji .. 3 * ji + 2]
        Expect.equal (jLimited.[ji] <> 0.0) j.range.IsSome (w + " limited")
        j.range |> Option.iter (fun (lo, hi) -> near Tol (w + " range") [| lo; hi |] jRange.[2 * ji .. 2 * ji + 1])
        nearScalar Tol (w + " stiffness") j.stiffness jStiff.[ji]
        for d in dofAdr.[ji] .. dofAdr.[ji] + JointSpec.nvOf j.jtype - 1 do
            nearScalar Tol (w + " damping") j.damping dDamp.[d]
            nearScalar Tol (w + " armature") j.armature dArm.[d]
            nearScalar Tol (w + " frictionloss") j.frictionloss dFric.[d])
    // actuators and options
    Expect.equal m.nu e.actuators.Length (label + ": actuator count")
    let gear, ctrlrange, ctrllimited, trnid = m.Model "actuator_gear", m.Model "actuator_ctrlrange", m.Model "actuator_ctrllimited", m.Model "actuator_trnid"
    e.actuators
    |> Array.iteri (fun a act ->
        let w = sprintf "%s: actuator '%s'" label act.name
        Expect.equal (m.Name(MuJoCo.ObjType.Actuator, a)) act.name (w + " name")
        Expect.equal (Some m.JointNames.[int trnid.[2 * a]]) (ActuatorSpec.joint act) (w + " joint")
        nearScalar Tol (w + " gear") act.gear gear.[6 * a]
        Expect.equal (ctrllimited.[a] <> 0.0) act.ctrlrange.IsSome (w + " ctrllimited")
        act.ctrlrange |> Option.iter (fun (lo, hi) -> near Tol (w + " ctrlrange") [| lo; hi |] ctrlrange.[2 * a .. 2 * a + 1]))

/// Our URDF load and MuJoCo's load of the matching scratch copy.
let private compareUrdf (file: string) (fixedBase: bool) (inertiaFromGeom: bool) =
    skipUnlessMuJoCo ()
    let e = Urdf.load (asset file, fixedBase = fixedBase, inertiaFromGeom = inertiaFromGeom)
    withTempDir (fun dir ->
        let floating = if e.bodies.[0].joints.Length > 0 then Some e.bodies.[0].name else None
        let copy = MuJoCo.scratchUrdf dir (asset file) inertiaFromGeom floating
        use m = MuJoCo.load copy
        compareWithMuJoCo (sprintf "%s (fixedBase=%b, inertiaFromGeom=%b)" file fixedBase inertiaFromGeom) e m)

let private urdfTests =
    testList "URDF" [
        for file, fixedBase in urdfAssets do
            test (sprintf "%s, README base, URDF mass semantics" file) { compareUrdf file fixedBase false }
        for file, _ in urdfAssets do
            test (sprintf "%s, welded root, MuJoCo as shipped (inertia from geoms)" file) {
                skipUnlessMuJoCo ()
                // the file exactly as shipped: MuJoCo's own URDF defaults
                let e = Urdf.load (asset file, fixedBase = true, inertiaFromGeom = true)
                use m = MuJoCo.load (asset file)
                compareWithMuJoCo (file + " as shipped") e m
            }
        test "go2.urdf, welded root, URDF mass semantics" { compareUrdf "go2/go2.urdf" true false }
    ]

let private mjcfTests =
    testList "MJCF" [
        for f in mjcfAssets () do
            test (sprintf "%s" f) {
                skipUnlessMuJoCo ()
                use m = MuJoCo.load (asset f)
                compareWithMuJoCo f (Mjcf.load (asset f)) m
                let e = Mjcf.load (asset f)
                nearScalar 1e-15 "timestep" e.options.timestep m.Timestep
                near 1e-15 "gravity" e.options.gravity m.Gravity
            }
        test "Debian humanoid.xml" {
            skipUnlessMuJoCo ()
            if not (File.Exists debianHumanoid) then skiptest "libmujoco-samples is not installed"
            use m = MuJoCo.load debianHumanoid
            let e = Mjcf.load debianHumanoid
            compareWithMuJoCo "humanoid.xml (Debian)" e m
            nearScalar 1e-15 "timestep" e.options.timestep m.Timestep
        }
    ]

/// A URDF exercising fixed chains with rpy, inertial rpy with products of inertia, prismatic and
/// continuous joints, dynamics, limits, and massless links with and without geoms.
let featureUrdf = """<?xml version="1.0"?>
<robot name="features">
  <link name="root"><inertial><mass value="2"/><inertia ixx="0.1" iyy="0.1" izz="0.1" ixy="0" ixz="0" iyz="0"/></inertial>
    <collision><origin xyz="0 0 0.05" rpy="0 0 0.3"/><geometry><box size="0.4 0.3 0.1"/></geometry></collision></link>
  <link name="slider"><inertial><origin xyz="0.01 0.02 0.03" rpy="0.1 0.2 0.3"/><mass value="1.3"/>
      <inertia ixx="0.02" iyy="0.03" izz="0.025" ixy="0.001" ixz="-0.002" iyz="0.0015"/></inertial>
    <collision><origin xyz="0 0 0.1" rpy="1.5707963267948966 0 0"/><geometry><cylinder radius="0.05" length="0.2"/></geometry></collision></link>
  <link name="bracket"><inertial><origin xyz="0.05 0 0" rpy="0 0.4 0"/><mass value="0.4"/>
      <inertia ixx="0.004" iyy="0.003" izz="0.002" ixy="0.0001" ixz="0" iyz="0"/></inertial>
    <collision><geometry><sphere radius="0.03"/></geometry></collision></link>
  <link name="tip"><collision><origin xyz="0.02 0 0"/><geometry><sphere radius="0.01"/></geometry></collision></link>
  <link name="frame"/>
  <link name="arm"><inertial><origin xyz="0 0 -0.2"/><mass value="0.7"/><inertia ixx="0.01" iyy="0.01" izz="0.001" ixy="0" ixz="0" iyz="0"/></inertial></link>
  <joint name="slide" type="prismatic"><origin xyz="0 0 0.2" rpy="0 0 0.5"/><parent link="root"/><child link="slider"/>
    <axis xyz="1 1 0"/><limit lower="-0.3" upper="0.4" effort="50" velocity="2"/><dynamics damping="3" friction="0.5"/></joint>
  <joint name="weld" type="fixed"><origin xyz="0.1 0.2 0.3" rpy="0.3 -0.4 2.5"/><parent link="slider"/><child link="bracket"/></joint>
  <joint name="weld2" type="fixed"><origin xyz="0.1 0 0" rpy="0 1.2 0"/><parent link="bracket"/><child link="tip"/></joint>
  <joint name="weld3" type="fixed"><origin xyz="0 0.1 0"/><parent link="bracket"/><child link="frame"/></joint>
  <joint name="hinge" type="continuous"><origin xyz="0 0 0.05" rpy="3.141592653589793 0 0"/><parent link="frame"/><child link="arm"/>
    <axis xyz="0 0.6 0.8"/><dynamics damping="0.2"/></joint>
</robot>
"""

/// An MJCF exercising compiler options, nested defaults, every orientation form, fromto,
/// fullinertia, geom mass, ball and slide joints, ref/springref and fusestatic.
let featureMjcf = """<mujoco model="features">
  <compiler angle="radian" eulerseq="zyx" fusestatic="true" autolimits="true"/>
  <option timestep="0.01" gravity="0 0.5 -9"/>
  <default>
    <joint damping="0.3" armature="0.02"/>
    <default class="c1">
      <geom type="box" size="0.1 0.2 0.3" density="700" friction="0.8"/>
      <joint frictionloss="0.1" stiffness="2" springref="0.3"/>
    </default>
  </default>
  <worldbody>
    <geom name="floor" type="plane" size="0 0 1"/>
    <body name="a" pos="0.1 0.2 0.3" euler="0.3 -0.2 0.5" childclass="c1">
      <joint name="ja" type="slide" axis="1 1 0" range="-1 1"/>
      <geom name="ga"/>
      <geom name="gb" type="ellipsoid" size="0.1 0.2 0.15" pos="0 0.1 0" axisangle="1 2 3 0.7"/>
      <body name="s" pos="0 0 0.5" quat="0.9 0.1 0.2 0.3">
        <geom name="gs" type="cylinder" size="0.05 0.2" xyaxes="0 1 0 -1 0 0"/>
        <body name="b" pos="0.2 0 0" zaxis="1 0 1">
          <joint name="jb" type="hinge" axis="0 1 0" pos="0 0 0.1" ref="0.2" range="-2 2"/>
          <inertial pos="0.01 0.02 0.03" quat="1 0.2 0 0" mass="1.5" diaginertia="0.1 0.2 0.25"/>
          <geom name="gc" type="capsule" fromto="0 0 0 0.3 0.1 0" size="0.04"/>
          <body name="d" pos="0.3 0 0">
            <joint name="jd" axis="1 0 0"/>
            <inertial pos="0.01 0 0" mass="0.8" fullinertia="0.1 0.2 0.25 0.01 -0.02 0.03"/>
          </body>
        </body>
        <body name="c" pos="0 0.3 0">
          <joint name="jc" type="ball" range="0 1"/>
          <geom name="gd" type="sphere" size="0.1" mass="0.5" contype="2" conaffinity="3" condim="4"/>
        </body>
      </body>
    </body>
  </worldbody>
</mujoco>
"""

let private featureTests =
    testList "features" [
        test "synthetic URDF (fixed and floating)" {
            skipUnlessMuJoCo ()
            withTempDir (fun dir ->
                let src = writeFile dir "features.urdf" featureUrdf
                for fixedBase in [ true; false ] do
                    let e = Urdf.load (src, fixedBase = fixedBase)
                    Expect.equal (e.bodies |> Array.map (fun b -> b.name)) [| "root"; "slider"; "arm" |] "bracket, tip, frame fused"
                    withTempDir (fun scratch ->
                        let floating = if fixedBase then None else Some "root"
                        use m = MuJoCo.load (MuJoCo.scratchUrdf scratch src false floating)
                        compareWithMuJoCo (sprintf "features.urdf fixedBase=%b" fixedBase) e m))
        }
        test "synthetic MJCF" {
            skipUnlessMuJoCo ()
            withTempDir (fun dir ->
                let src = writeFile dir "features.xml" featureMjcf
                let e = Mjcf.load src
                Expect.equal (e.bodies |> Array.map (fun b -> b.name)) [| "world"; "a"; "b"; "d"; "c" |] "s fused into a"
                use m = MuJoCo.load src
                compareWithMuJoCo "features.xml" e m
                nearScalar 0.0 "timestep" e.options.timestep m.Timestep
                near 0.0 "gravity" e.options.gravity m.Gravity)
        }
    ]

/// The harness itself, against the dynamics numbers printed in assets/README.md (config B/C):
/// fusing static bodies does not change the dynamics, so MuJoCo must reproduce them on our scratch
/// copies. These are what the dynamics stages will later be compared with.
let private harnessTests =
    testList "harness" [
        let cases =
            [ "cartpole/cartpole.urdf", true, 2.125, 0.0
              "two_link_arm/two_link_arm.urdf", true, 3.05, 19.62
              "acrobot/Acrobot.urdf", true, 5.993, 0.0
              "kuka_iiwa/iiwa14_spheres_collision.urdf", true, 6.185784, 0.025555
              "kuka_iiwa/model.urdf", true, 4.100909, 0.015107
              "franka_panda/panda_arm_hand.urdf", true, 3.938716, 9.816313
              "go2/go2.urdf", false, 46.641201, 152.890264 ]
        for file, fixedBase, traceM, biasL1 in cases do
            test (sprintf "%s: trace M(q0) and |qfrc_bias(q0)|_1 as in the README" file) {
                skipUnlessMuJoCo ()
                let e = Urdf.load (asset file, fixedBase = fixedBase)
                withTempDir (fun dir ->
                    let floating = if e.bodies.[0].joints.Length > 0 then Some e.bodies.[0].name else None
                    use m = MuJoCo.load (MuJoCo.scratchUrdf dir (asset file) false floating)
                    m.Forward()
                    let mm = m.FullM()
                    let tr = Seq.sum (seq { for i in 0 .. m.nv - 1 -> mm.[i * m.nv + i] })
                    nearScalar (ReadmeTol * max 1.0 traceM) "trace M" tr traceM
                    nearScalar (ReadmeTol * max 1.0 biasL1) "bias" (m.QfrcBias |> Array.sumBy abs) biasL1)
            }
        test "humanoid (assets): trace M(q0) and bias as in the README; M symmetric" {
            skipUnlessMuJoCo ()
            use m = MuJoCo.load (asset "mjcf/humanoid.xml")
            m.Forward()
            let mm = m.FullM()
            let nv = m.nv
            nearScalar (ReadmeTol * 177.713959) "trace" (Seq.sum (seq { for i in 0 .. nv - 1 -> mm.[i * nv + i] })) 177.713959
            nearScalar (ReadmeTol * 427.130736) "bias" (m.Data "qfrc_bias" |> Array.sumBy abs) 427.130736
            for i in 0 .. nv - 1 do
                for j in 0 .. nv - 1 do
                    nearScalar 1e-12 "symmetric" mm.[i * nv + j] mm.[j * nv + i]
        }
        test "free joint convention: qvel = [v (world frame); w (body frame)], qpos = [x; quat]" {
            skipUnlessMuJoCo ()
            withTempDir (fun dir ->
                let q0 = [| sqrt 0.5; 0.0; 0.0; sqrt 0.5 |] // 90 degrees about z
                let e = Primitives.box([| 0.2; 0.4; 0.6 |], quat = q0)
                let src =
                    writeFile dir "free.xml" (sprintf "<mujoco><option gravity=\"0 0 0\" integrator=\"Euler\"/><worldbody><body name=\"box\" quat=\"%.17g 0 0 %.17g\"><freejoint name=\"box_free_joint\"/><geom type=\"box\" size=\"0.1 0.2 0.3\"/></body></worldbody></mujoco>" q0.[0] q0.[3])
                use m = MuJoCo.load src
                compareWithMuJoCo "free box" { e with bodies = Array.append [| { e.bodies.[0] with name = "world"; parent = -1; joints = [||]; geoms = [||]; mass = 0.0 } |] [| { e.bodies.[0] with parent = 0 } |] } m
                near Tol "qpos0 = [pos; quat]" (m.Model "qpos0") (EntitySpec.qpos0 e)
                let dt = 1e-3
                m.Timestep <- dt
                m.Qvel <- [| 1.0; 0.0; 0.0; 1.0; 0.0; 0.0 |]
                m.Step()
                let q = m.Qpos
                // the body is turned 90 degrees about z, yet it moves along WORLD x ...
                near 1e-15 "linear velocity in the world frame" q.[0..2] [| dt; 0.0; 0.0 |]
                // ... and turns about its OWN x axis: q <- q * exp(w dt / 2)
                let local = SpecMath.normalize (SpecMath.quatMul q0 [| 1.0; dt / 2.0; 0.0; 0.0 |])
                nearQuat 1e-9 "angular velocity in the body frame" q.[3..6] local)
        }
        test "state in, dynamics out: qpos/qvel/ctrl, forward, inverse, step, options" {
            skipUnlessMuJoCo ()
            use m = MuJoCo.load (asset "mjcf/humanoid.xml")
            Expect.equal (m.Qpos.Length, m.Qvel.Length, m.Ctrl.Length) (28, 27, 21) "sizes"
            let rnd = Random 3
            let qvel = Array.init 27 (fun _ -> rnd.NextDouble() - 0.5)
            m.Qvel <- qvel
            m.Ctrl <- Array.create 21 0.3
            m.Forward()
            let qacc = m.Qacc
            Expect.isTrue (qacc |> Array.forall Double.IsFinite) "finite qacc"
            m.Inverse()
            Expect.equal (m.Data "qfrc_inverse").Length 27 "inverse dynamics"
            near 1e-15 "xpos of the world" m.Xpos.[0..2] [| 0.0; 0.0; 0.0 |]
            nearQuat 1e-15 "xquat of the world" m.Xquat.[0..3] [| 1.0; 0.0; 0.0; 0.0 |]
            Expect.equal m.Xipos.Length (3 * m.nbody) "xipos"
            Expect.equal m.BodyParent.[1] 0 "torso hangs from the world"
            m.Timestep <- 0.001
            m.SetIntegrator MuJoCo.Integrator.Euler
            m.Gravity <- [| 0.0; 0.0; -9.81 |]
            m.Step 10
            nearScalar 1e-12 "time" m.Time 0.01
            m.Reset()
            nearScalar 0.0 "reset time" m.Time 0.0
            near 0.0 "reset qpos = qpos0" m.Qpos (m.Model "qpos0")
        }
    ]

[<Tests>]
let tests = testSequenced (testList "Oracle.Morphs" [ urdfTests; mjcfTests; featureTests; harnessTests ])
