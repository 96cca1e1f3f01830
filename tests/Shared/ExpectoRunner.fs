/// The console entry of the Expecto suites: runs every [<Tests>] list of the entry assembly and ends with a
/// plain `N passed, N failed` line (Expecto's own summary is coloured). Linked into each test project.
module Genesis.Testing.ExpectoRunner

open Expecto
open Expecto.Impl

/// Runs the suite with Expecto's command-line arguments; returns Expecto's exit code.
let runAll (argv: string[]) =
    let mutable summary: TestRunSummary option = None
    let basePrinter = defaultConfig.printer
    let printer =
        { basePrinter with
            summary = fun config s ->
                summary <- Some s
                basePrinter.summary config s }
    let code = runTestsInAssemblyWithCLIArgs [ Printer printer ] argv
    match summary with
    | Some s -> printfn "\n%d passed, %d failed" s.passed.Length (s.failed.Length + s.errored.Length)
    | None -> printfn "\n0 passed, 1 failed"
    code
