namespace Genesis.Vis

open System
open System.IO
open System.Text.Json
open System.Text.Json.Serialization
open Genesis.Physics

// A recording is plain data (records of strings, numbers and arrays, no options or unions) so that
// it serialises to JSON as it is and reads back equal; the HTML viewer embeds the same JSON.

/// One drawable shape of a link, in the link (body) frame.
type ShapeRecord =
    { /// "sphere", "capsule", "box", "cylinder", "ellipsoid", "plane" or "mesh".
      kind: string
      /// Size, 3 values, as GeomSpec.size (half-extents, radius, half-length).
      size: float[]
      /// Position in the link frame.
      pos: float[]
      /// Orientation in the link frame [w; x; y; z].
      quat: float[]
      /// Colour [r; g; b; a] in 0..1.
      rgba: float[]
      /// Mesh vertices in the shape frame, flattened [x0;y0;z0;...] (empty for primitives).
      vertices: float[]
      /// Mesh triangles, flattened vertex-index triples (empty for primitives).
      faces: int[] }

/// A link of the recorded scene and what it looks like.
type LinkRecord =
    { /// Name of the entity the link belongs to.
      entity: string
      /// Link name.
      name: string
      /// Visual geometry.
      visuals: ShapeRecord[]
      /// Collision geometry.
      collisions: ShapeRecord[] }

/// One contact point and the force on the first body of the pair (world frame).
type ContactRecord =
    { /// Position of the env in Recording.envs (0-based).
      env: int
      /// Contact point [x; y; z] (m).
      pos: float[]
      /// Contact force [fx; fy; fz] (N).
      force: float[] }

/// The poses of every link of every recorded env at one step.
type FrameRecord =
    { /// Steps taken since build or the last reset when the frame was captured.
      step: int
      /// Simulated time (s).
      time: float
      /// Link origins, [nEnvs; nLinks; 3] flattened (envs in Recording.envs order).
      pos: float[]
      /// Link orientations [w; x; y; z], [nEnvs; nLinks; 4] flattened.
      quat: float[]
      /// Contact points with non-zero force (empty unless the recorder records contacts).
      contacts: ContactRecord[] }

/// One trajectory (an optimisation epoch or a single rollout).
type EpochRecord =
    { /// Epoch number (0-based, in recording order).
      epoch: int
      /// Loss of the epoch (NaN when not given).
      loss: float
      /// Frames in step order.
      frames: FrameRecord[] }

/// A recorded scene: links with their shapes, then one trajectory per epoch.
type Recording =
    { /// Links of all entities, in scene order (the order of pos/quat in a frame).
      links: LinkRecord[]
      /// The scene's env indices that were recorded (0 for an unbatched scene).
      envs: int[]
      /// Steps between frames.
      every: int
      /// Time step of the scene (s).
      dt: float
      /// Trajectories, one per epoch.
      epochs: EpochRecord[]
      /// Visual elements the loaders skipped (unsupported shapes), one message each.
      warnings: string[] }

