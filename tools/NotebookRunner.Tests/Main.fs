module NotebookRunner.Tests.Main

open Expecto
open Expecto.Impl

/// Runs every [<Tests>] list of this assembly and ends with a plain `N passed, N failed` line.
[<EntryPoint>]
let main argv =
    let mutable summary: TestRunSummary option = None
    let basePrinter = defaultConfig.printer
    let printer =
        { basePrinter with
            summary = fun config s ->
                summary <- Some s
                basePrinter.summary config s }
    let config = { defaultConfig with printer = printer; colour = Logging.Colour0 }
    let code = runTestsInAssemblyWithCLIArgs [ Printer printer ] argv
    match summary with
    | Some s ->
        let passed = s.passed.Length
        let failed = s.failed.Length + s.errored.Length
        printfn "%d passed, %d failed" passed failed
    | None -> printfn "0 passed, 1 failed"
    ignore config
    try
        if System.IO.Directory.Exists TestUtil.runRoot then System.IO.Directory.Delete(TestUtil.runRoot, true)
    with _ -> ()
    code
