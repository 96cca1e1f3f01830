namespace Genesis

/// Reductions: sum, mean, max/min (values and indices), cumsum, norm.
module Reductions =
    let private normDims (t: Tensor) (dims: int[]) =
        dims |> Array.map (Shape.normDim t.dim) |> Array.distinct |> Array.sort

    let private keptShape (shape: int[]) (dims: int[]) =
        shape |> Array.mapi (fun d s -> if Array.contains d dims then 1 else s)

    type internal SumOp(dims: int[], keepDim: bool) =
        inherit Op()
        override _.Name = "sum"
        override _.Forward(raws) = raws[0].Reduce(ReduceKind.Sum, dims, keepDim)
        override _.Jvp(_, _, _, tangent) = Apply.apply (SumOp(dims, keepDim)) [| tangent |]
        override _.Vjp(inputs, _, _, adjoint) =
            adjoint |> ShapeOps.reshape (keptShape inputs[0].shape dims) |> Apply.expand inputs[0].shape

    /// Sum over dims (all when empty); bool and uint8 sum in int64, as PyTorch does.
    let sumDims (dims: int[]) (keepDim: bool) (t: Tensor) =
        let dims = if dims.Length = 0 then Array.init t.dim id else normDims t dims
        let t = if t.dtype = DType.Bool || t.dtype = DType.UInt8 then Apply.cast DType.Int64 t else t
        if dims.Length = 0 then t else Apply.apply (SumOp(dims, keepDim)) [| t |]

    /// The float type an int or bool tensor is averaged in: float64 for int64 (as division and the math
    /// functions do), float32 otherwise.
    let private floatFor (t: Tensor) =
        if t.dtype.IsFloating then t
        else Apply.cast (if t.dtype = DType.Int64 then DType.Float64 else DType.Float32) t

    /// Mean over dims (all when empty); ints give floats (int64 -> float64, int32 and bool -> float32).
    let meanDims (dims: int[]) (keepDim: bool) (t: Tensor) =
        let dimsN = if dims.Length = 0 then Array.init t.dim id else normDims t dims
        let count = dimsN |> Array.map (fun d -> t.shape[d]) |> Shape.numel
        let t = floatFor t
        sumDims dims keepDim t / float count

    type internal MaxMinOp(kind: ReduceKind, dims: int[], keepDim: bool) =
        inherit Op()
        /// The weights spreading the derivative evenly over the tied extreme elements.
        member _.Weights(x: Tensor, res: Tensor) =
            let r = res |> ShapeOps.reshape (keptShape x.shape dims)
            let mask = Apply.cast x.dtype (Apply.compare CompareKind.Eq x r) |> fun m -> m.detach()
            mask / (Apply.apply (SumOp(dims, true)) [| mask |])
        override _.Name = (sprintf "%A" kind).ToLowerInvariant()
        override _.Forward(raws) = raws[0].Reduce(kind, dims, keepDim)
        override o.Jvp(inputs, res, _, tangent) =
            Apply.apply (SumOp(dims, keepDim)) [| tangent * o.Weights(inputs[0], res) |]
        override o.Vjp(inputs, res, _, adjoint) =
            let a = adjoint |> ShapeOps.reshape (keptShape inputs[0].shape dims) |> Apply.expand inputs[0].shape
            a * o.Weights(inputs[0], res)

    /// Max or min over dims (all when empty); ties share the derivative.
    let extremeDims (kind: ReduceKind) (dims: int[]) (keepDim: bool) (t: Tensor) =
        let dims = if dims.Length = 0 then Array.init t.dim id else normDims t dims
        if t.numel = 0 then raise (GenesisException "max/min of an empty tensor")
        if dims.Length = 0 then t else Apply.apply (MaxMinOp(kind, dims, keepDim)) [| t |]

    type internal ArgOp(kind: ArgReduceKind, dim: int, keepDim: bool) =
        inherit Op()
        override _.Name = (sprintf "%A" kind).ToLowerInvariant()
        override _.IsDifferentiable = false
        override _.Forward(raws) = raws[0].ArgReduce(kind, dim, keepDim)
        override _.Jvp(_, _, _, _) = invalidOp "argmax has no derivative"
        override _.Vjp(_, _, _, _) = invalidOp "argmax has no derivative"

    /// Index (int64) of the max/min along dim, or of the flattened tensor when dim is None.
    let argExtreme (kind: ArgReduceKind) (dim: int option) (keepDim: bool) (t: Tensor) =
        match dim with
        | None -> Apply.apply (ArgOp(kind, 0, false)) [| ShapeOps.reshape [| t.numel |] t |]
        | Some d -> Apply.apply (ArgOp(kind, Shape.normDim t.dim d, keepDim)) [| t |]

    type internal CumsumOp(dim: int) =
        inherit Op()
        override _.Name = "cumsum"
        override _.Forward(raws) = raws[0].Cumsum dim
        override _.Jvp(_, _, _, tangent) = Apply.apply (CumsumOp dim) [| tangent |]
        override _.Vjp(_, _, _, adjoint) =
            adjoint |> ShapeOps.flip [| dim |] |> fun a -> Apply.apply (CumsumOp dim) [| a |] |> ShapeOps.flip [| dim |]

    /// Inclusive cumulative sum along dim (a scalar is its own cumulative sum, as in PyTorch).
    let cumsum (dim: int) (t: Tensor) =
        let d = Shape.normDim t.dim dim
        if t.dim = 0 then t else Apply.apply (CumsumOp d) [| t |]

    type internal L2NormOp(dims: int[], keepDim: bool) =
        inherit Op()
        /// x / |x|, taken as 0 where |x| = 0 (the minimum-norm subgradient).
        member _.Direction(x: Tensor, res: Tensor) =
            let n = res |> ShapeOps.reshape (keptShape x.shape dims)
            let zero = n.eq(0.0)
            Apply.where zero (Apply.zerosLike x) (x / Apply.where zero (n + 1.0) n)
        override _.Name = "norm"
        override _.Forward(raws) =
            let x = raws[0]
            x.Binary(BinaryKind.Mul, x).Reduce(ReduceKind.Sum, dims, keepDim).Unary(UnaryKind.Sqrt)
        override o.Jvp(inputs, res, _, tangent) = Apply.apply (SumOp(dims, keepDim)) [| tangent * o.Direction(inputs[0], res) |]
        override o.Vjp(inputs, res, _, adjoint) =
            let a = adjoint |> ShapeOps.reshape (keptShape inputs[0].shape dims) |> Apply.expand inputs[0].shape
            a * o.Direction(inputs[0], res)

    /// The p-norm over dims (all when empty); p = 2 has a gradient that is 0 (not NaN) at 0; ints give floats as mean.
    let norm (p: float) (dims: int[]) (keepDim: bool) (t: Tensor) =
        let dimsN = if dims.Length = 0 then Array.init t.dim id else normDims t dims
        let t = floatFor t
        if p = 2.0 then Apply.apply (L2NormOp(dimsN, keepDim)) [| t |]
        elif p = 1.0 then sumDims dimsN keepDim (t.abs())
        elif System.Double.IsPositiveInfinity p then extremeDims ReduceKind.Max dimsN keepDim (t.abs())
        else (sumDims dimsN keepDim (t.abs().pow p)).pow(1.0 / p)
