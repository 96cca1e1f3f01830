namespace Genesis

open System

/// Shape, reduction, linear-algebra and indexing members of Tensor (PyTorch names).
/// Typed host copies of a tensor's elements.
module internal TypedArrays =
    /// The dtype whose elements are 'T.
    let dtypeOf<'T> (what: string) =
        let t = typeof<'T>
        if t = typeof<float> then DType.Float64
        elif t = typeof<float32> then DType.Float32
        elif t = typeof<int> then DType.Int32
        elif t = typeof<int64> then DType.Int64
        elif t = typeof<bool> then DType.Bool
        elif t = typeof<byte> then DType.UInt8
        else raise (GenesisException(sprintf "%s<%s>: the element type must be float, float32, int, int64, bool or byte" what t.Name))

    /// The elements, cast to 'T's dtype, row-major.
    let flat<'T> (what: string) (t: Tensor) : 'T[] = t.cast(dtypeOf<'T> what).toFlatArray() :?> 'T[]

[<AutoOpen>]
module TensorMembers =
    let private dimOpt (dim: int option) = match dim with Some d -> [| d |] | None -> [||]

    type Tensor with
        /// The same elements with another shape (one size may be -1).
        member t.reshape(shape: seq<int>) = ShapeOps.reshape (Seq.toArray shape) t
        /// Alias of reshape (storage is always contiguous).
        member t.view(shape: seq<int>) = ShapeOps.reshape (Seq.toArray shape) t
        /// A 1-D view of all elements.
        member t.flatten() = ShapeOps.reshape [| t.numel |] t
        /// Reorders dimensions.
        member t.permute(dims: seq<int>) = ShapeOps.permute (Seq.toArray dims) t
        /// Swaps two dimensions.
        member t.transpose(dim0: int, dim1: int) = ShapeOps.transpose dim0 dim1 t
        /// The transpose of a 2-D tensor (reverses the dims in general).
        member t.T = ShapeOps.permute (Array.init t.dim (fun i -> t.dim - 1 - i)) t
        /// Removes size-1 dimensions (all, or only dim).
        member t.squeeze(?dim: int) = ShapeOps.squeeze dim t
        /// Inserts a size-1 dimension.
        member t.unsqueeze(dim: int) = ShapeOps.unsqueeze dim t
        /// Broadcasts to a shape (-1 keeps a size).
        member t.expand(shape: seq<int>) = ShapeOps.expand (Seq.toArray shape) t
        /// Broadcasts to the shape of another tensor.
        member t.expandAs(other: Tensor) = ShapeOps.expand other.shape t
        /// Splits into pieces of the given sizes along dim.
        member t.split(sizes: seq<int>, ?dim: int) = ShapeOps.split (Seq.toArray sizes) (defaultArg dim 0) t
        /// Reverses the order along dims.
        member t.flip(dims: seq<int>) = ShapeOps.flip (Seq.toArray dims) t
        /// out[..i..] = t[..index[..i..]..] along dim.
        member t.gather(dim: int, index: Tensor) = ShapeOps.gather dim index t
        /// A copy with src added at index along dim.
        member t.scatterAdd(dim: int, index: Tensor, src: Tensor) = ShapeOps.scatterAdd dim index src t
        /// Elements [start, start + length) along dim.
        member t.narrow(dim: int, start: int, length: int) =
            let d = ShapeOps.existingDim "narrow" t dim
            let starts = Array.zeroCreate t.dim
            starts[d] <- start
            let lengths = Array.copy t.shape
            lengths[d] <- length
            ShapeOps.slice starts lengths t

        /// Sum of all elements, or along dim.
        member t.sum(?dim: int, ?keepDim: bool) = Reductions.sumDims (dimOpt dim) (defaultArg keepDim false) t
        /// Sum over several dims.
        member t.sum(dims: int[], ?keepDim: bool) = Reductions.sumDims dims (defaultArg keepDim false) t
        /// Mean of all elements, or along dim.
        member t.mean(?dim: int, ?keepDim: bool) = Reductions.meanDims (dimOpt dim) (defaultArg keepDim false) t
        /// Mean over several dims.
        member t.mean(dims: int[], ?keepDim: bool) = Reductions.meanDims dims (defaultArg keepDim false) t
        /// Max of all elements, or along dim (values; see argmax for indices).
        member t.max(?dim: int, ?keepDim: bool) = Reductions.extremeDims ReduceKind.Max (dimOpt dim) (defaultArg keepDim false) t
        /// Min of all elements, or along dim (values; see argmin for indices).
        member t.min(?dim: int, ?keepDim: bool) = Reductions.extremeDims ReduceKind.Min (dimOpt dim) (defaultArg keepDim false) t
        /// Int64 index of the max (of the flattened tensor, or along dim).
        member t.argmax(?dim: int, ?keepDim: bool) = Reductions.argExtreme ArgReduceKind.ArgMax dim (defaultArg keepDim false) t
        /// Int64 index of the min (of the flattened tensor, or along dim).
        member t.argmin(?dim: int, ?keepDim: bool) = Reductions.argExtreme ArgReduceKind.ArgMin dim (defaultArg keepDim false) t
        /// Inclusive cumulative sum along dim.
        member t.cumsum(dim: int) = Reductions.cumsum dim t
        /// The p-norm (default 2) of all elements, or along dim.
        member t.norm(?p: float, ?dim: int, ?keepDim: bool) = Reductions.norm (defaultArg p 2.0) (dimOpt dim) (defaultArg keepDim false) t

        /// Matrix product (PyTorch matmul semantics).
        member a.matmul(b: Tensor) = Linalg.matmul a b
        /// Inner product of two 1-D tensors.
        member a.dot(b: Tensor) = Linalg.dot a b
        /// Outer product of two 1-D tensors.
        member a.outer(b: Tensor) = Linalg.outer a b
        /// Cross product of 3-vectors along dim (default last).
        member a.cross(b: Tensor, ?dim: int) = Linalg.cross (defaultArg dim -1) a b

        /// Casts to float32.
        member t.float32() = t.cast DType.Float32
        /// Casts to float64.
        member t.float64() = t.cast DType.Float64
        /// Casts to int32.
        member t.int32() = t.cast DType.Int32
        /// Casts to int64.
        member t.int64() = t.cast DType.Int64
        /// Casts to bool.
        member t.bool() = t.cast DType.Bool
        /// Casts to uint8 (floats truncate and saturate to 0..255, ints wrap modulo 256, as PyTorch).
        member t.uint8() = t.cast DType.UInt8

        /// The sub-tensor at index i of dimension 0 (negative counts from the end).
        member t.Item
            with get (i: int) = ShapeOps.select 0 i t
        /// The sub-tensor at (i, j).
        member t.Item
            with get (i: int, j: int) = t |> ShapeOps.select 0 i |> ShapeOps.select 0 j
        /// The sub-tensor at (i, j, k).
        member t.Item
            with get (i: int, j: int, k: int) = t |> ShapeOps.select 0 i |> ShapeOps.select 0 j |> ShapeOps.select 0 k
        /// F# slicing t.[a..b] along dimension 0 (both ends inclusive).
        member t.GetSlice(a: int option, b: int option) = ShapeOps.narrowInclusive 0 a b t
        /// F# slicing t.[a..b, c..d].
        member t.GetSlice(a: int option, b: int option, c: int option, d: int option) =
            t |> ShapeOps.narrowInclusive 0 a b |> ShapeOps.narrowInclusive 1 c d
        /// F# slicing t.[i, c..d].
        member t.GetSlice(i: int, c: int option, d: int option) = t |> ShapeOps.narrowInclusive 1 c d |> ShapeOps.select 0 i
        /// F# slicing t.[a..b, j].
        member t.GetSlice(a: int option, b: int option, j: int) = t |> ShapeOps.narrowInclusive 0 a b |> ShapeOps.select 1 j
        /// F# slicing t.[a..b, c..d, e..f].
        member t.GetSlice(a: int option, b: int option, c: int option, d: int option, e: int option, f: int option) =
            t |> ShapeOps.narrowInclusive 0 a b |> ShapeOps.narrowInclusive 1 c d |> ShapeOps.narrowInclusive 2 e f
        /// F# slicing t.[i, c..d, e..f].
        member t.GetSlice(i: int, c: int option, d: int option, e: int option, f: int option) =
            t |> ShapeOps.narrowInclusive 1 c d |> ShapeOps.narrowInclusive 2 e f |> ShapeOps.select 0 i
        /// F# slicing t.[a..b, j, e..f].
        member t.GetSlice(a: int option, b: int option, j: int, e: int option, f: int option) =
            t |> ShapeOps.narrowInclusive 0 a b |> ShapeOps.narrowInclusive 2 e f |> ShapeOps.select 1 j
        /// F# slicing t.[a..b, c..d, k].
        member t.GetSlice(a: int option, b: int option, c: int option, d: int option, k: int) =
            t |> ShapeOps.narrowInclusive 0 a b |> ShapeOps.narrowInclusive 1 c d |> ShapeOps.select 2 k
        /// F# slicing t.[i, j, e..f].
        member t.GetSlice(i: int, j: int, e: int option, f: int option) =
            t |> ShapeOps.narrowInclusive 2 e f |> ShapeOps.select 0 i |> ShapeOps.select 0 j
        /// F# slicing t.[i, c..d, k].
        member t.GetSlice(i: int, c: int option, d: int option, k: int) =
            t |> ShapeOps.narrowInclusive 1 c d |> ShapeOps.select 2 k |> ShapeOps.select 0 i
        /// F# slicing t.[a..b, j, k].
        member t.GetSlice(a: int option, b: int option, j: int, k: int) =
            t |> ShapeOps.narrowInclusive 0 a b |> ShapeOps.select 2 k |> ShapeOps.select 1 j
        /// F# from-the-end indexing t.[^k].
        member t.GetReverseIndex(dim: int, offset: int) = t.shape[dim] - 1 - offset

        /// The elements as a 'T[] (float, float32, int, int64, bool or byte; cast from the tensor's dtype) of a 1-D tensor.
        member t.toArray1D<'T>() : 'T[] =
            if t.dim <> 1 then raise (GenesisException(sprintf "toArray1D: the tensor has shape %s (%d dimensions), not 1" (Shape.format t.shape) t.dim))
            TypedArrays.flat<'T> "toArray1D" t
        /// The elements as a 'T[,] (float, float32, int, int64, bool or byte; cast from the tensor's dtype) of a 2-D tensor.
        member t.toArray2D<'T>() : 'T[,] =
            if t.dim <> 2 then raise (GenesisException(sprintf "toArray2D: the tensor has shape %s (%d dimensions), not 2" (Shape.format t.shape) t.dim))
            let flat = TypedArrays.flat<'T> "toArray2D" t
            let n1 = t.shape[1]
            Array2D.init t.shape[0] n1 (fun i j -> flat[i * n1 + j])
        /// The elements as a 'T[,,] (float, float32, int, int64, bool or byte; cast from the tensor's dtype) of a 3-D tensor.
        member t.toArray3D<'T>() : 'T[,,] =
            if t.dim <> 3 then raise (GenesisException(sprintf "toArray3D: the tensor has shape %s (%d dimensions), not 3" (Shape.format t.shape) t.dim))
            let flat = TypedArrays.flat<'T> "toArray3D" t
            let n1, n2 = t.shape[1], t.shape[2]
            Array3D.init t.shape[0] n1 n2 (fun i j k -> flat[(i * n1 + j) * n2 + k])

        /// The elements as a System.Array of the tensor's rank (float32[,], float[], int64[,,]...; a scalar gives a 1-element 1-D array).
        member t.toArray() : Array =
            let flat = t.toFlatArray()
            if t.dim <= 1 then flat
            else
                let res = Array.CreateInstance(flat.GetType().GetElementType(), t.shape)
                let strides = Shape.strides t.shape
                let idx = Array.zeroCreate t.dim
                for o in 0 .. flat.Length - 1 do
                    let mutable r = o
                    for d in 0 .. t.dim - 1 do
                        idx[d] <- r / strides[d]
                        r <- r % strides[d]
                    res.SetValue(flat.GetValue o, idx)
                res
