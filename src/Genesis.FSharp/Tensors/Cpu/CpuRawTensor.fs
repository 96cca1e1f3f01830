namespace Genesis.Cpu

open System
open System.Numerics.Tensors
open Genesis

/// A function generic in the element type of an array (F# closures cannot be generic): CpuRawTensor.Map applies it to
/// whichever typed array a tensor holds.
type internal ArrayFn =
    /// f on an array of element type 'T.
    abstract Invoke<'T> : 'T[] -> Array

/// A raw tensor in managed memory: a flat typed array (float32[], float[], int[], int64[], bool[] or byte[]).
[<Sealed>]
type CpuRawTensor(data: Array, shape: int[]) =
    inherit RawTensor(shape, RawTensor.dtypeOfArray data, Device.Cpu)

    /// The flat storage (shared, never mutated after construction).
    member _.Data: Array = data

    /// The CPU backend singleton.
    static member val Instance: IRawBackend = CpuBackend() :> IRawBackend

    override _.Backend = CpuRawTensor.Instance
    override _.IsContiguous = true

    override t.Unary(kind) =
        match data with
        | :? (float[]) as a -> CpuRawTensor(CpuKernels.unaryFloat kind a, shape)
        | :? (float32[]) as a -> CpuRawTensor(CpuKernels.unaryFloat kind a, shape)
        | _ -> raise (GenesisException(sprintf "%A needs a float tensor, got %O" kind t.DType))
        :> RawTensor

    override t.Binary(kind, other) =
        let o = CpuRawTensor.Of other
        let outShape = if Shape.equal shape other.Shape then shape else Shape.broadcast shape other.Shape
        if t.DType <> other.DType then
            raise (GenesisException(sprintf "raw %A: dtype mismatch %O and %O" kind t.DType other.DType))
        let n = Shape.numel outShape
        let res: Array =
            match data, o.Data with
            | (:? (float[]) as a), (:? (float[]) as b) ->
                match CpuKernels.binaryScalar kind a b n with
                | ValueSome r -> r
                | ValueNone -> CpuKernels.binaryNumber kind (CpuKernels.expandTo a shape outShape) (CpuKernels.expandTo b other.Shape outShape) CpuKernels.floatPowAtan2
            | (:? (float32[]) as a), (:? (float32[]) as b) ->
                match CpuKernels.binaryScalar kind a b n with
                | ValueSome r -> r
                | ValueNone -> CpuKernels.binaryNumber kind (CpuKernels.expandTo a shape outShape) (CpuKernels.expandTo b other.Shape outShape) CpuKernels.floatPowAtan2
            | (:? (int[]) as a), (:? (int[]) as b) ->
                CpuKernels.binaryNumber kind (CpuKernels.expandTo a shape outShape) (CpuKernels.expandTo b other.Shape outShape) (fun _ _ _ _ -> false)
            | (:? (int64[]) as a), (:? (int64[]) as b) ->
                CpuKernels.binaryNumber kind (CpuKernels.expandTo a shape outShape) (CpuKernels.expandTo b other.Shape outShape) (fun _ _ _ _ -> false)
            | (:? (byte[]) as a), (:? (byte[]) as b) ->
                // wraps modulo 256, as PyTorch's uint8 arithmetic does
                CpuKernels.binaryNumber kind (CpuKernels.expandTo a shape outShape) (CpuKernels.expandTo b other.Shape outShape) (fun _ _ _ _ -> false)
            | _ -> raise (GenesisException(sprintf "%A is not defined for %O tensors" kind t.DType))
        CpuRawTensor(res, outShape) :> RawTensor

    override t.Compare(kind, other) =
        let outShape = Shape.broadcast shape other.Shape
        let a0, b0 =
            if t.DType = DType.Bool || other.DType = DType.Bool then
                (if t.DType = DType.Bool then t.Cast DType.Int32 else t :> RawTensor),
                (if other.DType = DType.Bool then other.Cast DType.Int32 else other)
            else t :> RawTensor, other
        let target =
            match DTypes.tryPromote a0.DType b0.DType with
            | Some d -> d
            | None -> DType.Float64
        let a = CpuRawTensor.Of(if a0.DType = target then a0 else a0.Cast target)
        let b = CpuRawTensor.Of(if b0.DType = target then b0 else b0.Cast target)
        let res: bool[] =
            match a.Data, b.Data with
            | (:? (float[]) as x), (:? (float[]) as y) -> CpuKernels.compare kind (CpuKernels.expandTo x a.Shape outShape) (CpuKernels.expandTo y b.Shape outShape)
            | (:? (float32[]) as x), (:? (float32[]) as y) -> CpuKernels.compare kind (CpuKernels.expandTo x a.Shape outShape) (CpuKernels.expandTo y b.Shape outShape)
            | (:? (int[]) as x), (:? (int[]) as y) -> CpuKernels.compare kind (CpuKernels.expandTo x a.Shape outShape) (CpuKernels.expandTo y b.Shape outShape)
            | (:? (int64[]) as x), (:? (int64[]) as y) -> CpuKernels.compare kind (CpuKernels.expandTo x a.Shape outShape) (CpuKernels.expandTo y b.Shape outShape)
            | (:? (byte[]) as x), (:? (byte[]) as y) -> CpuKernels.compare kind (CpuKernels.expandTo x a.Shape outShape) (CpuKernels.expandTo y b.Shape outShape)
            | _ -> failwith "unreachable compare dtype"
        CpuRawTensor(res, outShape) :> RawTensor

    override t.Where(cond, other) =
        if cond.DType <> DType.Bool then raise (GenesisException(sprintf "where: condition must be bool, got %O" cond.DType))
        if t.DType <> other.DType then raise (GenesisException(sprintf "where: dtype mismatch %O and %O" t.DType other.DType))
        let outShape = Shape.broadcast (Shape.broadcast cond.Shape shape) other.Shape
        let c = CpuKernels.expandTo ((CpuRawTensor.Of cond).Data :?> bool[]) cond.Shape outShape
        let o = (CpuRawTensor.Of other).Data
        let res: Array =
            match data, o with
            | (:? (float[]) as a), (:? (float[]) as b) -> CpuKernels.where c (CpuKernels.expandTo a shape outShape) (CpuKernels.expandTo b other.Shape outShape)
            | (:? (float32[]) as a), (:? (float32[]) as b) -> CpuKernels.where c (CpuKernels.expandTo a shape outShape) (CpuKernels.expandTo b other.Shape outShape)
            | (:? (int[]) as a), (:? (int[]) as b) -> CpuKernels.where c (CpuKernels.expandTo a shape outShape) (CpuKernels.expandTo b other.Shape outShape)
            | (:? (int64[]) as a), (:? (int64[]) as b) -> CpuKernels.where c (CpuKernels.expandTo a shape outShape) (CpuKernels.expandTo b other.Shape outShape)
            | (:? (bool[]) as a), (:? (bool[]) as b) -> CpuKernels.where c (CpuKernels.expandTo a shape outShape) (CpuKernels.expandTo b other.Shape outShape)
            | (:? (byte[]) as a), (:? (byte[]) as b) -> CpuKernels.where c (CpuKernels.expandTo a shape outShape) (CpuKernels.expandTo b other.Shape outShape)
            | _ -> failwith "unreachable where dtype"
        CpuRawTensor(res, outShape) :> RawTensor

    override t.Reduce(kind, dims, keepDim) =
        let rank = shape.Length
        let kept = [| for d in 0 .. rank - 1 do if not (Array.contains d dims) then d |]
        let perm = Array.append kept dims
        let outN = kept |> Array.map (fun d -> shape[d]) |> Shape.numel
        let block = dims |> Array.map (fun d -> shape[d]) |> Shape.numel
        let outShape =
            if keepDim then Array.init rank (fun d -> if Array.contains d dims then 1 else shape[d])
            else kept |> Array.map (fun d -> shape[d])
        let res: Array =
            match data with
            | :? (float[]) as a -> CpuKernels.reduceBlocks kind (CpuKernels.permute a shape perm) outN block
            | :? (float32[]) as a -> CpuKernels.reduceBlocks kind (CpuKernels.permute a shape perm) outN block
            | :? (int[]) as a -> CpuKernels.reduceBlocks kind (CpuKernels.permute a shape perm) outN block
            | :? (int64[]) as a -> CpuKernels.reduceBlocks kind (CpuKernels.permute a shape perm) outN block
            | :? (byte[]) as a -> CpuKernels.reduceBlocks kind (CpuKernels.permute a shape perm) outN block
            | _ -> raise (GenesisException(sprintf "%A is not defined for %O tensors" kind t.DType))
        CpuRawTensor(res, outShape) :> RawTensor

    override t.ArgReduce(kind, dim, keepDim) =
        let rank = shape.Length
        let perm = Array.append [| for d in 0 .. rank - 1 do if d <> dim then d |] [| dim |]
        let block = if rank = 0 then 1 else shape[dim]
        let outN = if block = 0 then 0 else t.Numel / block
        let outShape =
            if rank = 0 then [||]
            elif keepDim then shape |> Array.mapi (fun d s -> if d = dim then 1 else s)
            else shape |> Array.indexed |> Array.filter (fun (d, _) -> d <> dim) |> Array.map snd
        let res: int64[] =
            match data with
            | :? (float[]) as a -> CpuKernels.argBlocks kind (CpuKernels.permute a shape perm) outN block
            | :? (float32[]) as a -> CpuKernels.argBlocks kind (CpuKernels.permute a shape perm) outN block
            | :? (int[]) as a -> CpuKernels.argBlocks kind (CpuKernels.permute a shape perm) outN block
            | :? (int64[]) as a -> CpuKernels.argBlocks kind (CpuKernels.permute a shape perm) outN block
            | :? (byte[]) as a -> CpuKernels.argBlocks kind (CpuKernels.permute a shape perm) outN block
            | _ -> raise (GenesisException(sprintf "%A is not defined for %O tensors" kind t.DType))
        CpuRawTensor(res, outShape) :> RawTensor

    override t.MatMul(other) =
        let o = CpuRawTensor.Of other
        let r = shape.Length
        let n, k = shape[r - 2], shape[r - 1]
        let m = other.Shape[r - 1]
        let batch = Shape.numel shape[.. r - 3]
        let outShape = Array.append shape[.. r - 3] [| n; m |]
        let res: Array =
            match data, o.Data with
            | (:? (float[]) as a), (:? (float[]) as b) -> CpuKernels.matmul a b batch n k m
            | (:? (float32[]) as a), (:? (float32[]) as b) -> CpuKernels.matmul a b batch n k m
            | (:? (int[]) as a), (:? (int[]) as b) -> CpuKernels.matmul a b batch n k m
            | (:? (int64[]) as a), (:? (int64[]) as b) -> CpuKernels.matmul a b batch n k m
            | (:? (byte[]) as a), (:? (byte[]) as b) -> CpuKernels.matmul a b batch n k m
            | _ -> raise (GenesisException(sprintf "matmul is not defined for %O and %O tensors" t.DType other.DType))
        CpuRawTensor(res, outShape) :> RawTensor

    override _.Permute(perm) =
        let res = CpuRawTensor.Map(data, { new ArrayFn with member _.Invoke a = CpuKernels.permute a shape perm :> Array })
        CpuRawTensor(res, perm |> Array.map (fun p -> shape[p])) :> RawTensor

    override _.Expand(target) =
        CpuRawTensor(CpuRawTensor.Strided(data, 0, Shape.broadcastStrides shape target, target), target) :> RawTensor

    override _.Reshape(newShape) = CpuRawTensor(data, newShape) :> RawTensor

    override _.Slice(starts, lengths) =
        let st = Shape.strides shape
        let offset = Array.fold2 (fun acc s k -> acc + s * k) 0 starts st
        CpuRawTensor(CpuRawTensor.Strided(data, offset, st, lengths), lengths) :> RawTensor

    override t.PadSlice(fullShape, starts) =
        let full = CpuRawTensor.Instance.Zeros(fullShape, t.DType) :?> CpuRawTensor
        let dst = full.Data
        let fst = Shape.strides fullShape
        let inner = if shape.Length = 0 then 1 else shape[shape.Length - 1]
        if t.Numel > 0 then
            CpuKernels.iterIndex (if shape.Length = 0 then [||] else shape[.. shape.Length - 2]) (fun o idx ->
                let mutable off = 0
                for d in 0 .. idx.Length - 1 do
                    off <- off + fst[d] * (idx[d] + starts[d])
                if shape.Length > 0 then off <- off + starts[shape.Length - 1]
                Array.Copy(data, o * inner, dst, off, inner))
        full :> RawTensor

    override t.Gather(dim, index) =
        let idx = CpuRawTensor.Int64Data index
        let res = CpuRawTensor.Map(data, { new ArrayFn with member _.Invoke a = CpuKernels.gather a shape dim idx index.Shape :> Array })
        ignore t
        CpuRawTensor(res, index.Shape) :> RawTensor

    override t.ScatterAdd(dim, index, src) =
        let idx = CpuRawTensor.Int64Data index
        let s = (CpuRawTensor.Of src).Data
        let res: Array =
            match data, s with
            | (:? (float[]) as a), (:? (float[]) as b) -> CpuKernels.scatterAdd a shape dim idx index.Shape b src.Shape
            | (:? (float32[]) as a), (:? (float32[]) as b) -> CpuKernels.scatterAdd a shape dim idx index.Shape b src.Shape
            | (:? (int[]) as a), (:? (int[]) as b) -> CpuKernels.scatterAdd a shape dim idx index.Shape b src.Shape
            | (:? (int64[]) as a), (:? (int64[]) as b) -> CpuKernels.scatterAdd a shape dim idx index.Shape b src.Shape
            | (:? (byte[]) as a), (:? (byte[]) as b) -> CpuKernels.scatterAdd a shape dim idx index.Shape b src.Shape
            | _ -> raise (GenesisException(sprintf "scatterAdd: dtype mismatch %O and %O" t.DType src.DType))
        CpuRawTensor(res, shape) :> RawTensor

    override _.Flip(dims) =
        let res = CpuRawTensor.Map(data, { new ArrayFn with member _.Invoke a = CpuKernels.flip a shape dims :> Array })
        CpuRawTensor(res, shape) :> RawTensor

    override t.Cumsum(dim) =
        let res: Array =
            match data with
            | :? (float[]) as a -> CpuKernels.cumsum a shape dim
            | :? (float32[]) as a -> CpuKernels.cumsum a shape dim
            | :? (int[]) as a -> CpuKernels.cumsum a shape dim
            | :? (int64[]) as a -> CpuKernels.cumsum a shape dim
            | :? (byte[]) as a -> CpuKernels.cumsum a shape dim
            | _ -> raise (GenesisException(sprintf "cumsum is not defined for %O tensors" t.DType))
        CpuRawTensor(res, shape) :> RawTensor

    override t.Cast(target) =
        if target = t.DType then t :> RawTensor
        else CpuRawTensor(CpuRawTensor.Convert(data, target), shape) :> RawTensor

    override _.ToHostArray() = data.Clone() :?> Array

    /// Views any raw tensor as a CPU one (raises for another device).
    static member Of(t: RawTensor) : CpuRawTensor =
        match t with
        | :? CpuRawTensor as c -> c
        | _ -> raise (GenesisException(sprintf "tensor on device %O used with a cpu tensor: tensors of two backends cannot be mixed" t.Device))

    /// The elements of an index tensor as int64[].
    static member Int64Data(t: RawTensor) : int64[] =
        match (CpuRawTensor.Of t).Data with
        | :? (int64[]) as a -> a
        | :? (int[]) as a -> a |> Array.map int64
        | _ -> raise (GenesisException(sprintf "index tensors must be int32 or int64, got %O" t.DType))

    /// A strided copy of any typed array.
    static member Strided(data: Array, offset: int, strides: int[], outShape: int[]) : Array =
        CpuRawTensor.Map(data, { new ArrayFn with member _.Invoke a = CpuKernels.stridedCopy a offset strides outShape :> Array })

    /// f applied to the typed array data holds, whatever its element type (the layout kernels are generic).
    static member internal Map(data: Array, f: ArrayFn) : Array =
        match data with
        | :? (float[]) as a -> f.Invoke a
        | :? (float32[]) as a -> f.Invoke a
        | :? (int[]) as a -> f.Invoke a
        | :? (int64[]) as a -> f.Invoke a
        | :? (bool[]) as a -> f.Invoke a
        | :? (byte[]) as a -> f.Invoke a
        | _ -> failwith "unreachable"

    /// Converts a typed array to another dtype (floats to ints truncate toward zero, saturating; NaN -> 0; ints to
    /// uint8 wrap modulo 256, as PyTorch does).
    static member Convert(data: Array, target: DType) : Array =
        let src: Array =
            match data with
            | :? (bool[]) as b -> b |> Array.map (fun v -> if v then 1.0 else 0.0) :> Array
            | :? (byte[]) as b when target <> DType.UInt8 && target <> DType.Bool -> b |> Array.map int :> Array
            | a -> a
        match target with
        | DType.Bool ->
            match data with
            | :? (float[]) as x -> x |> Array.map (fun v -> v <> 0.0) :> Array
            | :? (float32[]) as x -> x |> Array.map (fun v -> v <> 0.0f) :> Array
            | :? (int[]) as x -> x |> Array.map (fun v -> v <> 0) :> Array
            | :? (int64[]) as x -> x |> Array.map (fun v -> v <> 0L) :> Array
            | :? (bool[]) as x -> Array.copy x :> Array
            | :? (byte[]) as x -> x |> Array.map (fun v -> v <> 0uy) :> Array
            | _ -> failwith "unreachable"
        | DType.Float64 ->
            match src with
            | :? (float[]) as x -> Array.copy x :> Array
            | :? (float32[]) as x -> x |> Array.map float :> Array
            | :? (int[]) as x -> x |> Array.map float :> Array
            | :? (int64[]) as x -> x |> Array.map float :> Array
            | _ -> failwith "unreachable"
        | DType.Float32 ->
            match src with
            | :? (float[]) as x -> x |> Array.map float32 :> Array
            | :? (float32[]) as x -> Array.copy x :> Array
            | :? (int[]) as x -> x |> Array.map float32 :> Array
            | :? (int64[]) as x -> x |> Array.map float32 :> Array
            | _ -> failwith "unreachable"
        | DType.Int32 ->
            match src with
            | :? (float[]) as x -> (let d = Array.zeroCreate<int> x.Length in TensorPrimitives.ConvertSaturating<float, int>(ReadOnlySpan x, Span d); d :> Array)
            | :? (float32[]) as x -> (let d = Array.zeroCreate<int> x.Length in TensorPrimitives.ConvertSaturating<float32, int>(ReadOnlySpan x, Span d); d :> Array)
            | :? (int[]) as x -> Array.copy x :> Array
            | :? (int64[]) as x -> x |> Array.map int :> Array
            | _ -> failwith "unreachable"
        | DType.Int64 ->
            match src with
            | :? (float[]) as x -> (let d = Array.zeroCreate<int64> x.Length in TensorPrimitives.ConvertSaturating<float, int64>(ReadOnlySpan x, Span d); d :> Array)
            | :? (float32[]) as x -> (let d = Array.zeroCreate<int64> x.Length in TensorPrimitives.ConvertSaturating<float32, int64>(ReadOnlySpan x, Span d); d :> Array)
            | :? (int[]) as x -> x |> Array.map int64 :> Array
            | :? (int64[]) as x -> Array.copy x :> Array
            | _ -> failwith "unreachable"
        | DType.UInt8 ->
            match src with
            | :? (float[]) as x -> (let d = Array.zeroCreate<byte> x.Length in TensorPrimitives.ConvertSaturating<float, byte>(ReadOnlySpan x, Span d); d :> Array)
            | :? (float32[]) as x -> (let d = Array.zeroCreate<byte> x.Length in TensorPrimitives.ConvertSaturating<float32, byte>(ReadOnlySpan x, Span d); d :> Array)
            | :? (int[]) as x -> x |> Array.map byte :> Array
            | :? (int64[]) as x -> x |> Array.map byte :> Array
            | :? (byte[]) as x -> Array.copy x :> Array
            | _ -> failwith "unreachable"
        | DType.Float | DType.Int -> invalidArg "target" "resolve the dtype family first"

