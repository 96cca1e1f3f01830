namespace Genesis.Physics

open Genesis

/// The narrow phase of a geom pair, by the (GeomType, GeomType) pair in rank order (Broadphase.rank: planes last, then
/// boxes). Every path (the Tensor path's Contact.pair, the fast path's ContactKernel.pairs, the Euler adjoint) reads
/// it from PairDispatch.kindOf, so adding a pair means one row there plus its forms (see StageForms).
type PairKind =
    /// A's probe points (PlaneProbe.planeProbe) against plane B.
    | ProbePlane = 0
    /// Sphere/capsule A against sphere/capsule B (closest segment points).
    | SegmentSegment = 1
    /// Sphere/capsule A against box B (closest point per end sphere).
    | SegmentBox = 2
    /// Box against box (face axes of the separating-axis test).
    | BoxBox = 3
    /// A is a plane (so is B, by rank order): no contact.
    | NoContact = 4
    /// A pair with no narrow phase (raised when the pair becomes a candidate).
    | Unsupported = 5
    /// Any two convex geoms without an analytic narrow phase: GJK/EPA witness features (ConvexPair).
    | Convex = 6

/// A fixed tendon as the step models it (Tendons.compute): length L = sum coef q over hinge/slide dofs, force
/// -stiffness (L - rest) - damping dL/dt plus, when limited and limits are on, the JointLimits law on L; all applied
/// through its moment coef (MuJoCo's fixed tendon with mj_passive's tendon spring-damper).
type FixedTendon =
    { /// Tendon name.
      name: string
      /// The hinge/slide dofs it couples (distinct).
      dof: int[]
      /// Their coefficients (dL/dq).
      coef: float[]
      /// Spring stiffness.
      stiffness: float
      /// Damping on dL/dt (explicit in every integrator, as MuJoCo 2.2.2's Euler treats tendon damping).
      damping: float
      /// Spring rest length (springlength, else the length at qpos0).
      rest: float
      /// Length limits (lower, upper) when limited.
      range: (float * float) option }

/// An equality constraint resolved against the model (MuJoCo eq_*): body and joint indices, MuJoCo's eq_data.
type EqualityConstraint =
    { /// Constraint name ("" if unnamed).
      name: string
      /// Connect (3 rows), weld (6) or joint coupling (1).
      kind: EqualityKind
      /// Connect/weld: body1 and body2 (model body indices); -1 for a joint coupling.
      body1: int
      body2: int
      /// Joint coupling: joint1 and joint2 (model joint indices, joint2 = -1 when absent); -1 otherwise.
      joint1: int
      joint2: int
      /// MuJoCo eq_data (11): connect: the point in body1's frame, then in body2's (at qpos0); weld: the point in
      /// body2's frame, the same point in body1's, the relative quaternion of body2 to body1, torquescale; joint:
      /// polycoef.
      data: float[]
      /// Solver reference (timeconst, dampratio).
      solref: float[]
      /// Solver impedance (dmin, dmax, width, midpoint, power).
      solimp: float[]
      /// Where it was declared ("file (line n)").
      source: string }

/// The fixed structure of a model (ints and unions; never differentiated): the kinematic tree, joint kinds
/// and addresses. Bodies are numbered parents-first; the world is -1.
type Topology =
    { /// Number of bodies (world excluded).
      nbody: int
      /// Number of position coordinates.
      nq: int
      /// Number of velocity coordinates (DOFs).
      nv: int
      /// Parent body of each body (-1 = world).
      bodyParent: int[]
      /// Body names.
      bodyName: string[]
      /// Joint indices of each body, in order.
      bodyJoints: int[][]
      /// Kind of each joint.
      jntType: JointType[]
      /// Joint names.
      jntName: string[]
      /// Body of each joint.
      jntBody: int[]
      /// First qpos address of each joint.
      jntQposAdr: int[]
      /// First dof address of each joint.
      jntDofAdr: int[]
      /// Body of each dof.
      dofBody: int[]
      /// Joint of each dof.
      dofJoint: int[]
      /// qpos address of each dof for hinge/slide dofs (-1 for ball/free dofs).
      dofQposAdr: int[]
      /// Reference configuration (MuJoCo qpos0).
      qpos0: float[]
      /// Joint position limits per joint (hinge/slide), if any.
      jntRange: (float * float) option[]
      /// Collision geoms per body.
      bodyGeoms: GeomSpec[][]
      /// True for dofs whose motion axis is fixed in the world frame (free-joint translations).
      dofWorldFixed: bool[]
      /// Collision tree of each body: bodies of one tree never touch each other (no self-collision); -1 marks the
      /// world body of an MJCF entity (the worldbody's own geoms), which touches every moving tree.
      bodyTree: int[]
      /// The fixed tendons of the model's entities (spatial tendons are not part of the step).
      tendons: FixedTendon[]
      /// Active equality constraints, in file order.
      equality: EqualityConstraint[] }

