namespace Genesis.NN

open System
open Genesis
open Genesis.Physics

/// What a closed-loop rollout recorded (for memory measurements and docs).
type RolloutStats =
    { /// Steps taken.
      steps: int
      /// Segments recorded (one graph node each; each re-runs its steps in backward).
      segments: int
      /// The longest segment (states and policy graphs held at once during backward).
      longestSegment: int }

/// Closed-loop rollouts whose checkpoint segments re-run observation -> policy -> control -> step in backward: the
/// forward pass keeps one node per segment and no policy activations, backward re-runs one segment at a time (physics
/// differentiated by the fast adjoint, the policy by the tape), so memory is O(T / L + L) for segments of length L.
module ClosedLoop =
    /// The user's loop body: `policy` reads the scene (getters) and sets controls; `cost` reads the state after each step.
    type internal Body =
        { scene: Scene
          policy: unit -> unit
          cost: (unit -> Tensor) option
          parameters: Tensor[] }

    /// Runs f with each parameter replaced (same tensor object) by a fresh reverse leaf of tag, then g (the reverse pass:
    /// the graph refers to the parameter objects, so it must run while they are swapped); returns f's result and the
    /// leaves. The parameters are restored even when f or g raises.
    let private withTaggedParameters (tag: int64) (ps: Tensor[]) (f: unit -> Tensor) (g: Tensor -> unit) =
        let saved = ps |> Array.map (fun p -> p.Node)
        let leaves = ps |> Array.map (fun p -> Functional.reverseDiff tag p.primalDeep)
        try
            ps |> Array.iteri (fun i p -> p.Node <- leaves[i].Node)
            let out = f ()
            g out
            leaves
        finally
            ps |> Array.iteri (fun i p -> p.Node <- saved[i])

    let private flatF (t: Tensor) = t.toFloatArray()

    /// Raises the engine's non-finite error when the policy set a non-finite control.
    let private checkControls (scene: Scene) (ctrl: Tensor) (step: int) =
        let v = flatF ctrl
        let nv = scene.model.topology.nv
        match v |> Array.tryFindIndex (fun x -> Double.IsNaN x || Double.IsInfinity x) with
        | Some k ->
            let topo = scene.model.topology
            raise (GenesisException(sprintf "closed-loop rollout: the policy set a non-finite control (%g) in env %d at dof %d (joint '%s') at step %d; the scene is left at the rollout's start state" v[k] (k / nv) (k % nv) topo.jntName[topo.dofJoint[k % nv]] step))
        | None -> ()

    /// One step on constants: the policy at st (no graph), then the physics; returns the next state and the control.
    let private stepConst (b: Body) (sp: SimParams) (st: State) (check: int option) =
        b.scene.LoopState <- st
        gs.noGrad b.policy
        let ctrl, modes = b.scene.LoopControls
        let ctrl = ctrl.detach()
        check |> Option.iter (checkControls b.scene ctrl)
        let next = FastStep.step b.scene.model sp st { modes = modes; values = ctrl }
        if check.IsSome && b.scene.simOptions.checkNonFinite then b.scene.CheckFinite next
        next, ctrl, modes

    /// The cost at st on constants (flattened), raising when its shape changes between steps.
    let private costConst (b: Body) (st: State) =
        match b.cost with
        | Some c ->
            b.scene.LoopState <- st
            Some(gs.noGrad c)
        | None -> None

    /// Reverse pass of f at (state, parameters): adjoint seeds dotted with f's output; returns d/dqpos, d/dqvel and
    /// d/dparameters (null where unreached).
    let private vjpAt (b: Body) (st: State) (f: unit -> Tensor) (seed: Tensor) =
        let tag = Tags.next ()
        let q = Functional.reverseDiff tag st.qpos
        let v = Functional.reverseDiff tag st.qvel
        b.scene.LoopState <- { st with qpos = q; qvel = v }
        let leaves =
            withTaggedParameters tag b.parameters f (fun out ->
                if out.isReverse && out.Tag = Some tag then
                    let l = (out * seed.reshape(out.shape)).sum()
                    Reverse.run l (Apply.scalarLike l 1.0) false false)
        Reverse.leafAdjoint q, Reverse.leafAdjoint v, leaves |> Array.map Reverse.leafAdjoint

    /// A segment of k closed-loop steps as one op. Inputs: [qpos; qvel; policy parameters; model parameters]. Output
    /// (flat): [qpos_k | qvel_k | sum of the k costs]. Backward re-runs the segment.
    type internal ClosedLoopOp(body: Body, model: Model, sp: SimParams, k: int, nCost: int, startTime: float, startControls: Tensor * ControlMode[], precomputed: RawTensor, varying: bool[]) =
        inherit Op()
        let np = body.parameters.Length
        let mutable cache: (Tensor * Tensor[]) option = None
        override _.Name = "closedLoopSegment"
        override _.Forward(_) = precomputed
        override _.Jvp(_, _, _, _) =
            raise (GenesisNotSupportedException "forward-mode derivatives through closed-loop rollouts are not supported; use backward() or the imperative loop")
        override o.Vjp(inputs, _, i, adjoint) =
            match cache with
            | Some(a, grads) when Object.ReferenceEquals(a, adjoint) -> grads[i]
            | _ ->
                let grads = o.Grads(inputs, adjoint)
                cache <- Some(adjoint, grads)
                grads[i]

        member private _.Grads(inputs: Tensor[], adjoint: Tensor) : Tensor[] =
            let scene = body.scene
            let savedState = scene.LoopState
            let savedControls = scene.LoopControls
            let savedModel = scene.model
            try
                scene.SetModel model
                let bsz = inputs[0].shape[0]
                let nq, nv = model.topology.nq, model.topology.nv
                let adj = flatF adjoint
                let aq = adj[0 .. bsz * nq - 1]
                let av = adj[bsz * nq .. bsz * (nq + nv) - 1]
                let adjCost = if nCost > 0 then Tensor.Constant(inputs[0], adj[bsz * (nq + nv) ..], [| nCost |]) else null
                // re-run the segment on constants: the state before every step, its control and modes
                let states = Array.zeroCreate (k + 1)
                let ctrls = Array.zeroCreate k
                let modes = Array.zeroCreate k
                states[0] <- { qpos = inputs[0]; qvel = inputs[1]; time = startTime }
                scene.LoopControls <- startControls
                for t in 0 .. k - 1 do
                    let next, c, m = stepConst body sp states[t] None
                    states[t + 1] <- next
                    ctrls[t] <- c
                    modes[t] <- m
                let gParams: Tensor[] = Array.zeroCreate np
                let addParams (g: Tensor[]) = g |> Array.iteri (fun j x -> gParams[j] <- if isNull gParams[j] then x else gParams[j] + x)
                let fm = FastStep.prepare model
                let nModel = inputs.Length - 2 - np
                let gModel = Array.init nModel (fun _ -> null: float[])
                let mutable gq, gv = aq, av
                for t in k - 1 .. -1 .. 0 do
                    // the cost at the state after step t
                    match body.cost with
                    | Some c ->
                        let dq, dv, dp = vjpAt body states[t + 1] (fun () -> (c ()).reshape([ nCost ])) adjCost
                        gq <- Array.map2 (+) gq (flatF dq)
                        gv <- Array.map2 (+) gv (flatF dv)
                        addParams dp
                    | None -> ()
                    // the physics of step t
                    let st = states[t]
                    let pq, pv, pc, pp = SegmentVjp.segmentVjp fm sp [| modes[t] |] bsz (flatF st.qpos) (flatF st.qvel) [| flatF (ctrls[t].expand([ bsz; nv ])) |] gq gv
                    for j in 0 .. nModel - 1 do
                        if varying[2 + np + j] then
                            let g = pp[SegmentVjp.parameterSlot (enum<Param> j)]
                            gModel[j] <- if isNull gModel[j] then Array.copy g else Array.map2 (+) gModel[j] g
                    // the policy at step t: its controls as a function of the state and the parameters
                    let seed = Tensor.Constant(inputs[0], pc[0], [| bsz; nv |])
                    scene.LoopControls <- (if t = 0 then startControls else (ctrls[t - 1], modes[t - 1]))
                    let policyControls () =
                        body.policy ()
                        fst scene.LoopControls
                    let dq, dv, dp = vjpAt body st (fun () -> (policyControls ()).expand([ bsz; nv ])) seed
                    gq <- Array.map2 (+) pq (flatF dq)
                    gv <- Array.map2 (+) pv (flatF dv)
                    addParams dp
                let asT (like: Tensor) (values: float[]) = Tensor.Constant(like, values, like.shape)
                Array.concat [
                    [| asT inputs[0] gq; asT inputs[1] gv |]
                    Array.init np (fun j -> if isNull gParams[j] then Apply.zerosLike inputs[2 + j] else gParams[j].reshape(inputs[2 + j].shape))
                    Array.init nModel (fun j -> if isNull gModel[j] then Apply.zerosLike inputs[2 + np + j] else asT inputs[2 + np + j] gModel[j]) ]
            finally
                scene.SetModel savedModel
                scene.LoopState <- savedState
                scene.LoopControls <- savedControls

    /// Model parameters the closed loop differentiates (others must not require grad).
    let private checkModel (sp: SimParams) (model: Model) =
        Rollout.paramsToArray model.parameters |> Array.iteri (fun j p ->
            let param = enum<Param> j
            if not p.isConstant && not (SegmentVjp.differentiatesParameter sp param) then
                raise (GenesisNotSupportedException(sprintf "closed-loop rollout: model parameter %s requires grad but the %A integrator's adjoint does not differentiate it (use Integrator.Euler, or the imperative loop)" (ParamTable.descriptor param).name sp.integrator)))

    /// Runs `steps` closed-loop steps from the scene's current state: before each step `policy` reads the scene and sets
    /// controls, after it `cost` (if any) reads the new state; returns the sum of the costs (null without cost). The
    /// scene ends at the final state, differentiable w.r.t. the start state, `parameters` and the model parameters.
    /// `truncateEvery` = K detaches the state every K steps (Brax APG's truncation); `segmentLength` defaults to
    /// ceil(sqrt steps).
    let run (scene: Scene) (steps: int) (policy: unit -> unit) (cost: (unit -> Tensor) option) (parameters: Tensor[]) (truncateEvery: int option) (segmentLength: int option) =
        if steps < 1 then raise (ArgumentException(sprintf "rollout: steps must be >= 1, got %d" steps, "steps"))
        match truncateEvery with
        | Some k when k < 1 -> raise (ArgumentException(sprintf "rollout: truncateEvery must be >= 1, got %d" k, "truncateEvery"))
        | _ -> ()
        scene.LoopCheckForward()
        let model = scene.model
        let sp = scene.SimParams
        checkModel sp model
        // a tensor listed twice is swapped once (swapping it twice would restore it to the first swap's leaf)
        let seen = Collections.Generic.HashSet<Tensor>(HashIdentity.Reference)
        let parameters = parameters |> Array.filter (fun p -> not (isNull p) && seen.Add p)
        let body = { scene = scene; policy = policy; cost = cost; parameters = parameters }
        let segLen = defaultArg segmentLength (max 1 (int (ceil (sqrt (float steps)))))
        if segLen < 1 then raise (ArgumentException(sprintf "rollout: segmentLength must be >= 1, got %d" segLen, "segmentLength"))
        let start = scene.LoopState
        let startControls = scene.LoopControls
        let modelInputs = Rollout.paramsToArray model.parameters
        let nq, nv = model.topology.nq, model.topology.nv
        try
            let mutable cur = start
            let mutable total: Tensor = null
            let mutable t = 0
            let mutable segments = 0
            let mutable longest = 0
            let mutable costShape: int[] = null
            while t < steps do
                let window = match truncateEvery with Some kk -> (t / kk + 1) * kk | None -> steps
                if t > 0 && (match truncateEvery with Some kk -> t % kk = 0 | None -> false) then
                    cur <- { cur with qpos = cur.qpos.detach(); qvel = cur.qvel.detach() }
                let k = min segLen (min window steps - t)
                // forward on constants
                let mutable st = { cur with qpos = cur.qpos.detach(); qvel = cur.qvel.detach() }
                let segControls = let c, m = scene.LoopControls in c.detach(), m
                scene.LoopControls <- segControls
                let mutable costSum: float[] = null
                for j in 0 .. k - 1 do
                    let next, _, _ = stepConst body sp st (Some(t + j))
                    st <- next
                    match costConst body st with
                    | Some c ->
                        if isNull costShape then costShape <- c.shape
                        elif c.shape <> costShape then
                            raise (GenesisException(sprintf "rollout: cost returned shape %s at step %d, expected %s as at the first step" (Shape.format c.shape) (t + j) (Shape.format costShape)))
                        let v = flatF c
                        costSum <- if isNull costSum then v else Array.map2 (+) costSum v
                    | None -> ()
                let nCost = if isNull costSum then 0 else costSum.Length
                let b = st.qpos.shape[0]
                let packed = Array.concat [ flatF st.qpos; flatF st.qvel; (if isNull costSum then [||] else costSum) ]
                let precomputed = (Tensor.Constant(st.qpos, packed, [| packed.Length |])).raw
                let inputs = Array.concat [ [| cur.qpos; cur.qvel |]; parameters; modelInputs ]
                let varying = inputs |> Array.map (fun x -> not x.isConstant)
                let op = ClosedLoopOp(body, model, sp, k, nCost, cur.time, segControls, precomputed, varying)
                let out = (Apply.apply op inputs).WithScene scene
                cur <- { qpos = out.narrow(0, 0, b * nq).reshape([ b; nq ]); qvel = out.narrow(0, b * nq, b * nv).reshape([ b; nv ]); time = st.time }
                if nCost > 0 then
                    let c = out.narrow(0, b * (nq + nv), nCost).reshape(costShape)
                    total <- if isNull total then c else total + c
                t <- t + k
                segments <- segments + 1
                longest <- max longest k
            scene.LoopState <- cur
            scene.LoopAdvance(steps, segments)
            total, { steps = steps; segments = segments; longestSegment = longest }
        with _ ->
            scene.LoopState <- start
            scene.LoopControls <- startControls
            reraise ()

    /// Detaches the scene's current state from the graph (a truncation point of the imperative loop).
    let detachState (scene: Scene) =
        let st = scene.LoopState
        scene.LoopState <- { st with qpos = st.qpos.detach(); qvel = st.qvel.detach() }

    /// The former name of scene.reset(envsIdx = ..., ?qpos, ?qvel): resets some envs to qpos/qvel (default the initial
    /// state), the others keep their state (and, before a backward pass, its graph).
    let resetEnvs (scene: Scene) (envsIdx: int[]) (qpos: Tensor option) (qvel: Tensor option) =
        scene.reset(envsIdx = envsIdx, ?qpos = qpos, ?qvel = qvel)

    /// Counts the reverse-mode graph reachable from t at its nesting level: nodes and the bytes of their values.
    let graphSize (t: Tensor) =
        match t.Node with
        | TRev(_, _, tag) ->
            let seen = Collections.Generic.HashSet<obj>(HashIdentity.Reference)
            let stack = Collections.Generic.Stack<Tensor>()
            stack.Push t
            let mutable nodes, bytes = 0, 0L
            while stack.Count > 0 do
                let x = stack.Pop()
                match x.Node with
                | TRev(p, n, tg) when tg = tag && seen.Add(box n) ->
                    nodes <- nodes + 1
                    bytes <- bytes + int64 p.numel * int64 p.dtype.SizeInBytes
                    if not (isNull n.Op) then
                        for i in n.Inputs do stack.Push i
                | _ -> ()
            nodes, bytes
        | _ -> 0, 0L

