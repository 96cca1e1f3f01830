namespace Genesis

/// Shape ops: reshape, permute, cat, slicing, flip, gather/scatter. Each op class holds its value, JVP and VJP.
module ShapeOps =
    /// Normalises a dimension that must exist: a scalar has none, so indexing, slicing, splitting or concatenating
    /// it raises here instead of reading past its empty shape.
    let internal existingDim (name: string) (t: Tensor) (dim: int) =
        if t.dim = 0 then
            raise (GenesisException(sprintf "%s: dimension %d out of range for a tensor of rank 0 (a scalar has no dimension to index)" name dim))
        Shape.normDim t.dim dim

    type internal ReshapeOp(shape: int[]) =
        inherit Op()
        override _.Name = "reshape"
        override _.Forward(raws) = raws[0].Reshape shape
        override _.Jvp(_, _, _, tangent) = Apply.apply (ReshapeOp shape) [| tangent |]
        override _.Vjp(inputs, _, _, adjoint) = Apply.apply (ReshapeOp inputs[0].shape) [| adjoint |]

    /// Reshapes (one size may be -1).
    let reshape (shape: int[]) (t: Tensor) =
        let s = Shape.resolveReshape t.numel shape
        if Shape.equal s t.shape then t else Apply.apply (ReshapeOp s) [| t |]

    type internal PermuteOp(perm: int[]) =
        inherit Op()
        let inverse = Array.init perm.Length (fun i -> Array.findIndex ((=) i) perm)
        override _.Name = "permute"
        override _.Forward(raws) = raws[0].Permute perm
        override _.Jvp(_, _, _, tangent) = Apply.apply (PermuteOp perm) [| tangent |]
        override _.Vjp(_, _, _, adjoint) = Apply.apply (PermuteOp inverse) [| adjoint |]

    /// Reorders dimensions.
    let permute (perm: int[]) (t: Tensor) =
        let perm = perm |> Array.map (Shape.normDim t.dim)
        if perm.Length <> t.dim || (Array.sort perm) <> Array.init t.dim id then
            raise (GenesisException(sprintf "permute: %A is not a permutation of the %d dims of shape %s" perm t.dim (Shape.format t.shape)))
        if perm = Array.init t.dim id then t else Apply.apply (PermuteOp perm) [| t |]

    /// Swaps two dimensions.
    let transpose (d0: int) (d1: int) (t: Tensor) =
        let d0, d1 = Shape.normDim t.dim d0, Shape.normDim t.dim d1
        let perm = Array.init t.dim id
        perm[d0] <- d1
        perm[d1] <- d0
        permute perm t

    /// Inserts a size-1 dimension at dim.
    let unsqueeze (dim: int) (t: Tensor) =
        let d = if dim < 0 then dim + t.dim + 1 else dim
        if d < 0 || d > t.dim then raise (GenesisException(sprintf "unsqueeze: dimension %d out of range for rank %d" dim t.dim))
        reshape (Array.insertAt d 1 t.shape) t

    /// Removes size-1 dimensions (all, or the given one).
    let squeeze (dim: int option) (t: Tensor) =
        match dim with
        | None -> reshape (t.shape |> Array.filter (fun s -> s <> 1)) t
        | Some d ->
            let d = Shape.normDim t.dim d
            if t.shape[d] = 1 then reshape (Array.removeAt d t.shape) t else t

    /// Broadcasts to a shape (-1 keeps a size).
    let expand (shape: int[]) (t: Tensor) =
        let off = shape.Length - t.dim
        let target = shape |> Array.mapi (fun i s -> if s = -1 && i >= off then t.shape[i - off] else s)
        Apply.expand target t

    type internal SliceOp(starts: int[], lengths: int[]) =
        inherit Op()
        interface IBoxSlice with
            member _.Starts = starts
        override _.Name = "slice"
        override _.Forward(raws) = raws[0].Slice(starts, lengths)
        override _.Jvp(_, _, _, tangent) = Apply.apply (SliceOp(starts, lengths)) [| tangent |]
        override _.Vjp(inputs, _, _, adjoint) = Apply.apply (PadSliceOp(inputs[0].shape, starts)) [| adjoint |]

    and internal PadSliceOp(fullShape: int[], starts: int[]) =
        inherit Op()
        override _.Name = "padSlice"
        override _.Forward(raws) = raws[0].PadSlice(fullShape, starts)
        override _.Jvp(_, _, _, tangent) = Apply.apply (PadSliceOp(fullShape, starts)) [| tangent |]
        override _.Vjp(inputs, _, _, adjoint) = Apply.apply (SliceOp(starts, inputs[0].shape)) [| adjoint |]

    /// The box [starts, starts + lengths).
    let slice (starts: int[]) (lengths: int[]) (t: Tensor) =
        for d in 0 .. t.dim - 1 do
            if starts[d] < 0 || lengths[d] < 0 || starts[d] + lengths[d] > t.shape[d] then
                raise (GenesisException(sprintf "slice [%d, %d) out of range for dimension %d of size %d" starts[d] (starts[d] + lengths[d]) d t.shape[d]))
        if Shape.equal lengths t.shape then t else Apply.apply (SliceOp(starts, lengths)) [| t |]

    /// One index along a dimension (negative counts from the end), dropping the dimension.
    let select (dim: int) (index: int) (t: Tensor) =
        let d = existingDim "index" t dim
        let n = t.shape[d]
        let i = if index < 0 then index + n else index
        if i < 0 || i >= n then
            raise (GenesisException(sprintf "index %d out of range for dimension %d of size %d" index d n))
        let starts = Array.zeroCreate t.dim
        starts[d] <- i
        let lengths = Array.copy t.shape
        lengths[d] <- 1
        slice starts lengths t |> reshape (Array.removeAt d t.shape)

    /// Elements [start, stop] along a dimension, both inclusive (F# range semantics); None means the end.
    let narrowInclusive (dim: int) (start: int option) (stop: int option) (t: Tensor) =
        let d = existingDim "slice" t dim
        let n = t.shape[d]
        let fix i = if i < 0 then i + n else i
        let a = start |> Option.map fix |> Option.defaultValue 0
        let b = stop |> Option.map fix |> Option.defaultValue (n - 1)
        if a < 0 || a > n || b >= n then
            raise (GenesisException(sprintf "slice %d..%d out of range for dimension %d of size %d" a b d n))
        let starts = Array.zeroCreate t.dim
        starts[d] <- a
        let lengths = Array.copy t.shape
        lengths[d] <- max 0 (b - a + 1)
        slice starts lengths t

    type internal CatOp(dim: int) =
        inherit Op()
        override _.Name = "cat"
        override _.Forward(raws) = raws[0].Backend.Cat(raws, dim)
        override _.Jvp(inputs, res, i, tangent) =
            let starts = Array.zeroCreate res.dim
            starts[dim] <- inputs[.. i - 1] |> Array.sumBy (fun x -> x.shape[dim])
            Apply.apply (PadSliceOp(res.shape, starts)) [| tangent |]
        override _.Vjp(inputs, _, i, adjoint) =
            let starts = Array.zeroCreate adjoint.dim
            starts[dim] <- inputs[.. i - 1] |> Array.sumBy (fun x -> x.shape[dim])
            Apply.apply (SliceOp(starts, inputs[i].shape)) [| adjoint |]

    /// Concatenates along an existing dimension.
    let cat (dim: int) (tensors: Tensor[]) =
        if tensors.Length = 0 then raise (GenesisException "cat: no tensors given")
        let first = tensors[0]
        let d = existingDim "cat" first dim
        let dtype = tensors |> Array.map (fun t -> t.dtype) |> Array.reduce (fun a b -> match DTypes.tryPromote a b with Some x -> x | None -> raise (GenesisException(sprintf "cat: dtype mismatch %O and %O" a b)))
        for t in tensors do
            if t.dim <> first.dim || (Array.removeAt d t.shape) <> (Array.removeAt d first.shape) then
                raise (GenesisException(sprintf "cat: shapes %s and %s differ outside dimension %d" (Shape.format first.shape) (Shape.format t.shape) d))
        if tensors.Length = 1 then first
        else Apply.apply (CatOp d) (tensors |> Array.map (Apply.cast dtype))

    /// Stacks equal-shaped tensors along a new dimension.
    let stack (dim: int) (tensors: Tensor[]) =
        if tensors.Length = 0 then raise (GenesisException "stack: no tensors given")
        let s = tensors[0].shape
        for t in tensors do
            if t.shape <> s then raise (GenesisException(sprintf "stack: shapes %s and %s differ" (Shape.format s) (Shape.format t.shape)))
        let d = if dim < 0 then dim + s.Length + 1 else dim
        tensors |> Array.map (unsqueeze d) |> cat d

    /// Splits into pieces of the given sizes along dim.
    let split (sizes: int[]) (dim: int) (t: Tensor) =
        let d = existingDim "split" t dim
        if Array.sum sizes <> t.shape[d] then
            raise (GenesisException(sprintf "split: sizes %A do not add up to %d (dimension %d of %s)" sizes t.shape[d] d (Shape.format t.shape)))
        let mutable off = 0
        [| for s in sizes do
               let starts = Array.zeroCreate t.dim
               starts[d] <- off
               let lengths = Array.copy t.shape
               lengths[d] <- s
               off <- off + s
               slice starts lengths t |]

    type internal FlipOp(dims: int[]) =
        inherit Op()
        override _.Name = "flip"
        override _.Forward(raws) = raws[0].Flip dims
        override _.Jvp(_, _, _, tangent) = Apply.apply (FlipOp dims) [| tangent |]
        override _.Vjp(_, _, _, adjoint) = Apply.apply (FlipOp dims) [| adjoint |]

    /// Reverses the order along dims.
    let flip (dims: int[]) (t: Tensor) =
        if dims.Length = 0 then t
        else Apply.apply (FlipOp(dims |> Array.map (existingDim "flip" t) |> Array.distinct)) [| t |]

    type internal GatherOp(dim: int) =
        inherit Op()
        override _.Name = "gather"
        override _.Differentiates i = i = 0
        override _.Forward(raws) = raws[0].Gather(dim, raws[1])
        override _.Jvp(inputs, _, _, tangent) = Apply.apply (GatherOp dim) [| tangent; inputs[1] |]
        override _.Vjp(inputs, _, _, adjoint) = Apply.apply (ScatterAddOp dim) [| Apply.zerosLike inputs[0]; inputs[1]; adjoint |]

    and internal ScatterAddOp(dim: int) =
        inherit Op()
        override _.Name = "scatterAdd"
        override _.Differentiates i = i <> 1
        override _.Forward(raws) = raws[0].ScatterAdd(dim, raws[1], raws[2])
        override _.Jvp(inputs, _, i, tangent) =
            if i = 0 then tangent
            else Apply.apply (ScatterAddOp dim) [| Apply.zerosLike inputs[0]; inputs[1]; tangent |]
        override _.Vjp(inputs, _, i, adjoint) =
            if i = 0 then adjoint else Apply.apply (GatherOp dim) [| adjoint; inputs[1] |]

    let private checkIndex (name: string) (dim: int) (t: Tensor) (index: Tensor) =
        if not index.dtype.IsIntegral then raise (GenesisException(sprintf "%s: index must be an int tensor, got %O" name index.dtype))
        if index.dim <> t.dim then
            raise (GenesisException(sprintf "%s: index of shape %s must have the rank of the input %s" name (Shape.format index.shape) (Shape.format t.shape)))
        for d in 0 .. t.dim - 1 do
            if d <> dim && index.shape[d] > t.shape[d] then
                raise (GenesisException(sprintf "%s: index shape %s exceeds input shape %s in dimension %d" name (Shape.format index.shape) (Shape.format t.shape) d))

    /// out[..i..] = t[..index[..i..]..] along dim (PyTorch gather).
    let gather (dim: int) (index: Tensor) (t: Tensor) =
        let d = existingDim "gather" t dim
        checkIndex "gather" d t index
        Apply.apply (GatherOp d) [| t; index.detach() |]

    /// A copy of t with src added at index along dim (PyTorch scatter_add).
    let scatterAdd (dim: int) (index: Tensor) (src: Tensor) (t: Tensor) =
        let d = existingDim "scatterAdd" t dim
        checkIndex "scatterAdd" d t index
        if src.shape <> index.shape then
            raise (GenesisException(sprintf "scatterAdd: src shape %s must equal index shape %s" (Shape.format src.shape) (Shape.format index.shape)))
        let t, src = Apply.promote "scatterAdd" t src
        Apply.apply (ScatterAddOp d) [| t; index.detach(); src |]
