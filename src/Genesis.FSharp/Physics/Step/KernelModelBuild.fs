namespace Genesis.Physics

open System
open System.Collections.Concurrent
open Genesis

/// Building the kernels' FastModel from a Model (MuJoCo's compile step): the topology flattened, the parameters read,
/// the geom pairs the broad phase may test with their narrow phase from the dispatch table.
module internal KernelModelBuild =
    open Genesis.HomogeneousArithmetic

    let private skewOf (v: float[]) (o: int) =
        [| 0.0; -v[o + 2]; v[o + 1]; v[o + 2]; 0.0; -v[o]; -v[o + 1]; v[o]; 0.0 |]

    let private mat33 (a: float[]) (b: float[]) =
        Array.init 9 (fun k ->
            let i, j = k / 3, k % 3
            a[i * 3] * b[j] + a[i * 3 + 1] * b[3 + j] + a[i * 3 + 2] * b[6 + j])

    /// Whether the static filter allows some pair among the given geoms (stops at the first: O(geoms) unless almost
    /// none is).
    let private anyAllowed (topo: Topology) (geoms: (int * GeomSpec)[]) =
        let allowed = Broadphase.pairFilter topo
        let mutable found = false
        let mutable i = 0
        while not found && i < geoms.Length do
            let mutable j = i + 1
            while not found && j < geoms.Length do
                if allowed geoms[i] geoms[j] then found <- true
                j <- j + 1
            i <- i + 1
        found

    /// The allowed pairs of each infinite geom with every other geom, ranked (index order within a rank), with a
    /// narrow phase: BroadphaseKernel.candidates' planes.
    let private infinitePairs (topo: Topology) (geoms: (int * GeomSpec)[]) (infinite: bool[]) =
        let allowed = Broadphase.pairFilter topo
        [| for p in 0 .. geoms.Length - 1 do
               if infinite[p] then
                   for g in 0 .. geoms.Length - 1 do
                       if g <> p && not (infinite[g] && g < p) && allowed geoms[p] geoms[g] then
                           let rp, rg = Broadphase.rank (snd geoms[p]), Broadphase.rank (snd geoms[g])
                           let a, b = if rp > rg || (rp = rg && p > g) then g, p else p, g
                           if PairDispatch.kindOf (snd geoms[a]).gtype (snd geoms[b]).gtype <> PairKind.NoContact then yield a, b |]

    /// The parameter tensors' raw values in Rollout.paramsToArray order.
    let sources (p: Params) = ParamTable.toArray p |> Array.map (fun t -> t.raw)

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
        for i in 0 .. nb - 1 do FastModelBuild.quatToMatInto bodyQuat (i * 4) bodyR (i * 9)
        let jntAxis = v p.jntAxis
        let jntK = Array.zeroCreate (nj * 9)
        let jntKK = Array.zeroCreate (nj * 9)
        for j in 0 .. nj - 1 do
            let k = skewOf jntAxis (j * 3)
            Array.blit k 0 jntK (j * 9) 9
            Array.blit (mat33 k k) 0 jntKK (j * 9) 9
        let bodyJntAdr = Array.init nb (fun b -> if topo.bodyJoints[b].Length > 0 then topo.bodyJoints[b][0] else 0)
        let bodyDofAdr = Array.init nb (fun b -> if topo.bodyJoints[b].Length > 0 then topo.jntDofAdr[topo.bodyJoints[b][0]] else 0)
        let bodyDofNum = Array.zeroCreate nb
        for d in 0 .. nv - 1 do bodyDofNum[topo.dofBody[d]] <- bodyDofNum[topo.dofBody[d]] + 1
        // a body's dofs and its ancestors' (a row of Model.ancestorDofMask): the parent's row then its own (parents first)
        let bodyDofs = Array.zeroCreate<int[]> nb
        for b in 0 .. nb - 1 do
            let p = topo.bodyParent[b]
            let above = if p >= 0 then bodyDofs[p] else [||]
            bodyDofs[b] <- if bodyDofNum[b] = 0 then above else Array.append above (Array.init bodyDofNum[b] (fun i -> bodyDofAdr[b] + i))
        let geoms = Broadphase.collidable topo
        let geomR = Array.zeroCreate (geoms.Length * 9)
        geoms |> Array.iteri (fun i (_, g) -> FastModelBuild.quatToMatInto g.quat 0 geomR (i * 9))
        let geomBound = geoms |> Array.map (fun (_, g) -> Broadphase.boundRadius g)
        let infPairs = infinitePairs topo geoms (geomBound |> Array.map Double.IsInfinity)
        let dofParent =
            Array.init nv (fun k ->
                let b = topo.dofBody[k]
                if k > 0 && topo.dofBody[k - 1] = b then k - 1
                else
                    let mutable p = topo.bodyParent[b]
                    while p >= 0 && bodyDofNum[p] = 0 do p <- topo.bodyParent[p]
                    if p < 0 then -1 else bodyDofAdr[p] + bodyDofNum[p] - 1)
        let pattern = TreePattern.ofParent dofParent
        let probes = geoms |> Array.map (fun (_, g) -> fst (PlaneProbe.planeProbe g) |> Array.concat)
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
          pattern = pattern
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
          tendons = topo.tendons
          contactStiffness = scalar p.contactStiffness
          contactDamping = scalar p.contactDamping
          equality = Equality.constants model
          friction = scalar p.friction
          geomBody = geoms |> Array.map fst
          geomSpec = geoms |> Array.map snd
          geomPos = geoms |> Array.collect (fun (_, g) -> Array.copy g.pos)
          geomR = geomR
          geomBound = geomBound
          geomProbe = probes
          geomProbeRadius = geoms |> Array.map (fun (_, g) -> snd (PlaneProbe.planeProbe g))
          geomProbeReach = probes |> Array.map reach
          geomFriction = geoms |> Array.map (fun (_, g) -> g.friction[0])
          geomRank = geoms |> Array.map (fun (_, g) -> Broadphase.rank g)
          geomFinite = [| for i in 0 .. geoms.Length - 1 do if not (Double.IsInfinity geomBound[i]) then i |]
          geomInfinite = [| for i in 0 .. geoms.Length - 1 do if Double.IsInfinity geomBound[i] then i |]
          bodyMoves = Broadphase.bodyMoves topo
          bodyTree = topo.bodyTree
          anyPairs = anyAllowed topo geoms
          sweepPairs = anyAllowed topo (geoms |> Array.indexed |> Array.filter (fun (i, _) -> not (Double.IsInfinity geomBound[i])) |> Array.map snd)
          infinitePairA = infPairs |> Array.map fst
          infinitePairB = infPairs |> Array.map snd
          source = sources p
          pool = pool }