/// The differentiable parameters of a model (tensors, possibly requiring grad). Shapes in brackets.
type Params =
    { /// Body frame position in the parent frame [nbody; 3].
      bodyPos: Tensor
      /// Body frame orientation in the parent frame [nbody; 4] (w, x, y, z).
      bodyQuat: Tensor
      /// Body mass [nbody].
      bodyMass: Tensor
      /// COM in the body frame [nbody; 3].
      bodyIpos: Tensor
      /// Inertia about the COM in the body frame [nbody; 3; 3].
      bodyInertia: Tensor
      /// Joint axis in the body frame [njnt; 3].
      jntAxis: Tensor
      /// Joint anchor in the body frame [njnt; 3].
      jntPos: Tensor
      /// Viscous damping per dof [nv].
      dofDamping: Tensor
      /// Armature per dof [nv].
      dofArmature: Tensor
      /// Spring stiffness per dof [nv] (hinge/slide about dofSpringref; ball/free about qpos0, as MuJoCo).
      dofStiffness: Tensor
      /// Spring rest position per dof [nv] (hinge/slide).
      dofSpringref: Tensor
      /// Gravity [3].
      gravity: Tensor
      /// Position gains of PD control per dof [nv].
      kp: Tensor
      /// Velocity gains of PD control per dof [nv].
      kv: Tensor
      /// Lower force limit per dof [nv].
      forceLo: Tensor
      /// Upper force limit per dof [nv].
      forceHi: Tensor
      /// Contact normal stiffness (N/m per contact point) [].
      contactStiffness: Tensor
      /// Contact normal damping (N s/m per contact point) [].
      contactDamping: Tensor
      /// Friction coefficient overriding the geoms' when > 0 [].
      friction: Tensor }

/// A model: fixed topology plus differentiable parameters.
type Model =
    { /// Fixed structure.
      topology: Topology
      /// Differentiable parameters.
      parameters: Params }

/// Where each entity's bodies and joints start in the model (entities are appended in order, bodies parents-first,
/// joints in EntitySpec.joints order).
module internal EntityOffsets =
    /// The first model body and the first model joint of each entity.
    let firsts (entities: EntitySpec[]) =
        let bodies = entities |> Array.map (fun e -> e.bodies.Length) |> Array.scan (+) 0
        let joints = entities |> Array.map (fun e -> (EntitySpec.joints e).Length) |> Array.scan (+) 0
        Array.init entities.Length (fun i -> bodies[i], joints[i])

