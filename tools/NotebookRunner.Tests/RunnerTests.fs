/// End-to-end: execute the testdata notebooks and inspect the executed JSON. Sequenced, because
/// a running cell owns Console.Out.
module NotebookRunner.Tests.RunnerTests

open System
open System.IO
open System.Text.Json.Nodes
open Expecto
open Genesis.NotebookRunner
open NotebookRunner.Tests.TestUtil

let private pngSignature = [| 0x89uy; 0x50uy; 0x4Euy; 0x47uy; 0x0Duy; 0x0Auy; 0x1Auy; 0x0Auy |]

/// Asserts that an image/png output decodes to PNG data.
let private expectPng (o: JsonObject) what =
    let b64 = string (o["data"]["image/png"])
    let bytes = Convert.FromBase64String b64
    Expect.isGreaterThan bytes.Length 8 (what + ": PNG size")
    Expect.equal bytes.[0..7] pngSignature (what + ": PNG signature")

/// Checks the nbformat 4 shape of every code cell and output (the keys the schema requires).
let private expectValidNbformat (nb: JsonObject) =
    Expect.equal (nb.["nbformat"].GetValue<int>()) 4 "nbformat"
    for c in nb.["cells"].AsArray() do
        let c = c.AsObject()
        for key in [ "cell_type"; "metadata"; "source" ] do
            Expect.isTrue (c.ContainsKey key) (sprintf "cell has %s" key)
        if string c.["cell_type"] = "code" then
            Expect.isTrue (c.ContainsKey "execution_count" && c.ContainsKey "outputs") "code cell keys"
            for o in outputs c do
                let required =
                    match string o.["output_type"] with
                    | "stream" -> [ "name"; "text" ]
                    | "display_data" -> [ "data"; "metadata" ]
                    | "execute_result" -> [ "data"; "metadata"; "execution_count" ]
                    | "error" -> [ "ename"; "evalue"; "traceback" ]
                    | other -> failtestf "unknown output_type %s" other
                for key in required do
                    Expect.isTrue (o.ContainsKey key) (sprintf "%s output has %s" (string o.["output_type"]) key)
        else
            Expect.isFalse (c.ContainsKey "outputs") "non-code cells get no outputs"

let private expectFailure (r: Runner.NotebookResult) (cell: int) (fragment: string) =
    match r.Failure with
    | Some { Cell = Some c; Message = m } ->
        Expect.equal c cell "failing cell"
        Expect.stringContains m fragment "failure message"
    | other -> failtestf "expected a failure in cell %d, got %A" cell other

/// The error output of a cell, and the cells after it not run.
let private expectStopped (nb: JsonObject) (failingCode: int) =
    let cells = codeCells nb
    let errors = ofType "error" cells.[failingCode]
    Expect.equal errors.Length 1 "one error output"
    Expect.equal (executionCount cells.[failingCode]) (Some(failingCode + 1)) "the failing cell has its count"
    for later in cells.[failingCode + 1 ..] do
        Expect.isNone (executionCount later) "later cells not executed"
        Expect.isEmpty (outputs later) "later cells have no outputs"
    errors.Head

let private greeterSource =
    "public static class Greeter { public static string Hello(string who) => \"Hello, \" + who; }"

