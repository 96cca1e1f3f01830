/// Fuzzing the model loaders (issue 18): FsCheck generates random valid URDF and MJCF trees (joint types, geoms,
/// inertias, origins) and mutations that break them (an attribute set to NaN/Inf/negative/empty/huge/garbage, an
/// element removed, duplicated or its children reordered, deep nesting). Properties: a valid tree loads with the
/// expected sizes and builds and steps; a mutated one either loads into a spec with finite values and builds, or
/// raises a GenesisException (never another exception type). Models are tiny so that >= 1,000 cases run in seconds.
module Genesis.Tests.Physics.FuzzTests

open System
open System.Globalization
open System.IO
open System.Xml.Linq
open Expecto
open FsCheck
open FsCheck.FSharp
open Genesis
open Genesis.Physics
open Genesis.Tests

/// Cases per generator (the issue asks for >= 1,000).
let Cases = 1000

/// The FsCheck configuration of the fuzz properties (this file's and Engine/RuntimeFuzzTests.fs').
let config = { FsCheckConfig.defaultConfig with maxTest = Cases }

/// Shortest round-tripping text of a float.
let private num (x: float) = x.ToString("R", CultureInfo.InvariantCulture)

let private nums (xs: float[]) = String.Join(" ", xs |> Array.map num)

/// A float in [lo, hi] on a grid of 1,000 steps.
let private genFloat (lo: float) (hi: float) = Gen.choose (0, 1000) |> Gen.map (fun k -> lo + (hi - lo) * float k / 1000.0)

let private genVec (lo: float) (hi: float) = Gen.arrayOfLength 3 (genFloat lo hi)

/// A random nonzero axis.
let private genAxis = Gen.elements [ [| 1.0; 0.0; 0.0 |]; [| 0.0; 1.0; 0.0 |]; [| 0.0; 0.0; 1.0 |]; [| 1.0; 1.0; 0.0 |]; [| 0.3; -0.2; 0.9 |] ]

/// Principal moments that satisfy the triangle inequality (all within 20% of one value).
let private genInertia = gen {
    let! i = genFloat 0.05 1.0
    let! r = Gen.arrayOfLength 3 (genFloat 0.8 1.2)
    return r |> Array.map ((*) i) }

/// One link/body of a random tree: its parent (an earlier index, -1 for the root) and what it holds.
type Part =
    { parent: int
      joint: string
      geom: string * float[]
      mass: float
      inertia: float[]
      xyz: float[]
      rpy: float[]
      axis: float[] }

let private genGeom = gen {
    let! kind = Gen.elements [ "sphere"; "box"; "cylinder"; "capsule" ]
    let! s = genVec 0.02 0.3
    return kind, s }

/// A random tree of 1-5 parts whose joints come from `joints`.
let private genTree (joints: string list) = gen {
    let! n = Gen.choose (1, 5)
    let! parts =
        Gen.collectToList
            (fun i -> gen {
                let! parent = if i = 0 then Gen.constant -1 else Gen.choose (0, i - 1)
                let! joint = Gen.elements joints
                let! geom = genGeom
                let! mass = genFloat 0.1 5.0
                let! inertia = genInertia
                let! xyz = genVec -0.5 0.5
                let! rpy = genVec -3.0 3.0
                let! axis = genAxis
                return { parent = parent; joint = joint; geom = geom; mass = mass; inertia = inertia; xyz = xyz; rpy = rpy; axis = axis } })
            [ 0 .. n - 1 ]
    return List.toArray parts }

// ---- URDF -------------------------------------------------------------------------------------------------

let private urdfGeom (kind: string, s: float[]) =
    match kind with
    | "sphere" -> sprintf "<sphere radius=\"%s\"/>" (num s[0])
    | "box" -> sprintf "<box size=\"%s\"/>" (nums s)
    | _ -> sprintf "<%s radius=\"%s\" length=\"%s\"/>" kind (num s[0]) (num (2.0 * s[1]))

