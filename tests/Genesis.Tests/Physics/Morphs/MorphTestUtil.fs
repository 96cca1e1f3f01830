/// Shared helpers for the model-loader tests: asset paths, scratch folders, spec comparisons.
module Genesis.Tests.Physics.MorphTestUtil

open System
open System.IO
open Expecto
open Genesis.Physics

/// The repository root (the folder holding Genesis.sln), found by walking up from the test dll,
/// else from the current directory.
let repoRoot =
    lazy
        (let rec up (d: DirectoryInfo) =
            if isNull d then None
            elif File.Exists(Path.Combine(d.FullName, "Genesis.sln")) then Some d.FullName
            else up d.Parent
         match up (DirectoryInfo AppContext.BaseDirectory) |> Option.orElse (up (DirectoryInfo Environment.CurrentDirectory)) with
         | Some r -> r
         | None -> failwith "Genesis.sln not found above the test binaries or the current directory")

/// Path of a file under the repository's assets/ folder.
let asset (rel: string) = Path.Combine(repoRoot.Value, "assets", rel)

/// MuJoCo's humanoid shipped by Debian's libmujoco-samples (a system path, not part of the repo).
let debianHumanoid = "/usr/share/mujoco/model/humanoid/humanoid.xml"

/// Every URDF of assets/ with the fixedBase its README prescribes (only Go2 floats).
let urdfAssets =
    [ "plane/plane.urdf", true
      "cartpole/cartpole.urdf", true
      "two_link_arm/two_link_arm.urdf", true
      "acrobot/Acrobot.urdf", true
      "kuka_iiwa/iiwa14_spheres_collision.urdf", true
      "kuka_iiwa/model.urdf", true
      "franka_panda/panda_arm_hand.urdf", true
      "go2/go2.urdf", false ]

/// The MJCF files of assets/mjcf.
let mjcfAssets () =
    Directory.GetFiles(asset "mjcf", "*.xml") |> Array.sort |> Array.map (fun p -> Path.Combine("mjcf", Path.GetFileName p)) |> Array.toList

/// Runs f in a fresh temporary folder, deleted afterwards.
let withTempDir (f: string -> unit) =
    let dir = Path.Combine(Path.GetTempPath(), "genesis-morphs-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory dir |> ignore
    try f dir
    finally
        try Directory.Delete(dir, true) with _ -> ()

/// Writes text to dir/name and returns the path.
let writeFile (dir: string) (name: string) (text: string) =
    let p = Path.Combine(dir, name)
    File.WriteAllText(p, text)
    p

/// Largest absolute elementwise difference.
let maxDiff (a: float[]) (b: float[]) =
    if a.Length <> b.Length then infinity else Array.fold2 (fun m x y -> max m (abs (x - y))) 0.0 a b

/// Expects arrays equal to within tol (absolute).
let near (tol: float) (what: string) (actual: float[]) (expected: float[]) =
    let d = maxDiff actual expected
    if not (d <= tol) then failtestf "%s: got %A, expected %A (max diff %g > %g)" what actual expected d tol

/// Expects two quaternions equal up to sign within tol.
let nearQuat (tol: float) (what: string) (actual: float[]) (expected: float[]) =
    let d = min (maxDiff actual expected) (maxDiff actual (Array.map (~-) expected))
    if not (d <= tol) then failtestf "%s: got %A, expected %A (up to sign; max diff %g > %g)" what actual expected d tol

/// Expects a scalar within tol.
let nearScalar (tol: float) (what: string) (actual: float) (expected: float) =
    if not (abs (actual - expected) <= tol) then failtestf "%s: got %.15g, expected %.15g (diff %g > %g)" what actual expected (abs (actual - expected)) tol

/// Body by name (fails the test if absent).
let body (e: EntitySpec) (name: string) =
    match e.bodies |> Array.tryFind (fun b -> b.name = name) with
    | Some b -> b
    | None -> failtestf "no body '%s' in %A" name (e.bodies |> Array.map (fun b -> b.name))