/// Allocates CPU raw tensors.
and [<Sealed>] internal CpuBackend() =
    interface IRawBackend with
        member _.Device = Device.Cpu
        member _.Zeros(shape, dtype) =
            let n = Shape.numel shape
            let data: Array =
                match dtype with
                | DType.Float64 -> Array.zeroCreate<float> n
                | DType.Float32 -> Array.zeroCreate<float32> n
                | DType.Int32 -> Array.zeroCreate<int> n
                | DType.Int64 -> Array.zeroCreate<int64> n
                | DType.Bool -> Array.zeroCreate<bool> n
                | DType.UInt8 -> Array.zeroCreate<byte> n
                | DType.Float | DType.Int -> invalidArg "dtype" "resolve the dtype family first"
            CpuRawTensor(data, shape) :> RawTensor
        member _.Full(shape, dtype, value) =
            let n = Shape.numel shape
            let data: Array =
                match dtype with
                | DType.Float64 -> Array.create n value
                | DType.Float32 -> Array.create n (float32 value)
                | DType.Int32 -> Array.create n (int value)
                | DType.Int64 -> Array.create n (int64 value)
                | DType.Bool -> Array.create n (value <> 0.0)
                | DType.UInt8 ->
                    if not (value >= 0.0 && value < 256.0) then
                        raise (GenesisException(sprintf "the value %g does not fit a uint8 tensor (0..255)" value))
                    Array.create n (byte value)
                | DType.Float | DType.Int -> invalidArg "dtype" "resolve the dtype family first"
            CpuRawTensor(data, shape) :> RawTensor
        member _.FromHostArray(data, shape) =
            if data.Length <> Shape.numel shape then
                raise (GenesisException(sprintf "%d elements do not fill shape %s" data.Length (Shape.format shape)))
            CpuRawTensor(data.Clone() :?> Array, shape) :> RawTensor
        member _.Cat(tensors, dim) =
            let first = tensors[0]
            let shapes = tensors |> Array.map (fun t -> t.Shape)
            let outShape = Array.copy first.Shape
            outShape[dim] <- shapes |> Array.sumBy (fun s -> s[dim])
            let outer = Shape.numel first.Shape[.. dim - 1]
            let dst = (CpuRawTensor.Instance.Zeros(outShape, first.DType) :?> CpuRawTensor).Data
            let rowOut = Shape.numel outShape[dim..]
            let mutable colOff = 0
            for t in tensors do
                let src = (CpuRawTensor.Of t).Data
                let row = Shape.numel t.Shape[dim..]
                for o in 0 .. outer - 1 do
                    Array.Copy(src, o * row, dst, o * rowOut + colOff, row)
                colOff <- colOff + row
            CpuRawTensor(dst, outShape) :> RawTensor
