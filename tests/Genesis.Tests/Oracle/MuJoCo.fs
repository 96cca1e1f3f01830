/// MuJoCo oracle: P/Invoke over the C shim (Oracle/mujoco_shim.c, built by the test project into
/// libgsmujoco.so next to the test dll) around libmujoco 2.2.x. Every mjModel/mjData array is read
/// and written by its MuJoCo name as float64, so no struct offsets are hard-coded here.
module Genesis.Tests.Oracle.MuJoCo

open System
open System.IO
open System.Runtime.InteropServices
open System.Text
open System.Text.RegularExpressions
open System.Xml.Linq

module private Native =
    [<Literal>]
    let Lib = "gsmujoco"

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern int gs_mj_version()

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern nativeint gs_mj_load(string path, byte[] err, int errlen)

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern void gs_mj_free(nativeint h)

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern int gs_mj_save_last_xml(nativeint h, string path, byte[] err, int errlen)

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern int gs_mj_size(nativeint h, string name)

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern int gs_mj_model_dims(nativeint h, string name, int& rows, int& cols)

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern int gs_mj_model_get(nativeint h, string name, double[] out, int cap)

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern int gs_mj_model_set(nativeint h, string name, double[] values, int n)

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern int gs_mj_data_dims(nativeint h, string name, int& rows, int& cols)

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern int gs_mj_data_get(nativeint h, string name, double[] out, int cap)

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern int gs_mj_data_set(nativeint h, string name, double[] values, int n)

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern double gs_mj_data_scalar(nativeint h, string name)

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern void gs_mj_set_time(nativeint h, double t)

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern double gs_mj_opt_get(nativeint h, string name)

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern int gs_mj_opt_set(nativeint h, string name, double v)

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern int gs_mj_opt_vec_get(nativeint h, string name, double[] out, int cap)

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern int gs_mj_opt_vec_set(nativeint h, string name, double[] values, int n)

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern nativeint gs_mj_name(nativeint h, int objtype, int id)

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern int gs_mj_name2id(nativeint h, int objtype, string name)

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern void gs_mj_reset(nativeint h)

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern void gs_mj_forward(nativeint h)

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern void gs_mj_inverse(nativeint h)

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern void gs_mj_step(nativeint h, int n)

    [<DllImport(Lib, CallingConvention = CallingConvention.Cdecl)>]
    extern void gs_mj_full_m(nativeint h, double[] out)

/// MuJoCo object types (mjtObj) for names and ids.
type ObjType =
    | Body = 1
    | Joint = 3
    | Dof = 4
    | Geom = 5
    | Actuator = 18

/// MuJoCo joint types (mjtJoint).
type MjJoint =
    | Free = 0
    | Ball = 1
    | Slide = 2
    | Hinge = 3

/// MuJoCo geom types (mjtGeom).
type MjGeom =
    | Plane = 0
    | Sphere = 2
    | Capsule = 3
    | Ellipsoid = 4
    | Cylinder = 5
    | Box = 6
    | Mesh = 7

/// Integrators (mjtIntegrator).
type Integrator =
    | Euler = 0
    | RK4 = 1

/// The library version (e.g. 222), or the reason the oracle cannot run (no shim, no libmujoco).
let availability: Lazy<Result<int, string>> =
    lazy
        (try
            Ok(Native.gs_mj_version ())
         with
         | :? DllNotFoundException as e ->
             Error(sprintf "MuJoCo oracle unavailable (libgsmujoco.so or libmujoco not found: %s); install gcc and libmujoco-dev and rebuild the tests" e.Message)
         | :? EntryPointNotFoundException as e -> Error(sprintf "MuJoCo oracle shim is stale: %s" e.Message))

/// True when the shim and libmujoco load.
let isAvailable () = match availability.Force() with Ok _ -> true | Error _ -> false

let private check (what: string) (name: string) (rc: int) =
    match rc with
    | -1 -> failwithf "MuJoCo %s: unknown field '%s'" what name
    | -2 -> failwithf "MuJoCo %s: size mismatch for '%s'" what name
    | -3 -> failwithf "MuJoCo %s: '%s' is not a numeric array" what name
    | rc -> rc

// mj_loadXML keeps global parser state (the "last XML" model), so loads are serialised.
let private loadLock = obj ()

