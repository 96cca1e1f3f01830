namespace Genesis.Physics

open System.Xml.Linq
open Genesis.Physics.MorphXml

/// MJCF <option> (see docs/morphs.md): timestep, gravity and integrator; the options that would change the motion
/// and are not modelled raise GenesisNotSupportedException naming the attribute.
module internal MjcfOptions =
    /// The integrator named by <option integrator>: Euler and RK4 are ours; implicit is not modelled.
    let private integrator (file: string) (e: XElement) (text: string) =
        match text with
        | "Euler" -> Integrator.Euler
        | "RK4" -> Integrator.RK4
        | "implicit" ->
            notSupportedAt file e "<option integrator=\"implicit\"> is not supported (Euler and RK4 are; SimOptions(integrator = ...) chooses)"
        | t -> failAt file e "option integrator must be Euler, RK4 or implicit, got '%s'" t

    /// The options stated by one <option> element applied over `options`.
    let parse (file: string) (e: XElement) (options: OptionSpec) : OptionSpec =
        let mutable o = options
        float1 file e "timestep" |> Option.iter (fun t ->
            if not (t > 0.0) then failAt file e "option timestep must be > 0"
            o <- { o with timestep = t; timestepGiven = true })
        floatsN file e "gravity" 3 |> Option.iter (fun g -> o <- { o with gravity = g; gravityGiven = true })
        attr "integrator" e |> Option.iter (fun t -> o <- { o with integrator = Some(integrator file e t) })
        // fluid forces change the motion and are not modelled
        for name, n in [ "density", 1; "viscosity", 1; "wind", 3 ] do
            if floatsN file e name n |> Option.exists (Array.exists ((<>) 0.0)) then
                notSupportedAt file e "<option %s=\"%s\"> is not supported (fluid forces are not modelled)" name (attr name e).Value
        for flag in children "flag" e do
            match attr "gravity" flag with
            | Some "disable" -> o <- { o with gravity = [| 0.0; 0.0; 0.0 |]; gravityGiven = true }
            | Some "enable" | None -> ()
            | Some t -> failAt file flag "<flag> attribute 'gravity' must be enable or disable, got '%s'" t
        o
