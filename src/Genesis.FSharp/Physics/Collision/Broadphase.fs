namespace Genesis.Physics

open System
open Genesis

/// Which geom pairs are tested: the static pair filter and the build-time check of supported pairs, then per step a
/// sweep and prune on x over bounding spheres of every env (O(n log n + pairs)).
module Broadphase =
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

    /// Whether each body moves: it has a dof or hangs below a body that has one.
    let bodyMoves (topo: Topology) =
        let moves = Array.zeroCreate<bool> topo.nbody
        for d in 0 .. topo.nv - 1 do moves[topo.dofBody[d]] <- true
        for b in 0 .. topo.nbody - 1 do
            let p = topo.bodyParent[b]
            if p >= 0 && moves[p] then moves[b] <- true
        moves

    /// The static pair filter on bodies and geoms given the bodies' motion, collision trees and parents (pairFilter's rule,
    /// shared with the kernel broad phase).
    let inline internal allowedPair (moves: bool[]) (tree: int[]) (parent: int[]) (bi: int) (gi: GeomSpec) (bj: int) (gj: GeomSpec) =
        not (
            bi = bj
            || (not moves[bi] && not moves[bj])
            || (tree[bi] >= 0 && tree[bi] = tree[bj])
            || (parent[bi] = bj && tree[bj] >= 0) || (parent[bj] = bi && tree[bi] >= 0)
            || ((gi.contype &&& gj.conaffinity) = 0 && (gj.contype &&& gi.conaffinity) = 0)
            || (gi.gtype = Plane && gj.gtype = Plane))

    /// The static pair filter: false for pairs that never touch. Excluded are geoms of one body, of two static bodies
    /// (no dof moves either), of one collision tree (Topology.bodyTree: no self-collision), of a parent and its child
    /// unless the parent is welded to the world, pairs whose contype/conaffinity bits do not meet, and plane-plane.
    let pairFilter (topo: Topology) : (int * GeomSpec) -> (int * GeomSpec) -> bool =
        let moves = bodyMoves topo
        let tree, parent = topo.bodyTree, topo.bodyParent
        fun (bi, gi) (bj, gj) -> allowedPair moves tree parent bi gi bj gj

    /// The collidable geoms (contype or conaffinity nonzero) with their bodies, in body order.
    let collidable (topo: Topology) =
        [| for b in 0 .. topo.nbody - 1 do for g in topo.bodyGeoms[b] do if g.contype <> 0 || g.conaffinity <> 0 then b, g |]

    /// Every pair of collidable geoms the static filter allows, as indices into `collidable`, A ranked no higher than B
    /// (O(geoms^2): the all-pairs reference the tests hold the broad phases to; no step uses it).
    let staticPairs (topo: Topology) =
        let allowed = pairFilter topo
        let geoms = collidable topo
        [| for i in 0 .. geoms.Length - 1 do
               for j in i + 1 .. geoms.Length - 1 do
                   let (bi, gi), (bj, gj) = geoms[i], geoms[j]
                   if allowed (bi, gi) (bj, gj) then
                       if rank gi > rank gj then yield j, i else yield i, j |]

    /// On a device: every static pair (staticPairs, in candidatePairs' order) with, when both geoms are finite, a [B]
    /// 0/1 mask of the envs where candidatePairs' sweep would test it (the x intervals of the inflated bounding spheres
    /// overlap and the y-z distance of their centres is within the sum of the radii), computed on the device: no
    /// value comes back to the host, and a masked pair adds exact zeros.
    let maskedPairs (topo: Topology) (kin: Kinematics) (margin: float) =
        let geoms = collidable topo
        let centre (b: int, g: GeomSpec) =
            let offset = Spatial.constLike kin.xpos [| 3; 1 |] g.pos
            kin.xpos.narrow(1, b, 1).squeeze(1) + kin.xmat.narrow(1, b, 1).squeeze(1).matmul(offset).squeeze(-1)
        [ for i, j in staticPairs topo do
              let a, b = geoms[i], geoms[j]
              let r = boundRadius (snd a) + boundRadius (snd b) + 2.0 * margin
              if Double.IsInfinity r then yield (a, b), None
              else
                  let d = centre a - centre b
                  let dx = d.narrow(1, 0, 1).squeeze(1).abs()
                  let dyz = d.narrow(1, 1, 2).pow(2.0).sum(1)
                  yield (a, b), Some(dx.le(r).cast(d.dtype) * dyz.le(r * r).cast(d.dtype)) ]

    /// Raises at build, naming both geoms and bodies, when a pair that may collide (the static pair filter) has no
    /// narrow phase, rather than at the step where the geoms first come close. Only geoms whose type meets another
    /// present type without a narrow phase are paired, so a scene whose type pairs are all supported costs O(geoms).
    let checkSupportedPairs (topo: Topology) =
        let allowed = pairFilter topo
        let all = collidable topo
        let ranked (a: GeomType) (b: GeomType) = if PairDispatch.rankOf a > PairDispatch.rankOf b then PairDispatch.kindOf b a else PairDispatch.kindOf a b
        let present = all |> Array.map (fun (_, g) -> g.gtype) |> Array.distinct
        let bad = present |> Array.filter (fun t -> present |> Array.exists (fun u -> ranked t u = PairKind.Unsupported))
        let geoms = all |> Array.filter (fun (_, g) -> Array.contains g.gtype bad)
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
        let geoms = collidable topo
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

