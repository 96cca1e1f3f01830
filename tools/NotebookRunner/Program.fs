/// The command line of the notebook runner.
module Genesis.NotebookRunner.Program

open System
open System.IO
open Genesis.NotebookRunner.Runner

/// The help text.
let usage =
    """Usage: NotebookRunner [options] <notebook.ipynb | folder>...

Executes .NET Interactive (Polyglot) notebooks: F# and C# code cells in order, one F# session
and one C# script state per notebook, stopping a notebook at its first error. Writes executed
copies (outputs, execution counts) to --out only; never overwrites the input. A folder means its
*.ipynb files (not its subfolders). Cells run with the notebook's folder as the current folder.

  --out DIR           write the executed copies to DIR (required)
  --nuget NAME=PATH   resolve `#r "nuget: NAME[, version]"` to the assembly PATH (repeatable;
                      no package is restored while notebooks run)
  --ref PATH          reference an assembly in every F# and C# cell (repeatable)
  --timeout SEC       time limit of one cell in seconds (default 600; 0 = no limit)
  -h, --help          show this text

Exit code: 0 when every notebook ran without error (or there were none), 1 when one failed,
2 on bad arguments."""

/// Parsed command-line arguments.
type Arguments =
    { /// Notebook files or folders, as given.
      Inputs: string list
      /// --out.
      OutDir: string option
      /// --ref, in order.
      References: string list
      /// --nuget NAME=PATH: lower-case package name -> assembly path.
      Packages: Map<string, string>
      /// --timeout (None: no limit).
      Timeout: TimeSpan option
      /// -h / --help.
      Help: bool }

/// Parses the command line.
let parse (argv: string list) : Result<Arguments, string> =
    let rec go args (acc: Arguments) =
        match args with
        | [] -> Ok { acc with Inputs = List.rev acc.Inputs; References = List.rev acc.References }
        | ("-h" | "--help") :: rest -> go rest { acc with Help = true }
        | "--out" :: dir :: rest -> go rest { acc with OutDir = Some dir }
        | "--nuget" :: mapping :: rest ->
            match mapping.Split('=', 2) with
            | [| name; path |] when name.Trim() <> "" && File.Exists path ->
                go rest { acc with Packages = acc.Packages.Add(name.Trim().ToLowerInvariant(), path) }
            | [| name; path |] when name.Trim() <> "" -> Error(sprintf "--nuget %s: no such file %s" mapping path)
            | _ -> Error(sprintf "--nuget %s: expected NAME=PATH (a package name and an assembly)" mapping)
        | "--ref" :: file :: rest ->
            if File.Exists file then go rest { acc with References = file :: acc.References }
            else Error(sprintf "--ref %s: no such file" file)
        | "--timeout" :: secs :: rest ->
            match Double.TryParse(secs, Globalization.NumberStyles.Float, Globalization.CultureInfo.InvariantCulture) with
            | true, s when s > 0.0 -> go rest { acc with Timeout = Some(TimeSpan.FromSeconds s) }
            | true, 0.0 -> go rest { acc with Timeout = None }
            | _ -> Error(sprintf "--timeout %s: expected a number of seconds (0 = no limit)" secs)
        | [ ("--out" | "--ref" | "--nuget" | "--timeout") as opt ] -> Error(sprintf "%s needs a value" opt)
        | opt :: _ when opt.StartsWith "--" -> Error(sprintf "unknown option %s" opt)
        | input :: rest -> go rest { acc with Inputs = input :: acc.Inputs }
    go argv
        { Inputs = []; OutDir = None; References = []; Packages = Map.empty; Timeout = Some(TimeSpan.FromSeconds 600.0); Help = false }

/// The notebooks an input names: the file itself, or a folder's *.ipynb files (sorted).
let expand (input: string) : Result<string list, string> =
    if Directory.Exists input then
        Directory.GetFiles(input, "*.ipynb")
        |> Array.sortWith (fun a b -> String.CompareOrdinal(a, b))
        |> List.ofArray
        |> Ok
    elif File.Exists input then Ok [ input ]
    else Error(sprintf "%s: no such file or folder" input)

/// Runs the command line, writing to log; returns the exit code.
let run (log: TextWriter) (argv: string[]) : int =
    match parse (List.ofArray argv) with
    | Error e ->
        log.WriteLine(sprintf "error: %s" e)
        log.WriteLine("run with --help for usage")
        2
    | Ok a when a.Help ->
        log.WriteLine usage
        0
    | Ok a when a.Inputs.IsEmpty ->
        log.WriteLine "error: no notebook or folder given"
        log.WriteLine usage
        2
    | Ok a when a.OutDir.IsNone ->
        log.WriteLine "error: --out DIR is required (where the executed copies go)"
        log.WriteLine "run with --help for usage"
        2
    | Ok a ->
        let expanded = a.Inputs |> List.map expand
        match expanded |> List.tryPick (function Error e -> Some e | Ok _ -> None) with
        | Some e ->
            log.WriteLine(sprintf "error: %s" e)
            2
        | None ->
            let notebooks = expanded |> List.collect (function Ok l -> l | Error _ -> []) |> List.distinct
            let options =
                { OutDir = a.OutDir; References = a.References; Packages = a.Packages; Timeout = a.Timeout; Log = log }
            let clash =
                notebooks
                |> List.groupBy (outputPath options)
                |> List.tryFind (fun (_, l) -> l.Length > 1)
            match clash with
            | Some(out, l) ->
                log.WriteLine(sprintf "error: %s would all be written to %s" (String.Join(", ", l)) out)
                2
            | None when notebooks.IsEmpty ->
                log.WriteLine "no notebooks"
                0
            | None ->
                let results = runAll options notebooks
                if results |> List.forall (fun r -> r.Succeeded) then 0 else 1

/// Entry point (see usage).
[<EntryPoint>]
let main argv =
    let code = run Console.Out argv
    Console.Out.Flush()
    code