/// URDF text of a tree (part 0 is the root link; every other part hangs from its parent by its joint).
let urdfText (parts: Part[]) =
    let link i (p: Part) =
        let i3 = p.inertia
        sprintf "  <link name=\"l%d\">\n    <inertial><origin xyz=\"%s\" rpy=\"0 0 0\"/><mass value=\"%s\"/><inertia ixx=\"%s\" iyy=\"%s\" izz=\"%s\" ixy=\"0\" ixz=\"0\" iyz=\"0\"/></inertial>\n    <collision><origin xyz=\"%s\" rpy=\"%s\"/><geometry>%s</geometry></collision>\n  </link>\n"
            i (nums (Array.map ((*) 0.1) p.xyz)) (num p.mass) (num i3[0]) (num i3[1]) (num i3[2]) (nums (Array.map ((*) 0.1) p.xyz)) (nums p.rpy) (urdfGeom p.geom)
    let joint i (p: Part) =
        let limit = if p.joint = "revolute" || p.joint = "prismatic" then "<limit lower=\"-1\" upper=\"1\" effort=\"10\" velocity=\"1\"/>" else ""
        sprintf "  <joint name=\"j%d\" type=\"%s\">\n    <parent link=\"l%d\"/><child link=\"l%d\"/>\n    <origin xyz=\"%s\" rpy=\"%s\"/><axis xyz=\"%s\"/>%s\n  </joint>\n"
            i p.joint p.parent i (nums p.xyz) (nums p.rpy) (nums p.axis) limit
    let links = parts |> Array.mapi link |> String.concat ""
    let joints = parts |> Array.mapi (fun i p -> if i = 0 then "" else joint i p) |> String.concat ""
    "<?xml version=\"1.0\"?>\n<robot name=\"fuzz\">\n" + links + joints + "</robot>\n"

// ---- MJCF -------------------------------------------------------------------------------------------------

let private mjcfGeom (kind: string, s: float[]) =
    match kind with
    | "sphere" -> sprintf "<geom type=\"sphere\" size=\"%s\"/>" (num s[0])
    | "box" -> sprintf "<geom type=\"box\" size=\"%s\"/>" (nums s)
    | k -> sprintf "<geom type=\"%s\" size=\"%s %s\"/>" k (num s[0]) (num s[1])

/// MJCF text of a tree (part 0 under <worldbody>, the others nested under their parents), over a floor plane.
let mjcfText (parts: Part[]) (free: bool) =
    let rec body (i: int) (indent: string) : string =
        let p = parts[i]
        let joint =
            if i = 0 && free then "<freejoint/>"
            else
                match p.joint with
                | "ball" -> sprintf "<joint name=\"j%d\" type=\"ball\"/>" i
                | "weld" -> ""
                | t -> sprintf "<joint name=\"j%d\" type=\"%s\" axis=\"%s\" range=\"-1 1\"/>" i t (nums p.axis)
        let inertial = sprintf "<inertial pos=\"0 0 0\" mass=\"%s\" diaginertia=\"%s\"/>" (num p.mass) (nums p.inertia)
        let children = [ for c in i + 1 .. parts.Length - 1 do if parts[c].parent = i then yield body c (indent + "  ") ] |> String.concat ""
        sprintf "%s<body name=\"b%d\" pos=\"%s\" euler=\"%s\">%s%s%s\n%s%s</body>\n" indent i (nums p.xyz) (nums p.rpy) joint inertial (mjcfGeom p.geom) children indent
    "<mujoco model=\"fuzz\">\n  <compiler angle=\"radian\"/>\n  <option timestep=\"0.005\"/>\n  <worldbody>\n    <geom name=\"floor\" type=\"plane\" size=\"5 5 0.1\"/>\n"
    + body 0 "    " + "  </worldbody>\n</mujoco>\n"

// ---- mutations --------------------------------------------------------------------------------------------

/// Values that break an attribute.
let private badValues = [ "nan"; "NaN"; "inf"; "-inf"; "Infinity"; "-1"; "0"; ""; "1e400"; "1e308"; "-1e308"; "abc"; "1 2"; "1e-300"; "1 2 3 4 5 6 7" ]

/// A way of breaking a model file: which kind, a number that picks the element or attribute, a bad value.
type Mutation =
    | SetAttribute of pick: int * value: string
    | RemoveAttribute of pick: int
    | RemoveElement of pick: int
    | DuplicateElement of pick: int
    | ReorderChildren of pick: int
    | NestDeeper of depth: int

let private genMutation =
    let pick = Gen.choose (0, 10000)
    Gen.frequency
        [ 4, Gen.zip pick (Gen.elements badValues) |> Gen.map SetAttribute
          1, Gen.map RemoveAttribute pick
          1, Gen.map RemoveElement pick
          1, Gen.map DuplicateElement pick
          1, Gen.map ReorderChildren pick
          1, Gen.map NestDeeper (Gen.elements [ 3; 1200 ]) ]

