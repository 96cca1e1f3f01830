/// Fuzzing the runtime API (issue 18): FsCheck generates random call sequences on a tiny scene (the two-link arm and
/// a free sphere, batched or not, with or without requiresGrad): setters and controls with random index sets (repeats
/// and out of range included), values of random shapes, dtypes and entries (NaN, infinities, 1e300), and steps, resets,
/// backward passes and reads in any order. Properties: every call succeeds or raises a GenesisException; a failed
/// call leaves state, parameters and controls bitwise unchanged; a successful setter writes exactly the addressed
/// entries and leaves every other one bitwise unchanged.
module Genesis.Tests.Engine.RuntimeFuzzTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Genesis
open Genesis.Physics
open Genesis.Tests

/// FuzzTests.Cases call sequences per property (the issue asks for >= 1,000).
let private config = Genesis.Tests.Physics.FuzzTests.config

/// Dofs of the two-link arm (hinges: qpos column = dof); the scene also holds a free sphere (qpos 2-8, qvel 2-7).
let private Nv = 2

/// The scene's qpos and qvel widths (the arm's 2 + the sphere's 7 and 6).
let private Nq, NvAll = 9, 8

/// Envs of the batched scenes.
let private NEnvs = 3

/// Values handed to a setter: shape, dtype, entries (row-major), whether a float tensor is a requiresGrad leaf.
type Values = { shape: int[]; dtype: DType; entries: float[]; grad: bool }

/// One runtime call.
type Call =
    | SetPosition of Values * int[] option * int[] option
    | SetVelocity of Values * int[] option * int[] option
    | Control of mode: int * Values * int[] option * int[] option
    | SetParam of which: int * Values * int[] option
    | SetMass of Values * int[] option
    | SetBase of quat: bool * Values * int[] option
    | SetState of Values
    | Build
    | Step
    | Reset
    | Backward
    | Read

let private pool = [ 0.3; -1.2; 2.0; 0.0; 7.0; nan; infinity; -infinity; 1e300 ]

let private genIdx (hi: int) =
    Gen.frequency
        [ 2, Gen.constant None
          3, Gen.choose (0, 3) |> Gen.bind (fun n -> Gen.arrayOfLength n (Gen.choose (-1, hi))) |> Gen.map Some ]

/// Values shaped for k columns and `rows` envs, or a random wrong shape.
let private genValues (k: int) (rows: int) = gen {
    let! shape =
        Gen.frequency
            [ 4, Gen.constant [| k |]
              3, Gen.constant [| rows; k |]
              1, Gen.choose (0, 3) |> Gen.map (fun a -> [| a |])
              1, Gen.zip (Gen.choose (0, 3)) (Gen.choose (0, 3)) |> Gen.map (fun (a, b) -> [| a; b |]) ]
    let! entries = Gen.arrayOfLength (Array.fold (*) 1 shape) (Gen.elements pool)
    let! dtype = Gen.frequency [ 8, Gen.constant DType.Float64; 1, Gen.constant DType.Int64; 1, Gen.constant DType.Bool ]
    let! grad = Gen.elements [ false; false; true ]
    return { shape = shape; dtype = dtype; entries = entries; grad = grad && dtype = DType.Float64 } }

let private genCall (batched: bool) = gen {
    let! dofs = genIdx Nv
    let! envs = if batched then genIdx NEnvs else Gen.frequency [ 5, Gen.constant None; 1, Gen.constant (Some [| 0 |]) ]
    let k = match dofs with Some d -> d.Length | None -> Nv
    let rows = match envs with Some e -> e.Length | None -> max 1 NEnvs
    let! v = genValues k rows
    let! which = Gen.choose (0, 3)
    let! links = genIdx 3
    let! mv = genValues (match links with Some l -> l.Length | None -> 3) 1
    let! quat = Gen.elements [ false; true ]
    let! bv = genValues (if quat then 4 else 3) rows
    let! sv = genValues Nq (if batched then NEnvs else 1)
    return!
        Gen.frequency
            [ 3, Gen.constant (SetPosition(v, dofs, envs))
              2, Gen.constant (SetVelocity(v, dofs, envs))
              3, Gen.constant (Control(which % 3, v, dofs, envs))
              2, Gen.constant (SetParam(which, { v with shape = [| k |]; entries = Array.truncate k (Array.append v.entries (Array.create k 1.0)) }, dofs))
              1, Gen.constant (SetMass(mv, links))
              2, Gen.constant (SetBase(quat, bv, envs))
              1, Gen.constant (SetState sv)
              1, Gen.constant Build
              4, Gen.constant Step
              1, Gen.constant Reset
              1, Gen.constant Backward
              1, Gen.constant Read ] }

