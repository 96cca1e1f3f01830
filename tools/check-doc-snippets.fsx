// Checks that every fenced code block of the given Markdown files is taken from a file that CI runs:
// the block must be preceded by a line `<!-- from: path/relative/to/repo -->`, and its non-blank lines
// (trimmed) must appear as consecutive non-blank lines (trimmed) of that file. For a notebook (.ipynb)
// the file's lines are the sources of its cells.
// Usage: dotnet fsi tools/check-doc-snippets.fsx docs/a.md docs/b.md ...   (exit 1 on any mismatch)
open System
open System.IO
open System.Text.Json
open System.Text.RegularExpressions

let root = Path.GetFullPath(Path.Combine(__SOURCE_DIRECTORY__, ".."))

let significant (lines: seq<string>) =
    lines |> Seq.map (fun l -> l.Trim()) |> Seq.filter (fun l -> l <> "") |> Seq.toArray

let sourceLines (path: string) =
    let text = File.ReadAllText path
    if path.EndsWith ".ipynb" then
        use doc = JsonDocument.Parse text
        [| for cell in doc.RootElement.GetProperty("cells").EnumerateArray() do
               let src = cell.GetProperty "source"
               let cellText =
                   if src.ValueKind = JsonValueKind.Array then String.Join("", [| for s in src.EnumerateArray() -> s.GetString() |])
                   else src.GetString()
               yield! cellText.Split('\n') |]
    else text.Split('\n')

let contains (haystack: string[]) (needle: string[]) =
    needle.Length = 0
    || seq { 0 .. haystack.Length - needle.Length }
       |> Seq.exists (fun i -> Array.forall2 (=) needle haystack[i .. i + needle.Length - 1])

let marker = Regex(@"^<!--\s*from:\s*(\S+)\s*-->\s*$")
let mutable failures = 0
let mutable blocks = 0
let fail (doc: string) (line: int) (msg: string) =
    failures <- failures + 1
    eprintfn "%s:%d: %s" doc line msg

for doc in fsi.CommandLineArgs |> Array.skip 1 do
    let lines = File.ReadAllLines(Path.Combine(root, doc))
    let mutable i = 0
    while i < lines.Length do
        if lines[i].TrimStart().StartsWith "```" then
            let start = i
            let mutable j = i + 1
            while j < lines.Length && not (lines[j].TrimStart().StartsWith "```") do j <- j + 1
            blocks <- blocks + 1
            let body = significant lines[start + 1 .. j - 1]
            let prev = lines[.. start - 1] |> Array.tryFindBack (fun l -> l.Trim() <> "")
            match prev |> Option.map (fun p -> marker.Match(p.Trim())) with
            | Some m when m.Success ->
                let file = Path.Combine(root, m.Groups[1].Value)
                if not (File.Exists file) then fail doc (start + 1) (sprintf "source %s does not exist" m.Groups[1].Value)
                elif not (contains (significant (sourceLines file)) body) then
                    fail doc (start + 1) (sprintf "code block is not an excerpt of %s" m.Groups[1].Value)
            | _ -> fail doc (start + 1) "code block without a preceding <!-- from: path --> line"
            i <- j + 1
        else i <- i + 1

printfn "doc snippets: %d code blocks checked, %d not taken from their source" blocks failures
if failures > 0 then exit 1
