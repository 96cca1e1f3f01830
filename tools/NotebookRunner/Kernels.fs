/// The two kernels: F# through FSharp.Compiler.Service, C# through Roslyn scripting.
module Genesis.NotebookRunner.Kernels

open System
open System.Collections.Concurrent
open System.IO
open System.Reflection
open System.Text.Json.Nodes
open System.Text.RegularExpressions
open System.Threading
open FSharp.Compiler.Diagnostics
open FSharp.Compiler.Interactive.Shell
open Microsoft.CodeAnalysis
open Microsoft.CodeAnalysis.CSharp.Scripting
open Microsoft.CodeAnalysis.CSharp.Syntax
open Microsoft.CodeAnalysis.Scripting
open Genesis.Notebooks

/// How running one piece of code ended.
type Outcome =
    /// It ran; the trailing expression's value as a MIME bundle, if there was one.
    | Completed of result: MimeBundle option
    /// It failed: ename, evalue, traceback (compile errors or an exception).
    | Failed of ename: string * evalue: string * traceback: string list

/// A kernel that runs code in one persistent state (one per language per notebook).
type IKernel =
    inherit IDisposable
    /// Runs code; firstLine (0-based) is where it starts in its cell, for diagnostics.
    abstract Run: code: string * firstLine: int * cancel: CancellationToken -> Outcome
    /// Formats a value as text/plain in this language (used by `display`).
    abstract FormatText: obj -> string

/// Resolves the dependencies of referenced assemblies that are not next to them: from the
/// folders of every referenced assembly, then from the NuGet packages folder through each
/// reference's .deps.json (a library's build output holds only its own dll).
module AssemblyResolution =
    let private dirs = ConcurrentDictionary<string, bool>()
    let private byName = ConcurrentDictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    let mutable private installed = 0

    /// The NuGet global packages folder: $NUGET_PACKAGES, else ~/.nuget/packages.
    let packagesRoot () =
        match Environment.GetEnvironmentVariable "NUGET_PACKAGES" with
        | null
        | "" -> Path.Combine(Environment.GetFolderPath Environment.SpecialFolder.UserProfile, ".nuget", "packages")
        | p -> p

    /// The package runtime assemblies a .deps.json lists (assembly name -> path under packagesRoot).
    let fromDepsJson (depsJson: string) (packagesRoot: string) : (string * string) list =
        let root = JsonNode.Parse(File.ReadAllText depsJson)
        let libraries = root["libraries"] |> Option.ofObj
        let targets = root["targets"] |> Option.ofObj
        match libraries, targets with
        | Some(:? JsonObject as libs), Some(:? JsonObject as targets) ->
            [ for target in targets do
                  match target.Value with
                  | :? JsonObject as entries ->
                      for entry in entries do
                          let lib = libs[entry.Key] |> Option.ofObj
                          let isPackage = lib |> Option.exists (fun l -> (string l["type"]) = "package")
                          let libPath = lib |> Option.bind (fun l -> Option.ofObj l["path"]) |> Option.map string
                          match entry.Value |> Option.ofObj |> Option.bind (fun e -> Option.ofObj e["runtime"]), libPath with
                          | Some(:? JsonObject as runtime), Some libPath when isPackage ->
                              for asset in runtime do
                                  let file = Path.Combine(packagesRoot, libPath, asset.Key)
                                  yield Path.GetFileNameWithoutExtension asset.Key, file
                          | _ -> ()
                  | _ -> () ]
        | _ -> []

    let private resolve (name: AssemblyName) : Assembly =
        let simple = name.Name
        let candidates =
            seq {
                for d in dirs.Keys do
                    yield Path.Combine(d, simple + ".dll")
                match byName.TryGetValue simple with
                | true, p -> yield p
                | _ -> ()
            }
        match candidates |> Seq.tryFind File.Exists with
        | Some p -> Assembly.LoadFrom p
        | None -> null

    /// Makes an assembly's folder and its .deps.json packages available for resolution.
    let register (assemblyPath: string) =
        if Interlocked.Exchange(&installed, 1) = 0 then
            AppDomain.CurrentDomain.add_AssemblyResolve(ResolveEventHandler(fun _ args -> resolve (AssemblyName args.Name)))
        let full = Path.GetFullPath assemblyPath
        match Path.GetDirectoryName full with
        | null -> ()
        | d -> dirs[d] <- true
        let deps = Path.ChangeExtension(full, ".deps.json")
        if File.Exists deps then
            try
                for n, p in fromDepsJson deps (packagesRoot ()) do
                    byName.TryAdd(n, p) |> ignore
            with _ -> ()