/// A compiled MuJoCo model with its data (mjModel + mjData); dispose to free.
type Model internal (h: nativeint) =
    let mutable handle = h
    let live () =
        if handle = 0n then raise (ObjectDisposedException "MuJoCo.Model")
        handle

    /// An int size field of mjModel (nq, nv, nbody, njnt, ngeom, nu, ...).
    member _.Size(name: string) =
        let v = Native.gs_mj_size (live (), name)
        if v < 0 then failwithf "MuJoCo: unknown size '%s'" name
        v

    /// Number of position coordinates.
    member m.nq = m.Size "nq"
    /// Number of DOFs.
    member m.nv = m.Size "nv"
    /// Number of bodies including the world body.
    member m.nbody = m.Size "nbody"
    /// Number of joints.
    member m.njnt = m.Size "njnt"
    /// Number of geoms.
    member m.ngeom = m.Size "ngeom"
    /// Number of actuators.
    member m.nu = m.Size "nu"

    /// Rows and columns of an mjModel array.
    member _.ModelDims(name: string) =
        let mutable r = 0
        let mutable c = 0
        check "model" name (Native.gs_mj_model_dims (live (), name, &r, &c)) |> ignore
        r, c

    /// An mjModel array by MuJoCo name (body_mass, jnt_axis, geom_size, ...), row-major.
    member m.Model(name: string) : float[] =
        let r, c = m.ModelDims name
        let out = Array.zeroCreate (r * c)
        check "model" name (Native.gs_mj_model_get (live (), name, out, out.Length)) |> ignore
        out

    /// Overwrites an mjModel array (e.g. dof_damping) for what-if comparisons.
    member _.SetModel(name: string, values: float[]) =
        check "model" name (Native.gs_mj_model_set (live (), name, values, values.Length)) |> ignore

    /// Rows and columns of an mjData array.
    member _.DataDims(name: string) =
        let mutable r = 0
        let mutable c = 0
        check "data" name (Native.gs_mj_data_dims (live (), name, &r, &c)) |> ignore
        r, c

    /// An mjData array by MuJoCo name (qpos, qvel, qacc, qfrc_bias, xpos, xquat, xipos, cinert, ...).
    member m.Data(name: string) : float[] =
        let r, c = m.DataDims name
        let out = Array.zeroCreate (r * c)
        check "data" name (Native.gs_mj_data_get (live (), name, out, out.Length)) |> ignore
        out

    /// Overwrites an mjData array (qpos, qvel, ctrl, qacc, qfrc_applied, xfrc_applied, ...).
    member _.SetData(name: string, values: float[]) =
        check "data" name (Native.gs_mj_data_set (live (), name, values, values.Length)) |> ignore

    /// A scalar of mjData (ncon, nefc, time, ...).
    member _.DataScalar(name: string) = Native.gs_mj_data_scalar (live (), name)

    /// Simulation time.
    member m.Time
        with get () = m.DataScalar "time"
        and set (t: float) = Native.gs_mj_set_time (live (), t)

    /// A scalar option (timestep, integrator, ...).
    member _.Option(name: string) = Native.gs_mj_opt_get (live (), name)

    /// Sets a scalar option.
    member _.SetOption(name: string, v: float) =
        if Native.gs_mj_opt_set (live (), name, v) <> 0 then failwithf "MuJoCo: unknown option '%s'" name

    /// Time step.
    member m.Timestep
        with get () = m.Option "timestep"
        and set (v: float) = m.SetOption("timestep", v)

    /// Sets the integrator.
    member m.SetIntegrator(i: Integrator) = m.SetOption("integrator", float (int i))

    /// Gravity vector.
    member _.Gravity
        with get () =
            let out = Array.zeroCreate 3
            check "option" "gravity" (Native.gs_mj_opt_vec_get (live (), "gravity", out, 3)) |> ignore
            out
        and set (g: float[]) = check "option" "gravity" (Native.gs_mj_opt_vec_set (live (), "gravity", g, g.Length)) |> ignore

    /// Name of an object ("" if unnamed).
    member _.Name(t: ObjType, id: int) = Marshal.PtrToStringUTF8(Native.gs_mj_name (live (), int t, id))

    /// Id of a named object, -1 if none.
    member _.Id(t: ObjType, name: string) = Native.gs_mj_name2id (live (), int t, name)

    /// Body names in id order.
    member m.BodyNames = Array.init m.nbody (fun i -> m.Name(ObjType.Body, i))

    /// Joint names in id order.
    member m.JointNames = Array.init m.njnt (fun i -> m.Name(ObjType.Joint, i))

    /// Resets the data to qpos0, zero velocity, time 0.
    member _.Reset() = Native.gs_mj_reset (live ())

    /// mj_forward: positions, mass matrix, bias forces, constraint forces, qacc.
    member _.Forward() = Native.gs_mj_forward (live ())

    /// mj_inverse: qfrc_inverse from qpos, qvel, qacc.
    member _.Inverse() = Native.gs_mj_inverse (live ())

    /// n calls of mj_step.
    member _.Step(?n: int) = Native.gs_mj_step (live (), defaultArg n 1)

    /// Dense mass matrix (nv x nv, row-major) from the last forward pass.
    member m.FullM() =
        let out = Array.zeroCreate (m.nv * m.nv)
        Native.gs_mj_full_m (live (), out)
        out

    /// qpos.
    member m.Qpos
        with get () = m.Data "qpos"
        and set (v: float[]) = m.SetData("qpos", v)

    /// qvel.
    member m.Qvel
        with get () = m.Data "qvel"
        and set (v: float[]) = m.SetData("qvel", v)

    /// ctrl.
    member m.Ctrl
        with get () = m.Data "ctrl"
        and set (v: float[]) = m.SetData("ctrl", v)

    /// Bias forces C(q, qdot) + g(q) (nv) from the last forward pass.
    member m.QfrcBias = m.Data "qfrc_bias"
    /// Accelerations (nv) from the last forward pass.
    member m.Qacc = m.Data "qacc"
    /// Body frame positions in the world (nbody x 3).
    member m.Xpos = m.Data "xpos"
    /// Body frame orientations in the world (nbody x 4, [w x y z]).
    member m.Xquat = m.Data "xquat"
    /// Body COM positions in the world (nbody x 3).
    member m.Xipos = m.Data "xipos"
    /// Body masses (nbody).
    member m.BodyMass = m.Model "body_mass"
    /// Principal moments of inertia (nbody x 3), about body_ipos along body_iquat.
    member m.BodyInertia = m.Model "body_inertia"
    /// COM in the body frame (nbody x 3).
    member m.BodyIpos = m.Model "body_ipos"
    /// Principal-axes frame in the body frame (nbody x 4).
    member m.BodyIquat = m.Model "body_iquat"
    /// Parent body ids (nbody; the world is its own parent, 0).
    member m.BodyParent = m.Model "body_parentid" |> Array.map int

    /// Saves the model MuJoCo loaded last as MJCF (MuJoCo keeps it globally; call right after load).
    member _.SaveLastXml(path: string) =
        let err = Array.zeroCreate<byte> 1000
        lock loadLock (fun () ->
            if Native.gs_mj_save_last_xml (live (), path, err, err.Length) <> 0 then
                failwithf "MuJoCo could not save %s: %s" path (Encoding.UTF8.GetString(err).TrimEnd('\000')))

    interface IDisposable with
        member _.Dispose() =
            if handle <> 0n then
                Native.gs_mj_free handle
                handle <- 0n

