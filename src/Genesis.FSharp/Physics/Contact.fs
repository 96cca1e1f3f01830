namespace Genesis.Physics

open Genesis

/// Smooth penalty contact. Each contact is a point p on body A, a unit normal n (pointing into A) and a
/// penetration depth d. Normal force: k s softplus(d / s) - c (v.n) sigmoid(d / s); friction: smooth Coulomb
/// -mu |fn| v_t / sqrt(|v_t|^2 + eps^2). Forces are finite and differentiable everywhere (no contact switching).
/// Narrow phase by geom-type pair (plane with sphere, capsule, box, cylinder, mesh; sphere and capsule pairs).
/// Self-collision inside one entity is off; pairs between entities and with static geoms are on.
module Contact =
    /// One family of contact points: body index, world points [B; n; 3], normals [B; n; 3], depths [B; n].
    type internal Points =
        { body: int
          other: int
          point: Tensor
          normal: Tensor
          depth: Tensor
          friction: float }

    let private geomFrame (kin: Kinematics) (body: int) (g: GeomSpec) =
        let r = kin.xmat.narrow(1, body, 1).squeeze(1)
        let p = kin.xpos.narrow(1, body, 1).squeeze(1)
        let gq = Spatial.constLike p [| 4 |] g.quat
        let gr = r.matmul(Spatial.quatToMat gq)
        let gp = p + Spatial.rotate r (Spatial.constLike p [| 3 |] g.pos)
        gp, gr

    /// Local points of a geom's support set used against a plane (corners, capsule ends, rims, hull vertices).
    let private planeProbe (g: GeomSpec) : float[][] * float =
        let s = g.size
        match g.gtype with
        | Sphere -> [| [| 0.0; 0.0; 0.0 |] |], s[0]
        | Capsule -> [| [| 0.0; 0.0; s[1] |]; [| 0.0; 0.0; -s[1] |] |], s[0]
        | Box ->
            [| for x in [ -1.0; 1.0 ] do for y in [ -1.0; 1.0 ] do for z in [ -1.0; 1.0 ] -> [| x * s[0]; y * s[1]; z * s[2] |] |], 0.0
        | Cylinder ->
            [| for z in [ -1.0; 1.0 ] do
                   for k in 0 .. 7 ->
                       let a = float k * System.Math.PI / 4.0
                       [| s[0] * cos a; s[0] * sin a; z * s[1] |] |], 0.0
        | Ellipsoid ->
            [| for ax in 0 .. 2 do for sg in [ -1.0; 1.0 ] -> Array.init 3 (fun i -> if i = ax then sg * s[i] else 0.0) |], 0.0
        | Mesh ->
            match g.meshVertices with
            | Some v -> Array.init (v.Length / 3) (fun i -> v[3 * i .. 3 * i + 2]), 0.0
            | None -> [| for x in [ -1.0; 1.0 ] do for y in [ -1.0; 1.0 ] do for z in [ -1.0; 1.0 ] -> [| x * s[0]; y * s[1]; z * s[2] |] |], 0.0
        | Plane -> [||], 0.0

    /// Segment end points (world) and radius of a sphere or capsule.
    let private segment (kin: Kinematics) (body: int) (g: GeomSpec) =
        let gp, gr = geomFrame kin body g
        let half = if g.gtype = Capsule then g.size[1] else 0.0
        let axis = gr.narrow(2, 2, 1).squeeze(2)
        gp + axis * half, gp - axis * half, g.size[0]

    /// Closest point parameter on segment [a, b] to points c (clamped, smooth enough for penalties).
    let private closestOnSegment (a: Tensor) (b: Tensor) (c: Tensor) =
        let ab = b - a
        let t = (((c - a) * ab).sum(-1, true) / ((ab * ab).sum(-1, true) + 1e-12)).clamp(0.0, 1.0)
        a + ab * t

    /// Contacts of one geom pair (body A gets +force along the normal).
    let internal pair (kin: Kinematics) (ba: int, ga: GeomSpec) (bb: int, gb: GeomSpec) : Points list =
        let mu = sqrt (ga.friction[0] * gb.friction[0])
        match ga.gtype, gb.gtype with
        | Plane, Plane -> []
        | _, Plane -> 
            let pp, pr = geomFrame kin bb gb
            let n = pr.narrow(2, 2, 1).squeeze(2) // plane normal (world), pointing into A's side
            let probes, radius = planeProbe ga
            if probes.Length = 0 then []
            else
                let gp, gr = geomFrame kin ba ga
                let local = Spatial.constLike gp [| probes.Length; 3 |] (Array.concat probes)
                let world = gp.unsqueeze(1) + gr.unsqueeze(1).matmul(local.unsqueeze(-1)).squeeze(-1)
                let nB = n.unsqueeze(1)
                let height = ((world - pp.unsqueeze(1)) * nB).sum(-1)
                let depth = radius - height
                let point = world - nB * radius
                [ { body = ba; other = bb; point = point; normal = nB.expandAs point; depth = depth; friction = mu } ]
        | Plane, _ -> []
        | (Sphere | Capsule), (Sphere | Capsule) ->
            let a0, a1, ra = segment kin ba ga
            let b0, b1, rb = segment kin bb gb
            // closest points by alternating projection (exact for sphere pairs and sphere-capsule)
            let pb = closestOnSegment b0 b1 ((a0 + a1) / 2.0)
            let pa = closestOnSegment a0 a1 pb
            let pb = closestOnSegment b0 b1 pa
            let diff = pa - pb
            let dist = (diff * diff).sum(-1, true).add(gs.fullLike(diff.narrow(-1, 0, 1), 1e-18)).sqrt()
            let n = diff / dist
            let depth = (ra + rb - dist).squeeze(-1)
            let point = pa - n * ra
            [ { body = ba; other = bb; point = point.unsqueeze(1); normal = n.unsqueeze(1); depth = depth.unsqueeze(1); friction = mu } ]
        | _ -> raise (GenesisNotSupportedException(sprintf "contact between %A and %A geoms is not implemented yet" ga.gtype gb.gtype))

    /// Candidate geom pairs: different entities' roots subtrees or static geoms, never a body with its parent.
    let candidatePairs (topo: Topology) (rootOf: int[]) =
        let geoms = [| for b in 0 .. topo.nbody - 1 do for g in topo.bodyGeoms[b] do if g.contype <> 0 || g.conaffinity <> 0 then b, g |]
        [ for i in 0 .. geoms.Length - 1 do
              for j in i + 1 .. geoms.Length - 1 do
                  let (bi, gi), (bj, gj) = geoms[i], geoms[j]
                  let filtered =
                      bi = bj || rootOf[bi] = rootOf[bj] || topo.bodyParent[bi] = bj || topo.bodyParent[bj] = bi
                      || ((gi.contype &&& gj.conaffinity) = 0 && (gj.contype &&& gi.conaffinity) = 0)
                  if not filtered then
                      // order so that a plane is always second
                      if gi.gtype = Plane then yield (bj, gj), (bi, gi) else yield (bi, gi), (bj, gj) ]

    /// Joint-space contact forces [B; nv].
    let compute (model: Model) (cp: ContactParams) (kin: Kinematics) (cvel: Tensor) : Tensor =
        let topo = model.topology
        let rootOf =
            Array.init topo.nbody (fun b ->
                let mutable r = b
                while topo.bodyParent[r] >= 0 do r <- topo.bodyParent[r]
                r)
        let pairs = candidatePairs topo rootOf
        let b = cvel.shape[0]
        if pairs.IsEmpty then gs.zeros([ b; topo.nv ], dtype = cvel.dtype)
        else
            let wrench = Array.init topo.nbody (fun _ -> ResizeArray<Tensor>())
            for (a, bg) in pairs do
                for pts in pair kin a bg do
                    // velocities of the point on A relative to B
                    let vel (body: int) =
                        let v = cvel.narrow(1, body, 1).squeeze(1)
                        let w, u = v.narrow(-1, 0, 3).unsqueeze(1), v.narrow(-1, 3, 3).unsqueeze(1)
                        u + Spatial.cross (w.expandAs pts.point) pts.point
                    let vrel = vel pts.body - vel pts.other
                    let n = pts.normal
                    let vn = (vrel * n).sum(-1)
                    let s = cp.softness
                    let fnMag = (pts.depth / s).softplus() * (cp.stiffness * s) - (pts.depth / s).sigmoid() * vn * cp.damping
                    let fnMag = fnMag.relu()
                    let vt = vrel - n * vn.unsqueeze(-1)
                    let mu = if cp.friction > 0.0 then cp.friction else pts.friction
                    let eps = cp.frictionVelocity
                    let ft = vt * (-(mu) * fnMag / ((vt * vt).sum(-1) + eps * eps).sqrt()).unsqueeze(-1)
                    let f = n * fnMag.unsqueeze(-1) + ft
                    let spatial = gs.cat([| Spatial.cross pts.point f; f |], -1).sum(1)
                    wrench[pts.body].Add spatial
                    if pts.other >= 0 && topo.bodyParent.Length > pts.other then wrench[pts.other].Add(-spatial)
            let zero = gs.zeros([ b; 6 ], dtype = cvel.dtype)
            let w = gs.stack(wrench |> Array.map (fun l -> if l.Count = 0 then zero else Seq.reduce (+) l), 1)
            let mask = Spatial.constLike cvel [| topo.nbody; topo.nv |] (Model.ancestorDofMask topo)
            (kin.cdof * mask.T.matmul(w)).sum(-1)
