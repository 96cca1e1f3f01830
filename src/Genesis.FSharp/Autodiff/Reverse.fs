namespace Genesis

open System.Collections.Generic

/// Implemented by an owner of tensors (the engine's Scene) that must know when backward runs through them.
type IBackwardObserver =
    /// Called before an imperative backward pass starts from a tensor of this owner.
    abstract BeforeBackward: unit -> unit
    /// Called after the pass has filled the leaves' gradients.
    abstract AfterBackward: unit -> unit

/// The reverse pass: propagates adjoints from a root through every reverse node of the root's tag.
module Reverse =
    let mutable private passes = 0L

    /// The reverse nodes reachable from root at its tag, inputs before the values computed from them. Each pass
    /// marks the nodes it visits with its own id.
    let private topoOrder (root: Tensor) (tag: int64) (onVisit: ReverseNode -> unit) =
        let pass = System.Threading.Interlocked.Increment(&passes)
        let order = List<struct (ReverseNode * Tensor)>()
        let stack = Stack<struct (Tensor * bool)>()
        stack.Push(struct (root, false))
        while stack.Count > 0 do
            let struct (t, expanded) = stack.Pop()
            match t.Node with
            | TRev(_, n, tg) when tg = tag ->
                if expanded then order.Add(struct (n, t))
                elif n.VisitedBy <> pass then
                    n.VisitedBy <- pass
                    onVisit n
                    stack.Push(struct (t, true))
                    if not (isNull n.Op) then
                        for inp in n.Inputs do
                            match inp.Node with
                            | TRev(_, m, tg2) when tg2 = tag && m.VisitedBy <> pass -> stack.Push(struct (inp, false))
                            | _ -> ()
            | _ -> ()
        order

    /// Adds the pending box adjoints of n into its adjoint (zeros if none yet) in one pass over host values; `like`
    /// gives the dtype, device and shape. Summing many row slices of one tensor this way costs O(total box size)
    /// instead of a full-size padded tensor and a full-size sum per slice.
    let private settleBoxes (n: ReverseNode) (like: Tensor) =
        let boxes = n.PendingBoxes
        if not (isNull boxes) then
            n.PendingBoxes <- null
            let shape = like.shape
            let acc: float[] = if isNull n.Adjoint then Array.zeroCreate (Shape.numel shape) else n.Adjoint.toFloatArray()
            let rank = shape.Length
            let strides = Array.zeroCreate rank
            let mutable s = 1
            for d in rank - 1 .. -1 .. 0 do
                strides[d] <- s
                s <- s * shape[d]
            for struct (starts, box) in boxes do
                let values = box.toFloatArray()
                let bshape = box.shape
                for k in 0 .. values.Length - 1 do
                    // row-major position of element k of the box inside the full tensor
                    let mutable r = k
                    let mutable flat = 0
                    for d in rank - 1 .. -1 .. 0 do
                        flat <- flat + (starts[d] + r % bshape[d]) * strides[d]
                        r <- r / bshape[d]
                    acc[flat] <- acc[flat] + values[k]
            n.Adjoint <- Tensor.Constant(like, acc, shape)

    /// Runs the reverse pass from root with a seed adjoint. Imperative passes (tag 0) accumulate leaf grads and,
    /// unless retainGraph, consume the graph so that a second pass raises.
    let internal run (root: Tensor) (seed: Tensor) (imperative: bool) (retainGraph: bool) =
        match root.Node with
        | TRev(_, rootNode, tag) ->
            let order =
                topoOrder root tag (fun n ->
                    if imperative && n.Consumed && not retainGraph then
                        raise (GenesisException "Multiple backward calls not allowed: this graph was already used by backward(); run the forward computation again (or scene.reset()) first")
                    n.Adjoint <- null
                    n.PendingBoxes <- null)
            rootNode.Adjoint <- seed
            for k in order.Count - 1 .. -1 .. 0 do
                let struct (n, t) = order[k]
                settleBoxes n t.primal
                let adj = n.Adjoint
                if isNull n.Op then
                    if imperative && not (isNull adj) then
                        n.Grad <- if isNull n.Grad then adj.detach(true) else (n.Grad + adj).detach(true)
                elif not (isNull adj) then
                    let inputs = n.Inputs
                    let prim = inputs |> Array.map (fun x -> if x.TagValue = tag then x.primal else x)
                    let res = t.primal
                    for i in 0 .. inputs.Length - 1 do
                        match inputs[i].Node with
                        | TRev(_, m, tg2) when tg2 = tag && n.Op.Differentiates i ->
                            match box n.Op with
                            | :? IBoxSlice as slice when adj.isConstant ->
                                if isNull m.PendingBoxes then m.PendingBoxes <- List()
                                m.PendingBoxes.Add(struct (slice.Starts, adj))
                            | _ ->
                                let g = n.Op.Vjp(prim, res, i, adj) |> Apply.sumToShape inputs[i].shape
                                m.Adjoint <- if isNull m.Adjoint then g else m.Adjoint + g
                        | _ -> ()
                    n.Adjoint <- null
                    if imperative && not retainGraph then n.Consumed <- true
        | _ -> ()

    /// Whether t was computed by ops whose graph a backward() pass has used up (leaves never are).
    let internal isConsumed (t: Tensor) =
        match t.Node with
        | TRev(_, n, _) -> n.Consumed
        | _ -> false

    /// The adjoint a functional reverse pass left on a leaf created by reverseDiff (zeros when unreached).
    let internal leafAdjoint (leaf: Tensor) =
        match leaf.Node with
        | TRev(p, n, _) ->
            settleBoxes n p
            if isNull n.Adjoint then Apply.zerosLike p else n.Adjoint
        | _ -> invalidOp "not a reverse leaf"

/// Imperative reverse mode on tensors (genesis.Tensor.backward semantics).
[<AutoOpen>]
module TensorBackward =
    type Tensor with
        /// Back-propagates from this tensor into every requiresGrad leaf's grad. A non-scalar tensor needs a seed
        /// gradient of its shape. A graph can be walked once unless retainGraph = true.
        member t.backward(?gradient: Tensor, ?retainGraph: bool) =
            match t.Node with
            | TRev(_, _, tag) when tag = 0L ->
                let seed =
                    match gradient with
                    | Some g ->
                        if g.shape <> t.shape then
                            raise (GenesisException(sprintf "backward: seed gradient shape %s does not match tensor shape %s" (Shape.format g.shape) (Shape.format t.shape)))
                        g.cast t.dtype
                    | None ->
                        if t.numel <> 1 then
                            raise (GenesisException(sprintf "backward: grad can be implicitly created only for scalar outputs, got shape %s; pass a seed gradient" (Shape.format t.shape)))
                        Apply.add (Apply.zerosLike t.primal) (Apply.scalarLike t 1.0)
                let observer = match t.scene with :? IBackwardObserver as o -> Some o | _ -> None
                observer |> Option.iter (fun o -> o.BeforeBackward())
                Reverse.run t seed true (defaultArg retainGraph false)
                observer |> Option.iter (fun o -> o.AfterBackward())
            | TRev _ -> raise (GenesisException "backward() is for requiresGrad graphs; inside gs.grad/gs.vjp use the functional API")
            | _ when not (isNull t.scene) ->
                raise (GenesisException "backward: tensor does not require grad; it comes from a scene, whose steps are differentiated only when the scene is built with SimOptions(requiresGrad = true) (and inputs given as requiresGrad leaves)")
            | _ -> raise (GenesisException "backward: tensor does not require grad (create a leaf with requiresGrad = true first)")
