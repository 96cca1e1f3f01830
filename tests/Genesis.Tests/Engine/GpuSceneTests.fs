/// The physics on the GPU backend (ILGPU's CPU accelerator in CI): a scene built under gs.init(backend = Backend.Gpu)
/// steps and differentiates on the device (the Tensor path there), and must equal the CPU scene (the array fast path,
/// an independent implementation) on every asset and a contact scene, batched, with gradients; a step transfers
/// nothing between host and device; mixed devices and out-of-memory raise clear errors.
module Genesis.Tests.Engine.GpuSceneTests

open System
open Expecto
open Genesis
open Genesis.Gpu
open Genesis.Tests
open Genesis.Tests.TestUtil
open Genesis.Tests.Physics.MorphTestUtil

/// The GPU backend the running test uses (the CPU accelerator, or CUDA where there is a device; tests are sequenced).
let mutable private target = Tensors.GpuRawTensorTests.gpuBackend
let private device () = target.Value

/// Runs f under gs.init(backend, precision), the GPU backend being the CPU accelerator.
let private withGs (backend: Backend) (precision: string) (f: unit -> 'a) =
    gs.destroy ()
    GpuBackend.Default <- device ()
    gs.init (backend = backend, precision = precision, seed = 1)
    try f () finally gs.destroy ()

/// A scene's contents: adds the entities to a scene (their dof counts are read after build).
type private Contents = Scene -> RigidEntity[]

let private urdf (file: string) (fixedBase: bool) : Contents =
    fun scene -> [| scene.addEntity(Morphs.URDF(asset file, fixedBase = fixedBase, pos = (if fixedBase then [| 0.0; 0.0; 0.0 |] else [| 0.0; 0.0; 0.42 |]))) |]

let private mjcf (file: string) : Contents = fun scene -> [| scene.addEntity(Morphs.MJCF(asset file)) |]

/// Two spheres and a box dropped onto the ground plane, touching it (a contact scene).
let private contactScene : Contents =
    fun scene ->
        [| scene.addEntity(Morphs.Plane())
           scene.addEntity(Morphs.Sphere(radius = 0.1, pos = [| 0.0; 0.0; 0.098 |]))
           scene.addEntity(Morphs.Sphere(radius = 0.05, pos = [| 0.3; 0.1; 0.049 |]))
           scene.addEntity(Morphs.Box(size = [| 0.2; 0.2; 0.2 |], pos = [| -0.4; 0.0; 0.0995 |])) |]

/// What the CPU accelerator checks (it simulates every GPU thread: a Tensor-path step costs seconds there): the
/// two-link arm at every size, a few light assets and the contact scene at 7 envs. Everything else (the iiwa models,
/// the panda, the go2, the humanoid; 64 envs of every scene; contact gradients) runs in the CUDA list.
let private light = set [ "two_link_arm/two_link_arm.urdf"; "cartpole/cartpole.urdf"; "mjcf/one_ball_joint.xml"; "plane/plane.urdf"; "contact scene" ]

/// Every asset (the URDFs with the fixed base their README gives, the MJCFs) and the contact scene; only the light
/// ones unless full.
let private scenes (full: bool) : (string * Contents) list =
    [ for file, fixedBase in urdfAssets -> file, urdf file fixedBase
      for file in mjcfAssets () -> file, mjcf file
      yield "contact scene", contactScene ]
    |> List.filter (fun (name, _) -> full || light.Contains name)

/// The force on dof k of env e at step t (deterministic, small).
let private force (t: int) (e: int) (k: int) = 0.3 * sin (float (t + 1) * 0.7 + float e * 0.37 + float k * 1.3)

/// Forces [nEnvs; nDofs] for an entity at step t.
let private forces (entity: RigidEntity) (nEnvs: int) (t: int) =
    let n = entity.nDofs
    gs.fromArray(Array.init (nEnvs * n) (fun i -> force t (i / n) (i % n)), shape = [ nEnvs; n ])

/// The final qpos and qvel of `steps` steps of the scene on backend, every entity driven by `forces`.
let private rollout (backend: Backend) (precision: string) (contents: Contents) (nEnvs: int) (steps: int) =
    withGs backend precision (fun () ->
        let scene = Scene(SimOptions(dt = 0.01))
        let entities = contents scene
        scene.build (nEnvs = nEnvs)
        for t in 0 .. steps - 1 do
            for e in entities do
                if e.nDofs > 0 then e.controlDofsForce(forces e nEnvs t)
            scene.step ()
        let st = scene.getState ()
        Expect.equal st.qpos.device (if backend = Backend.Gpu then device().Device else Device.Cpu) "the state's device"
        st.qpos.toFloatArray (), st.qvel.toFloatArray ())

/// |a - b| <= tol * max(1, |a|) elementwise, naming the first entry that is not.
let private expectClose (tol: float) (what: string) (expected: float[]) (actual: float[]) =
    Expect.equal actual.Length expected.Length (what + ": length")
    for i in 0 .. expected.Length - 1 do
        if not (abs (expected[i] - actual[i]) <= tol * max 1.0 (abs expected[i])) then
            failtestf "%s: entry %d CPU %.17g GPU %.17g" what i expected[i] actual[i]

/// The GPU scene against the CPU scene at one size and precision.
let private agree (tol: float) (precision: string) (steps: int) (name: string, contents: Contents) (nEnvs: int) =
    let cq, cv = rollout Backend.Cpu precision contents nEnvs steps
    let gq, gv = rollout Backend.Gpu precision contents nEnvs steps
    let label = sprintf "%s, %d envs, float%s" name nEnvs precision
    expectClose tol (label + ": qpos") cq gq
    expectClose tol (label + ": qvel") cv gv
    if cv.Length > 0 then Expect.isGreaterThan (cv |> Array.map abs |> Array.max) 1e-6 (label + ": the scene moved")

/// Gradients of a loss on the final state after a checkpointed rollout (requiresGrad): d loss / d forces of every
/// step, as host arrays, and the device the gradient arrived on.
let private gradients (backend: Backend) (contents: Contents) (nEnvs: int) (steps: int) =
    withGs backend "64" (fun () ->
        let scene = Scene(SimOptions(dt = 0.01, requiresGrad = true, checkpointEvery = 2))
        let entities = contents scene
        scene.build (nEnvs = nEnvs)
        let driven = entities |> Array.filter (fun e -> e.nDofs > 0)
        let leafTensors =
            [| for e in driven ->
                   [| for t in 0 .. steps - 1 ->
                          let n = e.nDofs
                          gs.fromArray(Array.init (nEnvs * n) (fun i -> force t (i / n) (i % n)), shape = [ nEnvs; n ], requiresGrad = true) |] |]
        for t in 0 .. steps - 1 do
            driven |> Array.iteri (fun i e -> e.controlDofsForce(leafTensors[i][t]))
            scene.step ()
        let loss = [| for e in driven -> e.getDofsPosition().pow(2.0).sum() + e.getDofsVelocity().pow(2.0).sum() * 0.1 |] |> Array.reduce (+)
        loss.backward ()
        let grads = leafTensors |> Array.collect id |> Array.map (fun l -> l.grad)
        grads[0].device, grads |> Array.collect (fun g -> g.toFloatArray ()), scene.recordedSegments)

/// The GPU scene against the CPU fast path, float64 and float32: on the CPU accelerator (full = false) the arm at 1, 7
/// and 64 envs and the light scenes at 7; on CUDA every scene at 1, 7 and 64 envs, with contact gradients.
let private equality (full: bool) =
    let sizes (name: string) = if full || name = "two_link_arm/two_link_arm.urdf" then [ 1, 1; 7, 2; 64, 1 ] else [ 7, 1 ]
    testList "equality" [
        test "the assets and the contact scene: GPU scene = CPU fast path to 1e-10 (float64)" {
            for name, contents in scenes full do
                for n, steps in sizes name do
                    agree 1e-10 "64" steps (name, contents) n
        }
        test "the assets and the contact scene: GPU scene = CPU fast path to 1e-4 relative (float32), 7 envs" {
            for name, contents in scenes full do
                agree 1e-4 "32" 1 (name, contents) 7
        }
        test "checkpointed gradients on the device = the CPU's, arriving as GPU tensors (2 segments of 2 steps)" {
            let cases = [ yield "two_link_arm", urdf "two_link_arm/two_link_arm.urdf" true, 3; if full then yield "contact scene", contactScene, 7 ]
            for name, contents, n in cases do
                let steps = 4
                let cd, cg, _ = gradients Backend.Cpu contents n steps
                let gd, gg, segments = gradients Backend.Gpu contents n steps
                Expect.equal cd Device.Cpu (name + ": CPU gradient device")
                Expect.equal gd (device().Device) (name + ": the gradient stays on the device")
                Expect.equal segments 2 (name + ": two checkpoint segments of 2 steps")
                expectClose 1e-8 (name + ": d loss / d forces") cg gg
                Expect.isGreaterThan (cg |> Array.map abs |> Array.max) 1e-6 (name + ": the gradient is not zero")
        }
    ]

/// Makes every test case of t select backend before it runs.
let private selectIn (backend: Lazy<GpuBackend>) (t: Test) = Tensors.GpuRawTensorTests.beforeEach (fun () -> target <- backend) t

[<Tests>]
let tests =
    testSequenced <| testList "Engine.Gpu scene" [
        yield testList "ilgpu-cpu" [ selectIn Tensors.GpuRawTensorTests.gpuBackend (equality false) ]
        match Tensors.GpuRawTensorTests.cudaBackend.Value with
        | Some b -> yield testList "cuda" [ selectIn (lazy b) (equality true) ]
        | None -> ()
        yield! [
        test "a step transfers nothing between host and device (arm, contact scene); launches per step are reported" {
            target <- Tensors.GpuRawTensorTests.gpuBackend
            for name, contents in [ "two_link_arm", urdf "two_link_arm/two_link_arm.urdf" true; "contact scene", contactScene ] do
                withGs Backend.Gpu "64" (fun () ->
                    let scene = Scene(SimOptions(dt = 0.01, checkNonFinite = false))
                    let entities = contents scene
                    scene.build (nEnvs = 2)
                    for e in entities do
                        if e.nDofs > 0 then e.controlDofsForce(forces e 2 0)
                    scene.step () // the first step uploads the model's constants once
                    let b = device ()
                    let up, down, launches = b.Uploads, b.Downloads, b.KernelLaunches
                    scene.step ()
                    Expect.equal (b.Uploads - up) 0L (name + ": no uploads in a step")
                    Expect.equal (b.Downloads - down) 0L (name + ": no downloads in a step")
                    let perStep = b.KernelLaunches - launches
                    Expect.isGreaterThan perStep 0L (name + ": the step ran kernels")
                    printfn "GPU scene %s: %d kernel launches per step" name perStep)
        }
        test "a CPU tensor on a GPU scene: a constant is copied once, one that requires grad is refused naming both devices" {
            target <- Tensors.GpuRawTensorTests.gpuBackend
            let cpuForce, cpuLeaf = withGs Backend.Cpu "64" (fun () -> gs.tensor([ 0.5; -0.5 ]), gs.tensor([ 0.5; -0.5 ], requiresGrad = true))
            let gq, _ =
                withGs Backend.Gpu "64" (fun () ->
                    let scene = Scene(SimOptions(dt = 0.01))
                    let arm = scene.addEntity(Morphs.URDF(asset "two_link_arm/two_link_arm.urdf", fixedBase = true))
                    scene.build ()
                    arm.controlDofsForce(cpuForce)
                    scene.step ()
                    throwsWith<GenesisException> [ "cpu"; "ilgpu-cpu"; "requires grad" ] (fun () -> arm.controlDofsForce(cpuLeaf))
                    arm.getDofsPosition().toFloatArray (), ())
            let cq =
                withGs Backend.Cpu "64" (fun () ->
                    let scene = Scene(SimOptions(dt = 0.01))
                    let arm = scene.addEntity(Morphs.URDF(asset "two_link_arm/two_link_arm.urdf", fixedBase = true))
                    scene.build ()
                    arm.controlDofsForce(gs.tensor([ 0.5; -0.5 ]))
                    scene.step ()
                    arm.getDofsPosition().toFloatArray ())
            expectClose 1e-12 "the copied control acts as the CPU's" cq gq
        }
        test "out of device memory names nEnvs and the bytes asked; the scene then builds with fewer envs" {
            target <- Tensors.GpuRawTensorTests.gpuBackend
            let b = device ()
            withGs Backend.Gpu "64" (fun () ->
                let scene = Scene(SimOptions(dt = 0.01))
                let arm = scene.addEntity(Morphs.URDF(asset "two_link_arm/two_link_arm.urdf", fixedBase = true))
                let held = b.AllocatedBytes
                b.MemoryLimitBytes <- held + 1024L * 1024L
                try
                    throwsWith<GenesisException> [ "out of device memory"; "nEnvs = 100000"; "1600000 bytes asked" ] (fun () -> scene.build (nEnvs = 100000))
                    Expect.isFalse scene.isBuilt "the scene stays unbuilt"
                    scene.build (nEnvs = 64)
                    arm.controlDofsForce(gs.ones([ 2 ]))
                    scene.step ()
                    Expect.equal (arm.getDofsPosition().shape) [| 64; 2 |] "built and stepped at 64 envs"
                finally
                    b.MemoryLimitBytes <- 0L)
        }
        ]
    ]
