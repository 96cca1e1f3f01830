namespace Genesis.Physics

open System.Xml.Linq
open Genesis.Physics.MorphXml

/// MJCF <equality> reading: <connect>, <weld> and <joint> with MuJoCo 2.2's attributes and defaults (see docs/morphs.md).
module internal MjcfEquality =
    /// MuJoCo's default solver reference (timeconst, dampratio).
    let defaultSolref = [| 0.02; 1.0 |]
    /// MuJoCo's default solver impedance (dmin, dmax, width, midpoint, power).
    let defaultSolimp = [| 0.9; 0.95; 0.001; 0.5; 2.0 |]

    /// A vector attribute: the class default, then the element's numbers overwrite a prefix (MuJoCo's reading).
    let private vector (file: string) (get: string -> string option) (e: XElement) (name: string) (builtin: float[]) =
        let v = Array.copy builtin
        match get name with
        | Some t ->
            let vals = parseFloats file e name t
            if vals.Length > v.Length then failAt file e "<%s> attribute '%s' has more than %d numbers" e.Name.LocalName name v.Length
            Array.blit vals 0 v 0 vals.Length
        | None -> ()
        v

    /// The active constraints of one <equality> section. `get e name` reads an attribute of e or of its default class;
    /// `isBody` and `isJoint` say whether a name is declared, so a reference to a missing one names file and line.
    let parse (file: string) (get: XElement -> string -> string option) (isBody: string -> bool) (isJoint: string -> bool) (section: XElement) =
        [| for e in section.Elements() do
               let tag = e.Name.LocalName
               let read = get e
               let name = attr "name" e |> Option.defaultValue ""
               let label = if name = "" then sprintf "<%s>" tag else sprintf "<%s name='%s'>" tag name
               let required (a: string) =
                   match attr a e with
                   | Some v when v.Trim() <> "" -> v
                   | _ -> failAt file e "equality %s needs a '%s'" label a
               let bodyRef (a: string) (v: string) =
                   if not (isBody v) then failAt file e "equality %s: %s '%s' is not a body of the model" label a v
                   v
               let jointRef (a: string) (v: string) =
                   if not (isJoint v) then failAt file e "equality %s: %s '%s' is not a joint of the model" label a v
                   v
               let kind, obj1, obj2 =
                   match tag with
                   | "connect" | "weld" ->
                       let b1 = bodyRef "body1" (required "body1")
                       let b2 = attr "body2" e |> Option.map (bodyRef "body2") |> Option.defaultValue "world"
                       (if tag = "connect" then Connect else Weld), b1, b2
                   | "joint" -> JointCoupling, jointRef "joint1" (required "joint1"), (attr "joint2" e |> Option.map (jointRef "joint2") |> Option.defaultValue "")
                   | other -> notSupportedAt file e "equality <%s> is not supported (only connect, weld and joint)" other
               let active =
                   match read "active" |> Option.defaultValue "true" with
                   | "true" -> true
                   | "false" -> false
                   | t -> failAt file e "equality %s: 'active' must be true or false, got '%s'" label t
               if kind = Connect && attr "anchor" e |> Option.isNone then failAt file e "equality %s needs an 'anchor'" label
               match read "torquescale" with
               | Some t when (parseFloats file e "torquescale" t) <> [| 1.0 |] -> notSupportedAt file e "equality %s: weld torquescale other than 1 is not supported" label
               | _ -> ()
               let solref = vector file read e "solref" defaultSolref
               let solimp = vector file read e "solimp" defaultSolimp
               if solimp[0] < 0.0 || solimp[1] > 1.0 || solimp[0] > 1.0 || solimp[1] < 0.0 then
                   failAt file e "equality %s: solimp dmin and dmax must lie in [0, 1]" label
               if active then
                   yield { name = name; kind = kind; obj1 = obj1; obj2 = obj2
                           anchor = vector file read e "anchor" [| 0.0; 0.0; 0.0 |]
                           relpose = vector file read e "relpose" [| 0.0; 1.0; 0.0; 0.0; 0.0; 0.0; 0.0 |]
                           polycoef = vector file read e "polycoef" [| 0.0; 1.0; 0.0; 0.0; 0.0 |]
                           solref = solref; solimp = solimp
                           source = location (sourceOf file e) (lineOf e) } |]