/// Loads an MJCF or URDF file with mj_loadXML; raises with MuJoCo's error text.
let load (path: string) : Model =
    match availability.Force() with
    | Error e -> failwith e
    | Ok _ -> ()
    let err = Array.zeroCreate<byte> 2000
    let h = lock loadLock (fun () -> Native.gs_mj_load (path, err, err.Length))
    if h = 0n then
        failwithf "MuJoCo could not load %s: %s" path (Encoding.UTF8.GetString(err).TrimEnd('\000'))
    new Model(h)

/// Writes a scratch copy of a URDF for MuJoCo: compiler flags, absolute mesh paths, and (for a
/// floating base) a `world` link with a floating joint `<root>_free_joint` to the root link.
let scratchUrdf (dir: string) (src: string) (inertiaFromGeom: bool) (floatingRoot: string option) =
    // pybullet's plane.urdf declares version="0.0", which .NET refuses
    let text = Regex.Replace(File.ReadAllText src, "^(\\s*<\\?xml[^>]*?version\\s*=\\s*[\"'])[^\"']*", "${1}1.0")
    let doc = XDocument.Parse text
    let robot = doc.Root
    // the element's child of that name, created first in it when missing
    let childOrNew (parent: XElement) (name: string) =
        match parent.Element(XName.Get name) with
        | null ->
            let e = XElement(XName.Get name)
            parent.AddFirst e
            e
        | e -> e
    let compiler = childOrNew (childOrNew robot "mujoco") "compiler"
    compiler.SetAttributeValue(XName.Get "strippath", "false")
    if not inertiaFromGeom then compiler.SetAttributeValue(XName.Get "inertiafromgeom", "false")
    let srcDir = Path.GetDirectoryName(Path.GetFullPath src)
    for mesh in robot.Descendants(XName.Get "mesh") do
        match mesh.Attribute(XName.Get "filename") with
        | null -> ()
        | a -> a.Value <- Path.GetFullPath(Path.Combine(srcDir, a.Value))
    floatingRoot
    |> Option.iter (fun root ->
        robot.Add(XElement(XName.Get "link", XAttribute(XName.Get "name", "world")))
        robot.Add(
            XElement(XName.Get "joint", XAttribute(XName.Get "name", root + "_free_joint"), XAttribute(XName.Get "type", "floating"),
                     XElement(XName.Get "parent", XAttribute(XName.Get "link", "world")),
                     XElement(XName.Get "child", XAttribute(XName.Get "link", root)))))
    let path = Path.Combine(dir, Path.GetFileName src)
    doc.Save path
    path
