namespace Genesis.Physics

open System
open System.Collections.Concurrent
open Genesis

/// The constants of the array fast path (MuJoCo's mjModel): the topology flattened to int arrays and the parameter
/// tensors' values, read once per Model. Arrays are row-major, one row per element (e.g. bodyR: nbody x 9).
type internal FastModel<'T> =
    { nbody: int
      nq: int
      nv: int
      /// Parent body (-1 = world), parents first.
      parent: int[]
      /// First joint of each body and the number of its joints.
      bodyJntAdr: int[]
      bodyJntNum: int[]
      /// First dof of each body and the number of its dofs (a body's dofs are contiguous).
      bodyDofAdr: int[]
      bodyDofNum: int[]
      /// Dofs whose body is the body or one of its ancestors, ascending (a row of Model.ancestorDofMask).
      bodyDofs: int[][]
      jntType: JointType[]
      jntQposAdr: int[]
      jntDofAdr: int[]
      dofBody: int[]
      dofQposAdr: int[]
      /// 0 for free-joint translations (axes fixed in the world), else 1.
      dofMoving: 'T[]
      /// For dof k, the dofs j <= k on its body or an ancestor (the nonzeros of row k of M left of the diagonal).
      dofAnc: int[][]
      /// The nearest dof above dof k in the tree (-1 at a root): M's sparsity pattern (MuJoCo dof_parentid).
      dofParent: int[]
      qpos0: 'T[]
      bodyPos: 'T[]
      /// Body frame rotations in the parent frame (Spatial.quatToMat of bodyQuat), nbody x 9.
      bodyR: 'T[]
      bodyMass: 'T[]
      bodyIpos: 'T[]
      bodyInertia: 'T[]
      jntAxis: 'T[]
      jntPos: 'T[]
      /// skew(axis) and skew(axis)^2 per joint (Rodrigues' formula), njnt x 9.
      jntK: 'T[]
      jntKK: 'T[]
      dofDamping: 'T[]
      dofArmature: 'T[]
      dofStiffness: 'T[]
      dofSpringref: 'T[]
      gravity: 'T[]
      kp: 'T[]
      kv: 'T[]
      forceLo: 'T[]
      forceHi: 'T[]
      /// Lower and upper position limits per hinge/slide dof (NaN where there is none), and whether any exists.
      dofLimitLo: 'T[]
      dofLimitHi: 'T[]
      hasLimits: bool
      contactStiffness: 'T
      contactDamping: 'T
      friction: 'T
      /// Collidable geoms (contype or conaffinity nonzero), in body order as Contact.candidatePairs lists them.
      geomBody: int[]
      geomSpec: GeomSpec[]
      geomPos: 'T[]
      /// Geom frame rotations in the body frame, ngeom x 9.
      geomR: 'T[]
      /// Contact.boundRadius (infinite for planes).
      geomBound: float[]
      /// Contact.planeProbe points in the geom frame (3 per point), their radius and their largest distance from the origin.
      geomProbe: 'T[][]
      geomProbeRadius: 'T[]
      geomProbeReach: float[]
      /// Pairs passing the static filters (different trees, not parent-child, contype/conaffinity), A before B by Contact.rank.
      pairA: int[]
      pairB: int[]
      pairKind: PairKind[]
      /// sqrt(friction A * friction B).
      pairMu: 'T[]
      /// The parameter raw tensors the values were read from (identity checked before each use).
      source: RawTensor[]
      /// Work buffers, one per concurrent user.
      pool: ConcurrentBag<FastWork<'T>> }

/// Per-thread work buffers of the fast path (MuJoCo's mjData), sized for one env of a model.
and [<Sealed; AllowNullLiteral>] internal FastWork<'T>(nbody: int, nq: int, nv: int, ngeom: int, maxPending: int) =
    /// Body origins, rotations and COMs: nbody x 3, x 9, x 3.
    member val xpos: 'T[] = Array.zeroCreate (nbody * 3)
    member val xmat: 'T[] = Array.zeroCreate (nbody * 9)
    member val xipos: 'T[] = Array.zeroCreate (nbody * 3)
    /// Motion subspaces [angular; linear] about the world origin, nv x 6.
    member val cdof: 'T[] = Array.zeroCreate (nv * 6)
    member val cdofDot: 'T[] = Array.zeroCreate (nv * 6)
    /// Spatial inertias about the world origin and composite inertias, nbody x 36.
    member val cinert: 'T[] = Array.zeroCreate (nbody * 36)
    member val icomp: 'T[] = Array.zeroCreate (nbody * 36)
    /// Spatial velocities, bias accelerations and forces per body, nbody x 6.
    member val cvel: 'T[] = Array.zeroCreate (nbody * 6)
    member val cacc: 'T[] = Array.zeroCreate (nbody * 6)
    member val cfrc: 'T[] = Array.zeroCreate (nbody * 6)
    /// The velocity of the frame carrying the dof being visited (RNEA's cdof_dot), a 6-vector.
    member val frameVel: 'T[] = Array.zeroCreate 6
    /// Contact stiffness h C as spatial 6 x 6 blocks per body (nbody x 36) and contact wrenches per body (nbody x 6).
    member val kbody: 'T[] = Array.zeroCreate (nbody * 36)
    member val wbody: 'T[] = Array.zeroCreate (nbody * 6)
    /// One contact point's wrench [p x f; f].
    member val pointWrench: 'T[] = Array.zeroCreate 6
    /// True when a contact between two moving trees put C entries outside M's sparsity pattern (into cmat).
    member val denseC = false with get, set
    /// When set (EulerAdjoint's re-run), the (pair, probe) of every probe-plane point within reach, appended in order.
    member val probeLog: ResizeArray<int> = null with get, set
    /// Mass matrix (nv x nv), bias forces, the right-hand side f - bias, contact forces and C outside M's pattern.
    member val qM: 'T[] = Array.zeroCreate (nv * nv)
    member val bias: 'T[] = Array.zeroCreate nv
    member val rhs: 'T[] = Array.zeroCreate nv
    member val qfrcContact: 'T[] = Array.zeroCreate nv
    /// Joint-limit velocity derivative (c + h k while violated) per dof, for the implicit step.
    member val limitDiag: 'T[] = Array.zeroCreate nv
    member val cmat: 'T[] = Array.zeroCreate (nv * nv)
    /// Ball/free rotation dofs waiting for their body's final axes, and their anchors.
    member val pendingDof: int[] = Array.zeroCreate (max 1 maxPending)
    member val pendingAnchor: 'T[] = Array.zeroCreate (3 * max 1 maxPending)
    /// Small scratch vectors (3 x 3 blocks, 6-vectors, segment end points).
    member val scratch: 'T[] = Array.zeroCreate 48
    member val tmp9: 'T[] = Array.zeroCreate 9
    member val tmp9b: 'T[] = Array.zeroCreate 9
    /// Geom world frames: ngeom x 3 and x 9.
    member val geomXpos: 'T[] = Array.zeroCreate (ngeom * 3)
    member val geomXmat: 'T[] = Array.zeroCreate (ngeom * 9)
    /// A contact point's spatial stiffness (6 x 6) and K cdof per dof (nv x 6).
    member val kpoint: 'T[] = Array.zeroCreate 36
    member val kcdof: 'T[] = Array.zeroCreate (6 * max 1 nv)
    /// Box corners (8 x 3 each) for box-box pairs.
    member val cornersA: 'T[] = Array.zeroCreate 24
    member val cornersB: 'T[] = Array.zeroCreate 24
    /// The six face axes' overlaps of a box-box pair.
    member val faceOverlaps: float[] = Array.zeroCreate 6
    /// One env's state and control while it is stepped.
    member val qpos: 'T[] = Array.zeroCreate nq
    member val qvel: 'T[] = Array.zeroCreate nv
    member val ctrl: 'T[] = Array.zeroCreate nv
    /// RK4 stages: a position, four velocities and four accelerations.
    member val qposTmp: 'T[] = Array.zeroCreate nq
    member val v: 'T[][] = Array.init 4 (fun _ -> Array.zeroCreate nv)
    member val a: 'T[][] = Array.init 4 (fun _ -> Array.zeroCreate nv)

/// Small dense algebra on blocks of flat arrays (row-major, at an offset) for the fast path.
module internal FastMath =
    open Genesis.HomogeneousArithmetic

    /// c[co..] = a[ao..] @ b[bo..] for 3 x 3 blocks (c must not alias a or b).
    let inline mul33 (a: ^T[]) (ao: int) (b: ^T[]) (bo: int) (c: ^T[]) (co: int) : unit =
        for i in 0 .. 2 do
            for j in 0 .. 2 do
                c[co + i * 3 + j] <- Real.dot3 a (ao + i * 3) 1 b (bo + j) 3

    /// Row i of the 3 x 3 block r[ro..] times v[vo..].
    let inline rowDot (r: ^T[]) (ro: int) (i: int) (v: ^T[]) (vo: int) : ^T = Real.dot3 r (ro + i * 3) 1 v vo 1

    /// a[ao..] . b[bo..] for 6-vectors.
    let inline dot6 (a: ^T[]) (ao: int) (b: ^T[]) (bo: int) : ^T = Real.dot6 a ao b bo

    /// y[yo..] = X v for the 6 x 6 block X at x[xo..] and the 6-vector v[vo..].
    let inline mul66v (x: ^T[]) (xo: int) (v: ^T[]) (vo: int) (y: ^T[]) (yo: int) =
        for i in 0 .. 5 do
            y[yo + i] <- dot6 x (xo + i * 6) v vo

/// Building FastModels.
module internal FastModelBuild =
    open Genesis.HomogeneousArithmetic

    /// Spatial.quatToMat of one quaternion (w, x, y, z) at q[o..o+3] into r[ro..ro+8], the same arithmetic.
    let inline quatToMatInto (q: ^T[]) (o: int) (r: ^T[]) (ro: int) =
        let one, two = Real.lift 1.0, Real.lift 2.0
        let w0, x0, y0, z0 = q[o], q[o + 1], q[o + 2], q[o + 3]
        let n = sqrt (w0 * w0 + x0 * x0 + y0 * y0 + z0 * z0)
        let w, x, y, z = w0 / n, x0 / n, y0 / n, z0 / n
        r[ro + 0] <- one - two * (y * y + z * z)
        r[ro + 1] <- two * (x * y - z * w)
        r[ro + 2] <- two * (x * z + y * w)
        r[ro + 3] <- two * (x * y + z * w)
        r[ro + 4] <- one - two * (x * x + z * z)
        r[ro + 5] <- two * (y * z - x * w)
        r[ro + 6] <- two * (x * z - y * w)
        r[ro + 7] <- two * (y * z + x * w)
        r[ro + 8] <- one - two * (x * x + y * y)

    let private skewOf (v: float[]) (o: int) =
        [| 0.0; -v[o + 2]; v[o + 1]; v[o + 2]; 0.0; -v[o]; -v[o + 1]; v[o]; 0.0 |]

    let private mat33 (a: float[]) (b: float[]) =
        Array.init 9 (fun k ->
            let i, j = k / 3, k % 3
            a[i * 3] * b[j] + a[i * 3 + 1] * b[3 + j] + a[i * 3 + 2] * b[6 + j])

    /// The static candidate pairs of Contact.candidatePairs (its filters without the distance test), ordered by rank.
    let private staticPairs (topo: Topology) (geoms: (int * GeomSpec)[]) =
        let allowed = Contact.pairFilter topo
        [| for i in 0 .. geoms.Length - 1 do
               for j in i + 1 .. geoms.Length - 1 do
                   let (bi, gi), (bj, gj) = geoms[i], geoms[j]
                   if allowed (bi, gi) (bj, gj) then
                       if Contact.rank gi > Contact.rank gj then yield j, i else yield i, j |]

    /// The parameter tensors' raw values in Rollout.paramsToArray order.
    let sources (p: Params) = Rollout.paramsToArray p |> Array.map (fun t -> t.raw)

    /// True when every parameter tensor still holds the raw tensor of `src` (sources order), without allocating.
    let readFrom (p: Params) (src: RawTensor[]) =
        let inline same (t: Tensor) (i: int) = Object.ReferenceEquals(t.raw, src[i])
        same p.bodyPos 0 && same p.bodyQuat 1 && same p.bodyMass 2 && same p.bodyIpos 3 && same p.bodyInertia 4
        && same p.jntAxis 5 && same p.jntPos 6 && same p.dofDamping 7 && same p.dofArmature 8 && same p.dofStiffness 9
        && same p.dofSpringref 10 && same p.gravity 11 && same p.kp 12 && same p.kv 13 && same p.forceLo 14
        && same p.forceHi 15 && same p.contactStiffness 16 && same p.contactDamping 17 && same p.friction 18

    /// The fast-path constants of a model.
    let build (model: Model) : FastModel<float> =
        let limitBound (pick: float * float -> float) =
            Array.init model.topology.nv (fun d ->
                let t = model.topology
                if t.dofQposAdr[d] < 0 then nan
                else
                    match t.jntRange[t.dofJoint[d]] with
                    | Some r -> (let x = pick r in if Double.IsInfinity x then nan else x)
                    | None -> nan)
        let limitLo, limitHi = limitBound fst, limitBound snd
        let topo, p = model.topology, model.parameters
        let nb, nv = topo.nbody, topo.nv
        let nj = topo.jntType.Length
        let v (t: Tensor) = t.toFloatArray()
        let bodyQuat = v p.bodyQuat
        let bodyR = Array.zeroCreate (nb * 9)
        for i in 0 .. nb - 1 do quatToMatInto bodyQuat (i * 4) bodyR (i * 9)
        let jntAxis = v p.jntAxis
        let jntK = Array.zeroCreate (nj * 9)
        let jntKK = Array.zeroCreate (nj * 9)
        for j in 0 .. nj - 1 do
            let k = skewOf jntAxis (j * 3)
            Array.blit k 0 jntK (j * 9) 9
            Array.blit (mat33 k k) 0 jntKK (j * 9) 9
        let mask = Model.ancestorDofMask topo
        let bodyDofs = Array.init nb (fun b -> [| for k in 0 .. nv - 1 do if mask[b * nv + k] <> 0.0 then k |])
        let bodyJntAdr = Array.init nb (fun b -> if topo.bodyJoints[b].Length > 0 then topo.bodyJoints[b][0] else 0)
        let bodyDofAdr = Array.init nb (fun b -> if topo.bodyJoints[b].Length > 0 then topo.jntDofAdr[topo.bodyJoints[b][0]] else 0)
        let bodyDofNum = Array.init nb (fun b -> topo.dofBody |> Array.filter (fun d -> d = b) |> Array.length)
        let geoms = [| for b in 0 .. nb - 1 do for g in topo.bodyGeoms[b] do if g.contype <> 0 || g.conaffinity <> 0 then b, g |]
        let geomR = Array.zeroCreate (geoms.Length * 9)
        geoms |> Array.iteri (fun i (_, g) -> quatToMatInto g.quat 0 geomR (i * 9))
        let pairs = staticPairs topo geoms
        let dofParent =
            Array.init nv (fun k ->
                let b = topo.dofBody[k]
                if k > 0 && topo.dofBody[k - 1] = b then k - 1
                else
                    let mutable p = topo.bodyParent[b]
                    while p >= 0 && bodyDofNum[p] = 0 do p <- topo.bodyParent[p]
                    if p < 0 then -1 else bodyDofAdr[p] + bodyDofNum[p] - 1)
        let probes = geoms |> Array.map (fun (_, g) -> fst (Contact.planeProbe g) |> Array.concat)
        let reach (p: float[]) = Array.init (p.Length / 3) (fun i -> sqrt (p[3 * i] ** 2.0 + p[3 * i + 1] ** 2.0 + p[3 * i + 2] ** 2.0)) |> Array.fold max 0.0
        let scalar (t: Tensor) = (v t)[0]
        let maxPending = topo.jntType |> Array.sumBy (fun t -> match t with Ball | Free -> 1 | _ -> 0)
        let pool = ConcurrentBag<FastWork<float>>()
        { nbody = nb
          nq = topo.nq
          nv = nv
          parent = topo.bodyParent
          bodyJntAdr = bodyJntAdr
          bodyJntNum = topo.bodyJoints |> Array.map Array.length
          bodyDofAdr = bodyDofAdr
          bodyDofNum = bodyDofNum
          bodyDofs = bodyDofs
          jntType = topo.jntType
          jntQposAdr = topo.jntQposAdr
          jntDofAdr = topo.jntDofAdr
          dofBody = topo.dofBody
          dofQposAdr = topo.dofQposAdr
          dofMoving = topo.dofWorldFixed |> Array.map (fun f -> if f then 0.0 else 1.0)
          dofAnc = Array.init nv (fun k -> bodyDofs[topo.dofBody[k]] |> Array.filter (fun j -> j <= k))
          dofParent = dofParent
          qpos0 = topo.qpos0
          bodyPos = v p.bodyPos
          bodyR = bodyR
          bodyMass = v p.bodyMass
          bodyIpos = v p.bodyIpos
          bodyInertia = v p.bodyInertia
          jntAxis = jntAxis
          jntPos = v p.jntPos
          jntK = jntK
          jntKK = jntKK
          dofDamping = v p.dofDamping
          dofArmature = v p.dofArmature
          dofStiffness = v p.dofStiffness
          dofSpringref = v p.dofSpringref
          gravity = v p.gravity
          kp = v p.kp
          kv = v p.kv
          forceLo = v p.forceLo
          forceHi = v p.forceHi
          dofLimitLo = limitLo
          dofLimitHi = limitHi
          hasLimits = Array.exists (fun x -> not (Double.IsNaN x)) (Array.append limitLo limitHi)
          contactStiffness = scalar p.contactStiffness
          contactDamping = scalar p.contactDamping
          friction = scalar p.friction
          geomBody = geoms |> Array.map fst
          geomSpec = geoms |> Array.map snd
          geomPos = geoms |> Array.collect (fun (_, g) -> Array.copy g.pos)
          geomR = geomR
          geomBound = geoms |> Array.map (fun (_, g) -> Contact.boundRadius g)
          geomProbe = probes
          geomProbeRadius = geoms |> Array.map (fun (_, g) -> snd (Contact.planeProbe g))
          geomProbeReach = probes |> Array.map reach
          pairA = pairs |> Array.map fst
          pairB = pairs |> Array.map snd
          pairKind = pairs |> Array.map (fun (a, b) -> PairDispatch.kindOf (snd geoms[a]).gtype (snd geoms[b]).gtype)
          pairMu = pairs |> Array.map (fun (a, b) -> sqrt ((snd geoms[a]).friction[0] * (snd geoms[b]).friction[0]))
          source = sources p
          pool = pool }

    /// The same constants as TapeReal constants, for recording steps on the scalar tape (no gradient reaches them).
    let toTape (m: FastModel<float>) : FastModel<TapeReal> =
        let c (a: float[]) = Array.map TapeReal.Const a
        { nbody = m.nbody; nq = m.nq; nv = m.nv; parent = m.parent; bodyJntAdr = m.bodyJntAdr; bodyJntNum = m.bodyJntNum
          bodyDofAdr = m.bodyDofAdr; bodyDofNum = m.bodyDofNum; bodyDofs = m.bodyDofs; jntType = m.jntType
          jntQposAdr = m.jntQposAdr; jntDofAdr = m.jntDofAdr; dofBody = m.dofBody; dofQposAdr = m.dofQposAdr
          dofMoving = c m.dofMoving; dofAnc = m.dofAnc; dofParent = m.dofParent; qpos0 = c m.qpos0; bodyPos = c m.bodyPos
          bodyR = c m.bodyR; bodyMass = c m.bodyMass; bodyIpos = c m.bodyIpos; bodyInertia = c m.bodyInertia
          jntAxis = c m.jntAxis; jntPos = c m.jntPos; jntK = c m.jntK; jntKK = c m.jntKK; dofDamping = c m.dofDamping
          dofArmature = c m.dofArmature; dofStiffness = c m.dofStiffness; dofSpringref = c m.dofSpringref
          gravity = c m.gravity; kp = c m.kp; kv = c m.kv; forceLo = c m.forceLo; forceHi = c m.forceHi
          dofLimitLo = c m.dofLimitLo; dofLimitHi = c m.dofLimitHi; hasLimits = m.hasLimits
          contactStiffness = TapeReal.Const m.contactStiffness; contactDamping = TapeReal.Const m.contactDamping
          friction = TapeReal.Const m.friction; geomBody = m.geomBody; geomSpec = m.geomSpec; geomPos = c m.geomPos
          geomR = c m.geomR; geomBound = m.geomBound; geomProbe = Array.map c m.geomProbe
          geomProbeRadius = c m.geomProbeRadius; geomProbeReach = m.geomProbeReach; pairA = m.pairA; pairB = m.pairB
          pairKind = m.pairKind; pairMu = c m.pairMu; source = m.source; pool = ConcurrentBag<FastWork<TapeReal>>() }

    /// A work buffer for the model (from its pool, or new).
    let rent (m: FastModel<'T>) =
        match m.pool.TryTake() with
        | true, w -> w
        | _ -> FastWork<'T>(m.nbody, m.nq, m.nv, m.geomBody.Length, m.jntType.Length)

    /// Returns a work buffer to the model's pool.
    let giveBack (m: FastModel<'T>) (w: FastWork<'T>) = m.pool.Add w