/// Conversions and JSON save/load of recordings.
module Recording =
    let private jsonOptions =
        JsonSerializerOptions(NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, WriteIndented = false)

    /// The recording as JSON text (NaN and infinities written as the strings "NaN", "Infinity").
    let toJson (r: Recording) : string = JsonSerializer.Serialize(r, jsonOptions)

    /// A recording from JSON text written by toJson; raises GenesisException on malformed input.
    let ofJson (json: string) : Recording =
        let r =
            try JsonSerializer.Deserialize<Recording>(json, jsonOptions)
            with :? JsonException as e -> raise (Genesis.GenesisException(sprintf "recording JSON is malformed: %s" e.Message))
        if obj.ReferenceEquals(r, null) || isNull r.links || isNull r.epochs then
            raise (Genesis.GenesisException "recording JSON has no 'links' or 'epochs'")
        r

    /// Writes the recording as JSON to a file.
    let save (path: string) (r: Recording) = File.WriteAllText(path, toJson r)

    /// Reads a recording saved by save; raises naming the file when it is missing or malformed.
    let load (path: string) : Recording =
        if not (File.Exists path) then raise (Genesis.GenesisException(sprintf "recording file not found: %s" path))
        try ofJson (File.ReadAllText path)
        with :? Genesis.GenesisException as e -> raise (Genesis.GenesisException(sprintf "%s: %s" path e.Message))

    /// Name of a shape kind in a record.
    let kindName (g: GeomType) =
        match g with
        | Plane -> "plane"
        | Sphere -> "sphere"
        | Capsule -> "capsule"
        | Box -> "box"
        | Cylinder -> "cylinder"
        | Ellipsoid -> "ellipsoid"
        | Mesh -> "mesh"

    /// The record of a visual spec.
    let ofVisual (v: VisualSpec) : ShapeRecord =
        { kind = kindName v.gtype; size = Array.copy v.size; pos = Array.copy v.pos; quat = Array.copy v.quat
          rgba = Array.copy v.rgba; vertices = Array.copy v.meshVertices; faces = Array.copy v.meshFaces }

    /// Colour of collision geometry in the viewers (orange, half transparent).
    let collisionRgba = [| 0.95; 0.55; 0.15; 0.6 |]

    /// The record of a collision geom (mesh geoms drawn as their convex hull).
    let ofGeom (g: GeomSpec) : ShapeRecord =
        let verts, faces =
            match g.meshVertices with
            | Some v -> ConvexHull.compute v
            | None -> [||], [||]
        { kind = kindName g.gtype; size = Array.copy g.size; pos = Array.copy g.pos; quat = Array.copy g.quat
          rgba = Array.copy collisionRgba; vertices = verts; faces = faces }

    let private linkCache = System.Runtime.CompilerServices.ConditionalWeakTable<EntitySpec, LinkRecord[]>()

    let private computeLinks (e: EntitySpec) : LinkRecord[] =
        e.bodies
        |> Array.map (fun b ->
            { entity = e.name
              name = b.name
              visuals = b.visuals |> Array.map ofVisual
              collisions = b.geoms |> Array.filter (fun g -> g.contype <> 0 || g.conaffinity <> 0) |> Array.map ofGeom })

    /// The link records of an entity spec: visuals, and collision geoms that collide (contype or conaffinity
    /// non-zero); computed once per spec (mesh hulls are not recomputed for every frame or image).
    let linksOf (e: EntitySpec) : LinkRecord[] = linkCache.GetValue(e, fun e -> computeLinks e)

    /// Index of a link by name (first match; "entity/link" selects within an entity); raises listing the names.
    let linkIndex (r: Recording) (name: string) =
        let matches (l: LinkRecord) = l.name = name || l.entity + "/" + l.name = name
        match r.links |> Array.tryFindIndex matches with
        | Some i -> i
        | None ->
            let names = r.links |> Array.map (fun l -> l.entity + "/" + l.name) |> String.concat ", "
            raise (Genesis.GenesisException(sprintf "recording has no link '%s' (links: %s)" name names))

    /// Position [x; y; z] of link `link` of recorded env position `env` in a frame.
    let linkPos (r: Recording) (f: FrameRecord) (env: int) (link: int) =
        let o = (env * r.links.Length + link) * 3
        f.pos.[o .. o + 2]

    /// Orientation [w; x; y; z] of link `link` of recorded env position `env` in a frame.
    let linkQuat (r: Recording) (f: FrameRecord) (env: int) (link: int) =
        let o = (env * r.links.Length + link) * 4
        f.quat.[o .. o + 3]

/// Recording members (save, JSON).
type Recording with
    /// Writes the recording as JSON to a file.
    member r.save(path: string) = Recording.save path r
    /// The recording as JSON text.
    member r.toJson() = Recording.toJson r
