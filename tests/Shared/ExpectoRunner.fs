/// The console entry of the Expecto suites: runs every [<Tests>] list of the entry assembly and ends with a
/// plain `N passed, N failed, N skipped` line (Expecto's own summary is coloured). Linked into each test project.
/// With GENESIS_SKIP_IS_FAILURE=1 (tools/test.sh sets it once it has installed every dependency, so nothing may
/// skip: the MuJoCo oracle suite included) each skipped test counts as a failure and is named.
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
    let skipIsFailure = System.Environment.GetEnvironmentVariable "GENESIS_SKIP_IS_FAILURE" = "1"
    match summary with
    | Some s ->
        let skipped = s.ignored.Length
        if skipIsFailure then
            for (t, _) in s.ignored do printfn "skipped where every dependency is installed (counted as a failure): %s" (String.concat "/" t.name)
        let failed = s.failed.Length + s.errored.Length + (if skipIsFailure then skipped else 0)
        printfn "\n%d passed, %d failed, %d skipped" s.passed.Length failed skipped
        if skipIsFailure && skipped > 0 && code = 0 then 1 else code
    | None ->
        printfn "\n0 passed, 1 failed"
        if code = 0 then 1 else code