/// The reply to `#r "nuget: ..."` for a package the run does not map to an assembly (no restore while notebooks run).
let nugetUnsupported (package: string) =
    sprintf
        "#r \"nuget: %s\" is not resolved by tools/NotebookRunner: it restores no package while notebooks run. Map the package to a built assembly with --nuget %s=path/to/%s.dll (tools/run-notebooks.sh maps the engine's packages), pass the assembly with --ref, or #r its path"
        package package package

let private directive = Regex(@"^(\s*)#(r|load|I|i)(\s+)(@?)""([^""]*)""(.*)$", RegexOptions.Compiled)

/// The package a directive's target names, for a `nuget: NAME[, version]` target.
let private nugetPackage (target: string) =
    let t = target.TrimStart()
    if t.StartsWith("nuget:", StringComparison.OrdinalIgnoreCase) then Some(t.Substring(6).Split(',').[0].Trim())
    else None

/// Rewrites the directives of a cell: `#r "nuget: NAME[, version]"` becomes `#r` of the assembly that packages maps
/// NAME to (case-insensitive; the version is not checked); `#r "nuget: ScottPlot..."` becomes a comment (the runner
/// provides ScottPlot); `#i "nuget: SOURCE"` becomes a comment (package sources do not matter when packages are
/// mapped); `#r`/`#load`/`#I` paths that exist relative to the notebook's folder become absolute. Fails on any other
/// `#r "nuget: ..."` and on `#i` without `nuget:`.
let rewriteDirectives (fsharp: bool) (baseDir: string) (packages: Map<string, string>) (code: string) : Result<string, string> =
    let lines = code.Split('\n')
    let mutable error = None
    let quote (full: string) = if fsharp then "@\"" + full.Replace("\"", "\"\"") + "\"" else "\"" + full + "\""
    let comment (m: Match) (why: string) = m.Groups[1].Value + "// " + why + ": " + m.Value.Trim()
    for i in 0 .. lines.Length - 1 do
        let m = directive.Match(lines[i].TrimEnd('\r'))
        if m.Success && error.IsNone then
            let kind, target = m.Groups[2].Value, m.Groups[5].Value
            let isNuget, package = match nugetPackage target with Some p -> true, p | None -> false, ""
            let reference (full: string) =
                m.Groups[1].Value + "#" + kind + m.Groups[3].Value + quote full + m.Groups[6].Value
            if kind = "r" && isNuget && String.Equals(package, "ScottPlot", StringComparison.OrdinalIgnoreCase) then
                // The runner references ScottPlot itself; the line is there for Polyglot Notebooks.
                lines[i] <- comment m "provided by tools/NotebookRunner"
            elif kind = "r" && isNuget then
                match packages |> Map.tryFind (package.ToLowerInvariant()) with
                | Some assembly ->
                    let full = Path.GetFullPath assembly
                    AssemblyResolution.register full
                    lines[i] <- reference full
                | None -> error <- Some(nugetUnsupported package)
            elif kind = "i" && isNuget then
                lines[i] <- comment m "package source, not used by tools/NotebookRunner (it maps packages with --nuget)"
            elif kind = "i" then
                error <- Some "#i without \"nuget:\" is not supported by tools/NotebookRunner"
            elif Path.IsPathRooted target then
                if kind = "r" && File.Exists target then AssemblyResolution.register target
            elif target <> "" then
                let full = Path.GetFullPath(Path.Combine(baseDir, target))
                if File.Exists full || Directory.Exists full then
                    if kind = "r" && File.Exists full then AssemblyResolution.register full
                    lines[i] <- reference full
    match error with
    | Some e -> Error e
    | None -> Ok(String.Join("\n", lines))