/// Applies a mutation to model text; NestDeeper wraps the first moving element (URDF: a chain of extra links).
let mutate (isMjcf: bool) (text: string) (m: Mutation) =
    let doc = XDocument.Parse text
    let elems = doc.Root.Descendants() |> Seq.toArray
    let attrs = doc.Root.DescendantsAndSelf() |> Seq.collect (fun e -> e.Attributes()) |> Seq.toArray
    match m with
    | SetAttribute(k, v) when attrs.Length > 0 -> attrs[k % attrs.Length].Value <- v
    | RemoveAttribute k when attrs.Length > 0 -> attrs[k % attrs.Length].Remove()
    | RemoveElement k when elems.Length > 0 -> elems[k % elems.Length].Remove()
    | DuplicateElement k when elems.Length > 0 -> let e = elems[k % elems.Length] in e.AddAfterSelf(XElement(e))
    | ReorderChildren k when elems.Length > 0 ->
        let e = elems[k % elems.Length]
        let cs = e.Elements() |> Seq.rev |> Seq.toArray
        e.RemoveNodes()
        for c in cs do e.Add c
    | NestDeeper depth ->
        if isMjcf then
            let wb = doc.Root.Element(XName.Get "worldbody")
            let mutable inner = XElement(XName.Get "body", XAttribute(XName.Get "name", "deep"), XElement(XName.Get "geom", XAttribute(XName.Get "size", "0.1")))
            for i in 1 .. depth do
                inner <- XElement(XName.Get "body", XAttribute(XName.Get "name", sprintf "n%d" i), XElement(XName.Get "joint", XAttribute(XName.Get "type", "hinge")), XElement(XName.Get "geom", XAttribute(XName.Get "size", "0.05")), inner)
            wb.Add inner
        else
            for i in 1 .. depth do
                let parent = if i = 1 then "l0" else sprintf "n%d" (i - 1)
                doc.Root.Add(XElement.Parse(sprintf "<link name=\"n%d\"><inertial><mass value=\"1\"/><inertia ixx=\"1\" iyy=\"1\" izz=\"1\" ixy=\"0\" ixz=\"0\" iyz=\"0\"/></inertial></link>" i))
                doc.Root.Add(XElement.Parse(sprintf "<joint name=\"nj%d\" type=\"continuous\"><parent link=\"%s\"/><child link=\"n%d\"/></joint>" i parent i))
    | _ -> ()
    doc.ToString()

// ---- properties -------------------------------------------------------------------------------------------

/// True when every number a loaded spec holds is finite (bounds may be infinite) and geom sizes are >= 0.
let private finiteSpec (e: EntitySpec) =
    let ok (v: float[]) = v |> Array.forall Double.IsFinite
    e.bodies |> Array.forall (fun b ->
        ok b.pos && ok b.quat && Double.IsFinite b.mass && ok b.ipos && ok b.inertia
        && b.joints |> Array.forall (fun j -> ok j.axis && ok j.pos && Double.IsFinite j.damping && Double.IsFinite j.ref)
        && b.geoms |> Array.forall (fun g -> ok g.size && ok g.pos && ok g.quat && g.size |> Array.forall (fun s -> s >= 0.0)))

/// Builds a scene of the spec and takes steps; a GenesisNotSupportedException (e.g. an unsupported contact pair) is
/// an allowed answer.
let private buildAndStep (spec: EntitySpec) (steps: int) =
    let scene = Scene(SimOptions(dt = 0.005))
    scene.addEntity(MorphSpec spec) |> ignore
    try
        scene.build()
        for _ in 1 .. steps do scene.step()
        true
    with :? GenesisNotSupportedException -> false

/// Runs f on text written to a scratch file, failing on any exception that is not a GenesisException.
let private genesisOrSuccess (dir: string) (name: string) (text: string) (f: string -> unit) =
    let path = Path.Combine(dir, name)
    File.WriteAllText(path, text)
    try f path
    with
    | :? GenesisException -> ()
    | :? AssertException -> reraise ()
    | e -> failtestf "%s raised %s (%s), not a GenesisException, for:\n%s" name (e.GetType().Name) e.Message text

let private scratch = lazy (let d = Path.Combine(Path.GetTempPath(), "genesis-fuzz-" + Guid.NewGuid().ToString("N")) in Directory.CreateDirectory d |> ignore; d)

/// Loads mutated model text: a spec of finite values that builds and steps, or a GenesisException.
let private loadsFiniteOrRaises (isMjcf: bool) (text: string) =
    genesisOrSuccess scratch.Value (if isMjcf then "mutated.xml" else "mutated.urdf") text (fun path ->
        let e = if isMjcf then Mjcf.load path else Urdf.load (path, fixedBase = true)
        if not (finiteSpec e) then failtestf "a non-finite value loaded silently from:\n%s" text
        buildAndStep e 1 |> ignore)

let private urdfJoints = [ "revolute"; "continuous"; "prismatic"; "fixed" ]
let private mjcfJoints = [ "hinge"; "slide"; "ball"; "weld" ]

