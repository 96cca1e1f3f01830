namespace Genesis

open System
open System.IO
open System.Reflection

/// The robot descriptions shipped with the engine (the repository's assets/, in the Genesis.FSharp package as
/// content) and the rule that resolves a morph's relative file path against them (Genesis'
/// gs.utils.get_assets_dir()).
module internal ShippedAssets =
    /// The name of the folder that holds the shipped assets, beside the engine's assembly or in its package.
    [<Literal>]
    let FolderName = "genesis-assets"

    /// The NuGet global packages folder: $NUGET_PACKAGES, else ~/.nuget/packages.
    let private packagesRoot () =
        match Environment.GetEnvironmentVariable "NUGET_PACKAGES" with
        | null
        | "" -> Path.Combine(Environment.GetFolderPath Environment.SpecialFolder.UserProfile, ".nuget", "packages")
        | p -> p

    /// The folders that may hold the shipped assets, in the order they are tried: beside the engine's assembly
    /// (a project's output, where the package's content is copied), the package folder above the assembly (a
    /// script or notebook referencing the package with `#r "nuget: ..."`), beside the application, and the
    /// package in the NuGet packages folder.
    let candidates () : string list =
        let assembly = typeof<GenesisException>.Assembly
        let assemblyDir =
            match assembly.Location with
            | null
            | "" -> None
            | location -> Option.ofObj (Path.GetDirectoryName location)
        let version =
            match assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>() with
            | null -> None
            | a -> Some(a.InformationalVersion.Split('+').[0])
        let content (packageDir: string) = Path.Combine(packageDir, "contentFiles", "any", "any", FolderName)
        [ match assemblyDir with
          | Some d ->
              yield Path.Combine(d, FolderName)
              yield content (Path.Combine(d, "..", ".."))
          | None -> ()
          yield Path.Combine(AppContext.BaseDirectory, FolderName)
          match version with
          | Some v -> yield content (Path.Combine(packagesRoot (), "genesis.fsharp", v))
          | None -> () ]
        |> List.map Path.GetFullPath
        |> List.distinct

    /// The first candidate folder that exists, if any.
    let tryFolder () : string option = candidates () |> List.tryFind Directory.Exists

    /// The shipped assets folder; raises GenesisException naming every place looked in when there is none.
    let folder () : string =
        match tryFolder () with
        | Some d -> d
        | None ->
            Errors.fail "the Genesis assets folder (%s) was not found; looked in: %s" FolderName (String.Join(", ", candidates ()))

    /// Resolves a morph's file (kind: "URDF", "MJCF"): a rooted path as given; a relative one against
    /// currentDir when the file is there, else against assetsDir; when neither has it, raises GenesisException
    /// "<kind> file not found" naming both places looked in.
    let resolveFrom (currentDir: string) (assetsDir: string option) (kind: string) (file: string) : string =
        if String.IsNullOrWhiteSpace file || Path.IsPathRooted file then
            file // the loader reports an empty name or a missing rooted file
        else
            let local = Path.GetFullPath(Path.Combine(currentDir, file))
            if File.Exists local then
                local
            else
                match assetsDir with
                | Some dir ->
                    let shipped = Path.GetFullPath(Path.Combine(dir, file))
                    if File.Exists shipped then shipped
                    else Errors.fail "%s file not found: '%s' (looked in %s and in the assets folder: %s)" kind file local shipped
                | None ->
                    Errors.fail "%s file not found: '%s' (looked in %s; no assets folder %s was found beside the engine)" kind file local FolderName

    /// Resolves a morph's file against the current folder, then the shipped assets folder (see resolveFrom).
    let resolve (kind: string) (file: string) : string =
        resolveFrom Environment.CurrentDirectory (tryFolder ()) kind file
