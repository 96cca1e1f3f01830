namespace Genesis.Physics

open System.Xml.Linq
open Genesis.Physics.MorphXml

/// MJCF <actuator> (see docs/morphs.md): motor, position, velocity and general with a joint, tendon or slider-crank
/// transmission, fixed gain, affine bias, gear, ctrlrange/ctrllimited, forcerange/forcelimited. Other actuator
/// elements (muscle, cylinder, ...), dynamics (dyntype) and transmissions raise GenesisNotSupportedException naming
/// the element and line.
module internal MjcfActuators =
    /// What the MJCF reader knows when it reads one actuator element.
    type Input =
        { /// The file (for errors).
          file: string
          /// The attribute's text on the element, else from its default class.
          get: string -> string option
          /// The gear vector as MuJoCo reads it (class then element values over [1; 0; 0; 0; 0; 0]).
          gear: float[]
          /// compiler autolimits.
          autolimits: bool
          /// True when a joint of that name exists.
          hasJoint: string -> bool
          /// True when a tendon of that name exists.
          hasTendon: string -> bool
          /// True when a site of that name exists.
          hasSite: string -> bool }

    let private floats (inp: Input) (e: XElement) (name: string) (n: int) =
        inp.get name
        |> Option.map (fun t ->
            let v = parseFloats inp.file e name t
            if v.Length > n then failAt inp.file e "<%s> attribute '%s' has more than %d numbers" e.Name.LocalName name n
            Array.init n (fun i -> if i < v.Length then v[i] else 0.0))

    let private scalar (inp: Input) (e: XElement) (name: string) (fallback: float) =
        floats inp e name 1 |> Option.map (fun v -> v[0]) |> Option.defaultValue fallback

    /// A range with its *limited flag as MuJoCo 2.2.2 reads it ("auto" = limited when autolimits and a range given).
    let private range (inp: Input) (e: XElement) (what: string) (label: string) =
        let r = floats inp e (what + "range") 2
        let limited =
            match inp.get (what + "limited") |> Option.defaultValue "auto" with
            | "auto" -> inp.autolimits && r.IsSome
            | "true" -> true
            | "false" -> false
            | t -> failAt inp.file e "<%s> attribute '%slimited' must be true, false or auto, got '%s'" e.Name.LocalName what t
        match limited, r with
        | false, _ -> None
        | true, Some r when r[0] < r[1] -> Some(r[0], r[1])
        | true, _ -> failAt inp.file e "%s is %slimited but its %srange is empty or missing" label what what

    let private transmission (inp: Input) (e: XElement) (label: string) =
        let given = [ "joint"; "jointinparent"; "tendon"; "cranksite"; "site" ] |> List.filter (fun n -> (inp.get n).IsSome)
        match given with
        | [ "joint" ] | [ "jointinparent" ] ->
            let j = (inp.get given.Head).Value
            if not (inp.hasJoint j) then failAt inp.file e "%s drives joint '%s', which is not defined" label j
            JointTrn j
        | [ "tendon" ] ->
            let t = (inp.get "tendon").Value
            if not (inp.hasTendon t) then failAt inp.file e "%s drives tendon '%s', which is not defined" label t
            TendonTrn t
        | [ "cranksite" ] ->
            let crank = (inp.get "cranksite").Value
            let slider = match inp.get "slidersite" with Some s -> s | None -> failAt inp.file e "%s has a cranksite but no slidersite" label
            for s in [ crank; slider ] do
                if not (inp.hasSite s) then failAt inp.file e "%s refers to site '%s', which is not defined" label s
            let r = scalar inp e "cranklength" 0.0
            if not (r > 0.0) then failAt inp.file e "%s: a slider-crank needs cranklength > 0, got %g" label r
            SliderCrankTrn(crank, slider, r)
        | [ "site" ] -> notSupportedAt inp.file e "%s: site transmissions are not supported (joint, tendon and slider-crank are)" label
        | [] -> failAt inp.file e "%s has no transmission: give joint, tendon or cranksite" label
        | several -> failAt inp.file e "%s has several transmissions (%s); give one" label (String.concat ", " several)

    /// The actuator of one element of <actuator>.
    let parse (inp: Input) (e: XElement) : ActuatorSpec =
        let element = e.Name.LocalName
        let name = attr "name" e |> Option.defaultValue ""
        let label = sprintf "actuator <%s name='%s'>" element name
        let kind =
            match element with
            | "motor" -> Motor
            | "position" -> Position
            | "velocity" -> Velocity
            | "general" -> General
            | "muscle" ->
                notSupportedAt inp.file e "%s is not supported: muscles (activation dynamics, force-length-velocity gain) are not modelled" label
            | other -> notSupportedAt inp.file e "actuator <%s name='%s'> is not supported (motor, position, velocity and general are)" other name
        match inp.get "dyntype" with
        | Some d when kind = General && d <> "none" ->
            notSupportedAt inp.file e "%s: dyntype '%s' is not supported (actuator activation dynamics are not modelled)" label d
        | _ -> ()
        let gain, bias =
            match kind with
            | Motor -> 1.0, [| 0.0; 0.0; 0.0 |]
            | Position -> let kp = scalar inp e "kp" 1.0 in kp, [| 0.0; -kp; 0.0 |]
            | Velocity -> let kv = scalar inp e "kv" 1.0 in kv, [| 0.0; 0.0; -kv |]
            | General ->
                match inp.get "gaintype" |> Option.defaultValue "fixed", inp.get "biastype" |> Option.defaultValue "none" with
                | "fixed", (("none" | "affine") as bt) ->
                    let g = floats inp e "gainprm" 10 |> Option.map (fun v -> v[0]) |> Option.defaultValue 1.0
                    let b = if bt = "none" then [| 0.0; 0.0; 0.0 |] else floats inp e "biasprm" 10 |> Option.map (fun v -> v[0..2]) |> Option.defaultValue [| 0.0; 0.0; 0.0 |]
                    g, b
                | gt, bt -> notSupportedAt inp.file e "%s: gaintype '%s' / biastype '%s' is not supported (fixed gain, none or affine bias are)" label gt bt
        let trn = transmission inp e label
        if inp.gear[1..] |> Array.exists ((<>) 0.0) then
            notSupportedAt inp.file e "%s: a gear with more than one non-zero entry is not supported (hinge/slide joints, tendons and slider-cranks use gear[0])" label
        { name = name; kind = kind; transmission = trn; gear = inp.gear[0]
          ctrlrange = range inp e "ctrl" label; forcerange = range inp e "force" label; gain = gain; bias = bias }