[<Tests>]
let tests =
    testSequenced
    <| testList
        "Runner"
        [ test "F# state persists across cells; stdout, stderr, results and display are recorded" {
              let r, nb, _ = runTestdata "fsharp-state.ipynb"
              Expect.isTrue r.Succeeded (sprintf "%A" r.Failure)
              expectValidNbformat nb
              let cells = codeCells nb
              Expect.equal [ for c in cells -> executionCount c ] [ Some 1; Some 2; Some 3; Some 4; Some 5 ] "execution counts"
              Expect.isEmpty (outputs cells.[0]) "a cell of bindings shows nothing"
              Expect.equal (streamText "stdout" cells.[1]) "x = 40\n" "stdout (the stale output is gone)"
              Expect.equal (streamText "stderr" cells.[1]) "to stderr\n" "stderr"
              match ofType "execute_result" cells.[2] with
              | [ res ] ->
                  Expect.equal (text res "text/plain") "42" "trailing value"
                  Expect.equal (res.["execution_count"].GetValue<int>()) 3 "result count"
              | other -> failtestf "expected one execute_result, got %A" other
              let kinds = [ for o in outputs cells.[3] -> string o.["output_type"] ]
              Expect.equal kinds [ "display_data"; "display_data"; "stream" ] "display then print, in order"
              Expect.equal (text (outputs cells.[3]).[0] "text/plain") "shown with display" "display of a string"
              Expect.equal (text (outputs cells.[3]).[1] "text/plain") "[1; 2; 3]" "display of a list, as FSI prints it"
              Expect.isEmpty (outputs cells.[4]) "a unit result shows nothing"
              Expect.equal (string (nb.["metadata"].["custom"].["keep"])) "this metadata" "unknown metadata preserved"
              let md = nb.["cells"][0]
              Expect.equal (string md.["cell_type"]) "markdown" "markdown cell kept"
              Expect.stringContains (Notebook.multilineText md.["source"]) "this is not code to run" "markdown source kept"
          }

          test "C# state persists across cells (Roslyn ContinueWith)" {
              let r, nb, _ = runTestdata "csharp-state.ipynb"
              Expect.isTrue r.Succeeded (sprintf "%A" r.Failure)
              expectValidNbformat nb
              let cells = codeCells nb
              Expect.equal [ for c in cells -> executionCount c ] [ Some 1; Some 2; Some 3; Some 4; Some 5 ] "execution counts"
              Expect.equal (streamText "stdout" cells.[1]) "x = 40\n" "stdout"
              Expect.equal (streamText "stderr" cells.[1]) "to stderr\n" "stderr"
              match ofType "execute_result" cells.[2] with
              | [ res ] -> Expect.equal (text res "text/plain") "42" "trailing value of a local function call"
              | other -> failtestf "expected one execute_result, got %A" other
              let shown = [ for o in ofType "display_data" cells.[3] -> text o "text/plain" ]
              Expect.equal shown [ "shown with display"; "[ 1, 2, 3 ]" ] "display in C#"
              Expect.isEmpty (ofType "execute_result" cells.[4]) "a void call has no result"
              Expect.equal (streamText "stdout" cells.[4]) "void call, no result\n" "its output"
          }

          test "display shows PNG images (ScottPlot plots, Png, raw bytes) and HTML" {
              let r, nb, _ = runTestdata "display-png.ipynb"
              Expect.isTrue r.Succeeded (sprintf "%A" r.Failure)
              expectValidNbformat nb
              let cells = codeCells nb
              expectPng (ofType "display_data" cells.[0]).Head "display plot"
              expectPng (ofType "display_data" cells.[1]).Head "display (Png bytes)"
              expectPng (ofType "execute_result" cells.[2]).Head "a plot as the trailing value"
              let csharp = ofType "display_data" cells.[3]
              expectPng csharp.[0] "C# display(new Png(bytes))"
              Expect.equal (text csharp.[1] "text/html") "<b>bold</b>" "C# display(new Html(...))"
          }

          test "a failing F# cell (compile error) stops the notebook with an error output" {
              let dir = stage [ "fsharp-error.ipynb" ]
              use log = new StringWriter()
              let code = Program.run log [| Path.Combine(dir, "fsharp-error.ipynb"); "--out"; Path.Combine(dir, "out") |]
              Expect.equal code 1 "exit code"
              let printed = log.ToString()
              Expect.stringContains printed "FAIL" "FAIL line"
              Expect.stringContains printed "cell 2" "names the cell"
              Expect.stringContains printed "notDefinedAnywhere" "names the error"
              Expect.stringContains printed "0 succeeded, 1 failed" "summary"
              let nb = readJson (Path.Combine(dir, "out", "fsharp-error.ipynb"))
              expectValidNbformat nb
              let err = expectStopped nb 1
              Expect.equal (string err.["ename"]) "CompilationError" "ename"
              Expect.stringContains (string err.["evalue"]) "FS0039" "evalue"
              Expect.equal (streamText "stdout" (codeCells nb).[0]) "first cell runs\n" "first cell ran"
          }

          test "an F# exception stops the notebook with an error output" {
              let r, nb, _ = runTestdata "fsharp-exception.ipynb"
              expectFailure r 1 "boom from F#"
              let err = expectStopped nb 0
              Expect.equal (string err.["ename"]) "System.Exception" "ename"
              Expect.equal (string err.["evalue"]) "boom from F#" "evalue"
              Expect.isNonEmpty (err.["traceback"].AsArray()) "traceback"
              Expect.equal (streamText "stdout" (codeCells nb).[0]) "before the exception\n" "output before the exception kept"
          }

          test "a failing C# cell (compile error) stops the notebook with an error output" {
              let r, nb, log = runTestdata "csharp-error.ipynb"
              expectFailure r 2 "CS0029"
              Expect.stringContains log "FAIL" "FAIL line"
              let err = expectStopped nb 1
              Expect.equal (string err.["ename"]) "CompilationError" "ename"
          }

          test "a C# exception stops the notebook with an error output" {
              let r, nb, _ = runTestdata "csharp-exception.ipynb"
              expectFailure r 1 "boom from C#"
              let err = expectStopped nb 0
              Expect.equal (string err.["ename"]) "System.InvalidOperationException" "ename"
              Expect.equal (streamText "stdout" (codeCells nb).[0]) "before the exception\n" "output before the exception kept"
          }

          test "#r loads an assembly relative to the notebook, in F# and in C#" {
              let dir = stage [ "reference.ipynb" ]
              compileLibrary "Greeter" greeterSource [] (Path.Combine(dir, "lib", "Greeter.dll")) |> ignore
              let results, log = runIn dir id [ "reference.ipynb" ]
              Expect.isTrue (List.exactlyOne results).Succeeded log
              let cells = codeCells (readJson (Path.Combine(dir, "out", "reference.ipynb")))
              Expect.equal (text (ofType "execute_result" cells.[0]).Head "text/plain") "Hello, F#" "F#"
              Expect.equal (text (ofType "execute_result" cells.[1]).Head "text/plain") "Hello, C#" "C#"
          }

          test "--ref makes an assembly available to every cell" {
              let dir = tempDir ()
              let lib = compileLibrary "RefGreeter" (greeterSource.Replace("Greeter", "RefGreeter")) [] (Path.Combine(dir, "bin", "RefGreeter.dll"))
              let name =
                  write dir "ref.ipynb" (notebook "fsharp" [ None, "RefGreeter.Hello \"F#\""; Some "csharp", "RefGreeter.Hello(\"C#\")" ])
              let results, log = runIn dir (fun o -> { o with References = [ lib ] }) [ name ]
              Expect.isTrue (List.exactlyOne results).Succeeded log
              let cells = codeCells (readJson (Path.Combine(dir, "out", name)))
              Expect.equal (text (ofType "execute_result" cells.[0]).Head "text/plain") "Hello, F#" "F#"
              Expect.equal (text (ofType "execute_result" cells.[1]).Head "text/plain") "Hello, C#" "C#"
          }

          test "a referenced library's package dependencies resolve through its .deps.json" {
              let dir = tempDir ()
              let packages = Path.Combine(dir, "packages")
              let dep =
                  compileLibrary "Dep" "public static class Dep { public static string Name => \"dep\"; }" []
                      (Path.Combine(packages, "dep.package", "1.0.0", "lib", "net10.0", "Dep.dll"))
              let lib =
                  compileLibrary "UsesDep" "public static class UsesDep { public static string Hello() => \"uses \" + Dep.Name; }" [ dep ]
                      (Path.Combine(dir, "bin", "UsesDep.dll"))
              File.WriteAllText(
                  Path.Combine(dir, "bin", "UsesDep.deps.json"),
                  """{"targets":{".NETCoreApp,Version=v10.0":{
                       "UsesDep/1.0.0":{"dependencies":{"Dep.Package":"1.0.0"},"runtime":{"UsesDep.dll":{}}},
                       "Dep.Package/1.0.0":{"runtime":{"lib/net10.0/Dep.dll":{}}}}},
                     "libraries":{"UsesDep/1.0.0":{"type":"project"},
                                  "Dep.Package/1.0.0":{"type":"package","path":"dep.package/1.0.0"}}}"""
              )
              let name = write dir "deps.ipynb" (notebook "csharp" [ None, "UsesDep.Hello()"; Some "fsharp", "UsesDep.Hello()" ])
              let saved = Environment.GetEnvironmentVariable "NUGET_PACKAGES"
              Environment.SetEnvironmentVariable("NUGET_PACKAGES", packages)
              try
                  let results, log = runIn dir (fun o -> { o with References = [ lib ] }) [ name ]
                  Expect.isTrue (List.exactlyOne results).Succeeded log
                  let cells = codeCells (readJson (Path.Combine(dir, "out", name)))
                  for c in cells do
                      Expect.equal (text (ofType "execute_result" c).Head "text/plain") "uses dep" "dependency loaded"
              finally
                  Environment.SetEnvironmentVariable("NUGET_PACKAGES", saved)
          }

          test "#r \"nuget: NAME\" in F# and C# cells loads the assembly given with --nuget; #i \"nuget: ...\" is ignored" {
              let dir = tempDir ()
              let lib = compileLibrary "PkgGreeter" (greeterSource.Replace("Greeter", "PkgGreeter")) [] (Path.Combine(dir, "restored", "PkgGreeter.dll"))
              let name =
                  write dir "nuget.ipynb" (
                      notebook "fsharp" [
                          None, "#i \"nuget: ../no/such/source\"\n#r \"nuget: Pkg.Greeter, 1.0.0\"\nPkgGreeter.Hello \"F#\""
                          Some "csharp", "#i \"nuget: /no/such/source\"\n#r \"nuget: pkg.greeter\"\nPkgGreeter.Hello(\"C#\")" ])
              let results, log = runIn dir (fun o -> { o with Packages = Map [ "pkg.greeter", lib ] }) [ name ]
              Expect.isTrue (List.exactlyOne results).Succeeded log
              let cells = codeCells (readJson (Path.Combine(dir, "out", name)))
              Expect.equal (text (ofType "execute_result" cells.[0]).Head "text/plain") "Hello, F#" "F#"
              Expect.equal (text (ofType "execute_result" cells.[1]).Head "text/plain") "Hello, C#" "C#"
              let unmapped, _ = runIn dir id [ name ]
              expectFailure (List.exactlyOne unmapped) 1 "--nuget Pkg.Greeter="
          }

          test "a C# cell can use the types of a --nuget package's dependencies (restored beside it), as a project can" {
              let dir = tempDir ()
              let restored = Path.Combine(dir, "restored")
              let dep = compileLibrary "PkgDep" "public class PkgDepError : System.Exception { }" [] (Path.Combine(restored, "PkgDep.dll"))
              let lib =
                  compileLibrary "PkgFacade" "public static class PkgFacade { public static void Fail() => throw new PkgDepError(); }" [ dep ]
                      (Path.Combine(restored, "PkgFacade.dll"))
              Expect.equal (set (Kernels.referenceClosure lib)) (set [ lib; dep ]) "the closure within the folder"
              let cell = "#r \"nuget: PkgFacade\"\ntry { PkgFacade.Fail(); } catch (PkgDepError) { Console.WriteLine(\"caught\"); }"
              let name = write dir "closure.ipynb" (notebook "csharp" [ None, cell ])
              let results, log = runIn dir (fun o -> { o with Packages = Map [ "pkgfacade", lib ] }) [ name ]
              Expect.isTrue (List.exactlyOne results).Succeeded log
              let cells = codeCells (readJson (Path.Combine(dir, "out", name)))
              Expect.equal (streamText "stdout" cells.[0]) "caught\n" "the dependency's type compiled"
          }

          test "cells run in the notebook's folder (#load, relative files) with an empty stdin" {
              let dir = tempDir ()
              File.WriteAllText(Path.Combine(dir, "helper.fsx"), "module Helper\nlet twice x = 2 * x\n")
              File.WriteAllText(Path.Combine(dir, "data.txt"), "beside the notebook")
              let name =
                  write dir "folder.ipynb" (
                      notebook "fsharp" [
                          None, "#load \"helper.fsx\"\nHelper.twice 21"
                          None, "System.IO.File.ReadAllText \"data.txt\""
                          None, "isNull (System.Console.ReadLine())"
                          Some "csharp", "File.ReadAllText(\"data.txt\") + \" \" + (Console.ReadLine() == null)"
                          None, "#r \"nuget: ScottPlot, 5.1.59\"\nnew ScottPlot.Plot() |> ignore" ])
              let results, log = runIn dir id [ name ]
              Expect.isTrue (List.exactlyOne results).Succeeded log
              let cells = codeCells (readJson (Path.Combine(dir, "out", name)))
              let result (i: int) = text (ofType "execute_result" cells.[i]).Head "text/plain"
              Expect.equal (result 0) "42" "#load relative to the notebook"
              Expect.equal (result 1) "beside the notebook" "current folder is the notebook's"
              Expect.equal (result 2) "true" "stdin is empty"
              Expect.equal (result 3) "beside the notebook True" "C# too"
          }

          test "kernels come from notebook metadata, cell metadata and magic lines; markdown is skipped" {
              let r, nb, _ = runTestdata "kernels.ipynb"
              Expect.isTrue r.Succeeded (sprintf "%A" r.Failure)
              expectValidNbformat nb
              let out = [ for c in codeCells nb -> streamText "stdout" c ]
              Expect.equal
                  out
                  [ "default kernel: C#\n"
                    "cell metadata: F#\n"
                    "old metadata: F#\n"
                    "magic: F#\n"
                    "magic: C#\n"
                    "first part: C#\nsecond part: F#\n"
                    "" ]
                  "each cell ran in its kernel"
              Expect.isNone (executionCount (codeCells nb).[6]) "#!markdown cell not executed"
              Expect.equal r.CellsRun 6 "six code cells ran"
          }

          test "a kernelspec alone selects the kernel" {
              let r, nb, _ = runTestdata "kernelspec-only.ipynb"
              Expect.isTrue r.Succeeded (sprintf "%A" r.Failure)
              Expect.equal (streamText "stdout" (codeCells nb).[0]) "kernelspec says C#\n" "C#"
          }

          test "#r \"nuget: ...\", other kernels and other magic commands fail with a clear message" {
              let dir = tempDir ()
              let cases =
                  [ "nuget-fs.ipynb", notebook "fsharp" [ None, "#r \"nuget: Newtonsoft.Json\"" ], "nuget"
                    "nuget-cs.ipynb", notebook "csharp" [ None, "#r \"nuget: Newtonsoft.Json\"" ], "nuget"
                    "pwsh.ipynb", notebook "fsharp" [ Some "pwsh", "Get-Date" ], "kernel 'pwsh' is not supported"
                    "time.ipynb", notebook "fsharp" [ None, "#!time\nlet x = 1" ], "#!time is not supported" ]
              for file, nb, fragment in cases do
                  write dir file nb |> ignore
              let results, _ = runIn dir id [ for file, _, _ in cases -> file ]
              for r, (file, _, fragment) in List.zip results cases do
                  expectFailure r 1 fragment
                  let nb = readJson (Path.Combine(dir, "out", file))
                  Expect.equal (string (ofType "error" (codeCells nb).[0]).Head.["ename"]) "NotSupported" file
          }

          test "a cell running past --timeout fails the notebook" {
              let dir = tempDir ()
              let name =
                  write dir "slow.ipynb" (notebook "fsharp" [ None, "let warm = 1"; None, "System.Threading.Thread.Sleep 30000"; None, "printfn \"never\"" ])
              let sw = Diagnostics.Stopwatch.StartNew()
              let results, _ = runIn dir (fun o -> { o with Timeout = Some(TimeSpan.FromSeconds 2.0) }) [ name ]
              Expect.isLessThan sw.Elapsed.TotalSeconds 25.0 "did not wait for the cell"
              expectFailure (List.exactlyOne results) 2 "time limit"
              let nb = readJson (Path.Combine(dir, "out", name))
              Expect.equal (string (expectStopped nb 1).["ename"]) "TimeoutException" "ename"
          }

          test "folders, empty folders, and never overwriting the input" {
              let dir = stage [ "kernelspec-only.ipynb" ]
              use log = new StringWriter()
              Expect.equal (Program.run log [| dir; "--out"; Path.Combine(dir, "out") |]) 0 "a folder runs its notebooks"
              Expect.isTrue (File.Exists(Path.Combine(dir, "out", "kernelspec-only.ipynb"))) "written to --out"
              Expect.stringContains (log.ToString()) "PASS" "PASS line"
              Expect.stringContains (log.ToString()) "1 succeeded, 0 failed" "summary"
              use log2 = new StringWriter()
              Expect.equal (Program.run log2 [| tempDir (); "--out"; Path.Combine(dir, "out2") |]) 0 "an empty folder succeeds"
              Expect.stringContains (log2.ToString()) "no notebooks" "says so"
              use log3 = new StringWriter()
              Expect.equal (Program.run log3 [| dir; "--out"; dir |]) 1 "refuses to overwrite"
              Expect.stringContains (log3.ToString()) "overwrite" "says why"
              use log4 = new StringWriter()
              Expect.equal (Program.run log4 [| Path.Combine(dir, "missing.ipynb"); "--out"; Path.Combine(dir, "out") |]) 2 "missing input"
              let bad = Path.Combine(dir, "bad.ipynb")
              File.WriteAllText(bad, """{"nbformat": 3, "worksheets": []}""")
              use log5 = new StringWriter()
              Expect.equal (Program.run log5 [| bad; "--out"; Path.Combine(dir, "out") |]) 1 "nbformat 3 fails"
              Expect.stringContains (log5.ToString()) "nbformat 4" "says why"
          }

          test "without --out the runner refuses and writes nothing (never into the notebooks' folder unasked)" {
              let dir = stage [ "kernelspec-only.ipynb" ]
              use log = new StringWriter()
              Expect.equal (Program.run log [| Path.Combine(dir, "kernelspec-only.ipynb") |]) 2 "bad arguments"
              Expect.stringContains (log.ToString()) "--out DIR is required" "says why"
              Expect.isFalse (Directory.Exists(Path.Combine(dir, "executed"))) "no executed folder"
              Expect.equal (Directory.GetFileSystemEntries dir).Length 1 "the folder holds only the notebook"
          } ]
