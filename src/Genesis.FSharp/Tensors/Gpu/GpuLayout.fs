namespace Genesis.Gpu

open Genesis
open Genesis.Gpu.Kernels

/// Host-side helpers that turn shapes and strides into the by-value layouts the kernels take.
module internal GpuLayout =
    /// The kernels' element type of a dtype (bool is a byte).
    let elementType (d: DType) =
        match d with
        | DType.Float32 -> ElementType.Float32
        | DType.Float64 -> ElementType.Float64
        | DType.Int32 -> ElementType.Int32
        | DType.Int64 -> ElementType.Int64
        | DType.Bool -> ElementType.Bool
        | DType.UInt8 ->
            raise (GenesisException "uint8 tensors are not supported on the GPU backend (they exist for images, which the CPU makes): keep them on Backend.Cpu, or cast to int32 or a float type before moving data to the GPU")
        | DType.Float | DType.Int -> invalidArg "dtype" "resolve the dtype family first"

    /// Drops size-1 dims and merges adjacent dims that every operand walks contiguously (stride[p] = stride[d] * size[d]),
    /// so that kernels see the smallest rank; the row-major order of the iteration is unchanged.
    let simplify (shape: int[]) (strides: int[][]) : int[] * int[][] =
        let outShape = ResizeArray<int>()
        let outStrides = strides |> Array.map (fun _ -> ResizeArray<int>())
        for d in 0 .. shape.Length - 1 do
            if shape[d] <> 1 then
                let last = outShape.Count - 1
                let mergeable = last >= 0 && Array.forall2 (fun (s: int[]) (o: ResizeArray<int>) -> o[last] = s[d] * shape[d]) strides outStrides
                if mergeable then
                    outShape[last] <- outShape[last] * shape[d]
                    for k in 0 .. strides.Length - 1 do
                        let o = outStrides[k]
                        o[last] <- strides[k][d]
                else
                    outShape.Add shape[d]
                    for k in 0 .. strides.Length - 1 do
                        outStrides[k].Add(strides[k][d])
        outShape.ToArray(), outStrides |> Array.map (fun o -> o.ToArray())

    /// A Strided layout over `shape` for up to three operands (strides and base offsets), simplified.
    let strided (shape: int[]) (strides: int[][]) (offsets: int[]) : Strided =
        let sh, st = simplify shape strides
        if sh.Length > Dims8.Capacity then
            raise (GenesisException(sprintf "the GPU backend supports at most %d non-mergeable dimensions, got shape %s" Dims8.Capacity (Shape.format shape)))
        let mutable l = Strided()
        l.Rank <- sh.Length
        l.Shape <- Dims8.From sh
        let zero = Array.zeroCreate sh.Length
        l.S0 <- Dims8.From(if st.Length > 0 then st[0] else zero)
        l.S1 <- Dims8.From(if st.Length > 1 then st[1] else zero)
        l.S2 <- Dims8.From(if st.Length > 2 then st[2] else zero)
        l.Off0 <- (if offsets.Length > 0 then offsets[0] else 0)
        l.Off1 <- (if offsets.Length > 1 then offsets[1] else 0)
        l.Off2 <- (if offsets.Length > 2 then offsets[2] else 0)
        l

    /// The layout of a reduction of a contiguous `shape` over `dims` (sorted): kept dims give the outputs in order.
    let reduce (shape: int[]) (dims: int[]) : ReduceLayout * int =
        let st = Shape.strides shape
        let kept = [| for d in 0 .. shape.Length - 1 do if not (Array.contains d dims) then d |]
        let pick (ds: int[]) (a: int[]) = ds |> Array.map (fun d -> a[d])
        let mutable l = ReduceLayout()
        l.Kept <- strided (pick kept shape) [| pick kept st |] [||]
        l.Reduced <- strided (pick dims shape) [| pick dims st |] [||]
        l.Block <- Shape.numel (pick dims shape)
        l, Shape.numel (pick kept shape)

    /// The layout of gather/scatterAdd along dim: iterate the index shape; S0 walks `target` (0 at dim), S1 walks `src`.
    let index (indexShape: int[]) (target: int[]) (dim: int) (src: int[]) : IndexLayout =
        let tst = Shape.strides target
        let s0 = tst |> Array.mapi (fun d s -> if d = dim then 0 else s)
        let s1 = if src.Length = indexShape.Length then Shape.strides src else Array.zeroCreate indexShape.Length
        let mutable l = IndexLayout()
        l.Iter <- strided indexShape [| s0; s1 |] [||]
        l.Dim <- dim
        l.DimSize <- target[dim]
        l.DimStride <- tst[dim]
        l

    /// The kernels' code of a unary op.
    let unaryCode (k: UnaryKind) =
        match k with
        | UnaryKind.Neg -> OpCode.Neg | UnaryKind.Exp -> OpCode.Exp | UnaryKind.Log -> OpCode.Log
        | UnaryKind.Sqrt -> OpCode.Sqrt | UnaryKind.Abs -> OpCode.Abs | UnaryKind.Sign -> OpCode.Sign
        | UnaryKind.Sin -> OpCode.Sin | UnaryKind.Cos -> OpCode.Cos | UnaryKind.Tan -> OpCode.Tan
        | UnaryKind.Tanh -> OpCode.Tanh | UnaryKind.Sigmoid -> OpCode.Sigmoid | UnaryKind.Relu -> OpCode.Relu
        | UnaryKind.Softplus -> OpCode.Softplus | UnaryKind.Floor -> OpCode.Floor | UnaryKind.Ceil -> OpCode.Ceil
        | UnaryKind.Round -> OpCode.Round | UnaryKind.Asin -> OpCode.Asin | UnaryKind.Acos -> OpCode.Acos
        | UnaryKind.Atan -> OpCode.Atan | UnaryKind.Sinh -> OpCode.Sinh | UnaryKind.Cosh -> OpCode.Cosh
        | UnaryKind.Log1p -> OpCode.Log1p | UnaryKind.Expm1 -> OpCode.Expm1

    /// The kernels' code of a binary op.
    let binaryCode (k: BinaryKind) =
        match k with
        | BinaryKind.Add -> OpCode.Add | BinaryKind.Sub -> OpCode.Sub | BinaryKind.Mul -> OpCode.Mul
        | BinaryKind.Div -> OpCode.Div | BinaryKind.Pow -> OpCode.Pow | BinaryKind.Max -> OpCode.Max
        | BinaryKind.Min -> OpCode.Min | BinaryKind.Atan2 -> OpCode.Atan2

    /// The kernels' code of a comparison.
    let compareCode (k: CompareKind) =
        match k with
        | CompareKind.Eq -> OpCode.Eq | CompareKind.Ne -> OpCode.Ne | CompareKind.Lt -> OpCode.Lt
        | CompareKind.Le -> OpCode.Le | CompareKind.Gt -> OpCode.Gt | CompareKind.Ge -> OpCode.Ge

    /// The kernels' code of a reduction.
    let reduceCode (k: ReduceKind) =
        match k with
        | ReduceKind.Sum -> OpCode.Sum | ReduceKind.Prod -> OpCode.Prod | ReduceKind.Max -> OpCode.RMax | ReduceKind.Min -> OpCode.RMin
