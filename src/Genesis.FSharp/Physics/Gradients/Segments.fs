namespace Genesis.Physics

open System
open Genesis

/// Rollouts over several steps as one differentiable op (checkpointing): the forward pass keeps no intermediates, and
/// the derivative recomputes the segment. First-order gradients of the start state, the controls and some parameters
/// (SegmentVjp.differentiatesParameter) run on the fast path's arrays; other parameters and nested derivatives record
/// it on the Tensor path.
module Segments =
    /// k steps as one op. Inputs: [qpos; qvel; control values 1..k; the parameter tensors of paramsToArray]. Output: [qpos | qvel]
    /// packed as [B; nq + nv]. `precomputed` is the constant result of the forward pass already taken; `varying` marks
    /// the inputs that were not constants when the op was applied: the derivative recomputation differentiates only
    /// those (a constant never asks for a gradient), so parameters nobody differentiates cost nothing in backward.
    type SegmentOp(model: Model, sp: SimParams, modes: ControlMode[][], precomputed: RawTensor, varying: bool[]) =
        inherit Op()
        let k = modes.Length
        let mutable cache: (Tensor * Tensor[]) option = None

        member private _.Evaluate(inputs: Tensor[]) =
            let model = { topology = model.topology; parameters = Rollout.paramsOfArray inputs[2 + k ..] }
            let controls = Array.init k (fun i -> { modes = modes[i]; values = inputs[2 + i] })
            let s = Rollout.run model sp inputs[0] inputs[1] controls 0.0
            gs.cat([| s.qpos; s.qvel |], 1)

        override _.Name = "rolloutSegment"
        /// The values were computed by the forward pass already; the op only records the dependency.
        override _.Forward(_) = precomputed
        override o.Jvp(inputs, _, i, tangent) =
            let tag = Tags.next ()
            let x = inputs |> Array.mapi (fun j t -> if j = i then Functional.forwardDiff tag t tangent else t)
            Functional.tangentAt tag (o.Evaluate x)
        override o.Vjp(inputs, _, i, adjoint) =
            match cache with
            | Some(a, grads) when Object.ReferenceEquals(a, adjoint) -> grads[i]
            | _ ->
                let grads = if o.TapeApplies(inputs, adjoint) then o.TapeVjp(inputs, adjoint) else o.TensorVjp(inputs, adjoint)
                cache <- Some(adjoint, grads)
                grads[i]

        /// On the host, the fast path serves first-order gradients of the start state, the controls and the parameters it
        /// differentiates (SegmentVjp.differentiatesParameter): every input and the adjoint are constants (no nested
        /// derivative), and no other parameter varies. On a device the Tensor path recomputes the segment there.
        member private _.TapeApplies(inputs: Tensor[], adjoint: Tensor) =
            inputs[0].device = Device.Cpu
            && adjoint.isConstant
            && inputs |> Array.forall (fun t -> t.isConstant)
            && varying |> Array.indexed |> Array.forall (fun (j, v) ->
                not v || j < 2 + k || (model.topology.equality.Length = 0 && SegmentVjp.differentiatesParameter sp (enum<Param> (j - 2 - k))))

        /// The derivative on the fast path, recorded on the scalar tape per env (SegmentVjp.segmentVjp).
        member private _.TapeVjp(inputs: Tensor[], adjoint: Tensor) =
            let fm = FastStep.prepare model
            let b = inputs[0].shape[0]
            let nq, nv = fm.nq, fm.nv
            let adj = adjoint.toFloatArray()
            let adjQpos = Array.init (b * nq) (fun x -> adj[(x / nq) * (nq + nv) + x % nq])
            let adjQvel = Array.init (b * nv) (fun x -> adj[(x / nv) * (nq + nv) + nq + x % nv])
            let ctrls = Array.init k (fun t -> inputs[2 + t].expand([ b; nv ]).toFloatArray())
            let gq, gv, gc, gp = SegmentVjp.segmentVjp fm sp modes b (inputs[0].toFloatArray()) (inputs[1].toFloatArray()) ctrls adjQpos adjQvel
            let asTensor (like: Tensor) (values: float[]) (shape: int list) = Tensor.Constant(like, values, Array.ofList shape)
            inputs |> Array.mapi (fun j t ->
                if j = 0 then asTensor t gq [ b; nq ]
                elif j = 1 then asTensor t gv [ b; nv ]
                elif j < 2 + k then asTensor t gc[j - 2] [ b; nv ] |> Apply.sumToShape t.shape
                elif varying[j] && SegmentVjp.differentiatesParameter sp (enum<Param> (j - 2 - k)) then
                    asTensor t gp[SegmentVjp.parameterSlot (enum<Param> (j - 2 - k))] (List.ofArray t.shape)
                else Apply.zerosLike t)

        /// The derivative by recording the segment on the Tensor path (parameters, nested derivatives).
        member private o.TensorVjp(inputs: Tensor[], adjoint: Tensor) =
            let tag = Tags.next ()
            let leaves = inputs |> Array.mapi (fun j t -> if varying[j] && t.dtype.IsFloating then Functional.reverseDiff tag t else t)
            let out = o.Evaluate leaves
            if out.isReverse && out.Tag = Some tag then Reverse.run out adjoint false false
            leaves |> Array.map (fun l -> if l.isReverse && l.Tag = Some tag then Reverse.leafAdjoint l else Apply.zerosLike l)

    /// The state after k steps as a differentiable function of the start state, the controls and the parameters,
    /// given the constant result of the forward pass already taken.
    let segment (model: Model) (sp: SimParams) (start: State) (controls: Control[]) (result: State) : State =
        let inputs = Array.concat [ [| start.qpos; start.qvel |]; controls |> Array.map (fun c -> c.values); Rollout.paramsToArray model.parameters ]
        let packedResult = gs.cat([| result.qpos.detach(); result.qvel.detach() |], 1)
        let varying = inputs |> Array.map (fun t -> not t.isConstant)
        let op = SegmentOp(model, sp, controls |> Array.map (fun c -> c.modes), packedResult.raw, varying)
        let out = Apply.apply op inputs
        let nq = model.topology.nq
        { qpos = out.narrow(1, 0, nq); qvel = out.narrow(1, nq, model.topology.nv); time = result.time }
