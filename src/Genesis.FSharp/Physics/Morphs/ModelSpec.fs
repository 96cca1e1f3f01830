namespace Genesis.Physics

// The model-description layer: what the URDF, MJCF and primitive loaders produce and what the
// dynamics stages consume. Plain immutable records of float64 and int arrays, no tensors.
// Conventions follow MuJoCo (see docs/morphs.md):
//   - quaternions are [w; x; y; z], unit length, and rotate child-frame vectors into the parent
//     frame; a body's pos/quat give its frame relative to its parent body;
//   - qpos of a free joint is [x; y; z; qw; qx; qy; qz] (world frame), its qvel is [v; w] with the
//     linear velocity v of the body origin in the WORLD frame and the angular velocity w in the
//     BODY (local) frame; a ball joint has qpos = quaternion (4) and qvel = local angular velocity
//     (3); hinge and slide joints have one coordinate each;
//   - a body without joints is welded to its parent.

/// Integrators (MuJoCo's mjtIntegrator; a model file may choose one with <option integrator>).
[<RequireQualifiedAccess>]
type Integrator =
    /// Semi-implicit Euler with implicit joint damping (MuJoCo's default).
    | Euler
    /// Classic 4th-order Runge-Kutta (MuJoCo's RK4 scheme).
    | RK4

/// Kind of a joint, as MuJoCo's mjtJoint.
type JointType =
    /// Six-DOF joint: qpos [x y z qw qx qy qz], qvel [v (world); w (body)].
    | Free
    /// Spherical joint: qpos is a unit quaternion, qvel the body-frame angular velocity.
    | Ball
    /// Revolute joint about `axis` through `pos`: one angle (rad).
    | Hinge
    /// Prismatic joint along `axis`: one displacement (m).
    | Slide

/// Shape of a geom, as MuJoCo's mjtGeom (primitive types and convex meshes).
type GeomType =
    /// Infinite plane z = 0 of the geom frame (normal +z); only on static bodies.
    | Plane
    /// Sphere, size [r].
    | Sphere
    /// Capsule along the geom z axis, size [r; halfLength of the cylindrical part].
    | Capsule
    /// Box, size [hx; hy; hz] half-extents.
    | Box
    /// Cylinder along the geom z axis, size [r; halfLength].
    | Cylinder
    /// Ellipsoid, size [rx; ry; rz] semi-axes.
    | Ellipsoid
    /// Convex mesh: `meshVertices` holds the convex-hull vertices in the geom frame.
    | Mesh

/// A joint between a body and its parent, expressed in the body frame.
type JointSpec =
    { /// Joint name (unique within the entity; "" if unnamed in MJCF).
      name: string
      /// Joint kind.
      jtype: JointType
      /// Unit axis in the body frame (hinge/slide; [0;0;1] for ball/free, where it is unused).
      axis: float[]
      /// Anchor point in the body frame.
      pos: float[]
      /// Position limits (lower, upper) in rad or m; for a ball joint (0, maxAngle); None = unlimited.
      range: (float * float) option
      /// Viscous damping coefficient, per DOF (N·m·s/rad or N·s/m).
      damping: float
      /// Armature (rotor) inertia added to the mass-matrix diagonal, per DOF.
      armature: float
      /// Dry friction loss, per DOF.
      frictionloss: float
      /// Spring stiffness toward `springref`.
      stiffness: float
      /// Spring rest position (hinge/slide; rad or m).
      springref: float
      /// Reference position: the joint's qpos0 for hinge/slide (rad or m).
      ref: float
      /// Effort (force/torque) limit from URDF <limit effort>, if given.
      effortLimit: float option
      /// Velocity limit from URDF <limit velocity>, if given.
      velocityLimit: float option }

