namespace Genesis.Physics

open System.Xml.Linq
open Genesis.Physics.MorphXml

/// MJCF <tendon> (see docs/morphs.md): <fixed> tendons over hinge/slide joints and <spatial> tendons through sites,
/// with stiffness, damping, springlength and limited range. Wrapping (<geom>) and <pulley> raise
/// GenesisNotSupportedException naming the element and line.
module internal MjcfTendons =
    /// What the MJCF reader knows when it reads one tendon element.
    type Input =
        { /// The file (for errors).
          file: string
          /// The attribute's text on the element, else from its default class.
          get: string -> string option
          /// compiler autolimits.
          autolimits: bool
          /// True when a hinge or slide joint of that name exists; None when no joint has that name.
          jointIsScalar: string -> bool option
          /// True when a site of that name exists.
          hasSite: string -> bool }

    let private scalar (inp: Input) (e: XElement) (name: string) (fallback: float) =
        match inp.get name with
        | Some t ->
            match parseFloats inp.file e name t with
            | [| v |] -> v
            | _ -> failAt inp.file e "<%s> attribute '%s' needs one number, got '%s'" e.Name.LocalName name t
        | None -> fallback

    let private range (inp: Input) (e: XElement) (label: string) =
        let r =
            inp.get "range" |> Option.map (fun t ->
                match parseFloats inp.file e "range" t with
                | [| a; b |] -> a, b
                | _ -> failAt inp.file e "%s: range needs 2 numbers, got '%s'" label t)
        let limited =
            match inp.get "limited" |> Option.defaultValue "auto" with
            | "auto" -> inp.autolimits && r.IsSome
            | "true" -> true
            | "false" -> false
            | t -> failAt inp.file e "%s: limited must be true, false or auto, got '%s'" label t
        match limited, r with
        | false, _ -> None
        | true, Some(a, b) when a < b -> Some(a, b)
        | true, _ -> failAt inp.file e "%s is limited but its range is empty or missing" label

    let private fixedPath (inp: Input) (e: XElement) (label: string) =
        let joints =
            [| for c in e.Elements() do
                   match c.Name.LocalName with
                   | "joint" ->
                       let j = match attr "joint" c with Some j -> j | None -> failAt inp.file c "%s: <joint> needs a 'joint'" label
                       match inp.jointIsScalar j with
                       | None -> failAt inp.file c "%s refers to joint '%s', which is not defined" label j
                       | Some false -> notSupportedAt inp.file c "%s: joint '%s' is a ball or free joint; fixed tendons couple hinge and slide joints" label j
                       | Some true -> ()
                       let coef =
                           match attr "coef" c with
                           | Some t -> (match parseFloats inp.file c "coef" t with [| v |] -> v | _ -> failAt inp.file c "%s: coef needs one number" label)
                           | None -> failAt inp.file c "%s: <joint joint='%s'> needs a 'coef'" label j
                       yield j, coef
                   | other -> failAt inp.file c "%s: element <%s> is not allowed in a fixed tendon (only <joint>)" label other |]
        if joints.Length = 0 then failAt inp.file e "%s has no joints; a fixed tendon needs at least one <joint joint=... coef=...>" label
        FixedPath joints

    let private spatialPath (inp: Input) (e: XElement) (label: string) =
        let sites =
            [| for c in e.Elements() do
                   match c.Name.LocalName with
                   | "site" ->
                       let s = match attr "site" c with Some s -> s | None -> failAt inp.file c "%s: <site> needs a 'site'" label
                       if not (inp.hasSite s) then failAt inp.file c "%s refers to site '%s', which is not defined" label s
                       yield s
                   | "geom" -> notSupportedAt inp.file c "%s: wrapping around geoms (<geom> in a spatial tendon) is not supported" label
                   | "pulley" -> notSupportedAt inp.file c "%s: <pulley> is not supported" label
                   | other -> failAt inp.file c "%s: element <%s> is not allowed in a spatial tendon" label other |]
        if sites.Length < 2 then failAt inp.file e "%s needs at least two <site>s, got %d" label sites.Length
        SpatialPath sites

    /// The tendon of one element of <tendon>.
    let parse (inp: Input) (e: XElement) : TendonSpec =
        let name = attr "name" e |> Option.defaultValue ""
        let label = sprintf "tendon <%s name='%s'>" e.Name.LocalName name
        let path =
            match e.Name.LocalName with
            | "fixed" -> fixedPath inp e label
            | "spatial" -> spatialPath inp e label
            | other -> failAt inp.file e "element <%s> is not a tendon (fixed or spatial)" other
        let springlength = scalar inp e "springlength" -1.0
        let stiffness, damping = scalar inp e "stiffness" 0.0, scalar inp e "damping" 0.0
        if stiffness < 0.0 || damping < 0.0 then failAt inp.file e "%s: stiffness and damping must be >= 0" label
        { name = name; path = path; stiffness = stiffness; damping = damping
          springlength = (if springlength >= 0.0 then Some springlength else None); range = range inp e label }
