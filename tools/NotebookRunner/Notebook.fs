/// Reading and writing nbformat 4 notebooks (as VS Code's Polyglot Notebooks writes them), and
/// deciding which kernel runs each cell.
module Genesis.NotebookRunner.Notebook

open System
open System.IO
open System.Text.Encodings.Web
open System.Text.Json
open System.Text.Json.Nodes
open System.Text.RegularExpressions

/// The languages the runner executes.
type Language =
    /// F# via FSharp.Compiler.Service (one session per notebook).
    | FSharp
    /// C# via Roslyn scripting (one script state chain per notebook).
    | CSharp

/// What to do with a piece of a code cell, decided from its kernel name.
type KernelChoice =
    /// Execute in this language.
    | Execute of Language
    /// Leave alone (markdown written in a code cell).
    | Skip
    /// A kernel the runner does not have (the name as written).
    | Unsupported of string

/// A run of lines of one code cell that goes to one kernel (cells may switch with #!fsharp / #!csharp lines).
type Segment =
    { /// The kernel name (as resolved, lower case), or a magic command the runner rejects.
      Kernel: KernelChoice
      /// The code, without the kernel-selecting magic line.
      Code: string
      /// The 0-based line of the cell at which Code starts.
      FirstLine: int }

/// A notebook that cannot be read.
exception NotebookFormatError of string

let private str (node: JsonNode) =
    match node with
    | :? JsonValue as v ->
        match v.TryGetValue<string>() with
        | true, s -> Some s
        | _ -> None
    | _ -> None

let private path (root: JsonNode) (names: string list) =
    let rec go (node: JsonNode) names =
        match names, node with
        | [], n -> Option.ofObj n
        | name :: rest, (:? JsonObject as o) ->
            let mutable child: JsonNode = null
            if o.TryGetPropertyValue(name, &child) && not (isNull child) then go child rest else None
        | _ -> None
    go root names

/// Joins an nbformat multiline string (a string or an array of strings).
let multilineText (node: JsonNode) =
    match node with
    | null -> ""
    | :? JsonArray as a -> a |> Seq.choose str |> String.concat ""
    | n -> defaultArg (str n) ""

/// Splits text into nbformat's list-of-lines form (each line keeps its trailing newline).
let toMultiline (text: string) =
    let arr = JsonArray()
    let mutable start = 0
    for i in 0 .. text.Length - 1 do
        if text[i] = '\n' then
            arr.Add(JsonValue.Create(text.Substring(start, i - start + 1)))
            start <- i + 1
    if start < text.Length then arr.Add(JsonValue.Create(text.Substring start))
    arr

/// Reads a notebook and checks it is nbformat 4 with a cells array.
let load (file: string) : JsonObject =
    let node =
        try
            JsonNode.Parse(File.ReadAllText file, documentOptions = JsonDocumentOptions(CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true))
        with :? JsonException as e -> raise (NotebookFormatError(sprintf "not valid JSON: %s" e.Message))
    match node with
    | :? JsonObject as nb ->
        match path nb [ "nbformat" ] with
        | Some(:? JsonValue as v) when (match v.TryGetValue<int>() with | true, 4 -> true | _ -> false) ->
            match path nb [ "cells" ] with
            | Some(:? JsonArray) -> nb
            | _ -> raise (NotebookFormatError "no \"cells\" array")
        | _ -> raise (NotebookFormatError "not an nbformat 4 notebook (\"nbformat\": 4 missing)")
    | _ -> raise (NotebookFormatError "the top level is not a JSON object")

let private writeOptions =
    JsonSerializerOptions(
        WriteIndented = true,
        IndentSize = 1,
        NewLine = "\n",
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping)

/// Writes a notebook (Jupyter's layout: one-space indent, non-ASCII kept, final newline).
let save (file: string) (nb: JsonObject) =
    match Path.GetDirectoryName(Path.GetFullPath file) with
    | null -> ()
    | dir -> Directory.CreateDirectory dir |> ignore
    File.WriteAllText(file, nb.ToJsonString(writeOptions) + "\n")

/// The cells of a notebook.
let cells (nb: JsonObject) : JsonObject list =
    match path nb [ "cells" ] with
    | Some(:? JsonArray as a) -> a |> Seq.choose (function | :? JsonObject as o -> Some o | _ -> None) |> List.ofSeq
    | _ -> []

/// The cell_type of a cell ("code", "markdown", "raw").
let cellType (cell: JsonObject) = path cell [ "cell_type" ] |> Option.bind str |> Option.defaultValue ""

/// The source of a cell as one string.
let source (cell: JsonObject) = path cell [ "source" ] |> Option.map multilineText |> Option.defaultValue ""

/// Kernel aliases declared in metadata.polyglot_notebook.kernelInfo.items (alias -> name, lower case).
let kernelAliases (nb: JsonObject) : Map<string, string> =
    match path nb [ "metadata"; "polyglot_notebook"; "kernelInfo"; "items" ] with
    | Some(:? JsonArray as items) ->
        [ for item in items do
              match item |> Option.ofObj |> Option.bind (fun i -> path i [ "name" ]) |> Option.bind str with
              | Some name ->
                  let name = name.ToLowerInvariant()
                  yield name, name
                  match path item [ "aliases" ] with
                  | Some(:? JsonArray as aliases) ->
                      for a in aliases |> Seq.choose str do
                          yield a.ToLowerInvariant(), name
                  | _ -> ()
              | None -> () ]
        |> Map.ofList
    | _ -> Map.empty

let private builtinAliases =
    Map.ofList [ "f#", "fsharp"; "c#", "csharp"; "md", "markdown"; "powershell", "pwsh"; "js", "javascript" ]