/// A collision geom attached to a body, expressed in the body frame.
type GeomSpec =
    { /// Geom name ("" if unnamed).
      name: string
      /// Shape.
      gtype: GeomType
      /// Size, 3 values, MuJoCo conventions: sphere [r;0;0], capsule/cylinder [r; halfLength; 0],
      /// box/ellipsoid half-extents, plane [hx; hy; gridSpacing] (0 = infinite), mesh [ax; ay; az]
      /// with a_i = max |vertex_i| (an origin-centred box containing the hull).
      size: float[]
      /// Position of the geom frame in the body frame.
      pos: float[]
      /// Orientation of the geom frame in the body frame, [w; x; y; z].
      quat: float[]
      /// Friction coefficients (sliding, torsional, rolling), MuJoCo default [1; 0.005; 0.0001].
      friction: float[]
      /// Contact type bitmask (MuJoCo contype).
      contype: int
      /// Contact affinity bitmask (MuJoCo conaffinity).
      conaffinity: int
      /// Contact dimensionality (1, 3, 4 or 6), MuJoCo default 3.
      condim: int
      /// Convex-hull vertices of a mesh geom in the geom frame, flattened [x0;y0;z0;x1;...].
      meshVertices: float[] option
      /// Source mesh file of a mesh geom (absolute path), for reference.
      meshFile: string option
      /// A mesh geom's solid per unit density, [volume; inertia about its centroid (3 x 3, row-major, geom frame)]: the
      /// closed triangle mesh's (MJCF meshes, as MuJoCo); None when unknown (URDF meshes, which need an <inertial>).
      meshSolid: float[] option }

/// A visual geom attached to a body, in the body frame: drawn by the viewer and cameras, never collided.
type VisualSpec =
    { /// Visual name ("" if unnamed).
      name: string
      /// Shape (GeomSpec's size conventions; a mesh's size is the half-extent box of its vertices).
      gtype: GeomType
      /// Size, 3 values, as GeomSpec.size.
      size: float[]
      /// Position of the visual frame in the body frame.
      pos: float[]
      /// Orientation of the visual frame in the body frame, [w; x; y; z].
      quat: float[]
      /// Colour [r; g; b; a] in 0..1 (URDF <material><color rgba>, MJCF rgba).
      rgba: float[]
      /// Mesh vertices in the visual frame (scaled), flattened [x0;y0;z0;...]; empty for primitives.
      meshVertices: float[]
      /// Mesh triangles as vertex-index triples, flattened; empty for primitives.
      meshFaces: int[]
      /// Source mesh file (absolute path), "" for primitives.
      meshFile: string }

/// One rigid body (link) of the kinematic tree.
type BodySpec =
    { /// Body (link) name.
      name: string
      /// Index of the parent body in EntitySpec.bodies, -1 for the world.
      parent: int
      /// Body frame origin in the parent frame.
      pos: float[]
      /// Body frame orientation in the parent frame, [w; x; y; z].
      quat: float[]
      /// Mass (kg); not meaningful for a static root (bodies[0] without joints).
      mass: float
      /// Centre of mass in the body frame.
      ipos: float[]
      /// Inertia tensor about the centre of mass, in the body frame, 3x3 row-major (9 values).
      inertia: float[]
      /// Joints connecting the body to its parent (none = welded), in qpos order.
      joints: JointSpec[]
      /// Collision geoms.
      geoms: GeomSpec[]
      /// Visual geoms (drawn, never collided), beside the collision geoms.
      visuals: VisualSpec[] }

/// What an actuator drives (MuJoCo mjtTrn): its length L(q) and moment arm dL/dq.
type Transmission =
    /// A hinge or slide joint (MuJoCo joint / jointinparent): L = gear q.
    | JointTrn of joint: string
    /// A tendon (EntitySpec.tendons): L = gear * tendon length.
    | TendonTrn of tendon: string
    /// MuJoCo's slider-crank between two sites (EntitySpec.sites): L = a.v - sqrt((a.v)^2 - |a|^2 + r^2) with
    /// a = crank site - slider site, v = the slider site's z axis, r = crankLength; times gear.
    | SliderCrankTrn of crankSite: string * sliderSite: string * crankLength: float

/// The MJCF element an actuator came from (all are MuJoCo general actuators with fixed gain and affine bias).
type ActuatorKind =
    /// MJCF motor: gain 1, no bias.
    | Motor
    /// MJCF position (kp): gain kp, bias -kp L.
    | Position
    /// MJCF velocity (kv): gain kv, bias -kv dL/dt.
    | Velocity
    /// MJCF general (gainprm, biasprm).
    | General