[<Tests>]
let tests =
    testList "Physics.Fuzz" [
        testPropertyWithConfig config "random valid URDF trees load with the expected sizes, build and step" (
            Prop.forAll (Arb.fromGen (Gen.zip (genTree urdfJoints) (Gen.elements [ true; false ]))) (fun (parts, fixedBase) ->
                GsSetup.ensure64 ()
                let path = Path.Combine(scratch.Value, "valid.urdf")
                File.WriteAllText(path, urdfText parts)
                let e = Urdf.load (path, fixedBase = fixedBase)
                let moving = parts |> Array.skip 1 |> Array.filter (fun p -> p.joint <> "fixed")
                Expect.equal e.bodies.Length (1 + moving.Length) "links fused across fixed joints"
                Expect.equal (EntitySpec.nv e) (moving.Length + (if fixedBase then 0 else 6)) "one dof per moving joint (+6 free)"
                Expect.isTrue (finiteSpec e) "finite spec"
                buildAndStep e 2 |> ignore))

        testPropertyWithConfig config "random valid MJCF trees load with the expected sizes, build and step" (
            Prop.forAll (Arb.fromGen (Gen.zip (genTree mjcfJoints) (Gen.elements [ true; false ]))) (fun (parts, free) ->
                GsSetup.ensure64 ()
                let path = Path.Combine(scratch.Value, "valid.xml")
                File.WriteAllText(path, mjcfText parts free)
                let e = Mjcf.load path
                let dofs (i: int) (p: Part) = if i = 0 && free then 6 else match p.joint with "ball" -> 3 | "weld" -> 0 | _ -> 1
                Expect.equal e.bodies.Length (1 + parts.Length) "world + one body per part"
                Expect.equal (EntitySpec.nv e) (parts |> Array.mapi dofs |> Array.sum) "dofs"
                Expect.isTrue e.options.timestepGiven "the file states its timestep"
                Expect.isTrue (finiteSpec e) "finite spec"
                buildAndStep e 2 |> ignore))

        testPropertyWithConfig config "mutated URDF files load a finite spec or raise a GenesisException" (
            Prop.forAll (Arb.fromGen (Gen.zip (genTree urdfJoints) genMutation)) (fun (parts, m) ->
                GsSetup.ensure64 ()
                loadsFiniteOrRaises false (mutate false (urdfText parts) m)))

        testPropertyWithConfig config "mutated MJCF files load a finite spec or raise a GenesisException" (
            Prop.forAll (Arb.fromGen (Gen.zip (genTree mjcfJoints) genMutation)) (fun (parts, m) ->
                GsSetup.ensure64 ()
                loadsFiniteOrRaises true (mutate true (mjcfText parts false) m)))

        test "every attribute of a sample URDF and MJCF set to every bad value, every element removed or duplicated" {
            GsSetup.ensure64 ()
            let part parent joint geom =
                { parent = parent; joint = joint; geom = geom; mass = 1.5; inertia = [| 0.1; 0.12; 0.11 |]
                  xyz = [| 0.1; -0.2; 0.3 |]; rpy = [| 0.4; 0.0; -0.3 |]; axis = [| 0.3; -0.2; 0.9 |] }
            for isMjcf, text in
                [ false, urdfText [| part -1 "fixed" ("box", [| 0.1; 0.2; 0.3 |]); part 0 "revolute" ("capsule", [| 0.05; 0.2; 0.0 |]); part 1 "prismatic" ("sphere", [| 0.1; 0.0; 0.0 |]) |]
                  true, mjcfText [| part -1 "hinge" ("box", [| 0.1; 0.2; 0.3 |]); part 0 "ball" ("capsule", [| 0.05; 0.2; 0.0 |]); part 1 "slide" ("cylinder", [| 0.1; 0.1; 0.0 |]) |] true ] do
                let root = XDocument.Parse(text).Root
                let nAttrs = root.DescendantsAndSelf() |> Seq.sumBy (fun e -> Seq.length (e.Attributes()))
                let nElems = root.Descendants() |> Seq.length
                for k in 0 .. nAttrs - 1 do
                    for v in badValues do loadsFiniteOrRaises isMjcf (mutate isMjcf text (SetAttribute(k, v)))
                    loadsFiniteOrRaises isMjcf (mutate isMjcf text (RemoveAttribute k))
                for k in 0 .. nElems - 1 do
                    loadsFiniteOrRaises isMjcf (mutate isMjcf text (RemoveElement k))
                    loadsFiniteOrRaises isMjcf (mutate isMjcf text (DuplicateElement k))
        }
    ]
