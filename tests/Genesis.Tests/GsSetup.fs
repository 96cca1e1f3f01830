/// Shared set-up for tests that need gs: float64 precision, initialised once.
module Genesis.Tests.GsSetup

open Genesis

let private gate = obj ()

/// Initialises gs with precision "64" unless it is already initialised so.
let ensure64 () =
    lock gate (fun () ->
        if gs.isInitialized && gs.precision <> "64" then gs.destroy ()
        if not gs.isInitialized then gs.init(precision = "64", seed = 1234))

/// The repository's assets folder (found by walking up from the test binary).
let assetsDir =
    let rec up (d: System.IO.DirectoryInfo) =
        if isNull d then failwith "assets/ not found above the test binary"
        elif System.IO.Directory.Exists(System.IO.Path.Combine(d.FullName, "assets", "two_link_arm")) then System.IO.Path.Combine(d.FullName, "assets")
        else up d.Parent
    up (System.IO.DirectoryInfo(System.AppContext.BaseDirectory))

/// A path under assets/.
let asset (relative: string) = System.IO.Path.Combine(assetsDir, relative)

/// Central finite-difference Jacobian of f : float[] -> float[] at x, [m][n].
let fdJacobian (f: float[] -> float[]) (x: float[]) (h: float) =
    let n = x.Length
    let cols =
        Array.init n (fun j ->
            let xp = Array.copy x
            let xm = Array.copy x
            xp[j] <- xp[j] + h
            xm[j] <- xm[j] - h
            Array.map2 (fun a b -> (a - b) / (2.0 * h)) (f xp) (f xm))
    let m = cols[0].Length
    Array.init m (fun i -> Array.init n (fun j -> cols[j][i]))

/// Max relative error between two matrices, relative to max(1e-3, |expected| max).
let relErr (expected: float[][]) (actual: float[][]) =
    let scale = max 1e-3 (expected |> Array.collect id |> Array.map abs |> Array.max)
    Array.map2 (Array.map2 (fun e a -> abs (e - a))) expected actual |> Array.collect id |> Array.max |> fun d -> d / scale

/// A uniform sample in [lo, hi).
let uniform (rnd: System.Random) lo hi = lo + (hi - lo) * rnd.NextDouble()

/// A uniformly distributed unit quaternion (w, x, y, z).
let randomQuat (rnd: System.Random) =
    let g () = sqrt (-2.0 * log (1.0 - rnd.NextDouble())) * cos (2.0 * System.Math.PI * rnd.NextDouble())
    Genesis.Physics.SpecMath.normalize (Array.init 4 (fun _ -> g ()))

/// Random qpos of an entity: hinge/slide positions uniform in their range (+-pi / +-0.5 m when unlimited),
/// random unit quaternions for ball and free joints, free positions in [-1, 1]^3.
let randomQpos (rnd: System.Random) (e: Genesis.Physics.EntitySpec) =
    Genesis.Physics.EntitySpec.joints e
    |> Array.collect (fun (_, j) ->
        match j.jtype with
        | Genesis.Physics.Free -> Array.append (Array.init 3 (fun _ -> uniform rnd -1.0 1.0)) (randomQuat rnd)
        | Genesis.Physics.Ball -> randomQuat rnd
        | Genesis.Physics.Hinge | Genesis.Physics.Slide ->
            let lo, hi = j.range |> Option.defaultValue (if j.jtype = Genesis.Physics.Hinge then -System.Math.PI, System.Math.PI else -0.5, 0.5)
            [| uniform rnd lo hi |])
