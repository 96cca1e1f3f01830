/// Executes notebooks: one kernel per language per notebook, cells in order, stop at the first error.
module Genesis.NotebookRunner.Runner

open System
open System.Collections.Concurrent
open System.Collections.Generic
open System.Diagnostics
open System.IO
open System.Threading
open System.Threading.Tasks
open Genesis.NotebookRunner.Notebook
open Genesis.NotebookRunner.Kernels

/// Settings of a run.
type RunOptions =
    { /// Folder for the executed copies; None: an `executed` folder beside each notebook.
      OutDir: string option
      /// Assemblies referenced by every F# and C# cell (--ref).
      References: string list
      /// `#r "nuget: NAME"` resolved to an assembly: lower-case package name -> assembly path (--nuget NAME=PATH).
      Packages: Map<string, string>
      /// Time limit of one cell (None: no limit).
      Timeout: TimeSpan option
      /// Where the per-notebook lines go.
      Log: TextWriter }

/// The default options: write beside each notebook, no references or packages, 600 s per cell, log to stdout.
let defaultOptions =
    { OutDir = None; References = []; Packages = Map.empty; Timeout = Some(TimeSpan.FromSeconds 600.0); Log = Console.Out }

/// Where and why a notebook failed.
type Failure =
    { /// 1-based position of the failing cell among all cells (None: the notebook could not be read or written).
      Cell: int option
      /// The error message.
      Message: string }

/// The result of running one notebook.
type NotebookResult =
    { /// The notebook as given.
      Notebook: string
      /// The executed copy, when one was written.
      Output: string option
      /// How many code cells were executed (including a failing one).
      CellsRun: int
      /// Why the notebook failed, if it did.
      Failure: Failure option
      /// Wall-clock time of the notebook.
      Elapsed: TimeSpan }

    /// True when every cell ran without error.
    member r.Succeeded = r.Failure.IsNone