/// The assemblies that a cell's `#r "nuget: NAME"` lines map to through packages (full paths, in order).
let mappedPackages (packages: Map<string, string>) (code: string) : string list =
    [ for line in code.Split('\n') do
          let m = directive.Match(line.TrimEnd('\r'))
          if m.Success && m.Groups[2].Value = "r" then
              match nugetPackage m.Groups[5].Value |> Option.bind (fun p -> packages |> Map.tryFind (p.ToLowerInvariant())) with
              | Some assembly -> yield Path.GetFullPath assembly
              | None -> () ]

/// An assembly and, recursively, the assemblies it references that lie in its own folder (what a package brings
/// with it once restored into one folder): the compile references a C# cell needs to use the package's types and
/// those of its dependencies, as a project referencing the package would.
let referenceClosure (assembly: string) : string list =
    let dir = Path.GetDirectoryName(Path.GetFullPath assembly) |> string
    let seen = Collections.Generic.HashSet<string>(StringComparer.Ordinal)
    let rec visit (path: string) =
        if File.Exists path && seen.Add path then
            let names =
                try
                    use stream = File.OpenRead path
                    use pe = new System.Reflection.PortableExecutable.PEReader(stream)
                    let md = System.Reflection.Metadata.PEReaderExtensions.GetMetadataReader pe
                    [ for h in md.AssemblyReferences -> md.GetString(md.GetAssemblyReference(h).Name) ]
                with _ -> []
            for n in names do
                visit (Path.Combine(dir, n + ".dll"))
    visit (Path.GetFullPath assembly)
    List.ofSeq seen

let private unwrap (e: exn) =
    let rec go (e: exn) =
        match e with
        | :? TargetInvocationException as t when not (isNull t.InnerException) -> go t.InnerException
        | :? AggregateException as a when a.InnerExceptions.Count = 1 -> go a.InnerExceptions[0]
        | e -> e
    go e

let private machineryFrames =
    [ "at System.Reflection."; "at System.RuntimeMethodHandle."; "at Microsoft.CodeAnalysis."; "at FSharp.Compiler."
      "at Genesis.NotebookRunner."; "at System.Threading."; "at System.Runtime.CompilerServices." ]

/// The error outcome for an exception thrown by user code (stack frames of the runner's own
/// machinery, reflection and the compilers are left out of the traceback).
let exceptionOutcome (e: exn) =
    let e = unwrap e
    let lines =
        e.ToString().Replace("\r\n", "\n").Split('\n')
        |> Array.filter (fun l -> not (machineryFrames |> List.exists (fun p -> l.TrimStart().StartsWith p)))
        |> List.ofArray
    // A "previous location" marker with no frame after it (once frames are left out) says nothing.
    let isMarker (l: string) = l.TrimStart().StartsWith "--- End of stack trace from previous location"
    let rec tidy lines =
        match lines with
        | a :: ((b :: _) as rest) when isMarker a && (isMarker b || (b: string).TrimStart().StartsWith "---") -> tidy rest
        | [ a ] when isMarker a -> []
        | a :: rest -> a :: tidy rest
        | [] -> []
    Failed(e.GetType().FullName, e.Message, tidy lines)

/// The error outcome for compile errors (evalue: the first error; traceback: all of them).
let compileErrors (errors: string list) =
    Failed("CompilationError", (match errors with e :: _ -> e | [] -> "compilation failed"), errors)