/// Closed-loop rollouts on a scene (F#: open Genesis.NN).
[<AutoOpen>]
module SceneRolloutExtensions =
    type Scene with
        /// Runs `steps` steps of a closed loop: `policy` reads the scene and sets controls before each step, `cost` reads
        /// the state after it; returns the summed cost (null without cost). Backward re-runs the loop segment by segment
        /// (O(sqrt T) memory) and fills the grads of `parameters`, the start state and model parameters.
        member s.rollout(steps: int, policy: unit -> unit, parameters: seq<Tensor>, ?cost: unit -> Tensor, ?truncateEvery: int, ?segmentLength: int) : Tensor =
            fst (ClosedLoop.run s steps policy cost (Seq.toArray parameters) truncateEvery segmentLength)

        /// rollout, also returning what it recorded (segments; for memory measurements).
        member s.rolloutWithStats(steps: int, policy: unit -> unit, parameters: seq<Tensor>, ?cost: unit -> Tensor, ?truncateEvery: int, ?segmentLength: int) : Tensor * RolloutStats =
            ClosedLoop.run s steps policy cost (Seq.toArray parameters) truncateEvery segmentLength

        /// The former name of scene.reset(envsIdx = ..., ?qpos, ?qvel) (kept as an alias).
        member s.resetEnvs(envsIdx: int[], ?qpos: Tensor, ?qvel: Tensor) = ClosedLoop.resetEnvs s envsIdx qpos qvel

        /// Cuts the current state from the graph (a truncation point: gradients stop flowing to earlier steps).
        member s.detachState() = ClosedLoop.detachState s