/// An MJCF actuator (MuJoCo's general actuator, which motor, position and velocity are shortcuts of):
/// force = gain * ctrl + bias[0] + bias[1] * L + bias[2] * dL/dt, clamped to forcerange; generalised force
/// = moment * force. ctrl is clamped to ctrlrange first.
type ActuatorSpec =
    { /// Actuator name.
      name: string
      /// The element it came from.
      kind: ActuatorKind
      /// What it drives.
      transmission: Transmission
      /// Gear ratio (MuJoCo gear[0]).
      gear: float
      /// Control range (lower, upper) when the control is clamped; None = unclamped.
      ctrlrange: (float * float) option
      /// Force range (lower, upper) when the force is clamped; None = unclamped.
      forcerange: (float * float) option
      /// Fixed gain (MuJoCo gainprm[0]): motor 1, position kp, velocity kv.
      gain: float
      /// Affine bias (MuJoCo biasprm[0..2]): motor [0;0;0], position [0; -kp; 0], velocity [0; 0; -kv].
      bias: float[] }

/// Helpers of actuator specs.
module ActuatorSpec =
    /// A motor on a joint: force = gear * ctrl.
    let motor (name: string) (joint: string) (gear: float) (ctrlrange: (float * float) option) : ActuatorSpec =
        { name = name; kind = Motor; transmission = JointTrn joint; gear = gear; ctrlrange = ctrlrange; forcerange = None
          gain = 1.0; bias = [| 0.0; 0.0; 0.0 |] }

    /// The driven joint's name, when the transmission is a joint.
    let joint (a: ActuatorSpec) = match a.transmission with JointTrn j -> Some j | _ -> None

/// A site: a frame attached to a body (an MJCF site), which tendons and slider-crank actuators refer to.
type SiteSpec =
    { /// Site name.
      name: string
      /// Index of its body in EntitySpec.bodies.
      body: int
      /// Position in the body frame.
      pos: float[]
      /// Orientation in the body frame, [w; x; y; z].
      quat: float[] }

/// The path of a tendon.
type TendonPath =
    /// A fixed tendon: length = sum coef * q over hinge/slide joints (name, coef).
    | FixedPath of joints: (string * float)[]
    /// A spatial tendon through sites (names, at least two): length = sum of the distances of consecutive sites.
    | SpatialPath of sites: string[]

/// An MJCF tendon: a length L(q) with a spring-damper and optional limits.
type TendonSpec =
    { /// Tendon name.
      name: string
      /// Its path.
      path: TendonPath
      /// Spring stiffness: force -stiffness (L - springlength).
      stiffness: float
      /// Damping: force -damping dL/dt.
      damping: float
      /// Spring rest length; None = the length at qpos0 (MuJoCo springlength = -1).
      springlength: float option
      /// Length limits (lower, upper) when limited.
      range: (float * float) option }

/// The kind of an equality constraint (MuJoCo mjtEq).
type EqualityKind =
    /// Ball-joint connection: a point of body1 coincides with a point of body2 (3 rows).
    | Connect
    /// Relative pose fixed: position and orientation of body1 relative to body2 (6 rows).
    | Weld
    /// Joint coupling q1 - q1ref = poly(q2 - q2ref), or q1 - q1ref = polycoef[0] alone (1 row).
    | JointCoupling

/// An equality constraint as the file states it (MJCF <equality>): objects by name, MuJoCo's numbers.
type EqualitySpec =
    { /// Constraint name ("" if unnamed).
      name: string
      /// Connect, weld or joint coupling.
      kind: EqualityKind
      /// body1 (connect, weld) or joint1 (joint coupling).
      obj1: string
      /// body2 ("" = the world) or joint2 ("" = none).
      obj2: string
      /// Connect: the point in body1's frame; weld: the point in body2's frame.
      anchor: float[]
      /// Weld: pose of body2 relative to body1 (pos, quat); a zero quaternion means "as at qpos0".
      relpose: float[]
      /// Joint coupling: polynomial coefficients c0..c4.
      polycoef: float[]
      /// Solver reference (timeconst, dampratio), MuJoCo solref.
      solref: float[]
      /// Solver impedance (dmin, dmax, width, midpoint, power), MuJoCo solimp.
      solimp: float[]
      /// Where it was declared ("file (line n)"), for errors.
      source: string }