/// A scene configuration and a call sequence.
/// A scene configuration (batched, requiresGrad, built before the calls) and a call sequence; an unbuilt scene is
/// built by the first Build call (calls before it must raise).
let private genCase = gen {
    let! batched = Gen.elements [ false; true ]
    let! requiresGrad = Gen.elements [ false; true ]
    let! builtFirst = Gen.frequency [ 4, Gen.constant true; 1, Gen.constant false ]
    let! n = Gen.choose (1, 8)
    let! calls = Gen.listOfLength n (genCall batched)
    return batched, requiresGrad, builtFirst, calls }

let private armSpec = lazy (Urdf.load (GsSetup.asset "two_link_arm/two_link_arm.urdf", fixedBase = true))

/// An entry as an int tensor can hold it (non-finite and huge entries become 0).
let private intSafe (dtype: DType) (x: float) = if dtype = DType.Float64 || (Double.IsFinite x && abs x < 1e9) then x else 0.0

let private tensorOf (v: Values) =
    let t = gs.fromArray(v.entries |> Array.map (intSafe v.dtype), shape = v.shape, dtype = DType.Float64, requiresGrad = v.grad)
    if v.dtype = DType.Float64 then t else t.cast v.dtype

let private bits (t: Tensor) = t.detach().toFloatArray() |> Array.map BitConverter.DoubleToInt64Bits

/// Everything a failed call must leave as it was: state, parameters, and the forces the controls produce.
let private snapshot (scene: Scene) (robot: RigidEntity) =
    if not scene.isBuilt then [| [| int64 scene.entities.Length |] |]
    else
        let st = scene.getState()
        [| yield bits st.qpos
           yield bits st.qvel
           for p in Rollout.paramsToArray scene.parameters do yield bits p
           yield (try bits (robot.getDofsForce()) with :? GenesisException -> [||]) |]

let private distinctIn (hi: int) (idx: int[] option) =
    match idx with
    | None -> true
    | Some i -> i.Length > 0 && i |> Array.forall (fun x -> x >= 0 && x < hi) && (Array.distinct i).Length = i.Length

/// After a successful setter: the entries of columns cols (in the order of the values' columns) in the addressed
/// rows hold the values, every other entry of the [b; width] array is bitwise unchanged.
let private checkWrite (what: string) (before: float[]) (after: float[]) (v: Values) (cols: int[]) (envs: int[] option) (b: int) (width: int) =
    let rowsSel = defaultArg envs (Array.init b id)
    let k = cols.Length
    for r in 0 .. b - 1 do
        for c in 0 .. width - 1 do
            let old = before[r * width + c]
            let now = after[r * width + c]
            match Array.tryFindIndex ((=) r) rowsSel, Array.tryFindIndex ((=) c) cols with
            | Some ri, Some ci ->
                let src = if v.shape.Length = 1 then v.entries[ci] else v.entries[ri * k + ci]
                let expected = if v.dtype = DType.Float64 then src else Math.Truncate(intSafe v.dtype src)
                if BitConverter.DoubleToInt64Bits now <> BitConverter.DoubleToInt64Bits expected then
                    failtestf "%s: env %d col %d is %g, expected the value written %g" what r c now expected
            | _ ->
                if BitConverter.DoubleToInt64Bits now <> BitConverter.DoubleToInt64Bits old then
                    failtestf "%s: env %d col %d was not addressed but changed from %g to %g" what r c old now

