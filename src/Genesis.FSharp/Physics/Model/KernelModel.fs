namespace Genesis.Physics

open System
open System.Collections.Concurrent
open Genesis

/// The constants of the equality constraints (Topology.equality) shared by the Tensor path and the kernels: the rows of
/// each constraint, MuJoCo's efc_diagApprox per row (from body_invweight0 / dof_invweight0 at qpos0) and each weld's
/// relative rotation as a 3 x 3 matrix (row-major, zeros for the other kinds).
type internal EqualityConstants =
    { items: EqualityConstraint[]
      /// First row of each constraint, and the total.
      rowAdr: int[]
      rows: int
      diag: float[]
      relMat: float[][] }

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
      /// M's sparsity pattern along the dof tree (MuJoCo dof_parentid, rowadr / rownnz / colind): how qM is stored.
      pattern: TreePattern
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
      /// The fixed tendons (Topology.tendons; their constants are plain floats, never differentiated).
      tendons: FixedTendon[]
      contactStiffness: 'T
      contactDamping: 'T
      /// Equality constraints (EqualityKernel).
      equality: EqualityConstants
      friction: 'T
      /// Collidable geoms (contype or conaffinity nonzero), in body order as Broadphase.candidatePairs lists them.
      geomBody: int[]
      geomSpec: GeomSpec[]
      geomPos: 'T[]
      /// Geom frame rotations in the body frame, ngeom x 9.
      geomR: 'T[]
      /// Broadphase.boundRadius (infinite for planes).
      geomBound: float[]
      /// PlaneProbe.planeProbe points in the geom frame (3 per point), their radius and their largest distance from the origin.
      geomProbe: 'T[][]
      geomProbeRadius: 'T[]
      geomProbeReach: float[]
      /// Sliding friction per geom (friction[0]; a pair's is sqrt(friction A * friction B)) and PairDispatch.rankOf.
      geomFriction: float[]
      geomRank: int[]
      /// The geoms with a finite bound (swept and pruned) and with an infinite one (planes: paired with every geom).
      geomFinite: int[]
      geomInfinite: int[]
      /// Whether each body moves (Broadphase.bodyMoves) and its collision tree (Topology.bodyTree): the static filter.
      bodyMoves: bool[]
      bodyTree: int[]
      /// Whether the static filter allows some pair of geoms (else the contact stage is skipped).
      anyPairs: bool
      /// Whether it allows some pair of two finite geoms (else the sweep is skipped: e.g. one robot on a plane).
      sweepPairs: bool
      /// The allowed pairs with an infinite geom (a plane against every other geom), ranked as ContactKernel reads them:
      /// O(planes x geoms), tested by the narrow phase every step.
      infinitePairA: int[]
      infinitePairB: int[]
      /// The parameter raw tensors the values were read from (identity checked before each use).
      source: RawTensor[]
      /// Work buffers, one per concurrent user.
      pool: ConcurrentBag<FastWork<'T>> }

/// Per-thread work buffers of the fast path (MuJoCo's mjData), sized for one env of a model.
and [<Sealed; AllowNullLiteral>] internal FastWork<'T>(nbody: int, nq: int, nv: int, nnzM: int, ngeom: int, maxPending: int) =
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
    /// h C's entries outside M's pattern: the cross terms of contacts between two moving bodies (empty when none).
    member val cross = CrossTerms<'T>()
    /// When set (EulerAdjoint's re-run), the (geom A, geom B, probe) of every probe-plane point within reach, in order.
    member val probeLog: ResizeArray<int> = null with get, set
    /// Mass matrix in the tree's pattern (FastModel.pattern: one value per entry, nnz), bias forces, the right-hand side
    /// f - bias and contact forces.
    member val qM: 'T[] = Array.zeroCreate nnzM
    member val bias: 'T[] = Array.zeroCreate nv
    member val rhs: 'T[] = Array.zeroCreate nv
    member val qfrcContact: 'T[] = Array.zeroCreate nv
    /// Joint-limit velocity derivative (c + h k while violated) per dof, for the implicit step.
    member val limitDiag: 'T[] = Array.zeroCreate nv
    /// This step's islands (trees coupled by cross terms), created by the first step with cross terms.
    member val islands: Islands = null with get, set
    /// One island's dense block (the largest island's dofs squared), grown on demand.
    member val islandBlock: 'T[] = Array.empty with get, set
    /// One island's right-hand side and solution (the largest island's dofs), grown on demand.
    member val islandX: 'T[] = Array.empty with get, set
    /// The islands' solutions, island after island (their dofs in all), grown on demand.
    member val islandSol: 'T[] = Array.empty with get, set
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
    /// Broad phase: the finite geoms in sweep order (null until the first sweep), x interval ends per geom, and the
    /// candidate pairs (geom indices A, B; candCount used, grown on demand).
    member val sapOrder: int[] = null with get, set
    member val sapLo: float[] = Array.zeroCreate ngeom
    member val sapHi: float[] = Array.zeroCreate ngeom
    member val candA: int[] = Array.zeroCreate 16 with get, set
    member val candB: int[] = Array.zeroCreate 16 with get, set
    member val candCount = 0 with get, set
    /// Box corners (8 x 3 each) for box-box pairs.
    member val cornersA: 'T[] = Array.zeroCreate 24
    member val cornersB: 'T[] = Array.zeroCreate 24
    /// The six face axes' overlaps of a box-box pair.
    member val faceOverlaps: float[] = Array.zeroCreate 6
    /// EqualityKernel's buffers, made on first use.
    member val eqWork: 'T[][] = null with get, set
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

    /// The Hamilton product a * b of quaternions given as (w, x, y, z) components.
    let inline quatMul (aw: ^T) (ax: ^T) (ay: ^T) (az: ^T) (bw: ^T) (bx: ^T) (by: ^T) (bz: ^T) =
        struct (aw * bw - ax * bx - ay * by - az * bz,
                aw * bx + ax * bw + ay * bz - az * by,
                aw * by - ax * bz + ay * bw + az * bx,
                aw * bz + ax * by - ay * bx + az * bw)

