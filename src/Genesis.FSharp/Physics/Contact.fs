namespace Genesis.Physics

open System
open Genesis

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
/// (closest point, capsule by its end spheres); box with box (corners inside the other box). Broad phase: sweep and
/// prune on world AABBs (O(n log n + pairs)). Excluded (pairFilter): self-collision inside a collision tree (a URDF
/// or primitive entity, or one moving tree under an MJCF world), parent-child pairs and pairs of two static bodies.
module Contact =
    /// Contact points of one pair: bodies, world points [B; n; 3], normals [B; n; 3], depths [B; n], friction.
    type internal Points =
        { bodyA: int
          bodyB: int
          point: Tensor
          normal: Tensor
          depth: Tensor
          friction: float }

    let private frame (kin: Kinematics) (body: int) (g: GeomSpec) =
        let r = kin.xmat.narrow(1, body, 1).squeeze(1)
        let p = kin.xpos.narrow(1, body, 1).squeeze(1)
        let gr = r.matmul(Constants.get g Constants.GeomRotation p (fun () -> Spatial.quatToMat (Spatial.constLike p [| 4 |] g.quat)))
        let gp = p + Spatial.rotate r (Constants.ofValues g Constants.GeomPosition p [| 3 |] (fun () -> g.pos))
        gp, gr

    let internal boxCorners (h: float[]) =
        [| for x in [ -1.0; 1.0 ] do for y in [ -1.0; 1.0 ] do for z in [ -1.0; 1.0 ] -> [| x * h[0]; y * h[1]; z * h[2] |] |]

    let private probesOf (g: GeomSpec) : float[][] * float =
        let s = g.size
        match g.gtype with
        | Sphere -> [| [| 0.0; 0.0; 0.0 |] |], s[0]
        | Capsule -> [| [| 0.0; 0.0; s[1] |]; [| 0.0; 0.0; -s[1] |] |], s[0]
        | Box -> boxCorners s, 0.0
        | Cylinder ->
            [| for z in [ -1.0; 1.0 ] do
                   for k in 0 .. 7 ->
                       let a = float k * Math.PI / 4.0
                       [| s[0] * cos a; s[0] * sin a; z * s[1] |] |], 0.0
        | Ellipsoid -> [| for ax in 0 .. 2 do for sg in [ -1.0; 1.0 ] -> Array.init 3 (fun i -> if i = ax then sg * s[i] else 0.0) |], 0.0
        | Mesh ->
            match g.meshVertices with
            | Some v -> Array.init (v.Length / 3) (fun i -> v[3 * i .. 3 * i + 2]), 0.0
            | None -> boxCorners s, 0.0
        | Plane -> [||], 0.0

    let private probeCache = System.Runtime.CompilerServices.ConditionalWeakTable<GeomSpec, float[][] * float>()

    /// Points of a geom tested against a plane (local frame) and the radius around them (computed once per geom).
    let internal planeProbe (g: GeomSpec) : float[][] * float = probeCache.GetValue(g, fun g -> probesOf g)

    let private toWorld (gp: Tensor) (gr: Tensor) (local: Tensor) =
        gp.unsqueeze(1) + gr.unsqueeze(1).matmul(local.unsqueeze(-1)).squeeze(-1)

    /// End points of a sphere (both the centre) or capsule axis, and the radius.
    let private segment (kin: Kinematics) (body: int) (g: GeomSpec) =
        let gp, gr = frame kin body g
        let half = if g.gtype = Capsule then g.size[1] else 0.0
        let axis = gr.narrow(2, 2, 1).squeeze(2)
        gp + axis * half, gp - axis * half, g.size[0]

    /// Added to a segment's squared length before dividing by it, so a degenerate segment (a sphere) is safe.
    [<Literal>]
    let internal SegmentFloorSq = 1e-12

    let private closestOnSegment (a: Tensor) (b: Tensor) (c: Tensor) =
        let ab = b - a
        let t = (((c - a) * ab).sum(-1, true) / ((ab * ab).sum(-1, true) + SegmentFloorSq)).clamp(0.0, 1.0)
        a + ab * t

    /// The squared-length floor of the gradient-safe normalisation of a closest-point offset (its length is at least 1e-9).
    [<Literal>]
    let internal NormFloorSq = 1e-18

    /// A point whose floored distance to a box is at most this is inside it (the floor is 1e-9; twice that leaves room
    /// for rounding). Both the Tensor path and the fast path (FastContact.segmentBox) decide "inside" by it.
    [<Literal>]
    let internal InsideDistance = 2e-9

    let private safeNormalize (v: Tensor) =
        let n = ((v * v).sum(-1, true) + NormFloorSq).sqrt()
        v / n, n

    /// Spheres (centres [B; n; 3], radius ra) on body A against box B: closest-point contacts.
    let private spheresVsBox (kin: Kinematics) (ba: int) (centres: Tensor) (ra: float) (bb: int, gb: GeomSpec) (mu: float) =
        let bp, br = frame kin bb gb
        let h = Constants.ofValues gb Constants.BoxHalfExtents bp [| 3 |] (fun () -> gb.size)
        let local = br.transpose(1, 2).unsqueeze(1).matmul((centres - bp.unsqueeze(1)).unsqueeze(-1)).squeeze(-1)
        let clamped = local.maximum(-h).minimum(h)
        let outside = local - clamped
        let dirOut, distOut = safeNormalize outside
        // inside: push out through the nearest face
        let gap = h - local.abs()
        let axis = gap.argmin(-1, true)
        let onehot = gs.zerosLike(local).scatterAdd(-1, axis, gs.onesLike(gap.narrow(-1, 0, 1)))
        let sgn = Tensor.where(local.ge(0.0), gs.onesLike local, -gs.onesLike local)
        let dirIn = onehot * sgn
        let depthIn = (gap * onehot).sum(-1, true)
        // safeNormalize floors the distance at 1e-9, so "inside" is a distance at that floor
        let isInside = distOut.le(InsideDistance)
        let nLocal = Tensor.where(isInside, dirIn, dirOut)
        let depth = Tensor.where(isInside, depthIn + ra, ra - distOut).squeeze(-1)
        let n = br.unsqueeze(1).matmul(nLocal.unsqueeze(-1)).squeeze(-1)
        { bodyA = ba; bodyB = bb; point = centres - n * ra; normal = n; depth = depth; friction = mu }

    /// How much more overlap than the least a face axis may have and still be taken for its contacts when the least
    /// one has none: a tenth of the smallest half-extent of the two boxes.
    let internal faceTieTolerance (hA: float[]) (hB: float[]) = 0.1 * min (Array.min hA) (Array.min hB)

    /// The face axis (0..5) of a box pair: the least overlap; if no incident corner lies within that reference face,
    /// the least-overlap axis within tolerance of it that has such corners (none: the least overlap anyway).
    let internal faceAxis (overlaps: float[]) (hasCorners: int -> bool) (tolerance: float) =
        let mutable best = 0
        for o in 1 .. 5 do
            if overlaps[o] < overlaps[best] then best <- o
        if hasCorners best then best
        else
            let mutable pick = best
            for o in 0 .. 5 do
                if o <> best && overlaps[o] <= overlaps[best] + tolerance && hasCorners o && (pick = best || overlaps[o] < overlaps[pick]) then pick <- o
            pick

    /// Box-box contact by the separating-axis test over the six face normals (chosen per env on the host; edge-edge
    /// axes are not tested): the incident box's corners below the reference face, within its extents, are contacts.
    /// Parallel faces tie (a small box on a large one): when no incident corner lies within the least-overlap
    /// face, the least-overlap axis within `faceTieTolerance` of it that has some is taken (see `faceAxis`).
    let private boxBox (kin: Kinematics) (ba: int, ga: GeomSpec) (bb: int, gb: GeomSpec) (mu: float) : Points =
        let pA, rA = frame kin ba ga
        let pB, rB = frame kin bb gb
        let hA, hB = ga.size, gb.size
        let cornersOf (p: Tensor) (r: Tensor) (g: GeomSpec) = toWorld p r (Constants.ofValues g Constants.BoxCorners p [| 8; 3 |] (fun () -> Array.concat (boxCorners g.size)))
        let cA, cB = cornersOf pA rA ga, cornersOf pB rB gb
        // host: the axis of least overlap per env, its orientation, and which corners lie within the face
        let nEnv = pA.shape[0]
        let pa, pb = pA.toFloatArray(), pB.toFloatArray()
        let ra, rb = rA.toFloatArray(), rB.toFloatArray()
        let ca, cb = cA.toFloatArray(), cB.toFloatArray()
        let col (r: float[]) e j = [| r[e * 9 + j]; r[e * 9 + 3 + j]; r[e * 9 + 6 + j] |]
        let dot (x: float[]) (y: float[]) = x[0] * y[0] + x[1] * y[1] + x[2] * y[2]
        let weights = Array.zeroCreate (nEnv * 6)
        let signs = Array.zeroCreate (nEnv * 6)
        let inside = Array.zeroCreate (nEnv * 6 * 8)
        for e in 0 .. nEnv - 1 do
            let d = Array.init 3 (fun i -> pb[e * 3 + i] - pa[e * 3 + i])
            let axes = Array.append (Array.init 3 (fun j -> col rb e j)) (Array.init 3 (fun j -> col ra e j))
            let overlap (u: float[]) =
                let radA = Array.init 3 (fun j -> hA[j] * abs (dot u (col ra e j))) |> Array.sum
                let radB = Array.init 3 (fun j -> hB[j] * abs (dot u (col rb e j))) |> Array.sum
                radA + radB - abs (dot d u)
            for o in 0 .. 5 do
                // reference box F (B for o < 3, A otherwise); sign orients its face towards the incident box
                let u = axes[o]
                let s = if o < 3 then (if dot d u <= 0.0 then 1.0 else -1.0) else (if dot d u >= 0.0 then 1.0 else -1.0)
                signs[e * 6 + o] <- s
                let refP, refR, refH, corners = if o < 3 then pb, rb, hB, ca else pa, ra, hA, cb
                let k = o % 3
                for c in 0 .. 7 do
                    let w = Array.init 3 (fun i -> corners[(e * 8 + c) * 3 + i] - refP[e * 3 + i])
                    let within = [ 0; 1; 2 ] |> List.forall (fun j -> j = k || abs (dot w (col refR e j)) <= refH[j] * 1.001 + 1e-9)
                    inside[(e * 6 + o) * 8 + c] <- if within then 1.0 else 0.0
            let overlaps = Array.init 6 (fun o -> overlap axes[o])
            let hasCorners o = Array.exists (fun c -> inside[(e * 6 + o) * 8 + c] = 1.0) [| 0 .. 7 |]
            weights[e * 6 + faceAxis overlaps hasCorners (faceTieTolerance hA hB)] <- 1.0
        let like = pA
        let option (o: int) =
            let k = o % 3
            let refP, refR, refH, corners = if o < 3 then pB, rB, hB, cA else pA, rA, hA, cB
            let u = refR.narrow(2, k, 1).squeeze(2)
            let s = Spatial.constLike like [| nEnv; 1 |] (Array.init nEnv (fun e -> signs[e * 6 + o]))
            let n = (u * s).unsqueeze(1) // reference face normal, towards the incident box
            let depth = refH[k] - ((corners - refP.unsqueeze(1)) * n).sum(-1)
            let m = Spatial.constLike like [| nEnv; 8 |] (Array.init (nEnv * 8) (fun i -> inside[((i / 8) * 6 + o) * 8 + i % 8]))
            let depth = depth * m + (m - 1.0)
            // force on A is along +normal: n when B is the reference, -n when A is
            let normal = if o < 3 then n.expandAs corners else (-n).expandAs corners
            depth, corners, normal
        let w o = Spatial.constLike like [| nEnv; 1 |] (Array.init nEnv (fun e -> weights[e * 6 + o]))
        let parts = Array.init 6 option
        let depth = parts |> Array.mapi (fun o (d, _, _) -> d * w o) |> Array.reduce (+)
        let point = parts |> Array.mapi (fun o (_, p, _) -> p * (w o).unsqueeze(-1)) |> Array.reduce (+)
        let normal = parts |> Array.mapi (fun o (_, _, n) -> n * (w o).unsqueeze(-1)) |> Array.reduce (+)
        { bodyA = ba; bodyB = bb; point = point; normal = normal; depth = depth; friction = mu }

    /// Contacts of one geom pair (A gets +force along the normal); planes and boxes come second.
    let internal pair (kin: Kinematics) (ba: int, ga: GeomSpec) (bb: int, gb: GeomSpec) : Points list =
        let mu = sqrt (ga.friction[0] * gb.friction[0])
        match PairDispatch.kindOf ga.gtype gb.gtype with
        | PairKind.NoContact -> []
        | PairKind.ProbePlane ->
            let pp, pr = frame kin bb gb
            let n = pr.narrow(2, 2, 1).squeeze(2).unsqueeze(1)
            let probes, radius = planeProbe ga
            let gp, gr = frame kin ba ga
            let world = toWorld gp gr (Constants.ofValues ga Constants.PlaneProbes gp [| probes.Length; 3 |] (fun () -> Array.concat probes))
            let height = ((world - pp.unsqueeze(1)) * n).sum(-1)
            let point = world - n * radius
            [ { bodyA = ba; bodyB = bb; point = point; normal = n.expandAs point; depth = radius - height; friction = mu } ]
        | PairKind.SegmentSegment ->
            let a0, a1, ra = segment kin ba ga
            let b0, b1, rb = segment kin bb gb
            let pb = closestOnSegment b0 b1 ((a0 + a1) / 2.0)
            let pa = closestOnSegment a0 a1 pb
            let pb = closestOnSegment b0 b1 pa
            let n, dist = safeNormalize (pa - pb)
            let depth = (ra + rb - dist).squeeze(-1)
            [ { bodyA = ba; bodyB = bb; point = (pa - n * ra).unsqueeze(1); normal = n.unsqueeze(1); depth = depth.unsqueeze(1); friction = mu } ]
        | PairKind.SegmentBox ->
            let a0, a1, ra = segment kin ba ga
            let centres = if ga.gtype = Sphere then a0.unsqueeze(1) else gs.stack([| a0; a1 |], 1)
            [ spheresVsBox kin ba centres ra (bb, gb) mu ]
        | PairKind.BoxBox -> [ boxBox kin (ba, ga) (bb, gb) mu ]
        | _ -> PairDispatch.unsupported ga gb

    /// Order of geom types in a pair: planes last, then boxes, so that `pair` sees (other, plane/box).
    let internal rank (g: GeomSpec) = PairDispatch.rankOf g.gtype

    /// A conservative world-space radius of a geom around its centre.
    let private boundRadiusOf (g: GeomSpec) =
        let s = g.size
        match g.gtype with
        | Sphere -> s[0]
        | Capsule | Cylinder -> s[0] + s[1]
        | Box | Ellipsoid -> sqrt (s[0] * s[0] + s[1] * s[1] + s[2] * s[2])
        | Mesh ->
            match g.meshVertices with
            | Some v -> Array.init (v.Length / 3) (fun i -> sqrt (v[3 * i] ** 2.0 + v[3 * i + 1] ** 2.0 + v[3 * i + 2] ** 2.0)) |> Array.max
            | None -> sqrt (s[0] * s[0] + s[1] * s[1] + s[2] * s[2])
        | Plane -> infinity

    let private boundCache = System.Runtime.CompilerServices.ConditionalWeakTable<GeomSpec, obj>()

    /// A conservative world-space radius of a geom around its centre (computed once per geom).
    let internal boundRadius (g: GeomSpec) = boundCache.GetValue(g, fun g -> box (boundRadiusOf g)) :?> float

    /// The static pair filter: false for pairs that never touch. Excluded are geoms of one body, of two static bodies
    /// (no dof moves either), of one collision tree (Topology.bodyTree: no self-collision), of a parent and its child
    /// unless the parent is welded to the world, pairs whose contype/conaffinity bits do not meet, and plane-plane.
    let pairFilter (topo: Topology) : (int * GeomSpec) -> (int * GeomSpec) -> bool =
        let moves = Array.zeroCreate<bool> topo.nbody
        for d in 0 .. topo.nv - 1 do moves[topo.dofBody[d]] <- true
        for b in 0 .. topo.nbody - 1 do
            let p = topo.bodyParent[b]
            if p >= 0 && moves[p] then moves[b] <- true
        let tree = topo.bodyTree
        let childOfNonWorld (child: int) (parent: int) = topo.bodyParent[child] = parent && tree[parent] >= 0
        fun (bi, gi) (bj, gj) ->
            not (
                bi = bj
                || (not moves[bi] && not moves[bj])
                || (tree[bi] >= 0 && tree[bi] = tree[bj])
                || childOfNonWorld bi bj || childOfNonWorld bj bi
                || ((gi.contype &&& gj.conaffinity) = 0 && (gj.contype &&& gi.conaffinity) = 0)
                || (gi.gtype = Plane && gj.gtype = Plane))

    /// Raises at build, naming both geoms and bodies, when a pair that may collide (the static pair filter) has no
    /// narrow phase, rather than at the step where the geoms first come close.
    let checkSupportedPairs (topo: Topology) =
        let allowed = pairFilter topo
        let geoms = [| for b in 0 .. topo.nbody - 1 do for g in topo.bodyGeoms[b] do if g.contype <> 0 || g.conaffinity <> 0 then b, g |]
        let label (b: int, g: GeomSpec) =
            let k = Array.IndexOf(topo.bodyGeoms[b], g)
            sprintf "%A geom %s of body '%s'" g.gtype (if g.name = "" then sprintf "#%d" k else sprintf "'%s'" g.name) topo.bodyName[b]
        for i in 0 .. geoms.Length - 1 do
            for j in i + 1 .. geoms.Length - 1 do
                let (bi, gi), (bj, gj) = geoms[i], geoms[j]
                let a, b = if rank gi > rank gj then (bj, gj), (bi, gi) else (bi, gi), (bj, gj)
                if allowed (bi, gi) (bj, gj) && PairDispatch.kindOf (snd a).gtype (snd b).gtype = PairKind.Unsupported then
                    raise (GenesisNotSupportedException(sprintf "contact between the %s and the %s is not implemented yet (supported: %s); exclude the pair (contype/conaffinity = 0 on one geom) or build with SimOptions(enableContact = false)" (label a) (label b) PairDispatch.supportedText))

    /// Candidate pairs: sweep and prune on x over bounding spheres of every env, then filters.
    let candidatePairs (topo: Topology) (kin: Kinematics) (margin: float) =
        let allowed = pairFilter topo
        let geoms = [| for b in 0 .. topo.nbody - 1 do for g in topo.bodyGeoms[b] do if g.contype <> 0 || g.conaffinity <> 0 then b, g |]
        if geoms.Length < 2 then []
        else
            let xpos = kin.xpos.toFloatArray()
            let xmat = kin.xmat.toFloatArray()
            let nEnv = kin.xpos.shape[0]
            let nb = topo.nbody
            let pairs = Collections.Generic.HashSet<int * int>()
            for e in 0 .. nEnv - 1 do
                let centre (b: int, g: GeomSpec) =
                    let o = (e * nb + b) * 3
                    let m = (e * nb + b) * 9
                    Array.init 3 (fun i -> xpos[o + i] + xmat[m + i * 3] * g.pos[0] + xmat[m + i * 3 + 1] * g.pos[1] + xmat[m + i * 3 + 2] * g.pos[2])
                let boxes =
                    geoms |> Array.mapi (fun k bg ->
                        let c = centre bg
                        let r = boundRadius (snd bg) + margin
                        k, c, r)
                let sorted = boxes |> Array.sortBy (fun (_, c, r) -> c[0] - r)
                for i in 0 .. sorted.Length - 1 do
                    let (ki, ci, ri) = sorted[i]
                    let mutable j = i + 1
                    while j < sorted.Length && (let (_, cj, rj) = sorted[j] in cj[0] - rj <= ci[0] + ri) do
                        let (kj, cj, rj) = sorted[j]
                        let d2 = (ci[1] - cj[1]) ** 2.0 + (ci[2] - cj[2]) ** 2.0
                        if Double.IsInfinity ri || Double.IsInfinity rj || d2 <= (ri + rj) ** 2.0 then
                            pairs.Add((min ki kj, max ki kj)) |> ignore
                        j <- j + 1
            [ for (i, j) in pairs |> Seq.sort do
                  let (bi, gi), (bj, gj) = geoms[i], geoms[j]
                  if allowed (bi, gi) (bj, gj) then
                      if rank gi > rank gj then yield (bj, gj), (bi, gi) else yield (bi, gi), (bj, gj) ]

    /// One narrow-phase result with its force law evaluated: the world force on body A at each point [B; n; 3]
    /// (body B receives the opposite), the relative point-velocity Jacobian [B; n; 3; nv] and the velocity
    /// derivative's normal gain (c + h k while penetrating) and friction slope [B; n].
    type internal PointForces = { points: Points; jac: Tensor; force: Tensor; normalGain: Tensor; slope: Tensor }

    /// The force law at every contact point of the candidate pairs; h is the step (for the implicit spring term).
    let internal pointForces (model: Model) (cp: ContactParams) (kin: Kinematics) (qvel: Tensor) (h: float) : PointForces list =
        let topo = model.topology
        let nv = topo.nv
        let pairs = candidatePairs topo kin (20.0 * cp.softness + 1e-3)
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
            let frictionOverride = friction.item() > 0.0
            // a body without dofs above it (the ground) contributes a zero Jacobian
            let moves (body: int) = Array.exists (fun k -> mask[body * nv + k] <> 0.0) [| 0 .. nv - 1 |]
            [ for (a, bg) in pairs do
                  for pts in pair kin a bg do
                      let jac = if moves pts.bodyB then pointJac pts.bodyA pts.point - pointJac pts.bodyB pts.point else pointJac pts.bodyA pts.point
                      let vrel = jac.matmul(qvel.unsqueeze(1).unsqueeze(-1)).squeeze(-1)
                      let n = pts.normal
                      let vn = (vrel * n).sum(-1)
                      let s = cp.softness
                      let act = (pts.depth / s).sigmoid()
                      let fnMag = ((pts.depth / s).softplus() * (stiffness * s) - act * vn * damping).relu()
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