/// Simulation options stated by a model file (MuJoCo defaults when the file says nothing).
type OptionSpec =
    { /// Time step (s); MuJoCo default 0.002.
      timestep: float
      /// True when the file states the timestep (a Scene then uses it unless SimOptions gives dt).
      timestepGiven: bool
      /// What the loader skipped on request (e.g. MJCF <tendon>/<equality>), one warning each naming file, line and
      /// element.
      warnings: string[]
      /// Gravity vector (m/s^2); default [0; 0; -9.81].
      gravity: float[]
      /// True when the file states the gravity (a Scene then uses it unless SimOptions gives gravity).
      gravityGiven: bool
      /// The integrator the file states (MJCF option integrator), if any (a Scene uses it unless SimOptions gives one).
      integrator: Integrator option }

/// A loaded model: bodies in topological order (parents before children), actuators, options.
type EntitySpec =
    { /// Model name (URDF robot name, MJCF model name, or primitive name).
      name: string
      /// Bodies, parents before children (depth-first order, as MuJoCo numbers them).
      bodies: BodySpec[]
      /// Actuators (the MJCF actuator section).
      actuators: ActuatorSpec[]
      /// Sites (MJCF site elements), which tendons and actuators refer to.
      sites: SiteSpec[]
      /// Tendons (the MJCF tendon section).
      tendons: TendonSpec[]
      /// Active equality constraints (MJCF <equality>).
      equalities: EqualitySpec[]
      /// Options from the file.
      options: OptionSpec
      /// True when bodies[0] stands for the world itself (MJCF's worldbody): its geoms collide with every moving tree
      /// of the entity, and each child of the world starts its own collision tree (Topology.bodyTree).
      rootIsWorld: bool
      /// Visual elements the loader skipped (unsupported shapes), one message each naming file, line and link.
      visualWarnings: string[] }

/// Sizes and helpers of joint specs.
module JointSpec =
    /// Number of position coordinates of a joint kind (free 7, ball 4, hinge/slide 1).
    let nqOf (jt: JointType) = match jt with Free -> 7 | Ball -> 4 | Hinge | Slide -> 1

    /// Number of velocity coordinates (DOFs) of a joint kind (free 6, ball 3, hinge/slide 1).
    let nvOf (jt: JointType) = match jt with Free -> 6 | Ball -> 3 | Hinge | Slide -> 1

    /// A joint with MuJoCo's defaults: axis z, anchor at the body origin, no limits, no damping.
    let create (name: string) (jtype: JointType) : JointSpec =
        { name = name; jtype = jtype; axis = [| 0.0; 0.0; 1.0 |]; pos = [| 0.0; 0.0; 0.0 |]
          range = None; damping = 0.0; armature = 0.0; frictionloss = 0.0; stiffness = 0.0
          springref = 0.0; ref = 0.0; effortLimit = None; velocityLimit = None }

/// Defaults for geom specs.
module GeomSpec =
    /// A geom with MuJoCo's defaults (friction [1; 0.005; 0.0001], contype = conaffinity = 1, condim 3).
    let create (name: string) (gtype: GeomType) (size: float[]) : GeomSpec =
        { name = name; gtype = gtype; size = Array.init 3 (fun i -> if i < size.Length then size.[i] else 0.0)
          pos = [| 0.0; 0.0; 0.0 |]; quat = [| 1.0; 0.0; 0.0; 0.0 |]; friction = [| 1.0; 0.005; 0.0001 |]
          contype = 1; conaffinity = 1; condim = 3; meshVertices = None; meshFile = None; meshSolid = None }

