module Genesis.Tests.Main

/// Runs every [<Tests>] list of this assembly and ends with a plain `N passed, N failed` line.
[<EntryPoint>]
let main argv = Genesis.Testing.ExpectoRunner.runAll argv
