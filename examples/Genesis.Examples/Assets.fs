/// Locating the assets/ folder shipped with the repository.
module Genesis.Examples.Assets

open System.IO

/// The repository's assets/ folder, found by walking up from the working directory and the program's folder.
let folder =
    let rec up (dir: DirectoryInfo) =
        if isNull dir then None
        elif Directory.Exists(Path.Combine(dir.FullName, "assets", "two_link_arm")) then Some(Path.Combine(dir.FullName, "assets"))
        else up dir.Parent
    match up (DirectoryInfo(Directory.GetCurrentDirectory())) with
    | Some d -> d
    | None ->
        match up (DirectoryInfo(System.AppContext.BaseDirectory)) with
        | Some d -> d
        | None -> failwith "cannot find the assets/ folder: run from inside the repository"

/// The full, normalised path of a file under assets/ (relative may climb out with "..").
let path (relative: string) = Path.GetFullPath(Path.Combine(folder, relative))
