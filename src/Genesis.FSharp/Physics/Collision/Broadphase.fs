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

/// The broad-phase test on arrays, generic over the scalar.
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
