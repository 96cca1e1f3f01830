/// Pictures of the examples: a recording's offline viewer page and animation, and where they go.
module Genesis.Examples.Pictures

open System
open System.IO

/// The folder examples write pictures to when not told where: GENESIS_EXAMPLES_OUT, else out/examples under the
/// current folder (git-ignored at the repository's root), so that running an example never dirties the working tree
/// and a script run from any folder writes beside it.
let outputFolder () =
    match Environment.GetEnvironmentVariable "GENESIS_EXAMPLES_OUT" with
    | null | "" -> Path.GetFullPath(Path.Combine(Directory.GetCurrentDirectory(), "out", "examples"))
    | dir -> Path.GetFullPath dir

/// The full, normalised path prefix `name` inside outputFolder ().
let outputPrefix (name: string) = Path.Combine(outputFolder (), name)

/// Writes prefix.html (the offline viewer of the recording) and prefix.gif (its last epoch, env 0, seen by a 320 x 240
/// software camera at pos looking at lookat), creating the folder, and prints both full paths.
let saveViewerAndGif (prefix: string) (title: string) (recording: Genesis.Vis.Recording) (pos: float[]) (lookat: float[]) (frameMs: int) =
    let prefix = Path.GetFullPath prefix
    Directory.CreateDirectory(Path.GetDirectoryName prefix) |> ignore
    Genesis.Vis.HtmlViewer.save (prefix + ".html") title recording
    Genesis.Vis.RenderFiles.saveGif recording (prefix + ".gif") (320, 240) pos lookat 45.0 -1 0 false frameMs
    printfn "viewer written to %s.html, animation to %s.gif" prefix prefix