/// Resolving the entities' equality constraints against the model being built.
module internal ModelEquality =
    /// World poses (position, rotation 3x3) of the bodies at qpos0, where every joint is at its reference.
    let private posesAtQpos0 (bodies: BodySpec[]) (parents: int[]) =
        let pos = Array.zeroCreate<float[]> bodies.Length
        let rot = Array.zeroCreate<float[]> bodies.Length
        for i in 0 .. bodies.Length - 1 do
            let r = SpecMath.quatToMat (SpecMath.normalize bodies[i].quat)
            if parents[i] < 0 then
                pos[i] <- Array.copy bodies[i].pos
                rot[i] <- r
            else
                let p = parents[i]
                pos[i] <- SpecMath.add pos[p] (SpecMath.matVec rot[p] bodies[i].pos)
                rot[i] <- SpecMath.matMul rot[p] r
        pos, rot

    /// MuJoCo's eq_data of one constraint (mj_setConst: anchors and relative pose taken at qpos0).
    let private data (e: EqualitySpec) (b1: int) (b2: int) (pos: float[][]) (rot: float[][]) =
        let inFrame (b: int) (p: float[]) = SpecMath.matVec (SpecMath.transpose rot[b]) (SpecMath.sub p pos[b])
        let world (b: int) (local: float[]) = SpecMath.add pos[b] (SpecMath.matVec rot[b] local)
        match e.kind with
        | Connect -> Array.concat [ e.anchor; inFrame b2 (world b1 e.anchor); Array.zeroCreate 5 ]
        | Weld ->
            let relQuat = e.relpose[3..6]
            if SpecMath.norm relQuat = 0.0 then
                let q = SpecMath.matToQuat (SpecMath.matMul (SpecMath.transpose rot[b1]) rot[b2])
                Array.concat [ e.anchor; inFrame b1 (world b2 e.anchor); q; [| 1.0 |] ]
            else Array.concat [ e.anchor; e.relpose[0..2]; SpecMath.normalize relQuat; [| 1.0 |] ]
        | JointCoupling -> Array.append e.polycoef (Array.zeroCreate 6)

    /// The equality constraints of all entities, with model body and joint indices.
    let resolve (entities: EntitySpec[]) (bodies: BodySpec[]) (parents: int[]) (joints: (int * JointSpec)[]) =
        let pos, rot = posesAtQpos0 bodies parents
        [| for e, (bodyOff, jointOff) in Array.zip entities (EntityOffsets.firsts entities) do
               let bodyIndex (q: EqualitySpec) (name: string) =
                   match EntitySpec.bodyIndex e name with
                   | -1 -> raise (GenesisException(sprintf "%s: equality '%s' refers to body '%s', which is not in the model" q.source q.name name))
                   | i -> bodyOff + i
               let jointIndex (q: EqualitySpec) (name: string) =
                   match EntitySpec.jointIndex e name with
                   | -1 -> raise (GenesisException(sprintf "%s: equality '%s' refers to joint '%s', which is not in the model" q.source q.name name))
                   | j ->
                       let ji = jointOff + j
                       match (snd joints[ji]).jtype with
                       | Hinge | Slide -> ji
                       | t -> raise (GenesisException(sprintf "%s: equality '%s' couples joint '%s' of type %A; only hinge and slide joints can be coupled" q.source q.name name t))
               for q in e.equalities do
                   let b1, b2, j1, j2 =
                       match q.kind with
                       | Connect | Weld -> bodyIndex q q.obj1, bodyIndex q q.obj2, -1, -1
                       | JointCoupling -> -1, -1, jointIndex q q.obj1, (if q.obj2 = "" then -1 else jointIndex q q.obj2)
                   if b1 >= 0 && b1 = b2 then raise (GenesisException(sprintf "%s: equality '%s' joins body '%s' to itself" q.source q.name q.obj1))
                   yield { name = q.name; kind = q.kind; body1 = b1; body2 = b2; joint1 = j1; joint2 = j2
                           data = (if b1 >= 0 then data q b1 b2 pos rot else data q 0 0 pos rot)
                           solref = q.solref; solimp = q.solimp; source = q.source } |]

