/// A minimal headless-Chromium driver over the DevTools protocol (System.Net.WebSockets): launch,
/// navigate, evaluate JavaScript, collect console errors, exceptions and network requests.
module Genesis.Tests.Vis.Chromium

open System
open System.Collections.Concurrent
open System.Diagnostics
open System.IO
open System.Net.Http
open System.Net.WebSockets
open System.Text
open System.Text.Json
open System.Threading
open System.Threading.Tasks

/// The Chromium executable: $GENESIS_CHROMIUM, else chromium / chromium-browser / google-chrome on PATH.
let executable () =
    let onPath (name: string) =
        (Environment.GetEnvironmentVariable "PATH" |> Option.ofObj |> Option.defaultValue "").Split(Path.PathSeparator)
        |> Array.map (fun d -> Path.Combine(d, name))
        |> Array.tryFind File.Exists
    match Environment.GetEnvironmentVariable "GENESIS_CHROMIUM" with
    | null | "" -> [ "chromium"; "chromium-browser"; "google-chrome" ] |> List.tryPick onPath
    | p -> Some p

/// A running headless browser with one page attached.
type Browser private (proc: Process, profile: string, ws: ClientWebSocket) =
    let mutable nextId = 0
    let pending = ConcurrentDictionary<int, TaskCompletionSource<JsonElement>>()
    let events = ConcurrentQueue<string * JsonElement>()
    let cts = new CancellationTokenSource()
    let reader =
        Task.Run(fun () ->
            task {
                let buf = Array.zeroCreate<byte> (1 <<< 20)
                use msg = new MemoryStream()
                try
                    while ws.State = WebSocketState.Open do
                        let! r = ws.ReceiveAsync(ArraySegment buf, cts.Token)
                        msg.Write(buf, 0, r.Count)
                        if r.EndOfMessage then
                            let doc = JsonDocument.Parse(msg.ToArray())
                            msg.SetLength 0L
                            let root = doc.RootElement.Clone()
                            match root.TryGetProperty "id" with
                            | true, id ->
                                match pending.TryRemove(id.GetInt32()) with
                                | true, tcs -> tcs.SetResult root
                                | _ -> ()
                            | _ -> events.Enqueue((root.GetProperty("method").GetString(), root.GetProperty "params"))
                with _ -> ()
            } :> Task)

    /// Launches Chromium headless (software WebGL) with a fresh profile and attaches to its page.
    static member launch(width: int, height: int) : Browser =
        let exe =
            match executable () with
            | Some e -> e
            | None -> failwith "chromium was not found (install it with tools/install-deps.sh, or set GENESIS_CHROMIUM)"
        let profile = Path.Combine(Path.GetTempPath(), "genesis-chromium-" + Guid.NewGuid().ToString "N")
        Directory.CreateDirectory profile |> ignore
        let args =
            [ "--headless=new"; "--no-sandbox"; "--use-angle=swiftshader"; "--enable-unsafe-swiftshader"
              "--remote-debugging-port=0"; sprintf "--user-data-dir=%s" profile; sprintf "--window-size=%d,%d" width height
              "--no-first-run"; "--no-default-browser-check"; "--disable-extensions"; "--disable-background-networking"; "--disable-dev-shm-usage"
              "--disable-component-update"; "--disable-sync"; "--hide-scrollbars"; "about:blank" ]
        let psi = ProcessStartInfo(exe, args, RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false)
        let proc = Process.Start psi
        proc.ErrorDataReceived.Add ignore
        proc.OutputDataReceived.Add ignore
        proc.BeginErrorReadLine()
        proc.BeginOutputReadLine()
        let portFile = Path.Combine(profile, "DevToolsActivePort")
        let sw = Stopwatch.StartNew()
        let mutable port = None
        while port.IsNone do
            if proc.HasExited then failwithf "chromium exited with code %d before opening the DevTools port" proc.ExitCode
            if sw.Elapsed.TotalSeconds > 30.0 then failwith "chromium did not open its DevTools port within 30 s"
            if File.Exists portFile then
                let lines = try File.ReadAllLines portFile with _ -> [||]
                if lines.Length >= 1 && lines.[0].Trim() <> "" then port <- Some(int (lines.[0].Trim()))
            Thread.Sleep 50
        use http = new HttpClient()
        let mutable pageWs = None
        while pageWs.IsNone do
            if sw.Elapsed.TotalSeconds > 30.0 then failwith "chromium has no page target"
            let list = http.GetStringAsync(sprintf "http://127.0.0.1:%d/json/list" port.Value).Result
            use doc = JsonDocument.Parse list
            pageWs <-
                doc.RootElement.EnumerateArray()
                |> Seq.tryFind (fun t -> t.GetProperty("type").GetString() = "page")
                |> Option.map (fun t -> t.GetProperty("webSocketDebuggerUrl").GetString())
            if pageWs.IsNone then Thread.Sleep 50
        let ws = new ClientWebSocket()
        ws.Options.KeepAliveInterval <- TimeSpan.Zero
        ws.ConnectAsync(Uri pageWs.Value, CancellationToken.None).Wait()
        let b = new Browser(proc, profile, ws)
        for m in [ "Runtime.enable"; "Log.enable"; "Network.enable"; "Page.enable" ] do b.Call(m) |> ignore
        b

    /// Sends a DevTools command and waits for its result (raises on a protocol error).
    member _.Call(methodName: string, ?parameters: obj) : JsonElement =
        let id = Interlocked.Increment(&nextId)
        let tcs = TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously)
        pending.[id] <- tcs
        let msg = JsonSerializer.Serialize(dict [ "id", box id; "method", box methodName; "params", defaultArg parameters (box (dict [])) ])
        ws.SendAsync(ArraySegment(Encoding.UTF8.GetBytes msg), WebSocketMessageType.Text, true, CancellationToken.None).Wait()
        if not (tcs.Task.Wait(TimeSpan.FromSeconds 60.0)) then failwithf "DevTools %s timed out" methodName
        let r = tcs.Task.Result
        match r.TryGetProperty "error" with
        | true, e -> failwithf "DevTools %s failed: %s" methodName (e.GetRawText())
        | _ -> r.GetProperty "result"

    /// Evaluates a JavaScript expression (promises awaited) and returns its value as JSON.
    member b.Eval(expression: string) : JsonElement =
        let r = b.Call("Runtime.evaluate", dict [ "expression", box expression; "returnByValue", box true; "awaitPromise", box true ])
        match r.TryGetProperty "exceptionDetails" with
        | true, e -> failwithf "JavaScript error in %s: %s" expression (e.GetRawText())
        | _ ->
            match r.GetProperty("result").TryGetProperty "value" with
            | true, v -> v
            | _ -> JsonDocument.Parse("null").RootElement

    /// Navigates to a URL and waits until `readyExpression` is true (30 s at most).
    member b.Open(url: string, readyExpression: string) =
        b.Call("Page.navigate", dict [ "url", box url ]) |> ignore
        let sw = Stopwatch.StartNew()
        let mutable ready = false
        while not ready do
            if sw.Elapsed.TotalSeconds > 30.0 then failwithf "page %s not ready after 30 s; console errors: %A" url (b.Errors())
            let v = try b.Eval readyExpression with _ -> JsonDocument.Parse("false").RootElement
            ready <- v.ValueKind = JsonValueKind.True
            if not ready then Thread.Sleep 100

    /// Console errors, uncaught exceptions and error log entries seen so far.
    member _.Errors() : string list =
        [ for m, p in events do
              match m with
              | "Runtime.consoleAPICalled" when p.GetProperty("type").GetString() = "error" || p.GetProperty("type").GetString() = "assert" ->
                  yield "console: " + p.GetProperty("args").GetRawText()
              | "Runtime.exceptionThrown" -> yield "exception: " + p.GetProperty("exceptionDetails").GetRawText()
              | "Log.entryAdded" when p.GetProperty("entry").GetProperty("level").GetString() = "error" ->
                  yield "log: " + p.GetProperty("entry").GetProperty("text").GetString()
              | _ -> () ]

    /// URLs of every network request the page made.
    member _.Requests() : string list =
        [ for m, p in events do
              if m = "Network.requestWillBeSent" then yield p.GetProperty("request").GetProperty("url").GetString() ]

    interface IDisposable with
        member _.Dispose() =
            cts.Cancel()
            (try ws.Abort() with _ -> ())
            (try proc.Kill true with _ -> ())
            (try proc.WaitForExit 5000 |> ignore with _ -> ())
            (try Directory.Delete(profile, true) with _ -> ())