/// Defaults for visual specs.
module VisualSpec =
    /// MuJoCo's default geom colour [0.5; 0.5; 0.5; 1].
    let defaultRgba = [| 0.5; 0.5; 0.5; 1.0 |]

    /// The visual drawing a geom's shape (primitive or mesh hull) in the given colour.
    let ofGeom (rgba: float[]) (g: GeomSpec) : VisualSpec =
        { name = g.name; gtype = g.gtype; size = Array.copy g.size; pos = Array.copy g.pos; quat = Array.copy g.quat
          rgba = Array.copy rgba; meshVertices = defaultArg g.meshVertices [||]; meshFaces = [||]
          meshFile = defaultArg g.meshFile "" }

/// Defaults for option specs.
module OptionSpec =
    /// MuJoCo's defaults: timestep 0.002 s, gravity (0, 0, -9.81).
    let defaults: OptionSpec =
        { timestep = 0.002; timestepGiven = false; warnings = [||]; gravity = [| 0.0; 0.0; -9.81 |]; gravityGiven = false
          integrator = None }

/// Sizes and addresses of an entity, numbered as MuJoCo numbers them.
module EntitySpec =
    /// Number of bodies.
    let nbody (e: EntitySpec) = e.bodies.Length

    /// All joints in qpos order, each with the index of its body.
    let joints (e: EntitySpec) : (int * JointSpec)[] =
        e.bodies |> Array.mapi (fun b body -> body.joints |> Array.map (fun j -> b, j)) |> Array.concat

    /// Number of joints.
    let njnt (e: EntitySpec) = e.bodies |> Array.sumBy (fun b -> b.joints.Length)

    /// Number of position coordinates (sum of nqOf over joints).
    let nq (e: EntitySpec) = joints e |> Array.sumBy (fun (_, j) -> JointSpec.nqOf j.jtype)

    /// Number of velocity coordinates / DOFs (sum of nvOf over joints).
    let nv (e: EntitySpec) = joints e |> Array.sumBy (fun (_, j) -> JointSpec.nvOf j.jtype)

    /// Number of actuators.
    let nu (e: EntitySpec) = e.actuators.Length

    /// Start address in qpos of each joint (MuJoCo jnt_qposadr).
    let jointQposAdr (e: EntitySpec) : int[] =
        joints e |> Array.map (fun (_, j) -> JointSpec.nqOf j.jtype) |> Array.scan (+) 0 |> Array.take (njnt e)

    /// Start address in qvel of each joint (MuJoCo jnt_dofadr).
    let jointDofAdr (e: EntitySpec) : int[] =
        joints e |> Array.map (fun (_, j) -> JointSpec.nvOf j.jtype) |> Array.scan (+) 0 |> Array.take (njnt e)

    /// Body index of each DOF (MuJoCo dof_bodyid).
    let dofBody (e: EntitySpec) : int[] =
        joints e |> Array.collect (fun (b, j) -> Array.create (JointSpec.nvOf j.jtype) b)

    /// Reference configuration qpos0: free -> body pos and quat, ball -> identity, hinge/slide -> ref.
    let qpos0 (e: EntitySpec) : float[] =
        joints e
        |> Array.collect (fun (b, j) ->
            match j.jtype with
            | Free -> Array.append e.bodies.[b].pos e.bodies.[b].quat
            | Ball -> [| 1.0; 0.0; 0.0; 0.0 |]
            | Hinge | Slide -> [| j.ref |])

    /// Index of the body with the given name, or -1.
    let bodyIndex (e: EntitySpec) (name: string) = e.bodies |> Array.tryFindIndex (fun b -> b.name = name) |> Option.defaultValue -1

    /// Index (in qpos order) of the joint with the given name, or -1.
    let jointIndex (e: EntitySpec) (name: string) = joints e |> Array.tryFindIndex (fun (_, j) -> j.name = name) |> Option.defaultValue -1

    /// Sum of the body masses, excluding a static root (bodies[0] without joints).
    let totalMass (e: EntitySpec) =
        e.bodies |> Array.mapi (fun i b -> if i = 0 && b.joints.Length = 0 then 0.0 else b.mass) |> Array.sum