/// The kernel model's conversions and its pool of work buffers (KernelModelBuild builds one from a Model).
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

    /// The same constants as TapeReal constants, for recording steps on the scalar tape (no gradient reaches them).
    let toTape (m: FastModel<float>) : FastModel<TapeReal> =
        let c (a: float[]) = Array.map TapeReal.Const a
        { nbody = m.nbody; nq = m.nq; nv = m.nv; parent = m.parent; bodyJntAdr = m.bodyJntAdr; bodyJntNum = m.bodyJntNum
          bodyDofAdr = m.bodyDofAdr; bodyDofNum = m.bodyDofNum; bodyDofs = m.bodyDofs; jntType = m.jntType
          jntQposAdr = m.jntQposAdr; jntDofAdr = m.jntDofAdr; dofBody = m.dofBody; dofQposAdr = m.dofQposAdr
          dofMoving = c m.dofMoving; pattern = m.pattern; qpos0 = c m.qpos0; bodyPos = c m.bodyPos
          bodyR = c m.bodyR; bodyMass = c m.bodyMass; bodyIpos = c m.bodyIpos; bodyInertia = c m.bodyInertia
          jntAxis = c m.jntAxis; jntPos = c m.jntPos; jntK = c m.jntK; jntKK = c m.jntKK; dofDamping = c m.dofDamping
          dofArmature = c m.dofArmature; dofStiffness = c m.dofStiffness; dofSpringref = c m.dofSpringref
          gravity = c m.gravity; kp = c m.kp; kv = c m.kv; forceLo = c m.forceLo; forceHi = c m.forceHi
          dofLimitLo = c m.dofLimitLo; dofLimitHi = c m.dofLimitHi; hasLimits = m.hasLimits; tendons = m.tendons
          contactStiffness = TapeReal.Const m.contactStiffness; contactDamping = TapeReal.Const m.contactDamping; equality = m.equality
          friction = TapeReal.Const m.friction; geomBody = m.geomBody; geomSpec = m.geomSpec; geomPos = c m.geomPos
          geomR = c m.geomR; geomBound = m.geomBound; geomProbe = Array.map c m.geomProbe
          geomProbeRadius = c m.geomProbeRadius; geomProbeReach = m.geomProbeReach; geomFriction = m.geomFriction
          geomRank = m.geomRank; geomFinite = m.geomFinite; geomInfinite = m.geomInfinite; bodyMoves = m.bodyMoves
          bodyTree = m.bodyTree; anyPairs = m.anyPairs; sweepPairs = m.sweepPairs
          infinitePairA = m.infinitePairA; infinitePairB = m.infinitePairB; source = m.source; pool = ConcurrentBag<FastWork<TapeReal>>() }

    /// A work buffer for the model (from its pool, or new).
    let rent (m: FastModel<'T>) =
        match m.pool.TryTake() with
        | true, w -> w
        | _ -> FastWork<'T>(m.nbody, m.nq, m.nv, TreePattern.nnz m.pattern, m.geomBody.Length, m.jntType.Length)

    /// Returns a work buffer to the model's pool.
    let giveBack (m: FastModel<'T>) (w: FastWork<'T>) = m.pool.Add w