/// F# cells: one FsiEvaluationSession; the prelude references the runner (display API), ScottPlot
/// and every --ref assembly, opens Genesis.Notebooks and defines `display`; packages maps `#r "nuget: NAME"` to
/// assemblies (lower-case names).
type FSharpKernel(notebookPath: string, references: string list, packages: Map<string, string>) =
    let notebookDir = Path.GetDirectoryName(Path.GetFullPath notebookPath) |> string
    let fsiOut = new StringWriter()
    let fsiErr = new StringWriter()
    let session =
        let config = FsiEvaluationSession.GetDefaultConfiguration()
        let args = [| "fsi.exe"; "--noninteractive"; "--nologo"; "--gui-"; "--optimize+"; "--debug-" |]
        FsiEvaluationSession.Create(config, args, new StringReader(""), fsiOut, fsiErr, collectible = false)
    let scriptName = Path.Combine(notebookDir, Path.GetFileNameWithoutExtension notebookPath + ".fsx")
    let describe (d: FSharpDiagnostic) (firstLine: int) =
        let sev = if d.Severity = FSharpDiagnosticSeverity.Error then "error" else "warning"
        sprintf "(%d,%d): %s %s: %s" (d.StartLine + firstLine) (d.StartColumn + 1) sev d.ErrorNumberText d.Message
    let verbatim (p: string) = "@\"" + p.Replace("\"", "\"\"") + "\""
    let prelude =
        [ yield "#r " + verbatim (typeof<Display>.Assembly.Location)
          yield "#r " + verbatim (typeof<ScottPlot.Plot>.Assembly.Location)
          for r in references do
              yield "#r " + verbatim (Path.GetFullPath r)
          yield "open Genesis.Notebooks"
          yield "/// Shows a value in the cell's output: Png/PNG bytes/ScottPlot.Plot as an image, Html as HTML, else text."
          yield "let display (value: 'T) : unit = Display.Show(box value)" ]
        |> String.concat "\n"
    do
        let result, diags = session.EvalInteractionNonThrowing(prelude, scriptName)
        match result with
        | Choice2Of2 e ->
            let errors = diags |> Array.map (fun d -> describe d 0) |> String.concat "; "
            failwithf "the F# prelude failed: %s %s" e.Message errors
        | _ -> ()

    /// Runs one interaction in the session (state persists); warnings go to stderr.
    member _.Run(code: string, firstLine: int, cancel: CancellationToken) =
        match rewriteDirectives true notebookDir packages code with
        | Error e -> Failed("NotSupported", e, [ e ])
        | Ok code ->
            let result, diags = session.EvalInteractionNonThrowing(code, scriptName, cancel)
            fsiOut.GetStringBuilder().Clear() |> ignore // FSI's own echo of bindings is not shown
            fsiErr.GetStringBuilder().Clear() |> ignore
            let errors = diags |> Array.filter (fun d -> d.Severity = FSharpDiagnosticSeverity.Error)
            for d in diags do
                if d.Severity = FSharpDiagnosticSeverity.Warning then Console.Error.WriteLine(describe d firstLine)
            if errors.Length > 0 then
                compileErrors [ for d in errors -> describe d firstLine ]
            else
                match result with
                | Choice2Of2 e -> exceptionOutcome e
                | Choice1Of2 None -> Completed None
                | Choice1Of2(Some v) when v.ReflectionType = typeof<unit> -> Completed None
                | Choice1Of2(Some v) ->
                    let format (o: obj) = session.FormatValue(o, (if isNull o then v.ReflectionType else o.GetType()))
                    Completed(Some(Display.ToMimeBundle(v.ReflectionValue, format)))

    /// Formats a value as FSI prints it.
    member _.FormatText(value: obj) =
        if isNull value then "<null>" else session.FormatValue(value, value.GetType())

    interface IKernel with
        member k.Run(code, firstLine, cancel) = k.Run(code, firstLine, cancel)
        member k.FormatText value = k.FormatText value
        member _.Dispose() = (session :> IDisposable).Dispose()

/// True when a C# submission ends in an expression without a semicolon whose type is not void.
let private hasTrailingValue (compilation: Compilation) =
    match Seq.tryHead compilation.SyntaxTrees with
    | None -> false
    | Some tree ->
        match tree.GetRoot() with
        | :? CompilationUnitSyntax as unit when unit.Members.Count > 0 ->
            match unit.Members[unit.Members.Count - 1] with
            | :? GlobalStatementSyntax as g ->
                match g.Statement with
                | :? ExpressionStatementSyntax as e when e.SemicolonToken.IsMissing ->
                    let t = compilation.GetSemanticModel(tree).GetTypeInfo(e.Expression).Type
                    not (isNull t) && t.SpecialType <> SpecialType.System_Void
                | _ -> false
            | _ -> false
        | _ -> false