/// The broad phase on arrays, generic over the scalar: a sweep and prune on x over the inflated bounding spheres of
/// the finite geoms (insertion sort from the last step's order: O(n) when little moves; skipped when no two finite
/// geoms may touch), each candidate through the static filter, then the infinite geoms' (planes') allowed pairs
/// listed at build; the pairs land in w.candA / w.candB (grown on demand).
module internal BroadphaseKernel =
    open Genesis.Physics.FastMath
    open Genesis.Real
    open Genesis.HomogeneousArithmetic

    /// Broadphase.candidatePairs' test: x intervals of the inflated bounding spheres overlap and their y-z distance is small.
    let inline internal isCandidate (m: FastModel< ^T>) (w: FastWork< ^T>) (a: int) (b: int) (margin: float) =
        let ra = m.geomBound[a] + margin
        let rb = m.geomBound[b] + margin
        if Double.IsInfinity ra || Double.IsInfinity rb then true
        else
            let gx = w.geomXpos
            let ax, bx = value gx[a * 3], value gx[b * 3]
            let dy, dz = value gx[a * 3 + 1] - value gx[b * 3 + 1], value gx[a * 3 + 2] - value gx[b * 3 + 2]
            Math.Max(ax - ra, bx - rb) <= Math.Min(ax + ra, bx + rb) && dy * dy + dz * dz <= (ra + rb) * (ra + rb)

    /// Whether the static filter allows kernel geoms a and b (Broadphase.pairFilter).
    let allowed (m: FastModel<'T>) (a: int) (b: int) =
        Broadphase.allowedPair m.bodyMoves m.bodyTree m.parent m.geomBody[a] m.geomSpec[a] m.geomBody[b] m.geomSpec[b]

    /// Appends the pair (a, b) to the candidates, growing the buffers (doubling) when full.
    let internal push (w: FastWork<'T>) (a: int) (b: int) =
        let n = w.candCount
        if n = w.candA.Length then
            w.candA <- Array.append w.candA (Array.zeroCreate (max 16 n))
            w.candB <- Array.append w.candB (Array.zeroCreate (max 16 n))
        w.candA[n] <- a
        w.candB[n] <- b
        w.candCount <- n + 1

    /// Appends (a, b) ordered by rank (index within a rank) when the filter allows it and it has a narrow phase.
    let internal emit (m: FastModel<'T>) (w: FastWork<'T>) (a: int) (b: int) =
        if allowed m a b then
            let ra, rb = m.geomRank[a], m.geomRank[b]
            let a, b = if ra > rb || (ra = rb && a > b) then b, a else a, b
            if PairDispatch.kindOf m.geomSpec[a].gtype m.geomSpec[b].gtype <> PairKind.NoContact then push w a b

    /// Whether finite geom i sorts after j: by the low end of its x interval, then by index.
    let internal after (lo: float[]) (i: int) (j: int) = lo[i] > lo[j] || (lo[i] = lo[j] && i > j)

    /// The candidate pairs of the geom frames in w into w.candA / w.candB / w.candCount (see the module comment).
    let inline internal candidates (m: FastModel< ^T>) (w: FastWork< ^T>) (margin: float) =
        w.candCount <- 0
        let fin = m.geomFinite
        let n = if m.sweepPairs then fin.Length else 0
        let first = isNull w.sapOrder
        if first then w.sapOrder <- Array.copy fin
        let order, lo, hi, gx = w.sapOrder, w.sapLo, w.sapHi, w.geomXpos
        for i in 0 .. n - 1 do
            let g = fin[i]
            let x, r = value gx[g * 3], m.geomBound[g] + margin
            lo[g] <- x - r
            hi[g] <- x + r
        if first then
            // one full sort; later steps start from the last order
            let keys = Array.init n (fun i -> lo[order[i]])
            Array.Sort(keys, order)
        for i in 1 .. n - 1 do
            let key = order[i]
            let mutable j = i - 1
            while j >= 0 && after lo order[j] key do
                order[j + 1] <- order[j]
                j <- j - 1
            order[j + 1] <- key
        for i in 0 .. n - 1 do
            let a = order[i]
            let ra, ha = m.geomBound[a] + margin, hi[a]
            let ay, az = value gx[a * 3 + 1], value gx[a * 3 + 2]
            let mutable j = i + 1
            while j < n && lo[order[j]] <= ha do
                let b = order[j]
                let rr = ra + m.geomBound[b] + margin
                let dy, dz = ay - value gx[b * 3 + 1], az - value gx[b * 3 + 2]
                if dy * dy + dz * dz <= rr * rr then emit m w a b
                j <- j + 1
        for c in 0 .. m.infinitePairA.Length - 1 do
            push w m.infinitePairA[c] m.infinitePairB[c]
