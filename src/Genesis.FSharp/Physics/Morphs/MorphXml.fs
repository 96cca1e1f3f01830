namespace Genesis.Physics

open System
open System.Globalization
open System.IO
open System.Xml
open System.Xml.Linq
open System.Text.RegularExpressions
open Genesis

/// XML reading for the model loaders: documents with line numbers and errors that name the file
/// and the line ("robot.urdf (line 12): joint 'elbow': ...").
module internal MorphXml =
    /// Line number of an XML node (0 when unknown).
    let lineOf (x: XObject) =
        match box x with
        | :? IXmlLineInfo as li when li.HasLineInfo() -> li.LineNumber
        | _ -> 0

    /// "file (line n)", or "file" when the line is unknown.
    let location (file: string) (line: int) = if line > 0 then sprintf "%s (line %d)" file line else file

    /// The file an element was read from when an <include> moved it into another document (an XML annotation).
    [<Sealed; AllowNullLiteral>]
    type IncludedFrom(path: string) =
        /// The included file's path.
        member _.Path = path

    /// The file a node came from: its nearest IncludedFrom annotation (node or ancestor), else `file`.
    let sourceOf (file: string) (x: XObject) =
        let rec up (e: XElement) =
            if isNull e then file
            else
                match e.Annotation<IncludedFrom>() with
                | null -> up e.Parent
                | a -> a.Path
        match x with
        | :? XElement as e -> up e
        | _ -> up x.Parent

    /// Raises a GenesisException "file (line n): message" (the included file when the node came from an <include>).
    let failAt (file: string) (x: XObject) fmt =
        Printf.kprintf (fun msg -> raise (GenesisException(sprintf "%s: %s" (location (sourceOf file x) (lineOf x)) msg))) fmt

    /// Raises a GenesisNotSupportedException "file (line n): message" (the included file when the node came from an <include>).
    let notSupportedAt (file: string) (x: XObject) fmt =
        Printf.kprintf (fun msg -> raise (GenesisNotSupportedException(sprintf "%s: %s" (location (sourceOf file x) (lineOf x)) msg))) fmt

    /// Deepest element nesting a model file may have (bodies are limited to 1000 levels by the loaders).
    [<Literal>]
    let MaxXmlDepth = 2048

    /// Largest magnitude a finite number in a model file may have (larger ones overflow the dynamics).
    [<Literal>]
    let MaxMagnitude = 1e12

    /// Attributes whose values may be infinite (bounds: an infinite one means unbounded).
    let private mayBeInfinite = set [ "range"; "lower"; "upper"; "effort"; "velocity"; "ctrlrange"; "forcerange"; "actuatorfrcrange" ]

    /// Loads an XML file with line information; missing files and malformed XML raise GenesisException.
    let load (kind: string) (file: string) : XDocument =
        if String.IsNullOrWhiteSpace file then Errors.fail "%s file name is empty" kind
        if not (File.Exists file) then Errors.fail "%s file not found: %s" kind file
        // some URDFs (pybullet's plane) declare version="0.0", which .NET rejects and MuJoCo accepts
        let text = Regex.Replace(File.ReadAllText file, "^(\\s*<\\?xml[^>]*?version\\s*=\\s*[\"'])[^\"']*", "${1}1.0")
        if String.IsNullOrWhiteSpace text then Errors.fail "%s file %s is empty" kind file
        // a streaming pass bounds the nesting first: building an XDocument takes time quadratic in the depth
        try
            use r = XmlReader.Create(new StringReader(text), XmlReaderSettings(DtdProcessing = DtdProcessing.Ignore))
            while r.Read() do
                if r.Depth > MaxXmlDepth then
                    Errors.fail "%s: elements are nested more than %d levels deep; a model may nest at most 1000 bodies" (location file (box r :?> IXmlLineInfo).LineNumber) MaxXmlDepth
        with :? XmlException -> () // reported with its line by the parse below
        try
            XDocument.Parse(text, LoadOptions.SetLineInfo)
        with :? XmlException as e ->
            raise (GenesisException(sprintf "%s: malformed XML: %s" (location file e.LineNumber) e.Message, e))

    /// Local name of an element (namespace prefixes such as drake: are kept apart by their namespace).
    let isNamed (name: string) (e: XElement) = e.Name.LocalName = name && e.Name.Namespace = XNamespace.None

    /// Child elements with the given (un-namespaced) name.
    let children (name: string) (e: XElement) = e.Elements() |> Seq.filter (isNamed name) |> Seq.toArray

    /// First child element with the given name, if any.
    let child (name: string) (e: XElement) = e.Elements() |> Seq.tryFind (isNamed name)

    /// Attribute value, if present.
    let attr (name: string) (e: XElement) =
        match e.Attribute(XName.Get name) with
        | null -> None
        | a -> Some a.Value

    /// Parses a whitespace-separated list of floats; raises with the line on a malformed number, a NaN, and an
    /// infinite or huge (|v| > MaxMagnitude) value outside the bound attributes, which may be infinite.
    let parseFloats (file: string) (e: XElement) (name: string) (text: string) : float[] =
        text.Split([| ' '; '\t'; '\n'; '\r' |], StringSplitOptions.RemoveEmptyEntries)
        |> Array.map (fun s ->
            let v =
                match Double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture) with
                | true, v -> v
                | _ ->
                    match s.ToLowerInvariant() with
                    | "inf" | "+inf" -> Double.PositiveInfinity
                    | "-inf" -> Double.NegativeInfinity
                    | _ -> failAt file e "<%s> attribute '%s': '%s' is not a number" e.Name.LocalName name s
            if Double.IsNaN v then failAt file e "<%s> attribute '%s': '%s' is not a number (NaN)" e.Name.LocalName name s
            if not (mayBeInfinite.Contains name) && not (abs v <= MaxMagnitude) then
                failAt file e "<%s> attribute '%s': '%s' is %s; values must be finite with magnitude <= %g" e.Name.LocalName name s (if Double.IsInfinity v then "infinite" else "too large") MaxMagnitude
            v)

    /// Float-list attribute with an exact length, if present.
    let floatsN (file: string) (e: XElement) (name: string) (n: int) : float[] option =
        attr name e
        |> Option.map (fun t ->
            let v = parseFloats file e name t
            if v.Length <> n then failAt file e "<%s> attribute '%s' needs %d numbers, got '%s'" e.Name.LocalName name n t
            v)

    /// Single float attribute, if present.
    let float1 (file: string) (e: XElement) (name: string) : float option =
        floatsN file e name 1 |> Option.map (fun v -> v.[0])

    /// Required string attribute.
    let required (file: string) (e: XElement) (name: string) : string =
        match attr name e with
        | Some v -> v
        | None -> failAt file e "<%s> needs the attribute '%s'" e.Name.LocalName name
