namespace Genesis.Physics

open System
open Genesis
open Genesis.Physics.ContactGeometry

/// Joint-space contact forces and their velocity derivative (for the implicit velocity update).
type ContactForces =
    { /// Generalised contact forces [B; nv].
      qfrc: Tensor
      /// C = -d qfrc / d qvel [B; nv; nv] (symmetric positive semi-definite); the Euler step solves (M + h D + h C) qacc = f.
      damping: Tensor
      /// Number of contact points evaluated (after the broad phase).
      points: int }

/// Smooth penalty contact. A contact is a point p on body A with a unit normal n pointing from B into A and a
/// penetration depth d (> 0 when penetrating). Normal force fn = k s softplus(d / s) - c (v . n) sigmoid(d / s),
/// clamped at 0; friction ft = -mu fn v_t / sqrt(|v_t|^2 + eps^2) (smooth Coulomb). Forces are finite and
/// differentiable everywhere; the velocity-dependent parts enter the Euler step implicitly, so a stiff contact
/// is stable at dt = 0.01. Narrow phase by geom-type pair: plane with sphere, capsule, box, cylinder, ellipsoid
/// (axis extremes), mesh (hull vertices); sphere/capsule pairs (closest segment points); box with sphere/capsule
/// (closest point, capsule by its end spheres); box with box (corners inside the other box); every other pair of
/// convex geoms by GJK/EPA at the witness features (ConvexPair). Broad phase: sweep and
/// prune on world AABBs (O(n log n + pairs)). Excluded (pairFilter): self-collision inside a collision tree (a URDF
/// or primitive entity, or one moving tree under an MJCF world), parent-child pairs and pairs of two static bodies.
module Contact =
    /// Contacts of one geom pair by the dispatch table (A gets +force along the normal); planes and boxes come second.
    let internal pair (kin: Kinematics) (ba: int, ga: GeomSpec) (bb: int, gb: GeomSpec) : Points list =
        let mu = sqrt (ga.friction[0] * gb.friction[0])
        match PairDispatch.kindOf ga.gtype gb.gtype with
        | PairKind.NoContact -> []
        | PairKind.ProbePlane -> PlaneProbe.contacts kin (ba, ga) (bb, gb) mu
        | PairKind.SegmentSegment -> SegmentSegment.contacts kin (ba, ga) (bb, gb) mu
        | PairKind.SegmentBox -> SegmentBox.contacts kin (ba, ga) (bb, gb) mu
        | PairKind.BoxBox -> BoxBox.contacts kin (ba, ga) (bb, gb) mu
        | PairKind.Convex -> ConvexPair.contacts kin (ba, ga) (bb, gb) mu
        | _ -> PairDispatch.unsupported ga gb

    /// One narrow-phase result with its force law evaluated: the world force on body A at each point [B; n; 3]
    /// (body B receives the opposite), the relative point-velocity Jacobian [B; n; 3; nv] and the velocity
    /// derivative's normal gain (c + h k while penetrating) and friction slope [B; n].
    type internal PointForces = { points: Points; jac: Tensor; force: Tensor; normalGain: Tensor; slope: Tensor }

    /// The force law at every contact point of the candidate pairs; h is the step (for the implicit spring term).
    let internal pointForces (model: Model) (cp: ContactParams) (kin: Kinematics) (qvel: Tensor) (h: float) : PointForces list =
        let topo = model.topology
        let nv = topo.nv
        // on the host the sweep picks the candidates; on a device every static pair runs, masked per env there
        let margin = 20.0 * cp.softness + 1e-3
        let pairs =
            if kin.xpos.device = Device.Cpu then Broadphase.candidatePairs topo kin margin |> List.map (fun p -> p, None)
            else Broadphase.maskedPairs topo kin margin
        if pairs.IsEmpty || nv = 0 then []
        else
            let mask = Model.ancestorMask topo
            let pointJac (body: int) (p: Tensor) =
                // [B; n; 3; nv]: d(velocity of the point fixed to body) / d qvel = J_u - [p]x J_w
                let row = Constants.ofValues topo (Constants.AncestorRow body) qvel [| nv |] (fun () -> mask[body * nv .. (body + 1) * nv - 1])
                let cd = kin.cdof * row.unsqueeze(-1)
                let jw = cd.narrow(-1, 0, 3).transpose(1, 2).unsqueeze(1)
                let ju = cd.narrow(-1, 3, 3).transpose(1, 2).unsqueeze(1)
                ju - Spatial.skew(p).matmul(jw)
            let stiffness, damping, friction = model.parameters.contactStiffness, model.parameters.contactDamping, model.parameters.friction
            let frictionOverride = (Constants.hostValues friction)[0] > 0.0 // read once per friction tensor
            // a body without dofs above it (the ground) contributes a zero Jacobian
            let moves (body: int) = Array.exists (fun k -> mask[body * nv + k] <> 0.0) [| 0 .. nv - 1 |]
            [ for (a, bg), envMask in pairs do
                  for pts in pair kin a bg do
                      let jac = if moves pts.bodyB then pointJac pts.bodyA pts.point - pointJac pts.bodyB pts.point else pointJac pts.bodyA pts.point
                      let vrel = jac.matmul(qvel.unsqueeze(1).unsqueeze(-1)).squeeze(-1)
                      let n = pts.normal
                      let vn = (vrel * n).sum(-1)
                      let s = cp.softness
                      let act = (pts.depth / s).sigmoid()
                      let fnMag = ((pts.depth / s).softplus() * (stiffness * s) - act * vn * damping).relu()
                      let act, fnMag =
                          match envMask with
                          | Some m -> act * m.unsqueeze(-1), fnMag * m.unsqueeze(-1)
                          | None -> act, fnMag
                      let vt = vrel - n * vn.unsqueeze(-1)
                      let mu = if frictionOverride then friction else Spatial.constLike qvel [||] [| pts.friction |]
                      let eps = cp.frictionVelocity
                      let slope = fnMag * mu / ((vt * vt).sum(-1) + eps * eps).sqrt()
                      yield { points = pts
                              jac = jac
                              force = n * fnMag.unsqueeze(-1) - vt * slope.unsqueeze(-1)
                              normalGain = act * (damping + stiffness * h)
                              slope = slope } ]

    /// Contact forces and their velocity derivative at a state; h is the step (for the implicit spring term).
    let compute (model: Model) (cp: ContactParams) (kin: Kinematics) (qvel: Tensor) (h: float) : ContactForces =
        let nv = model.topology.nv
        let b = qvel.shape[0]
        let mutable f = gs.zeros([ b; nv ], dtype = qvel.dtype)
        let mutable c = gs.zeros([ b; nv; nv ], dtype = qvel.dtype)
        let mutable count = 0
        for pf in pointForces model cp kin qvel h do
            count <- count + pf.points.point.shape[1]
            let jacT = pf.jac.transpose(-1, -2)
            f <- f + jacT.matmul(pf.force.unsqueeze(-1)).squeeze(-1).sum(1)
            // velocity derivative: normal (c + h k) n n^T while penetrating, friction slope (I - n n^T)
            let n = pf.points.normal
            let nnT = n.unsqueeze(-1).matmul(n.unsqueeze(-2))
            let eye = Spatial.eyeLike qvel 3
            let local = nnT * pf.normalGain.unsqueeze(-1).unsqueeze(-1) + (eye - nnT) * pf.slope.unsqueeze(-1).unsqueeze(-1)
            c <- c + jacT.matmul(local).matmul(pf.jac).sum(1)
        { qfrc = f; damping = c; points = count }

    /// The net contact force on each body in the world frame [B; nbody; 3] at a state: the force law's value
    /// (before the step's implicit velocity update), each point's force added to body A and subtracted from B.
    let bodyForces (model: Model) (cp: ContactParams) (kin: Kinematics) (qvel: Tensor) : Tensor =
        let nbody = model.topology.nbody
        let b = qvel.shape[0]
        let place (body: int) = Spatial.constLike qvel [| nbody; 1 |] (Array.init nbody (fun k -> if k = body then 1.0 else 0.0))
        pointForces model cp kin qvel 0.0
        |> List.fold (fun (acc: Tensor) pf ->
            let net = pf.force.sum(1).unsqueeze(1) // [B; 1; 3]
            acc + net * place pf.points.bodyA - net * place pf.points.bodyB) (gs.zeros([ b; nbody; 3 ], dtype = qvel.dtype))

