namespace Genesis.Vis

open System
open System.IO
open System.IO.Compression
open System.Reflection
open System.Text
open Genesis

/// The offline HTML viewer: one self-contained page (three.js r147 inlined from Vis/vendor, the
/// recording as gzip + base64 JSON decoded in the page with DecompressionStream); no network access.
module HtmlViewer =
    let private resource (name: string) =
        use s = Assembly.GetExecutingAssembly().GetManifestResourceStream("Genesis.Vis." + name)
        if isNull s then raise (GenesisException(sprintf "viewer resource '%s' is missing from the assembly" name))
        use r = new StreamReader(s, Encoding.UTF8)
        r.ReadToEnd()

    let private template = lazy (resource "viewer.html", resource "three.min.js", resource "OrbitControls.js")

    /// Gzip + base64 of a recording's JSON.
    let packed (r: Recording) : string =
        use out = new MemoryStream()
        (use z = new GZipStream(out, CompressionLevel.Optimal, true)
         let bytes = Encoding.UTF8.GetBytes(Recording.toJson r)
         z.Write(bytes, 0, bytes.Length))
        Convert.ToBase64String(out.ToArray())

    /// The page's HTML text for a recording.
    let html (title: string) (r: Recording) : string =
        let page, three, orbit = template.Value
        let esc = Net.WebUtility.HtmlEncode title
        page.Replace("__TITLE__", esc).Replace("/*__THREE__*/", three).Replace("/*__ORBIT__*/", orbit).Replace("__DATA__", packed r)

    /// The page inside an iframe element (srcdoc: the page's HTML escaped) of `height` px, full width: the viewer inline
    /// in a notebook's HTML output or any HTML document, still offline.
    let iframe (title: string) (height: int) (r: Recording) : string =
        if height < 100 then raise (GenesisException(sprintf "iframe: height %d px is too small for the viewer (at least 100)" height))
        sprintf "<iframe title=\"%s\" style=\"width: 100%%; height: %dpx; border: 1px solid #ccd;\" srcdoc=\"%s\"></iframe>"
            (Net.WebUtility.HtmlEncode title) height (Net.WebUtility.HtmlEncode(html title r))

    /// Writes the page for a recording to a file.
    let save (path: string) (title: string) (r: Recording) =
        let dir = Path.GetDirectoryName(Path.GetFullPath path)
        Directory.CreateDirectory dir |> ignore
        File.WriteAllText(path, html title r, UTF8Encoding(false))

/// Recording.saveHtml.
[<AutoOpen>]
module HtmlViewerExtensions =
    type Recording with
        /// Writes ONE self-contained offline HTML page showing the recording (orbit camera, z up, play/scrub, envs, epochs).
        member r.saveHtml(path: string, ?title: string) = HtmlViewer.save path (defaultArg title "Genesis recording") r
        /// The viewer as an iframe element (height px, default 480) for a notebook's HTML output: the robot inline.
        member r.iframeHtml(?title: string, ?height: int) = HtmlViewer.iframe (defaultArg title "Genesis recording") (defaultArg height 480) r
