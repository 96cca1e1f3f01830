namespace Genesis

open System

/// Elementwise unary operations a backend implements.
[<RequireQualifiedAccess>]
type UnaryKind =
    | Neg | Exp | Log | Sqrt | Abs | Sign | Sin | Cos | Tan | Tanh | Sigmoid | Relu | Softplus
    | Floor | Ceil | Round | Asin | Acos | Atan | Sinh | Cosh | Log1p | Expm1

/// Elementwise binary operations (broadcasting) a backend implements.
[<RequireQualifiedAccess>]
type BinaryKind =
    | Add | Sub | Mul | Div | Pow | Max | Min | Atan2

/// Elementwise comparisons (broadcasting) giving Bool.
[<RequireQualifiedAccess>]
type CompareKind =
    | Eq | Ne | Lt | Le | Gt | Ge

/// Reductions over a set of dimensions.
[<RequireQualifiedAccess>]
type ReduceKind =
    | Sum | Prod | Max | Min

/// Index-returning reductions along one dimension.
[<RequireQualifiedAccess>]
type ArgReduceKind =
    | ArgMax | ArgMin

/// A backend's tensor: contiguous row-major storage with a shape, a dtype and a device. Immutable:
/// every operation returns a new raw tensor. The autodiff layer (Tensor) is built on these primitives.
[<AbstractClass>]
type RawTensor(shape: int[], dtype: DType, device: Device) =
    /// The shape (row-major); [||] for a scalar.
    member _.Shape = shape
    /// The exact element type.
    member _.DType = dtype
    /// Where the storage lives.
    member _.Device = device
    /// The number of dimensions.
    member _.Rank = shape.Length
    /// The number of elements.
    member _.Numel = Shape.numel shape
    /// The backend that creates raw tensors on this device.
    abstract Backend: IRawBackend
    /// True when storage is dense row-major with no offset (every raw tensor here is).
    abstract IsContiguous: bool
    /// Applies an elementwise unary op (float dtypes; the caller casts ints).
    abstract Unary: UnaryKind -> RawTensor
    /// Applies an elementwise binary op with broadcasting; both operands share one dtype.
    abstract Binary: BinaryKind * RawTensor -> RawTensor
    /// Compares elementwise with broadcasting, giving Bool.
    abstract Compare: CompareKind * RawTensor -> RawTensor
    /// cond ? this : other, broadcasting all three (cond is Bool).
    abstract Where: cond: RawTensor * other: RawTensor -> RawTensor
    /// Reduces over dims (sorted, distinct, normalised), keeping them as size 1 when keepDim.
    abstract Reduce: ReduceKind * dims: int[] * keepDim: bool -> RawTensor
    /// The Int64 index of the max/min along dim (first occurrence; NaN counts as max).
    abstract ArgReduce: ArgReduceKind * dim: int * keepDim: bool -> RawTensor
    /// Batched matrix product [..., n, k] x [..., k, m] with equal batch dims.
    abstract MatMul: RawTensor -> RawTensor
    /// Reorders dimensions (a copy).
    abstract Permute: int[] -> RawTensor
    /// Broadcasts to a larger shape (a copy).
    abstract Expand: int[] -> RawTensor
    /// The same data with another shape of equal numel.
    abstract Reshape: int[] -> RawTensor
    /// The box [starts, starts + lengths) (a copy).
    abstract Slice: starts: int[] * lengths: int[] -> RawTensor
    /// Places this tensor at `starts` inside zeros of `fullShape` (the adjoint of Slice).
    abstract PadSlice: fullShape: int[] * starts: int[] -> RawTensor
    /// out[..i..] = this[..index[..i..]..] along dim (PyTorch gather).
    abstract Gather: dim: int * index: RawTensor -> RawTensor
    /// A copy of this with src added at index along dim (PyTorch scatter_add).
    abstract ScatterAdd: dim: int * index: RawTensor * src: RawTensor -> RawTensor
    /// Reverses the order along dims.
    abstract Flip: dims: int[] -> RawTensor
    /// Inclusive cumulative sum along dim.
    abstract Cumsum: dim: int -> RawTensor
    /// Converts the elements to another exact dtype.
    abstract Cast: DType -> RawTensor
    /// Copies the elements to a flat host array of the dtype's .NET type (float32[], float[], int[], int64[], bool[], byte[]).
    abstract ToHostArray: unit -> Array

    /// Prints shape, dtype and device.
    override t.ToString() = sprintf "RawTensor(%s, %O, %O)" (Shape.format shape) dtype device

/// Creates raw tensors on one device.
and IRawBackend =
    /// The device this backend allocates on.
    abstract Device: Device
    /// Zeros of a shape and exact dtype.
    abstract Zeros: shape: int[] * dtype: DType -> RawTensor
    /// A constant-filled tensor.
    abstract Full: shape: int[] * dtype: DType * value: float -> RawTensor
    /// Uploads a flat host array (float32[], float[], int[], int64[], bool[] or byte[]) with a shape.
    abstract FromHostArray: data: Array * shape: int[] -> RawTensor
    /// Concatenates tensors along dim (all on this device, same dtype).
    abstract Cat: tensors: RawTensor[] * dim: int -> RawTensor

/// A raw tensor whose backend solves batched dense systems on its own device (the GPU); others solve on the host.
type IDeviceSolve =
    /// Solves A X = B for this A [..., n, n] and B [..., n, m] (same float dtype and batch dims) on the device.
    abstract Solve: b: RawTensor -> RawTensor

/// Helpers over raw tensors shared by every backend.
module RawTensor =
    /// The exact dtype of a flat host array.
    let dtypeOfArray (data: Array) =
        match data with
        | :? (float32[]) -> DType.Float32
        | :? (float[]) -> DType.Float64
        | :? (int[]) -> DType.Int32
        | :? (int64[]) -> DType.Int64
        | :? (bool[]) -> DType.Bool
        | :? (byte[]) -> DType.UInt8
        | _ -> raise (GenesisException(sprintf "unsupported element type %s (use float32, float, int, int64, bool or byte)" (data.GetType().Name)))

    /// The elements as float[] (converting), for tests and printing.
    let toFloatArray (t: RawTensor) : float[] =
        match t.ToHostArray() with
        | :? (float[]) as a -> a
        | :? (float32[]) as a -> a |> Array.map float
        | :? (int[]) as a -> a |> Array.map float
        | :? (int64[]) as a -> a |> Array.map float
        | :? (bool[]) as a -> a |> Array.map (fun b -> if b then 1.0 else 0.0)
        | :? (byte[]) as a -> a |> Array.map float
        | a -> failwithf "unexpected host array %s" (a.GetType().Name)