/// Contact forces on arrays, generic over the scalar: the dispatch table over the candidate pairs, then generalised.
module internal ContactKernel =
    open Genesis.Physics.FastMath
    open Genesis.Real
    open Genesis.HomogeneousArithmetic
    open Genesis.Physics.ContactPointKernel

    /// Zeroes the contact outputs: qfrcContact, the per-body wrenches and (when needC) stiffnesses and C's entries.
    let inline internal clear (w: FastWork< ^T>) (needC: bool) =
        Array.Clear w.qfrcContact
        Array.Clear w.wbody
        if needC then
            Array.Clear w.kbody
            w.cross.Clear()

    /// Whether EulerAdjoint differentiates pair (a, b) by hand: probes of A against a plane B on a body without dofs.
    let internal isHandPair (m: FastModel<'T>) (a: int) (b: int) =
        PairDispatch.kindOf m.geomSpec[a].gtype m.geomSpec[b].gtype = PairKind.ProbePlane && m.bodyDofs[m.geomBody[b]].Length = 0

    /// The broad phase's candidate pairs from the geom frames in w (BroadphaseKernel.candidates, into w.candA / w.candB).
    let inline internal candidates (m: FastModel< ^T>) (w: FastWork< ^T>) (cp: ContactParams) =
        BroadphaseKernel.candidates m w (20.0 * cp.softness + 1e-3)

    /// The points of every candidate pair in w (ContactKernel.candidates) into w.wbody, w.kbody and w.cross, skipping the
    /// pairs differentiated by hand when skipHand (isHandPair), from the geom frames in w.
    let inline internal pairs (m: FastModel< ^T>) (w: FastWork< ^T>) (cp: ContactParams) (h: float) (needC: bool) (skipHand: bool) =
        let overrideMu = value m.friction > 0.0
        for c in 0 .. w.candCount - 1 do
            let a, b = w.candA[c], w.candB[c]
            if not (skipHand && isHandPair m a b) then
                let mu = if overrideMu then m.friction else lift (sqrt (m.geomFriction[a] * m.geomFriction[b]))
                match PairDispatch.kindOf m.geomSpec[a].gtype m.geomSpec[b].gtype with
                | PairKind.ProbePlane -> PlaneProbeKernel.probePlane m w cp h needC a b mu
                | PairKind.SegmentSegment -> SegmentSegmentKernel.segmentSegment m w cp h needC a b mu
                | PairKind.SegmentBox -> SegmentBoxKernel.segmentBox m w cp h needC a b mu
                | PairKind.BoxBox -> BoxBoxKernel.boxBox m w cp h needC a b mu
                | PairKind.Convex -> ConvexPairKernel.convexPair m w cp h needC a b mu
                | PairKind.NoContact -> ()
                | _ -> PairDispatch.unsupported m.geomSpec[a] m.geomSpec[b]

    /// qfrc_k = cdof_k . (contact wrenches summed over the subtree of dof k's body); the sums replace w.wbody.
    let inline internal generalised (m: FastModel< ^T>) (w: FastWork< ^T>) =
        let wb = w.wbody
        for b in m.nbody - 1 .. -1 .. 0 do
            let par = m.parent[b]
            if par >= 0 then
                for i in 0 .. 5 do wb[par * 6 + i] <- wb[par * 6 + i] + wb[b * 6 + i]
        let cdof = w.cdof
        for k in 0 .. m.nv - 1 do
            w.qfrcContact[k] <- dot6 cdof (k * 6) wb (m.dofBody[k] * 6)

    /// Contact forces into w.qfrcContact and (when needC) C = -d qfrc / d qvel: spatial stiffness K per body in w.kbody
    /// (h C = CRBA of h K) plus h C's entries outside M's pattern in w.cross, from the kinematics and velocities in w.
    let inline compute (m: FastModel< ^T>) (w: FastWork< ^T>) (cp: ContactParams) (h: float) (needC: bool) =
        clear w needC
        if m.anyPairs && m.nv > 0 then
            geomFrames m w
            candidates m w cp
            pairs m w cp h needC false
            generalised m w
