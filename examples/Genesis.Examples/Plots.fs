/// Learning curves written as PNG (ScottPlot); the viewer pages and animations are in Pictures.
module Genesis.Examples.Plots

open System

/// Labels the plot, writes it to a 640 x 400 PNG (creating its folder) and prints where.
let private save (plot: ScottPlot.Plot) (file: string) (title: string) (xLabel: string) (yLabel: string) =
    plot.Title(title)
    plot.XLabel(xLabel)
    plot.YLabel(yLabel)
    let file = IO.Path.GetFullPath file
    IO.Directory.CreateDirectory(IO.Path.GetDirectoryName file) |> ignore
    plot.SavePng(file, 640, 400) |> ignore
    printfn "curve written to %s" file

/// Writes log10 of one value per epoch to a 640 x 400 PNG (creating its folder) and prints where.
let saveLogCurve (file: string) (title: string) (yLabel: string) (values: seq<float>) =
    use plot = new ScottPlot.Plot()
    let ys = values |> Seq.map (fun v -> Math.Log10(max v 1e-300)) |> Seq.toArray
    plot.Add.Scatter(Array.init ys.Length float, ys) |> ignore
    save plot file title "epoch" yLabel

/// Writes several named series of one value per epoch (x: the fraction of the run, so runs of different lengths
/// share the axis) to a 640 x 400 PNG with a legend (creating its folder) and prints where.
let saveCurves (file: string) (title: string) (yLabel: string) (series: (string * float[]) list) =
    use plot = new ScottPlot.Plot()
    for name, ys in series do
        let sc = plot.Add.Scatter(Array.init ys.Length (fun i -> float (i + 1) / float ys.Length), ys)
        sc.LegendText <- name
    plot.ShowLegend() |> ignore
    save plot file title "fraction of the training budget (env-steps)" yLabel