/// Kernel names .NET Interactive knows; a `#!name` line with one of these switches kernel.
let private knownKernels =
    set [ "fsharp"; "csharp"; "markdown"; "pwsh"; "javascript"; "html"; "mermaid"; "sql"; "kql"; "value"; "http" ]

/// Resolves a kernel name (or alias) to its canonical lower-case name.
let canonicalKernel (aliases: Map<string, string>) (name: string) =
    let n = name.Trim().ToLowerInvariant()
    let n = defaultArg (Map.tryFind n aliases) n
    defaultArg (Map.tryFind n builtinAliases) n

/// What to do with a piece of code for a canonical kernel name.
let choose (canonical: string) =
    match canonical with
    | "fsharp" -> Execute FSharp
    | "csharp" -> Execute CSharp
    | "markdown" -> Skip
    | other -> Unsupported other

/// The notebook's default kernel: polyglot_notebook.kernelInfo.defaultKernelName, then kernelspec
/// (.net-fsharp / .net-csharp), then language_info.name, else fsharp.
let defaultKernel (nb: JsonObject) =
    let aliases = kernelAliases nb
    let fromKernelspec (s: string) =
        let s = s.ToLowerInvariant()
        if s.StartsWith ".net-" then Some(s.Substring 5) else None
    [ path nb [ "metadata"; "polyglot_notebook"; "kernelInfo"; "defaultKernelName" ] |> Option.bind str
      path nb [ "metadata"; "kernelspec"; "name" ] |> Option.bind str |> Option.bind fromKernelspec
      path nb [ "metadata"; "kernelspec"; "language" ] |> Option.bind str
      path nb [ "metadata"; "language_info"; "name" ] |> Option.bind str
      |> Option.filter (fun n -> n.ToLowerInvariant() <> "polyglot-notebook") ]
    |> List.tryPick id
    |> Option.map (canonicalKernel aliases)
    |> Option.defaultValue "fsharp"

/// The kernel a code cell names in its metadata (polyglot_notebook.kernelName, then
/// dotnet_interactive.language), else the notebook's default.
let cellKernel (nb: JsonObject) (cell: JsonObject) =
    let aliases = kernelAliases nb
    [ path cell [ "metadata"; "polyglot_notebook"; "kernelName" ] |> Option.bind str
      path cell [ "metadata"; "dotnet_interactive"; "language" ] |> Option.bind str ]
    |> List.tryPick id
    |> Option.map (canonicalKernel aliases)
    |> Option.defaultWith (fun () -> defaultKernel nb)

let private magicLine = Regex(@"^\s*#!([A-Za-z#][\w#.\-]*)\s*$", RegexOptions.Compiled)

/// Splits a cell's source at kernel-selecting magic lines (`#!fsharp`, `#!csharp`, ...). Code
/// before the first magic line goes to the cell's kernel. Any other magic command (`#!time`, ...)
/// gives a segment whose kernel is Unsupported "#!name".
let segments (aliases: Map<string, string>) (cellKernelName: string) (src: string) : Segment list =
    let lines = src.Replace("\r\n", "\n").Split('\n')
    let result = ResizeArray<Segment>()
    let mutable kernel = choose cellKernelName
    let mutable first = 0
    let current = ResizeArray<string>()
    let flush () =
        let code = String.Join("\n", current)
        if not (String.IsNullOrWhiteSpace code) then
            result.Add { Kernel = kernel; Code = code; FirstLine = first }
        current.Clear()
    for i in 0 .. lines.Length - 1 do
        let m = magicLine.Match lines[i]
        if m.Success then
            let name = canonicalKernel aliases m.Groups[1].Value
            if knownKernels.Contains name || aliases.ContainsKey name then
                flush ()
                kernel <- choose name
                first <- i + 1
            else
                flush ()
                result.Add { Kernel = Unsupported("#!" + m.Groups[1].Value); Code = lines[i]; FirstLine = i }
                first <- i + 1
        else
            current.Add lines[i]
    flush ()
    List.ofSeq result

let private textData (text: string) : JsonNode = toMultiline text

let private bundleJson (data: MimeBundle) =
    let o = JsonObject()
    for mime, content in data do
        o[mime] <- (if mime.StartsWith "image/" && mime <> "image/svg+xml" then JsonValue.Create content :> JsonNode else textData content)
    o

/// An output as nbformat 4 JSON.
let outputJson (output: CellOutput) : JsonNode =
    match output with
    | Stream(name, text) ->
        JsonObject(dict [ "name", JsonValue.Create name :> JsonNode; "output_type", JsonValue.Create "stream"; "text", textData text ])
    | DisplayData data ->
        JsonObject(dict [ "data", bundleJson data :> JsonNode; "metadata", JsonObject(); "output_type", JsonValue.Create "display_data" ])
    | ExecuteResult(count, data) ->
        JsonObject(
            dict
                [ "data", bundleJson data :> JsonNode
                  "execution_count", JsonValue.Create count
                  "metadata", JsonObject()
                  "output_type", JsonValue.Create "execute_result" ])
    | ErrorOutput(ename, evalue, traceback) ->
        let tb = JsonArray()
        for line in traceback do
            tb.Add(JsonValue.Create line)
        JsonObject(
            dict
                [ "ename", JsonValue.Create ename :> JsonNode
                  "evalue", JsonValue.Create evalue
                  "output_type", JsonValue.Create "error"
                  "traceback", tb ])

/// Sets a code cell's outputs and execution_count (None writes null).
let setOutputs (cell: JsonObject) (executionCount: int option) (outputs: CellOutput list) =
    let arr = JsonArray()
    for o in outputs do
        arr.Add(outputJson o)
    cell["outputs"] <- arr
    cell["execution_count"] <-
        match executionCount with
        | Some n -> JsonValue.Create n :> JsonNode
        | None -> null
