/// Pure parts: kernel detection, magic lines, directive rewriting, output JSON, argument parsing.
module NotebookRunner.Tests.NotebookTests

open System
open System.IO
open System.Text.Json.Nodes
open Expecto
open Genesis.NotebookRunner
open Genesis.NotebookRunner.Notebook
open NotebookRunner.Tests.TestUtil

let private polyglot =
    Map.ofList [ "fsharp", "fsharp"; "csharp", "csharp"; "c#", "csharp"; "markdown", "markdown" ]

[<Tests>]
let tests =
    testList
        "Notebook"
        [ test "default kernel from polyglot metadata, kernelspec, language_info, else fsharp" {
              let nb (json: string) = JsonNode.Parse(json).AsObject()
              Expect.equal
                  (defaultKernel (nb """{"metadata":{"polyglot_notebook":{"kernelInfo":{"defaultKernelName":"csharp"}},"kernelspec":{"name":".net-fsharp"}}}"""))
                  "csharp"
                  "polyglot_notebook.kernelInfo.defaultKernelName wins"
              Expect.equal (defaultKernel (nb """{"metadata":{"kernelspec":{"name":".net-csharp"}}}""")) "csharp" "kernelspec .net-csharp"
              Expect.equal (defaultKernel (nb """{"metadata":{"kernelspec":{"name":".net-fsharp"}}}""")) "fsharp" "kernelspec .net-fsharp"
              Expect.equal (defaultKernel (nb """{"metadata":{"language_info":{"name":"C#"}}}""")) "csharp" "language_info C#"
              Expect.equal (defaultKernel (nb """{"metadata":{"language_info":{"name":"polyglot-notebook"}}}""")) "fsharp" "fallback"
              Expect.equal (defaultKernel (nb """{}""")) "fsharp" "no metadata"
          }

          test "cell kernel from polyglot_notebook.kernelName, then dotnet_interactive.language, then the default" {
              let nb = JsonNode.Parse("""{"metadata":{"kernelspec":{"name":".net-csharp"}}}""").AsObject()
              let cell (json: string) = JsonNode.Parse(json).AsObject()
              Expect.equal (cellKernel nb (cell """{"metadata":{}}""")) "csharp" "default"
              Expect.equal (cellKernel nb (cell """{"metadata":{"dotnet_interactive":{"language":"fsharp"}}}""")) "fsharp" "dotnet_interactive"
              Expect.equal
                  (cellKernel nb (cell """{"metadata":{"dotnet_interactive":{"language":"csharp"},"polyglot_notebook":{"kernelName":"fsharp"}}}"""))
                  "fsharp"
                  "polyglot_notebook wins"
              Expect.equal (cellKernel nb (cell """{"metadata":{"polyglot_notebook":{"kernelName":"C#"}}}""")) "csharp" "alias"
          }

          test "magic lines select the kernel and split a cell" {
              let segs = segments polyglot "csharp" "var a = 1;\n#!fsharp\nlet b = 2\n\n#!c#\nvar c = 3;"
              Expect.equal
                  [ for s in segs -> s.Kernel, s.Code.Trim(), s.FirstLine ]
                  [ Execute CSharp, "var a = 1;", 0; Execute FSharp, "let b = 2", 2; Execute CSharp, "var c = 3;", 5 ]
                  "three segments"
              let first = segments polyglot "csharp" "#!fsharp\nprintfn \"hi\""
              Expect.equal [ for s in first -> s.Kernel ] [ Execute FSharp ] "first-line magic"
              Expect.equal [ for s in segments polyglot "fsharp" "#!markdown\n*text*" -> s.Kernel ] [ Skip ] "#!markdown"
              Expect.equal [ for s in segments polyglot "fsharp" "#!time\nlet x = 1" -> s.Kernel ] [ Unsupported "#!time"; Execute FSharp ] "other magic"
              Expect.equal [ for s in segments polyglot "pwsh" "Get-Date" -> s.Kernel ] [ Unsupported "pwsh" ] "other kernel"
              Expect.isEmpty (segments polyglot "fsharp" "  \n\n") "blank cell"
          }

          test "#r and #load paths are made absolute when they exist beside the notebook" {
              let dir = tempDir ()
              File.WriteAllText(Path.Combine(dir, "a.dll"), "")
              let full = Path.Combine(dir, "a.dll")
              match Kernels.rewriteDirectives true dir Map.empty "#r \"a.dll\"\n#r \"System.Xml\"\nlet x = 1" with
              | Ok code -> Expect.equal code (sprintf "#r @\"%s\"\n#r \"System.Xml\"\nlet x = 1" full) "F#"
              | Error e -> failtest e
              match Kernels.rewriteDirectives false dir Map.empty "#r \"a.dll\"" with
              | Ok code -> Expect.equal code (sprintf "#r \"%s\"" full) "C#"
              | Error e -> failtest e
              match Kernels.rewriteDirectives true dir Map.empty "#r \"nuget: Newtonsoft.Json\"" with
              | Ok _ -> failtest "nuget accepted"
              | Error e -> Expect.stringContains e "--nuget Newtonsoft.Json=" "nuget message names the option"
              match Kernels.rewriteDirectives false dir Map.empty "#r \"nuget: ScottPlot, 5.1.59\"\nvar p = new ScottPlot.Plot();" with
              | Ok code -> Expect.stringStarts code "// provided by tools/NotebookRunner: #r \"nuget: ScottPlot" "ScottPlot is provided"
              | Error e -> failtest e
          }

          test "#r \"nuget: NAME\" becomes #r of the assembly --nuget maps NAME to; #i \"nuget: ...\" becomes a comment" {
              let dir = tempDir ()
              let lib = Path.Combine(dir, "bin", "Engine.dll")
              let packages = Map [ "genesis.fsharp", lib ]
              let cell = "#i \"nuget: ../artifacts/packages\"\n#r \"nuget: Genesis.FSharp, 0.2.0\"\nopen Genesis"
              match Kernels.rewriteDirectives true dir packages cell with
              | Ok code ->
                  Expect.equal
                      code
                      (sprintf "// package source, not used by tools/NotebookRunner (it maps packages with --nuget): #i \"nuget: ../artifacts/packages\"\n#r @\"%s\"\nopen Genesis" lib)
                      "F#: the source is a comment, the package its assembly (line count kept)"
              | Error e -> failtest e
              match Kernels.rewriteDirectives false dir packages "#r \"nuget:genesis.fsharp\"" with
              | Ok code -> Expect.equal code (sprintf "#r \"%s\"" lib) "C#, any case, no version"
              | Error e -> failtest e
              match Kernels.rewriteDirectives true dir packages "#r \"nuget: Genesis.CSharpFacade\"" with
              | Ok _ -> failtest "an unmapped package accepted"
              | Error e -> Expect.stringContains e "--nuget Genesis.CSharpFacade=" "names the option for that package"
              Expect.isError (Kernels.rewriteDirectives true dir packages "#i \"/some/folder\"") "#i without nuget:"
          }

          test "outputs are nbformat 4 JSON" {
              let j (o: CellOutput) = (outputJson o).ToJsonString()
              Expect.equal (j (Stream("stdout", "a\nb\n"))) """{"name":"stdout","output_type":"stream","text":["a\n","b\n"]}""" "stream"
              Expect.equal
                  (j (DisplayData [ "image/png", "iVBO"; "text/plain", "p" ]))
                  """{"data":{"image/png":"iVBO","text/plain":["p"]},"metadata":{},"output_type":"display_data"}"""
                  "display_data"
              Expect.equal
                  (j (ExecuteResult(3, [ "text/plain", "42" ])))
                  """{"data":{"text/plain":["42"]},"execution_count":3,"metadata":{},"output_type":"execute_result"}"""
                  "execute_result"
              Expect.equal
                  (j (ErrorOutput("E", "msg", [ "l1"; "l2" ])))
                  """{"ename":"E","evalue":"msg","output_type":"error","traceback":["l1","l2"]}"""
                  "error"
          }

          test "dependencies listed in a .deps.json resolve under the packages folder" {
              let dir = tempDir ()
              let deps = Path.Combine(dir, "Lib.deps.json")
              File.WriteAllText(
                  deps,
                  """{"targets":{".NETCoreApp,Version=v10.0":{
                       "Lib/1.0.0":{"dependencies":{"Some.Package":"2.0.0"},"runtime":{"Lib.dll":{}}},
                       "Some.Package/2.0.0":{"runtime":{"lib/net10.0/Some.Package.dll":{}}}}},
                     "libraries":{"Lib/1.0.0":{"type":"project"},
                                  "Some.Package/2.0.0":{"type":"package","path":"some.package/2.0.0"}}}"""
              )
              Expect.equal
                  (Kernels.AssemblyResolution.fromDepsJson deps "/pkgs")
                  [ "Some.Package", Path.Combine("/pkgs", "some.package/2.0.0", "lib/net10.0/Some.Package.dll") ]
                  "package assets only"
          }

          test "command line parsing" {
              match Program.parse [ "a.ipynb"; "--out"; "o"; "--timeout"; "5"; "dir" ] with
              | Ok a ->
                  Expect.equal a.Inputs [ "a.ipynb"; "dir" ] "inputs"
                  Expect.equal a.OutDir (Some "o") "out"
                  Expect.equal a.Timeout (Some(TimeSpan.FromSeconds 5.0)) "timeout"
              | Error e -> failtest e
              Expect.isError (Program.parse [ "--ref"; "/no/such/file.dll" ]) "missing --ref file"
              let lib = Path.Combine(tempDir (), "Engine.dll")
              File.WriteAllText(lib, "")
              match Program.parse [ "--nuget"; "Genesis.FSharp=" + lib; "a.ipynb" ] with
              | Ok a -> Expect.equal a.Packages (Map [ "genesis.fsharp", lib ]) "--nuget: lower-case name -> path"
              | Error e -> failtest e
              Expect.isError (Program.parse [ "--nuget"; "Genesis.FSharp=/no/such/file.dll" ]) "missing --nuget file"
              Expect.isError (Program.parse [ "--nuget"; lib ]) "--nuget without NAME="
              Expect.isError (Program.parse [ "--bogus" ]) "unknown option"
              Expect.isError (Program.parse [ "--timeout"; "soon" ]) "bad timeout"
              match Program.parse [ "--timeout"; "0"; "x" ] with
              | Ok a -> Expect.isNone a.Timeout "0 = no limit"
              | Error e -> failtest e
          } ]