/// Building models from entity specs.
module Model =
    /// The entities' fixed tendons on the model's dofs (joint names resolved within each entity).
    let private fixedTendons (entities: EntitySpec[]) (joints: (int * JointSpec)[]) (qposAdr: int[]) (dofAdr: int[]) (qpos0: float[]) =
        [| for e, (_, jOff) in Array.zip entities (EntityOffsets.firsts entities) do
            for t in e.tendons do
                match t.path with
                | FixedPath js ->
                    let coef = System.Collections.Generic.Dictionary<int, float>()
                    for name, c in js do
                        let j =
                            match EntitySpec.jointIndex e name with
                            | -1 -> raise (GenesisException(sprintf "entity '%s': tendon '%s': joint '%s' is not in the entity" e.name t.name name))
                            | j -> jOff + j
                        match (snd joints[j]).jtype with
                        | Hinge | Slide -> coef[j] <- (match coef.TryGetValue j with | true, x -> x | _ -> 0.0) + c
                        | jt -> raise (GenesisNotSupportedException(sprintf "entity '%s': tendon '%s': joint '%s' is a %A joint; a fixed tendon couples hinge and slide joints" e.name t.name name jt))
                    let js = coef.Keys |> Seq.sort |> Seq.toArray
                    let dof, c = js |> Array.map (fun j -> dofAdr[j]), js |> Array.map (fun j -> coef[j])
                    let rest = match t.springlength with Some l -> l | None -> Array.fold2 (fun acc j k -> acc + k * qpos0[qposAdr[j]]) 0.0 js c
                    yield { name = t.name; dof = dof; coef = c; stiffness = t.stiffness; damping = t.damping; rest = rest; range = t.range }
                | SpatialPath _ -> () |]

    /// One model from several entities (each root is attached to the world); dtype is an exact float type.
    let build (entities: EntitySpec[]) (dtype: DType) : Model =
        let bodies = ResizeArray<BodySpec>()
        let parents = ResizeArray<int>()
        let trees = ResizeArray<int>()
        for e in entities do
            let off = bodies.Count
            for i in 0 .. e.bodies.Length - 1 do
                let b = e.bodies[i]
                bodies.Add b
                parents.Add(if b.parent < 0 then -1 else b.parent + off)
                // a URDF or primitive entity is one tree; in an MJCF entity the world body is -1 and each child of the
                // world starts a tree (MuJoCo's body_rootid)
                trees.Add(
                    if not e.rootIsWorld then off
                    elif b.parent < 0 then -1
                    elif e.bodies[b.parent].parent < 0 then off + i
                    else trees[off + b.parent])
        let nb = bodies.Count
        let joints = [| for bi in 0 .. nb - 1 do for j in bodies[bi].joints -> bi, j |]
        let nj = joints.Length
        let nqOf (j: JointSpec) = JointSpec.nqOf j.jtype
        let nvOf (j: JointSpec) = JointSpec.nvOf j.jtype
        let qposAdr = joints |> Array.map (snd >> nqOf) |> Array.scan (+) 0
        let dofAdr = joints |> Array.map (snd >> nvOf) |> Array.scan (+) 0
        let nq, nv = qposAdr[nj], dofAdr[nj]
        let mutable jIndex = 0
        let bodyJoints =
            Array.init nb (fun bi ->
                let n = bodies[bi].joints.Length
                let r = Array.init n (fun k -> jIndex + k)
                jIndex <- jIndex + n
                r)
        let dofJoint = joints |> Array.mapi (fun ji (_, j) -> Array.create (nvOf j) ji) |> Array.concat
        let dofBody = dofJoint |> Array.map (fun ji -> fst joints[ji])
        let dofQposAdr =
            dofJoint |> Array.map (fun ji -> match (snd joints[ji]).jtype with Hinge | Slide -> qposAdr[ji] | _ -> -1)
        let dofWorldFixed =
            dofJoint |> Array.mapi (fun d ji -> (snd joints[ji]).jtype = Free && d - dofAdr[ji] < 3)
        let qpos0 =
            joints
            |> Array.collect (fun (bi, j) ->
                match j.jtype with
                | Free -> Array.append bodies[bi].pos bodies[bi].quat
                | Ball -> [| 1.0; 0.0; 0.0; 0.0 |]
                | Hinge | Slide -> [| j.ref |])
        let topo =
            { nbody = nb; nq = nq; nv = nv
              bodyParent = parents.ToArray()
              bodyName = bodies |> Seq.map (fun b -> b.name) |> Seq.toArray
              bodyJoints = bodyJoints
              jntType = joints |> Array.map (fun (_, j) -> j.jtype)
              jntName = joints |> Array.map (fun (_, j) -> j.name)
              jntBody = joints |> Array.map fst
              jntQposAdr = qposAdr[.. nj - 1]
              jntDofAdr = dofAdr[.. nj - 1]
              dofBody = dofBody
              dofJoint = dofJoint
              dofQposAdr = dofQposAdr
              qpos0 = qpos0
              jntRange = joints |> Array.map (fun (_, j) -> j.range)
              bodyGeoms = bodies |> Seq.map (fun b -> b.geoms) |> Seq.toArray
              dofWorldFixed = dofWorldFixed
              bodyTree = trees.ToArray()
              tendons = fixedTendons entities joints qposAdr dofAdr qpos0
              equality = [||] }
        let equality = ModelEquality.resolve entities (Seq.toArray bodies) (parents.ToArray()) joints
        let topo = { topo with equality = equality }
        let t (values: float[]) (shape: int[]) = gs.fromArray(values, shape = shape, dtype = dtype)
        let perDof (f: JointSpec -> float) = dofJoint |> Array.map (fun ji -> f (snd joints[ji]))
        let hingeSlide (f: JointSpec -> float) = perDof (fun j -> match j.jtype with Hinge | Slide -> f j | _ -> 0.0)
        let gravity = if entities.Length > 0 then entities[0].options.gravity else [| 0.0; 0.0; -9.81 |]
        let pars =
            { bodyPos = t (bodies |> Seq.collect (fun b -> b.pos) |> Seq.toArray) [| nb; 3 |]
              bodyQuat = t (bodies |> Seq.collect (fun b -> b.quat) |> Seq.toArray) [| nb; 4 |]
              bodyMass = t (bodies |> Seq.map (fun b -> b.mass) |> Seq.toArray) [| nb |]
              bodyIpos = t (bodies |> Seq.collect (fun b -> b.ipos) |> Seq.toArray) [| nb; 3 |]
              bodyInertia = t (bodies |> Seq.collect (fun b -> b.inertia) |> Seq.toArray) [| nb; 3; 3 |]
              jntAxis = t (joints |> Array.collect (fun (_, j) -> j.axis)) [| nj; 3 |]
              jntPos = t (joints |> Array.collect (fun (_, j) -> j.pos)) [| nj; 3 |]
              dofDamping = t (perDof (fun j -> j.damping)) [| nv |]
              dofArmature = t (perDof (fun j -> j.armature)) [| nv |]
              dofStiffness = t (perDof (fun j -> j.stiffness)) [| nv |]
              dofSpringref = t (hingeSlide (fun j -> j.springref)) [| nv |]
              gravity = t gravity [| 3 |]
              kp = t (Array.create nv 100.0) [| nv |]
              kv = t (Array.create nv 10.0) [| nv |]
              forceLo = t (perDof (fun j -> match j.effortLimit with Some e when e > 0.0 -> -e | _ -> -infinity)) [| nv |]
              forceHi = t (perDof (fun j -> match j.effortLimit with Some e when e > 0.0 -> e | _ -> infinity)) [| nv |]
              contactStiffness = t [| 3.0e4 |] [||]
              contactDamping = t [| 300.0 |] [||]
              friction = t [| 0.0 |] [||] }
        { topology = topo; parameters = pars }

    let private masks = System.Runtime.CompilerServices.ConditionalWeakTable<Topology, float[]>()

    /// ancestorDofMask shared per topology (callers must not modify it).
    let internal ancestorMask (topo: Topology) =
        masks.GetValue(topo, fun topo ->
            let m = Array.zeroCreate (topo.nbody * topo.nv)
            for i in 0 .. topo.nbody - 1 do
                let mutable b = i
                while b >= 0 do
                    for k in 0 .. topo.nv - 1 do
                        if topo.dofBody[k] = b then m[i * topo.nv + k] <- 1.0
                    b <- topo.bodyParent[b]
            m)

    /// 1.0 where dof k belongs to body i or one of its ancestors, as [nbody; nv] row-major.
    let ancestorDofMask (topo: Topology) = Array.copy (ancestorMask topo)

    /// 1.0 at (k, l) where dof l moves the frame that carries dof k's axis: dof l belongs to a strict ancestor of
    /// k's body, or to a joint of the same body up to and including k's joint; as [nv; nv] row-major.
    let dofFrameMask (topo: Topology) =
        let nv = topo.nv
        let m = Array.zeroCreate (nv * nv)
        for k in 0 .. nv - 1 do
            let bk = topo.dofBody[k]
            for l in 0 .. nv - 1 do
                let bl = topo.dofBody[l]
                let sameBodyEarlier = bl = bk && topo.dofJoint[l] <= topo.dofJoint[k]
                let mutable a = topo.bodyParent[bk]
                let mutable ancestor = false
                while a >= 0 && not ancestor do
                    ancestor <- a = bl
                    a <- topo.bodyParent[a]
                if sameBodyEarlier || ancestor then m[k * nv + l] <- 1.0
        m