/// A dedicated thread that runs all the code of one notebook, so state tied to a thread persists
/// from cell to cell and a cell that runs past its time limit can be abandoned.
type private Worker() =
    let queue = new BlockingCollection<unit -> unit>()
    let thread =
        Thread((fun () -> for work in queue.GetConsumingEnumerable() do work ()), 64 * 1024 * 1024)
    do
        thread.IsBackground <- true
        thread.Name <- "notebook kernel"
        thread.Start()

    /// Runs f on the worker; None when it did not finish within the timeout.
    member _.Run(f: unit -> 'T, timeout: TimeSpan option) : 'T option =
        let tcs = TaskCompletionSource<'T>(TaskCreationOptions.RunContinuationsAsynchronously)
        queue.Add(fun () ->
            try
                tcs.SetResult(f ())
            with e ->
                tcs.SetException e)
        let finished =
            match timeout with
            | None -> true
            | Some t -> Task.WaitAny([| tcs.Task :> Task |], t) = 0 || tcs.Task.IsCompleted
        if finished then Some(tcs.Task.GetAwaiter().GetResult()) else None

    interface IDisposable with
        member _.Dispose() = queue.CompleteAdding()

let private languageName =
    function
    | FSharp -> "fsharp"
    | CSharp -> "csharp"

/// Where the executed copy of a notebook goes.
let outputPath (options: RunOptions) (notebook: string) =
    let full = Path.GetFullPath notebook
    let dir =
        match options.OutDir with
        | Some d -> Path.GetFullPath d
        | None -> Path.Combine(Path.GetDirectoryName full |> string, "executed")
    Path.Combine(dir, Path.GetFileName full)

let private timeoutText (t: TimeSpan) = sprintf "%g s" t.TotalSeconds

/// Executes one notebook and writes its executed copy (also when a cell fails).
let runNotebook (options: RunOptions) (notebook: string) : NotebookResult =
    let sw = Stopwatch.StartNew()
    let full = Path.GetFullPath notebook
    let result output cells failure =
        { Notebook = notebook; Output = output; CellsRun = cells; Failure = failure; Elapsed = sw.Elapsed }
    let outPath = outputPath options notebook
    // Relative paths are relative to the folder the run started in, not the notebook's folder.
    let references = options.References |> List.map Path.GetFullPath
    let loaded =
        if String.Equals(outPath, full, StringComparison.Ordinal) then
            Error "the executed copy would overwrite the notebook: choose another --out"
        else
            try
                Ok(Notebook.load full)
            with
            | NotebookFormatError m -> Error m
            | :? IOException as e -> Error e.Message
            | :? UnauthorizedAccessException as e -> Error e.Message
    match loaded with
    | Error m -> result None 0 (Some { Cell = None; Message = m })
    | Ok nb ->
        let notebookDir = Path.GetDirectoryName full |> string
        let aliases = kernelAliases nb
        let allCells = cells nb
        for c in allCells do
            if cellType c = "code" then setOutputs c None []
        for r in references do
            AssemblyResolution.register r
        let kernels = Dictionary<Language, IKernel>()
        let worker = new Worker()
        let mutable failure = None
        let mutable executed = 0
        let mutable abandoned = false
        let savedDir = Environment.CurrentDirectory
        let savedOut, savedErr, savedIn = Console.Out, Console.Error, Console.In
        Environment.CurrentDirectory <- notebookDir
        try
            for index, cell in List.indexed allCells do
                if failure.IsNone && cellType cell = "code" then
                    let segs =
                        segments aliases (cellKernel nb cell) (source cell) |> List.filter (fun s -> s.Kernel <> Skip)
                    if not segs.IsEmpty then
                        executed <- executed + 1
                        let count = executed
                        let collector = OutputCollector()
                        let mutable cellError = None
                        let fail ename (message: string) traceback =
                            collector.Add(ErrorOutput(ename, message, traceback))
                            cellError <- Some message
                        for seg in segs do
                            if cellError.IsNone then
                                match seg.Kernel with
                                | Skip -> ()
                                | Unsupported name when name.StartsWith "#!" ->
                                    let m = sprintf "magic command %s is not supported by tools/NotebookRunner (only the kernel selectors #!fsharp and #!csharp)" name
                                    fail "NotSupported" m [ m ]
                                | Unsupported name ->
                                    let m = sprintf "kernel '%s' is not supported by tools/NotebookRunner (only fsharp and csharp)" name
                                    fail "NotSupported" m [ m ]
                                | Execute lang ->
                                    let kernel =
                                        match kernels.TryGetValue lang with
                                        | true, k -> Ok k
                                        | _ ->
                                            let create () =
                                                try
                                                    Ok(
                                                        match lang with
                                                        | FSharp -> new FSharpKernel(full, references, options.Packages) :> IKernel
                                                        | CSharp -> new CSharpKernel(full, references, options.Packages) :> IKernel
                                                    )
                                                with e ->
                                                    Error(sprintf "starting the %s kernel failed: %s" (languageName lang) e.Message)
                                            match worker.Run(create, None) with
                                            | Some(Ok k) ->
                                                kernels[lang] <- k
                                                Ok k
                                            | Some(Error m) -> Error m
                                            | None -> Error "starting the kernel timed out"
                                    match kernel with
                                    | Error m -> fail "KernelStartError" m [ m ]
                                    | Ok kernel ->
                                        use cts = new CancellationTokenSource()
                                        use out = new CaptureWriter(collector, "stdout", NewLine = "\n")
                                        use err = new CaptureWriter(collector, "stderr", NewLine = "\n")
                                        let outcome =
                                            try
                                                Console.SetOut out
                                                Console.SetError err
                                                Console.SetIn(new StringReader("")) // no one types into a CI run
                                                DisplaySink.current <- collector
                                                DisplaySink.formatText <- kernel.FormatText
                                                let run () =
                                                    try
                                                        kernel.Run(seg.Code, seg.FirstLine, cts.Token)
                                                    with e ->
                                                        exceptionOutcome e
                                                worker.Run(run, options.Timeout)
                                            finally
                                                Console.Out.Flush()
                                                Console.Error.Flush()
                                                Console.SetOut savedOut
                                                Console.SetError savedErr
                                                Console.SetIn savedIn
                                                DisplaySink.current <- Unchecked.defaultof<_>
                                        match outcome with
                                        | Some(Completed(Some data)) -> collector.Add(ExecuteResult(count, data))
                                        | Some(Completed None) -> ()
                                        | Some(Failed(ename, evalue, traceback)) -> fail ename evalue traceback
                                        | None ->
                                            cts.Cancel()
                                            abandoned <- true
                                            let t = defaultArg options.Timeout TimeSpan.Zero
                                            let m = sprintf "the cell ran longer than its time limit of %s (--timeout) and was abandoned" (timeoutText t)
                                            fail "TimeoutException" m [ m ]
                        setOutputs cell (Some count) collector.Outputs
                        match cellError with
                        | Some m -> failure <- Some { Cell = Some(index + 1); Message = m }
                        | None -> ()
        finally
            Environment.CurrentDirectory <- savedDir
            if not abandoned then
                for k in kernels.Values do
                    try
                        k.Dispose()
                    with _ -> ()
            (worker :> IDisposable).Dispose()
        let written =
            try
                Notebook.save outPath nb
                Ok outPath
            with e ->
                Error(sprintf "writing %s failed: %s" outPath e.Message)
        match written, failure with
        | Ok p, f -> result (Some p) executed f
        | Error m, None -> result None executed (Some { Cell = None; Message = m })
        | Error m, Some f -> result None executed (Some { f with Message = f.Message + "; " + m })

/// A path relative to the current folder when it lies under it, else the full path.
let private shortPath (p: string) =
    let rel = Path.GetRelativePath(Environment.CurrentDirectory, p)
    if rel.StartsWith ".." || Path.IsPathRooted rel then p else rel

/// One line describing a notebook's result (for a failure: the cell and the first line of the error).
let describe (r: NotebookResult) =
    let target = match r.Output with Some p -> " -> " + shortPath p | None -> ""
    let firstLine (m: string) =
        match m.Replace("\r\n", "\n").Split('\n') with
        | [| line |] -> line
        | lines -> lines[0] + " ..."
    match r.Failure with
    | None -> sprintf "PASS %s (%d code cells, %.1f s)%s" r.Notebook r.CellsRun r.Elapsed.TotalSeconds target
    | Some { Cell = Some c; Message = m } -> sprintf "FAIL %s: cell %d: %s%s" r.Notebook c (firstLine m) target
    | Some { Cell = None; Message = m } -> sprintf "FAIL %s: %s%s" r.Notebook (firstLine m) target

/// Runs the notebooks in order, printing one line each and a final summary; returns the results.
let runAll (options: RunOptions) (notebooks: string list) : NotebookResult list =
    let results =
        [ for nb in notebooks do
              let r = runNotebook options nb
              options.Log.WriteLine(describe r)
              options.Log.Flush()
              yield r ]
    let ok = results |> List.filter (fun r -> r.Succeeded) |> List.length
    options.Log.WriteLine(sprintf "notebooks: %d succeeded, %d failed" ok (results.Length - ok))
    results