let private run (batched: bool, requiresGrad: bool, builtFirst: bool, calls: Call list) =
    GsSetup.ensure64 ()
    let scene = Scene(SimOptions(dt = 0.01, requiresGrad = requiresGrad))
    let robot = scene.addEntity(MorphSpec armSpec.Value)
    let ball = scene.addEntity(Morphs.Sphere(0.1, pos = [| 5.0; 0.0; 1.0 |]))
    let build () = scene.build(nEnvs = (if batched then NEnvs else 0))
    if builtFirst then build ()
    let b = if batched then NEnvs else 1
    for call in calls do
        let wasBuilt = scene.isBuilt
        let before = snapshot scene robot
        let q0, v0 = if wasBuilt then scene.getState().qpos.toFloatArray(), scene.getState().qvel.toFloatArray() else [||], [||]
        let p0 = if wasBuilt then Some scene.parameters else None
        let ok =
            try
                match call with
                | SetPosition(v, d, e) -> robot.setDofsPosition(tensorOf v, ?dofsIdx = d, ?envsIdx = e)
                | SetVelocity(v, d, e) -> robot.setDofsVelocity(tensorOf v, ?dofsIdx = d, ?envsIdx = e)
                | Control(0, v, d, e) -> robot.controlDofsForce(tensorOf v, ?dofsIdx = d, ?envsIdx = e)
                | Control(1, v, d, e) -> robot.controlDofsPosition(tensorOf v, ?dofsIdx = d, ?envsIdx = e)
                | Control(_, v, d, e) -> robot.controlDofsVelocity(tensorOf v, ?dofsIdx = d, ?envsIdx = e)
                | SetParam(0, v, d) -> robot.setDofsKp(tensorOf v, ?dofsIdx = d)
                | SetParam(1, v, d) -> robot.setDofsKv(tensorOf v, ?dofsIdx = d)
                | SetParam(2, v, d) -> robot.setDofsDamping(tensorOf v, ?dofsIdx = d)
                | SetParam(_, v, d) -> robot.setDofsForceRange(tensorOf v, tensorOf v, ?dofsIdx = d)
                | SetMass(v, l) -> robot.setLinksMass(tensorOf v, ?linksIdx = l)
                | SetBase(false, v, e) -> ball.setPos(tensorOf v, ?envsIdx = e)
                | SetBase(true, v, e) -> ball.setQuat(tensorOf v, ?envsIdx = e)
                | SetState v -> scene.setState { scene.getState() with qpos = tensorOf v }
                | Build -> build ()
                | Step -> scene.step()
                | Reset -> scene.reset()
                | Backward -> robot.getPos().sum().backward()
                | Read -> scene.getState() |> ignore
                true
            with
            | :? GenesisException -> false
            | e -> failtestf "%A raised %s, not a GenesisException: %s" call (e.GetType().Name) e.Message
        if not ok then
            let after = snapshot scene robot
            if after <> before then failtestf "%A failed but changed the scene's state, parameters or controls" call
        elif not wasBuilt && call <> Build then failtestf "%A succeeded on a scene that is not built" call
        elif wasBuilt && call = Build then failtestf "a second build succeeded"
        elif call = Build then ()
        else
            match call with
            | SetPosition(v, d, e) | SetVelocity(v, d, e) ->
                if not (distinctIn Nv d && distinctIn NEnvs e) then failtestf "%A succeeded with bad indices" call
                let st = scene.getState()
                let before, after, width = match call with SetPosition _ -> q0, st.qpos.toFloatArray(), Nq | _ -> v0, st.qvel.toFloatArray(), NvAll
                checkWrite (sprintf "%A" call) before after v (defaultArg d (Array.init Nv id)) e b width
            | SetBase(quat, v, e) ->
                if not (distinctIn NEnvs e) then failtestf "%A succeeded with bad indices" call
                let cols = if quat then [| 5; 6; 7; 8 |] else [| 2; 3; 4 |]
                checkWrite (sprintf "%A" call) q0 (scene.getState().qpos.toFloatArray()) v cols e b Nq
            | SetState v -> checkWrite (sprintf "%A" call) q0 (scene.getState().qpos.toFloatArray()) v (Array.init Nq id) None b Nq
            | Control(_, _, d, e) -> if not (distinctIn Nv d && distinctIn NEnvs e) then failtestf "%A succeeded with bad indices" call
            | SetParam(which, v, d) ->
                if not (distinctIn Nv d) then failtestf "%A succeeded with bad indices" call
                let get (p: Params) = match which with 0 -> p.kp | 1 -> p.kv | 2 -> p.dofDamping | _ -> p.forceHi
                checkWrite (sprintf "%A" call) ((get p0.Value).toFloatArray()) ((get scene.parameters).toFloatArray()) v (defaultArg d (Array.init Nv id)) None 1 NvAll
            | SetMass(_, l) -> if not (distinctIn 3 l) then failtestf "%A succeeded with bad indices" call
            | _ -> ()

[<Tests>]
let tests =
    testList "Engine.RuntimeFuzz" [
        testPropertyWithConfig config "random call sequences: success or GenesisException; failures change nothing; setters write only what they address" (
            Prop.forAll (Arb.fromGen genCase) run)
    ]
