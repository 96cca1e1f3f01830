namespace Genesis.NotebookRunner

open System
open System.IO
open System.Text

/// A MIME bundle: (MIME type, content) pairs; text for text/* types, base64 for image/png.
type MimeBundle = (string * string) list

/// One nbformat output of a code cell.
type CellOutput =
    /// Text written to stdout or stderr (name is "stdout" or "stderr").
    | Stream of name: string * text: string
    /// A value shown with `display`.
    | DisplayData of data: MimeBundle
    /// The value of the cell's trailing expression.
    | ExecuteResult of executionCount: int * data: MimeBundle
    /// The error that stopped the notebook.
    | ErrorOutput of ename: string * evalue: string * traceback: string list

/// Collects the outputs of one cell in the order they happen (thread-safe).
type OutputCollector() =
    let items = ResizeArray<Choice<string * StringBuilder, CellOutput>>()
    let gate = obj ()

    /// Appends text to a stream output, merging with the previous output when it is the same stream.
    member _.Write(name: string, text: string) =
        if not (String.IsNullOrEmpty text) then
            lock gate (fun () ->
                match (if items.Count > 0 then Some items[items.Count - 1] else None) with
                | Some(Choice1Of2(n, sb)) when n = name -> sb.Append(text) |> ignore
                | _ -> items.Add(Choice1Of2(name, StringBuilder(text))))

    /// Appends a non-stream output.
    member _.Add(output: CellOutput) = lock gate (fun () -> items.Add(Choice2Of2 output))

    /// The outputs collected so far.
    member _.Outputs: CellOutput list =
        lock gate (fun () ->
            [ for item in items ->
                  match item with
                  | Choice1Of2(n, sb) -> Stream(n, sb.ToString())
                  | Choice2Of2 o -> o ])

/// A TextWriter that appends everything written to it to one stream of a collector.
type CaptureWriter(collector: OutputCollector, name: string) =
    inherit TextWriter()
    /// UTF-8 (the text is kept as .NET strings).
    override _.Encoding = Encoding.UTF8
    /// Appends one character.
    override _.Write(c: char) = collector.Write(name, string c)
    /// Appends a string.
    override _.Write(s: string) = collector.Write(name, s)
    /// Appends part of a character buffer.
    override _.Write(buffer: char[], index: int, count: int) = collector.Write(name, String(buffer, index, count))

/// Where `display` sends its outputs: set by the runner around each cell.
module internal DisplaySink =
    /// The collector of the cell being run, or null outside a cell.
    let mutable current: OutputCollector = Unchecked.defaultof<_>
    /// Formats a value as text/plain in the language of the cell being run.
    let mutable formatText: obj -> string = fun v -> string v

namespace Genesis.Notebooks

open System
open System.Collections
open System.Text
open Genesis.NotebookRunner

/// PNG image data shown as an image/png output: F# `display (Png bytes)`, C# `display(new Png(bytes))`.
[<Sealed; AllowNullLiteral>]
type Png(bytes: byte[]) =
    do
        if isNull bytes then nullArg "bytes"
        if not (Png.IsPng bytes) then
            invalidArg "bytes" "Png: the bytes are not PNG data (they do not start with the PNG signature)"

    /// The PNG file bytes.
    member _.Bytes = bytes

    /// True when the bytes start with the 8-byte PNG signature.
    static member IsPng(data: byte[]) =
        not (isNull data)
        && data.Length >= 8
        && data[0] = 0x89uy && data[1] = 0x50uy && data[2] = 0x4Euy && data[3] = 0x47uy
        && data[4] = 0x0Duy && data[5] = 0x0Auy && data[6] = 0x1Auy && data[7] = 0x0Auy

    /// A short description used as the text/plain alternative.
    override _.ToString() = sprintf "<PNG image, %d bytes>" bytes.Length

/// HTML shown as a text/html output: F# `display (Html "<b>hi</b>")`, C# `display(new Html("<b>hi</b>"))`.
[<Sealed; AllowNullLiteral>]
type Html(html: string) =
    /// The HTML text.
    member _.Text = if isNull html then "" else html
    /// The HTML text itself (also the text/plain alternative).
    override _.ToString() = if isNull html then "" else html

/// The display API shared by F# and C# cells; `display` in both languages calls Display.Show.
[<AbstractClass; Sealed>]
type Display =
    /// Width in pixels of a ScottPlot plot shown with `display plot`.
    static member PlotWidth = 600
    /// Height in pixels of a ScottPlot plot shown with `display plot`.
    static member PlotHeight = 400

    /// The MIME bundle for a value: Png/PNG bytes/ScottPlot.Plot as image/png, Html as text/html, else text/plain.
    static member ToMimeBundle(value: obj, formatText: obj -> string) : MimeBundle =
        let png (bytes: byte[]) =
            [ "image/png", Convert.ToBase64String bytes; "text/plain", sprintf "<PNG image, %d bytes>" bytes.Length ]
        match value with
        | null -> [ "text/plain", "<null>" ]
        | :? Png as p -> png p.Bytes
        | :? (byte[]) as b when Png.IsPng b -> png b
        | :? ScottPlot.Plot as plot ->
            png (plot.GetImageBytes(Display.PlotWidth, Display.PlotHeight, ScottPlot.ImageFormat.Png))
        | :? Html as h -> [ "text/html", h.Text; "text/plain", h.Text ]
        | :? string as s -> [ "text/plain", s ]
        | v -> [ "text/plain", formatText v ]

    /// Shows a value in the output of the running cell (see ToMimeBundle for how each kind is shown).
    static member Show(value: obj) : unit =
        let sink = DisplaySink.current
        if not (isNull (box sink)) then
            sink.Add(DisplayData(Display.ToMimeBundle(value, DisplaySink.formatText)))

    /// Formats a value as text the way C# cells show it: strings as is, sequences as [ a, b, c ].
    static member FormatCSharp(value: obj) : string =
        let rec fmt depth (v: obj) =
            match v with
            | null -> "null"
            | :? string as s -> if depth = 0 then s else "\"" + s + "\""
            | :? IEnumerable as e when depth < 3 ->
                let sb = StringBuilder("[ ")
                let mutable n = 0
                let en = e.GetEnumerator()
                while n <= 100 && en.MoveNext() do
                    if n > 0 then sb.Append(", ") |> ignore
                    if n = 100 then sb.Append("...") |> ignore else sb.Append(fmt (depth + 1) en.Current) |> ignore
                    n <- n + 1
                sb.Append(if n = 0 then "]" else " ]").ToString()
            | v -> v.ToString()
        fmt 0 value

/// The globals of C# cells: makes `display(value)` callable unqualified.
type CSharpGlobals() =
    /// Shows a value in the output of the running cell (same rules as Display.Show).
    member _.display(value: obj) : unit = Display.Show value
