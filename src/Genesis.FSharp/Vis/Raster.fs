namespace Genesis.Vis

open System
open Genesis
open Genesis.Physics

/// A pinhole camera: image size, eye, orthonormal axes (forward, right, up), vertical field of view
/// and the focal length in pixels.
type CameraView =
    { /// Image width (pixels).
      width: int
      /// Image height (pixels).
      height: int
      /// Eye position (m).
      eye: float[]
      /// Unit viewing direction.
      forward: float[]
      /// Unit image-right direction.
      right: float[]
      /// Unit image-up direction.
      up: float[]
      /// Vertical field of view (degrees).
      fov: float
      /// Focal length in pixels: (height / 2) / tan(fov / 2).
      focal: float }

/// A shape placed in the world for drawing: rotation (local to world, 3x3 row-major) and origin;
/// meshes carry world vertices.
type internal Placed =
    { kind: string
      size: float[]
      rgba: float[]
      rot: float[]
      pos: float[]
      vertices: float[]
      faces: int[] }

/// A deterministic software renderer: every pixel's ray is intersected exactly with the primitives
/// (sphere, ellipsoid, box, cylinder, capsule, plane) and with mesh triangles inside their screen
/// bounding boxes; the nearest hit wins (a z-buffer), Lambert shading. Depth is the distance along
/// the viewing axis (m), +infinity where nothing is hit.
module Raster =
    /// Background colour (RGB bytes).
    let background = [| 235uy; 238uy; 242uy |]

    /// Direction towards the sun (unit).
    let private sun = SpecMath.normalize [| 0.4; 0.3; 1.0 |]

    let private fail fmt = Printf.kprintf (fun m -> raise (GenesisException m)) fmt

    /// A camera view: raises GenesisException on a non-positive resolution, fov outside (0, 180), a
    /// lookat equal to pos or an up parallel to the viewing direction.
    let view (width: int, height: int) (pos: float[]) (lookat: float[]) (up: float[]) (fov: float) : CameraView =
        if width <= 0 || height <= 0 then fail "camera resolution must be positive, got (%d, %d)" width height
        if not (fov > 0.0 && fov < 180.0) then fail "camera fov must be in (0, 180) degrees, got %g" fov
        for name, v in [ "pos", pos; "lookat", lookat; "up", up ] do
            if v.Length <> 3 || v |> Array.exists (fun x -> not (Double.IsFinite x)) then
                fail "camera %s needs 3 finite values, got [%s]" name (v |> Array.map string |> String.concat "; ")
        let d = SpecMath.sub lookat pos
        if SpecMath.norm d < 1e-12 then fail "camera lookat equals pos ([%g; %g; %g])" pos.[0] pos.[1] pos.[2]
        let f = SpecMath.normalize d
        let r = SpecMath.cross f up
        if SpecMath.norm r < 1e-9 * SpecMath.norm up then fail "camera up [%g; %g; %g] is parallel to the viewing direction" up.[0] up.[1] up.[2]
        let r = SpecMath.normalize r
        { width = width; height = height; eye = Array.copy pos; forward = f; right = r; up = SpecMath.cross r f
          fov = fov; focal = float height / 2.0 / tan (fov * Math.PI / 360.0) }

    /// A shape record placed at a link pose (link origin and [w; x; y; z] orientation).
    let internal place (linkPos: float[]) (linkQuat: float[]) (s: ShapeRecord) : Placed =
        let pos, quat = SpecMath.frameAccum linkPos (SpecMath.normalize linkQuat) s.pos s.quat
        let rot = SpecMath.quatToMat quat
        let verts =
            Array.init s.vertices.Length (fun k ->
                let i, a = k / 3, k % 3
                pos.[a] + rot.[3 * a] * s.vertices.[3 * i] + rot.[3 * a + 1] * s.vertices.[3 * i + 1] + rot.[3 * a + 2] * s.vertices.[3 * i + 2])
        { kind = s.kind; size = s.size; rgba = s.rgba; rot = rot; pos = pos; vertices = verts; faces = s.faces }

    /// Nearest t > 0 with |o + t d| = r (o, d in the sphere's frame), or +infinity.
    let private sphereT (ox, oy, oz) (dx, dy, dz) (r: float) =
        let a = dx * dx + dy * dy + dz * dz
        let b = ox * dx + oy * dy + oz * dz
        let c = ox * ox + oy * oy + oz * oz - r * r
        let disc = b * b - a * c
        if disc < 0.0 then infinity
        else
            let sq = sqrt disc
            let t1 = (-b - sq) / a
            if t1 > 0.0 then t1 else (let t2 = (-b + sq) / a in if t2 > 0.0 then t2 else infinity)

    /// Nearest t > 0 on the side of the z-axis cylinder of radius r with |z| <= h, or +infinity.
    let private tubeT (ox, oy, oz) (dx, dy, dz) (r: float) (h: float) =
        let a = dx * dx + dy * dy
        if a = 0.0 then infinity
        else
            let b = ox * dx + oy * dy
            let disc = b * b - a * (ox * ox + oy * oy - r * r)
            if disc < 0.0 then infinity
            else
                let sq = sqrt disc
                let ok t = t > 0.0 && abs (oz + t * dz) <= h
                let t1, t2 = (-b - sq) / a, (-b + sq) / a
                if ok t1 then t1 elif ok t2 then t2 else infinity

    /// Nearest hit of a local ray with a primitive: (t, local normal).
    let private hitLocal (p: Placed) (o: float * float * float) (d: float * float * float) : float * (float * float * float) =
        let ox, oy, oz = o
        let dx, dy, dz = d
        let at t = ox + t * dx, oy + t * dy, oz + t * dz
        let s = p.size
        let best (cands: (float * (float -> float * float * float)) list) =
            match cands |> List.filter (fun (t, _) -> t < infinity) with
            | [] -> infinity, (0.0, 0.0, 1.0)
            | cs -> let t, n = List.minBy fst cs in t, n t
        match p.kind with
        | "sphere" -> best [ sphereT o d s.[0], at ]
        | "ellipsoid" ->
            let t = sphereT (ox / s.[0], oy / s.[1], oz / s.[2]) (dx / s.[0], dy / s.[1], dz / s.[2]) 1.0
            best [ t, (fun t -> let x, y, z = at t in x / (s.[0] * s.[0]), y / (s.[1] * s.[1]), z / (s.[2] * s.[2])) ]
        | "capsule" ->
            let r, h = s.[0], s.[1]
            best [ tubeT o d r h, (fun t -> let x, y, _ = at t in x, y, 0.0)
                   sphereT (ox, oy, oz - h) d r, (fun t -> let x, y, z = at t in x, y, z - h)
                   sphereT (ox, oy, oz + h) d r, (fun t -> let x, y, z = at t in x, y, z + h) ]
        | "cylinder" ->
            let r, h = s.[0], s.[1]
            let cap (zc: float) =
                if dz = 0.0 then infinity
                else
                    let t = (zc - oz) / dz
                    let x, y, _ = at t
                    if t > 0.0 && x * x + y * y <= r * r then t else infinity
            best [ tubeT o d r h, (fun t -> let x, y, _ = at t in x, y, 0.0)
                   cap h, (fun _ -> 0.0, 0.0, 1.0)
                   cap -h, (fun _ -> 0.0, 0.0, -1.0) ]
        | "box" ->
            let oa, da = [| ox; oy; oz |], [| dx; dy; dz |]
            let mutable tn, tf, an, af, miss = -infinity, infinity, 0, 0, false
            for k in 0 .. 2 do
                if da.[k] = 0.0 then (if abs oa.[k] > s.[k] then miss <- true)
                else
                    let t0, t1 = (-s.[k] - oa.[k]) / da.[k], (s.[k] - oa.[k]) / da.[k]
                    let lo, hi = min t0 t1, max t0 t1
                    if lo > tn then tn <- lo; an <- k
                    if hi < tf then tf <- hi; af <- k
            let normal k sign = (if k = 0 then sign else 0.0), (if k = 1 then sign else 0.0), (if k = 2 then sign else 0.0)
            if miss || tn > tf || tf <= 0.0 then infinity, (0.0, 0.0, 1.0)
            elif tn > 0.0 then tn, normal an (-(float (sign da.[an])))
            else tf, normal af (float (sign da.[af]))
        | "plane" ->
            if dz = 0.0 then infinity, (0.0, 0.0, 1.0)
            else
                let t = -oz / dz
                let x, y, _ = at t
                if t > 0.0 && (s.[0] <= 0.0 || abs x <= s.[0]) && (s.[1] <= 0.0 || abs y <= s.[1]) then t, (0.0, 0.0, 1.0)
                else infinity, (0.0, 0.0, 1.0)
        | _ -> infinity, (0.0, 0.0, 1.0)

    /// Bounding radius of a primitive about its origin (+infinity for a plane).
    let private radius (p: Placed) =
        let s = p.size
        match p.kind with
        | "sphere" -> s.[0]
        | "ellipsoid" -> Array.max s
        | "capsule" -> s.[0] + s.[1]
        | "cylinder" -> sqrt (s.[0] * s.[0] + s.[1] * s.[1])
        | "box" -> SpecMath.norm s
        | _ -> infinity

    /// Pixel rectangle (rows i0..i1, columns j0..j1) that holds the projection of the given
    /// camera-frame points each grown by `grow` (m); the whole image when one is not in front.
    let private screenBox (v: CameraView) (pts: (float * float * float) list) (grow: float) =
        let whole = 0, v.height - 1, 0, v.width - 1
        if grow = infinity || pts |> List.exists (fun (_, _, z) -> z - grow <= 1e-9) then whole
        else
            let us = pts |> List.collect (fun (x, _, z) -> [ (x - grow) / (z - grow); (x - grow) / (z + grow); (x + grow) / (z - grow); (x + grow) / (z + grow) ])
            let vs = pts |> List.collect (fun (_, y, z) -> [ (y - grow) / (z - grow); (y - grow) / (z + grow); (y + grow) / (z - grow); (y + grow) / (z + grow) ])
            let w2, h2 = float v.width / 2.0, float v.height / 2.0
            let clampI lo hi (x: float) = if Double.IsNaN x then lo else int (max (float lo) (min (float hi) x))
            clampI 0 (v.height - 1) (floor (h2 - 0.5 - List.max vs * v.focal) - 1.0),
            clampI 0 (v.height - 1) (ceil (h2 - 0.5 - List.min vs * v.focal) + 1.0),
            clampI 0 (v.width - 1) (floor (List.min us * v.focal + w2 - 0.5) - 1.0),
            clampI 0 (v.width - 1) (ceil (List.max us * v.focal + w2 - 0.5) + 1.0)

    /// Camera-frame coordinates (right, up, forward) of a world point.
    let private toCamera (v: CameraView) (p: float[]) =
        let q = SpecMath.sub p v.eye
        SpecMath.dot q v.right, SpecMath.dot q v.up, SpecMath.dot q v.forward

    /// Renders placed shapes: RGB bytes [H; W; 3] row-major (row 0 at the top) and depth [H; W] (m).
    let internal render (v: CameraView) (shapes: Placed[]) : byte[] * float[] =
        let w, h = v.width, v.height
        let rgb = Array.init (w * h * 3) (fun k -> background.[k % 3])
        let depth = Array.create (w * h) infinity
        let ray i j =
            let u = (float j + 0.5 - float w / 2.0) / v.focal
            let vv = (float h / 2.0 - float i - 0.5) / v.focal
            Array.init 3 (fun a -> v.forward.[a] + u * v.right.[a] + vv * v.up.[a])
        let shade (p: Placed) (i: int) (j: int) (t: float) (n: float[]) (d: float[]) =
            let k = i * w + j
            if t < depth.[k] then
                depth.[k] <- t
                let n = SpecMath.normalize n
                let n = if SpecMath.dot n d > 0.0 then SpecMath.scale -1.0 n else n
                let light = 0.3 + 0.45 * max 0.0 (SpecMath.dot n sun) + 0.25 * max 0.0 (-(SpecMath.dot n d) / SpecMath.norm d)
                let checker =
                    if p.kind = "plane" then
                        let hit = Array.init 3 (fun a -> v.eye.[a] + t * d.[a])
                        let local = SpecMath.matVec (SpecMath.transpose p.rot) (SpecMath.sub hit p.pos)
                        if (int (floor local.[0]) + int (floor local.[1])) % 2 = 0 then 1.0 else 0.85
                    else 1.0
                for a in 0 .. 2 do
                    rgb.[3 * k + a] <- byte (Math.Round(255.0 * max 0.0 (min 1.0 (p.rgba.[a] * light * checker))))
        for p in shapes |> Array.filter (fun p -> p.rgba.Length < 4 || p.rgba.[3] > 0.0) do
            if p.kind = "mesh" then
                let vert k = [| p.vertices.[3 * k]; p.vertices.[3 * k + 1]; p.vertices.[3 * k + 2] |]
                for f in 0 .. p.faces.Length / 3 - 1 do
                    let a, b, c = vert p.faces.[3 * f], vert p.faces.[3 * f + 1], vert p.faces.[3 * f + 2]
                    let e1, e2 = SpecMath.sub b a, SpecMath.sub c a
                    let n = SpecMath.cross e1 e2
                    if SpecMath.norm n > 0.0 then
                        let i0, i1, j0, j1 = screenBox v [ toCamera v a; toCamera v b; toCamera v c ] 0.0
                        for i in i0 .. i1 do
                            for j in j0 .. j1 do
                                // Moller-Trumbore
                                let d = ray i j
                                let pv = SpecMath.cross d e2
                                let det = SpecMath.dot e1 pv
                                if det <> 0.0 then
                                    let tv = SpecMath.sub v.eye a
                                    let bu = SpecMath.dot tv pv / det
                                    let qv = SpecMath.cross tv e1
                                    let bv = SpecMath.dot d qv / det
                                    let t = SpecMath.dot e2 qv / det
                                    if bu >= 0.0 && bv >= 0.0 && bu + bv <= 1.0 && t > 0.0 then shade p i j t n d
            else
                let rt = SpecMath.transpose p.rot
                let o = SpecMath.matVec rt (SpecMath.sub v.eye p.pos)
                let i0, i1, j0, j1 = screenBox v [ toCamera v p.pos ] (radius p)
                for i in i0 .. i1 do
                    for j in j0 .. j1 do
                        let d = ray i j
                        let dl = SpecMath.matVec rt d
                        let t, (nx, ny, nz) = hitLocal p (o.[0], o.[1], o.[2]) (dl.[0], dl.[1], dl.[2])
                        if t < infinity then shade p i j t (SpecMath.matVec p.rot [| nx; ny; nz |]) d
        rgb, depth
