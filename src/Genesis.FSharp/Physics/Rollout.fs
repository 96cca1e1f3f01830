namespace Genesis.Physics

open System
open Genesis

/// Rollouts over several steps as one differentiable op: the forward pass keeps no intermediates, and the
/// derivative recomputes the segment (checkpointing: memory O(states kept), one extra forward pass).
module Rollout =
    /// The parameter tensors in a fixed order.
    let paramsToArray (p: Params) =
        [| p.bodyPos; p.bodyQuat; p.bodyMass; p.bodyIpos; p.bodyInertia; p.jntAxis; p.jntPos; p.dofDamping
           p.dofArmature; p.dofStiffness; p.dofSpringref; p.gravity; p.kp; p.kv; p.forceLo; p.forceHi
           p.contactStiffness; p.contactDamping; p.friction |]

    /// Parameters from tensors in the order of paramsToArray.
    let paramsOfArray (a: Tensor[]) =
        { bodyPos = a[0]; bodyQuat = a[1]; bodyMass = a[2]; bodyIpos = a[3]; bodyInertia = a[4]; jntAxis = a[5]
          jntPos = a[6]; dofDamping = a[7]; dofArmature = a[8]; dofStiffness = a[9]; dofSpringref = a[10]
          gravity = a[11]; kp = a[12]; kv = a[13]; forceLo = a[14]; forceHi = a[15]
          contactStiffness = a[16]; contactDamping = a[17]; friction = a[18] }

    /// Runs steps from (qpos, qvel) under one control per step; returns the final state.
    let run (model: Model) (sp: SimParams) (qpos: Tensor) (qvel: Tensor) (controls: Control[]) (time: float) =
        let mutable s = { qpos = qpos; qvel = qvel; time = time }
        for c in controls do
            s <- Physics.step model sp s c
        s

    /// k steps as one op. Inputs: [qpos; qvel; control values 1..k; the parameter tensors of paramsToArray]. Output: [qpos | qvel]
    /// packed as [B; nq + nv]. `precomputed` is the constant result of the forward pass already taken; `varying` marks
    /// the inputs that were not constants when the op was applied: the derivative recomputation differentiates only
    /// those (a constant never asks for a gradient), so parameters nobody differentiates cost nothing in backward.
    type SegmentOp(topology: Topology, sp: SimParams, modes: ControlMode[][], precomputed: RawTensor, varying: bool[]) =
        inherit Op()
        let k = modes.Length
        let mutable cache: (Tensor * Tensor[]) option = None

        member private _.Evaluate(inputs: Tensor[]) =
            let model = { topology = topology; parameters = paramsOfArray inputs[2 + k ..] }
            let controls = Array.init k (fun i -> { modes = modes[i]; values = inputs[2 + i] })
            let s = run model sp inputs[0] inputs[1] controls 0.0
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
                let tag = Tags.next ()
                let leaves = inputs |> Array.mapi (fun j t -> if varying[j] && t.dtype.IsFloating then Functional.reverseDiff tag t else t)
                let out = o.Evaluate leaves
                if out.isReverse && out.Tag = Some tag then Reverse.run out adjoint false false
                let grads = leaves |> Array.map (fun l -> if l.isReverse && l.Tag = Some tag then Reverse.leafAdjoint l else Apply.zerosLike l)
                cache <- Some(adjoint, grads)
                grads[i]

    /// The state after k steps as a differentiable function of the start state, the controls and the parameters,
    /// given the constant result of the forward pass already taken.
    let segment (model: Model) (sp: SimParams) (start: State) (controls: Control[]) (result: State) : State =
        let inputs = Array.concat [ [| start.qpos; start.qvel |]; controls |> Array.map (fun c -> c.values); paramsToArray model.parameters ]
        let packedResult = gs.cat([| result.qpos.detach(); result.qvel.detach() |], 1)
        let varying = inputs |> Array.map (fun t -> not t.isConstant)
        let op = SegmentOp(model.topology, sp, controls |> Array.map (fun c -> c.modes), packedResult.raw, varying)
        let out = Apply.apply op inputs
        let nq = model.topology.nq
        { qpos = out.narrow(1, 0, nq); qvel = out.narrow(1, nq, model.topology.nv); time = result.time }
