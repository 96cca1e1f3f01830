module Genesis.Tests.TestUtil

open Expecto

/// Expects `f` to raise an exception of type 'E whose message contains every fragment.
let throwsWith<'E when 'E :> exn> (fragments: string list) (f: unit -> unit) =
    let raised =
        try
            f ()
            None
        with
        | :? 'E as e -> Some(e :> exn)
        | e -> failtestf "expected %s but got %s: %s" typeof<'E>.Name (e.GetType().Name) e.Message
    match raised with
    | None -> failtestf "expected %s containing %A but nothing was raised" typeof<'E>.Name fragments
    | Some e ->
        for frag in fragments do
            if not (e.Message.Contains(frag: string)) then
                failtestf "expected message of %s to contain %A, got %A" typeof<'E>.Name frag e.Message
