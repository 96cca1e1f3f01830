/// The shipped assets folder (gs.assetsDir) and the rule that resolves a morph's relative file: the current folder
/// first, then the assets folder, else an error naming both places.
module Genesis.Tests.Api.AssetsTests

open System
open System.IO
open Expecto
open Genesis
open Genesis.Tests.TestUtil

/// A fresh temporary folder holding the given files (relative paths, empty content), removed by the caller.
let private folderWith (files: string list) =
    let dir = Path.Combine(Path.GetTempPath(), "genesis-assets-test-" + Guid.NewGuid().ToString("N"))
    for f in files do
        let path = Path.Combine(dir, f)
        Directory.CreateDirectory(Path.GetDirectoryName path) |> ignore
        File.WriteAllText(path, "")
    dir

/// Runs f with a current folder and an assets folder holding the given files, then removes both.
let private withFolders (local: string list) (shipped: string list) (f: string -> string -> unit) =
    let cwd, assets = folderWith local, folderWith shipped
    Directory.CreateDirectory cwd |> ignore
    Directory.CreateDirectory assets |> ignore
    try f cwd assets finally (Directory.Delete(cwd, true); Directory.Delete(assets, true))

[<Tests>]
let tests =
    testList "Api.Assets" [
        test "a relative file found in the current folder wins over the assets folder" {
            withFolders [ "arm/arm.urdf" ] [ "arm/arm.urdf" ] (fun cwd assets ->
                let resolved = ShippedAssets.resolveFrom cwd (Some assets) "URDF" (Path.Combine("arm", "arm.urdf"))
                Expect.equal resolved (Path.Combine(cwd, "arm", "arm.urdf")) "the current folder's file")
        }
        test "a relative file missing from the current folder is taken from the assets folder" {
            withFolders [] [ "arm/arm.urdf" ] (fun cwd assets ->
                let resolved = ShippedAssets.resolveFrom cwd (Some assets) "URDF" "arm/arm.urdf"
                Expect.equal resolved (Path.Combine(assets, "arm", "arm.urdf")) "the assets folder's file")
        }
        test "a file found nowhere raises naming both places looked in" {
            withFolders [] [ "arm/arm.urdf" ] (fun cwd assets ->
                throwsWith<GenesisException>
                    [ "MJCF file not found"; "'arm/other.xml'"; Path.Combine(cwd, "arm", "other.xml"); Path.Combine(assets, "arm", "other.xml") ]
                    (fun () -> ShippedAssets.resolveFrom cwd (Some assets) "MJCF" "arm/other.xml" |> ignore))
        }
        test "without an assets folder the error names the current folder's path and the missing folder" {
            withFolders [] [] (fun cwd _ ->
                throwsWith<GenesisException>
                    [ "URDF file not found"; Path.Combine(cwd, "robot.urdf"); ShippedAssets.FolderName ]
                    (fun () -> ShippedAssets.resolveFrom cwd None "URDF" "robot.urdf" |> ignore))
        }
        test "rooted paths and empty names are left to the loader" {
            withFolders [] [ "arm/arm.urdf" ] (fun cwd assets ->
                let rooted = Path.Combine(cwd, "missing.urdf")
                Expect.equal (ShippedAssets.resolveFrom cwd (Some assets) "URDF" rooted) rooted "rooted: as given"
                Expect.equal (ShippedAssets.resolveFrom cwd (Some assets) "URDF" "") "" "empty: as given")
        }
        test "gs.assetsDir is the build output's genesis-assets folder, with the robots and their licences" {
            let dir = gs.assetsDir
            Expect.equal (Path.GetFileName dir) ShippedAssets.FolderName "folder name"
            for f in [ "two_link_arm/two_link_arm.urdf"; "two_link_arm/LICENSE-Apache-2.0.txt"; "cartpole/cartpole_classic.xml"; "README.md" ] do
                Expect.isTrue (File.Exists(Path.Combine(dir, f))) (sprintf "%s shipped" f)
        }
        test "Morphs load a shipped robot by its path under the assets folder from a folder that lacks it" {
            let urdf = Path.Combine("two_link_arm", "two_link_arm.urdf")
            Expect.isFalse (File.Exists urdf) "not in the current folder"
            match Morphs.URDF(urdf, fixedBase = true), Morphs.MJCF("cartpole/cartpole_classic.xml") with
            | MorphSpec arm, MorphSpec cartpole ->
                Expect.isGreaterThan arm.bodies.Length 1 "the arm's bodies"
                Expect.isGreaterThan cartpole.bodies.Length 1 "the cart-pole's bodies"
            throwsWith<GenesisException> [ "URDF file not found"; "no_such_robot.urdf"; gs.assetsDir ] (fun () ->
                Morphs.URDF("no_such_robot.urdf") |> ignore)
        }
    ]
