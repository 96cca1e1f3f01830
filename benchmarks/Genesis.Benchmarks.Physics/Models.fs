/// The benchmark models, each loaded both by us and by MuJoCo 2.2.2 (same file, same dt, same start state).
module Genesis.Benchmarks.Physics.Models

open System
open System.IO
open System.Xml.Linq
open Genesis
open Genesis.Physics
open Genesis.Tests.Oracle

/// One benchmark model.
type Case =
    { /// Short name printed in the tables.
      name: string
      /// What it is.
      description: string
      /// Time step (s), the same for both engines.
      dt: float
      /// Our entities (a ground plane included where there is contact).
      specs: unit -> EntitySpec[]
      /// The start state's qpos in the common layout (MuJoCo's and ours agree: free joint first, then joints in file order).
      qpos: Topology -> float[]
      /// Steps simulated before timing, so that contacts are established.
      warmup: int
      /// Loads the MuJoCo model into a scratch folder.
      mujoco: string -> MuJoCo.Model }

/// The repository root (holding Genesis.sln), found from the binary or the current directory.
let repoRoot =
    let rec up (d: DirectoryInfo) =
        if isNull d then None
        elif File.Exists(Path.Combine(d.FullName, "Genesis.sln")) then Some d.FullName
        else up d.Parent
    match up (DirectoryInfo AppContext.BaseDirectory) |> Option.orElse (up (DirectoryInfo Environment.CurrentDirectory)) with
    | Some r -> r
    | None -> failwith "Genesis.sln not found above the benchmark binary or the current directory"

/// A path under assets/.
let asset (relative: string) = Path.Combine(repoRoot, "assets", relative)

/// MuJoCo's humanoid from Debian's libmujoco-samples.
let humanoidXml = "/usr/share/mujoco/model/humanoid/humanoid.xml"

/// Loads a URDF into MuJoCo; with a floor, saves MuJoCo's MJCF of it, adds a ground plane and loads that.
let private loadUrdf (dir: string) (file: string) (floatingRoot: string option) (floor: bool) (dt: float) =
    let m = MuJoCo.load (MuJoCo.scratchUrdf dir (asset file) false floatingRoot)
    let m =
        if not floor then m
        else
            let xml = Path.Combine(dir, "with_floor.xml")
            m.SaveLastXml xml
            (m :> IDisposable).Dispose()
            let doc = XDocument.Load xml
            let world = doc.Root.Element(XName.Get "worldbody")
            world.AddFirst(XElement(XName.Get "geom", XAttribute(XName.Get "name", "floor"), XAttribute(XName.Get "type", "plane"), XAttribute(XName.Get "size", "0 0 1")))
            doc.Save xml
            MuJoCo.load xml
    m.Timestep <- dt
    m

/// The acrobot, the arm, the quadruped and the humanoid.
let cases () : Case list =
    [ { name = "acrobot"
        description = "acrobot (double pendulum, 2 hinges), fixed base"
        dt = 0.01
        specs = fun () -> [| Urdf.load (asset "acrobot/Acrobot.urdf", fixedBase = true) |]
        qpos = fun _ -> [| 0.5; -0.3 |]
        warmup = 0
        mujoco = fun dir -> loadUrdf dir "acrobot/Acrobot.urdf" None false 0.01 }
      { name = "arm"
        description = "KUKA iiwa14 (7 hinges, sphere collision geoms), fixed base"
        dt = 0.01
        specs = fun () -> [| Urdf.load (asset "kuka_iiwa/iiwa14_spheres_collision.urdf", fixedBase = true) |]
        qpos = fun _ -> [| 0.3; 0.5; -0.2; -1.0; 0.2; 0.4; 0.1 |]
        warmup = 0
        mujoco = fun dir -> loadUrdf dir "kuka_iiwa/iiwa14_spheres_collision.urdf" None false 0.01 }
      { name = "quadruped"
        description = "Unitree Go2 (free base + 12 hinges) dropped on a plane, settled 1 s"
        dt = 0.01
        specs = fun () -> [| Primitives.plane (); Urdf.load (asset "go2/go2.urdf", fixedBase = false) |]
        qpos =
            fun topo ->
                let q = Array.copy topo.qpos0
                q[2] <- 0.45
                q
        warmup = 100
        mujoco = fun dir -> loadUrdf dir "go2/go2.urdf" (Some "base") true 0.01 }
      { name = "humanoid"
        description = "MuJoCo humanoid.xml (free base + 21 hinges) falling onto its floor, from 1 s"
        dt = 0.005
        // the file's own floor, as MuJoCo loads it
        specs = fun () -> [| Mjcf.load humanoidXml |]
        qpos = fun topo -> Array.copy topo.qpos0
        warmup = 200
        mujoco =
            fun _ ->
                let m = MuJoCo.load humanoidXml
                m.Timestep <- 0.005
                m } ]
