/// Helpers: stage notebooks in temporary folders, run them, read the executed JSON back.
module NotebookRunner.Tests.TestUtil

open System
open System.IO
open System.Text.Json.Nodes
open Expecto
open Microsoft.CodeAnalysis
open Microsoft.CodeAnalysis.CSharp
open Genesis.NotebookRunner

/// The path of a notebook shipped in testdata/.
let testdata (name: string) = Path.Combine(AppContext.BaseDirectory, "testdata", name)

/// The temporary folder of this test run (Main deletes it at the end).
let runRoot = Path.Combine(Path.GetTempPath(), "genesis-notebook-tests-" + Guid.NewGuid().ToString("N"))

/// A fresh temporary folder.
let tempDir () =
    let d = Path.Combine(runRoot, Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory d |> ignore
    d

/// Copies testdata notebooks into a fresh folder; returns the folder.
let stage (names: string list) =
    let d = tempDir ()
    for n in names do
        File.Copy(testdata n, Path.Combine(d, n))
    d

/// Test options: log to a string, outputs to dir/out, a generous per-cell limit.
let optionsFor (dir: string) (log: TextWriter) =
    { Runner.defaultOptions with
        OutDir = Some(Path.Combine(dir, "out"))
        Log = log
        Timeout = Some(TimeSpan.FromSeconds 300.0) }

/// Reads a notebook's JSON.
let readJson (path: string) = JsonNode.Parse(File.ReadAllText path).AsObject()

/// Runs notebooks in dir with options adjusted by f; returns the results and the log.
let runIn (dir: string) (f: Runner.RunOptions -> Runner.RunOptions) (names: string list) =
    use log = new StringWriter()
    let options = f (optionsFor dir log)
    let results = Runner.runAll options [ for n in names -> Path.Combine(dir, n) ]
    results, log.ToString()

/// Runs one testdata notebook in a fresh folder; returns the result, the executed JSON and the log.
let runTestdata (name: string) =
    let dir = stage [ name ]
    let results, log = runIn dir id [ name ]
    let r = List.exactlyOne results
    let nb =
        match r.Output with
        | Some p -> readJson p
        | None -> failtestf "no executed copy written for %s: %s" name log
    r, nb, log

/// The code cells of a notebook (JSON).
let codeCells (nb: JsonObject) =
    [ for c in nb["cells"].AsArray() do
          if string c["cell_type"] = "code" then yield c.AsObject() ]

/// The outputs of a cell.
let outputs (cell: JsonObject) = [ for o in cell["outputs"].AsArray() -> o.AsObject() ]

/// The execution_count of a cell (None for null).
let executionCount (cell: JsonObject) =
    match cell["execution_count"] with
    | null -> None
    | n -> Some(n.GetValue<int>())

/// The text of a stream output, or of one MIME type of a display_data/execute_result output.
let text (o: JsonObject) (mime: string) =
    match string o["output_type"] with
    | "stream" -> Notebook.multilineText o["text"]
    | _ -> Notebook.multilineText (o["data"][mime])

/// All stream text of a cell with the given name (stdout/stderr).
let streamText (name: string) (cell: JsonObject) =
    outputs cell
    |> List.filter (fun o -> string o["output_type"] = "stream" && string o["name"] = name)
    |> List.map (fun o -> text o "")
    |> String.concat ""

/// The outputs of a cell with the given output_type.
let ofType (kind: string) (cell: JsonObject) =
    outputs cell |> List.filter (fun o -> string o["output_type"] = kind)

let private lines (src: string) =
    let arr = JsonArray()
    for l in Notebook.toMultiline src do
        arr.Add(l.DeepClone())
    arr

/// A notebook with the given default kernel and code cells (optional cell kernel, source).
let notebook (defaultKernel: string) (cells: (string option * string) list) =
    let nb = JsonObject()
    let arr = JsonArray()
    for kernel, src in cells do
        let c = JsonObject()
        c["cell_type"] <- JsonValue.Create "code"
        c["execution_count"] <- null
        let md = JsonObject()
        match kernel with
        | Some k ->
            let p = JsonObject()
            p["kernelName"] <- JsonValue.Create k
            md["polyglot_notebook"] <- p
        | None -> ()
        c["metadata"] <- md
        c["outputs"] <- JsonArray()
        c["source"] <- lines src
        arr.Add c
    nb["cells"] <- arr
    let ks = JsonObject()
    ks["name"] <- JsonValue.Create(".net-" + defaultKernel)
    let md = JsonObject()
    md["kernelspec"] <- ks
    nb["metadata"] <- md
    nb["nbformat"] <- JsonValue.Create 4
    nb["nbformat_minor"] <- JsonValue.Create 2
    nb

/// Writes a notebook into dir; returns its file name.
let write (dir: string) (name: string) (nb: JsonObject) =
    Notebook.save (Path.Combine(dir, name)) nb
    name

/// Compiles C# source into a library at outPath (references: other assemblies' paths).
let compileLibrary (name: string) (source: string) (references: string list) (outPath: string) =
    let runtimeDir = Path.GetDirectoryName(typeof<obj>.Assembly.Location) |> string
    let refs =
        [ yield typeof<obj>.Assembly.Location
          yield Path.Combine(runtimeDir, "System.Runtime.dll")
          yield! references ]
        |> List.map (fun p -> MetadataReference.CreateFromFile p :> MetadataReference)
    let compilation =
        CSharpCompilation.Create(
            name,
            [ CSharpSyntaxTree.ParseText source ],
            refs,
            CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary)
        )
    Directory.CreateDirectory(Path.GetDirectoryName outPath |> string) |> ignore
    let result = compilation.Emit(outPath)
    if not result.Success then
        failtestf "compiling %s failed: %A" name [ for d in result.Diagnostics -> string d ]
    outPath
