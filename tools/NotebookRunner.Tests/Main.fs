module NotebookRunner.Tests.Main

/// Runs every [<Tests>] list of this assembly, ends with a plain `N passed, N failed` line, and removes the run's temporary folder.
[<EntryPoint>]
let main argv =
    let code = Genesis.Testing.ExpectoRunner.runAll argv
    try
        if System.IO.Directory.Exists TestUtil.runRoot then System.IO.Directory.Delete(TestUtil.runRoot, true)
    with _ -> ()
    code