/// C# cells: Roslyn scripting with CSharpGlobals (so `display(x)` works), state carried from
/// cell to cell with ContinueWithAsync; packages maps `#r "nuget: NAME"` to assemblies (lower-case names).
type CSharpKernel(notebookPath: string, references: string list, packages: Map<string, string>) =
    let notebookPath = Path.GetFullPath notebookPath
    let notebookDir = Path.GetDirectoryName notebookPath |> string
    let referenced = Collections.Generic.HashSet<string>(StringComparer.Ordinal)
    let mutable options =
        ScriptOptions.Default
            .WithFilePath(notebookPath)
            .WithMetadataResolver(ScriptMetadataResolver.Default.WithBaseDirectory(notebookDir))
            .WithSourceResolver(ScriptSourceResolver.Default.WithBaseDirectory(notebookDir))
            .WithOptimizationLevel(OptimizationLevel.Release)
            .WithLanguageVersion(Microsoft.CodeAnalysis.CSharp.LanguageVersion.Latest)
            .AddReferences(
                typeof<obj>.Assembly,
                typeof<Uri>.Assembly,
                typeof<Console>.Assembly,
                typeof<System.Linq.Enumerable>.Assembly,
                typeof<System.Collections.Generic.List<int>>.Assembly,
                typeof<System.Collections.Generic.Queue<int>>.Assembly,
                typeof<System.Text.RegularExpressions.Regex>.Assembly,
                typeof<System.Text.Json.JsonSerializer>.Assembly,
                Assembly.Load(AssemblyName "System.Runtime"),
                Assembly.Load(AssemblyName "netstandard"),
                typeof<Display>.Assembly,
                typeof<ScottPlot.Plot>.Assembly,
                typeof<FSharpFunc<int, int>>.Assembly)
            .AddReferences(references |> Seq.map (fun r -> MetadataReference.CreateFromFile(Path.GetFullPath r) :> MetadataReference))
            .AddImports(
                "System",
                "System.IO",
                "System.Linq",
                "System.Text",
                "System.Collections.Generic",
                "System.Threading.Tasks",
                "Genesis.Notebooks")
    let globals = CSharpGlobals()
    let mutable state: ScriptState<obj> =
        CSharpScript.RunAsync("", options, globals, typeof<CSharpGlobals>).GetAwaiter().GetResult()
    let describe (d: Diagnostic) (firstLine: int) =
        let span = d.Location.GetLineSpan()
        let sev = if d.Severity = DiagnosticSeverity.Error then "error" else "warning"
        sprintf "(%d,%d): %s %s: %s" (span.StartLinePosition.Line + 1 + firstLine) (span.StartLinePosition.Character + 1) sev d.Id (d.GetMessage())

    /// Runs one submission after the previous ones (state persists); warnings go to stderr.
    member _.Run(code: string, firstLine: int, cancel: CancellationToken) =
        let packageAssemblies = mappedPackages packages code
        match rewriteDirectives false notebookDir packages code with
        | Error e -> Failed("NotSupported", e, [ e ])
        | Ok code ->
            try
                // a package's dependencies become compile references too, as in a project that references the package
                let added = packageAssemblies |> List.collect referenceClosure |> List.filter referenced.Add
                if not added.IsEmpty then
                    options <- options.AddReferences(added |> Seq.map (fun p -> MetadataReference.CreateFromFile p :> MetadataReference))
                let next =
                    state.ContinueWithAsync(code, options, (fun (_: exn) -> true), cancel).GetAwaiter().GetResult()
                let compilation = next.Script.GetCompilation()
                for d in next.Script.Compile() do
                    if d.Severity = DiagnosticSeverity.Warning && not d.IsSuppressed then
                        Console.Error.WriteLine(describe d firstLine)
                if not (isNull next.Exception) then
                    exceptionOutcome next.Exception
                else
                    state <- next
                    if hasTrailingValue compilation then Completed(Some(Display.ToMimeBundle(next.ReturnValue, Display.FormatCSharp)))
                    else Completed None
            with
            | :? CompilationErrorException as e ->
                let errors = e.Diagnostics |> Seq.filter (fun d -> d.Severity = DiagnosticSeverity.Error)
                compileErrors [ for d in errors -> describe d firstLine ]
            | e -> exceptionOutcome e

    interface IKernel with
        member k.Run(code, firstLine, cancel) = k.Run(code, firstLine, cancel)
        member _.FormatText value = Display.FormatCSharp value
        member _.Dispose() = ()
