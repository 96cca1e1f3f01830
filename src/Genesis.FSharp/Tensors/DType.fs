namespace Genesis

/// Element types. `Float` and `Int` are families resolved by the precision given to gs.init.
[<RequireQualifiedAccess>]
type DType =
    | Float32
    | Float64
    | Int32
    | Int64
    | Bool
    /// Unsigned 8-bit integers 0..255 (image bytes; CPU backend only).
    | UInt8
    /// The float type of the current precision ("32" -> Float32, "64" -> Float64).
    | Float
    /// The int type of the current precision ("32" -> Int32, "64" -> Int64).
    | Int

    /// True for Float32, Float64 and the Float family.
    member d.IsFloating =
        match d with
        | Float32 | Float64 | Float -> true
        | _ -> false

    /// True for UInt8, Int32, Int64 and the Int family.
    member d.IsIntegral =
        match d with
        | UInt8 | Int32 | Int64 | Int -> true
        | _ -> false

    /// True for the families Float and Int, which gs resolves to an exact type.
    member d.IsFamily =
        match d with
        | Float | Int -> true
        | _ -> false

    /// The element size in bytes (exact types only).
    member d.SizeInBytes =
        match d with
        | Float32 | Int32 -> 4
        | Float64 | Int64 -> 8
        | Bool | UInt8 -> 1
        | Float | Int -> invalidArg "dtype" "a dtype family has no size; resolve it first"

    /// The lower-case name, as PyTorch prints it.
    member d.Name =
        match d with
        | Float32 -> "float32"
        | Float64 -> "float64"
        | Int32 -> "int32"
        | Int64 -> "int64"
        | Bool -> "bool"
        | UInt8 -> "uint8"
        | Float -> "float"
        | Int -> "int"

    /// Prints the PyTorch-style name.
    override d.ToString() = d.Name

/// Rules for combining dtypes.
module DTypes =
    let private rank (d: DType) =
        match d with
        | DType.Bool -> 0
        | DType.UInt8 -> 1
        | DType.Int32 -> 2
        | DType.Int64 -> 3
        | DType.Float32 -> 4
        | DType.Float64 -> 5
        | DType.Float | DType.Int -> invalidArg "dtype" "a dtype family must be resolved first"

    /// The dtype two operands combine to, or None when they are not promotable
    /// (float32 with float64: cast explicitly, so precision never changes silently). The order is
    /// bool < uint8 < int32 < int64 < float32 < float64, so uint8 with an int gives the int and with a float
    /// the float, as PyTorch does.
    let tryPromote (a: DType) (b: DType) : DType option =
        if a = b then Some a
        elif (a = DType.Float32 && b = DType.Float64) || (a = DType.Float64 && b = DType.Float32) then None
        elif rank a >= rank b then Some a
        else Some b

/// The compute backend chosen at gs.init.
[<RequireQualifiedAccess>]
type Backend =
    /// Managed CPU backend (SIMD through System.Numerics.Tensors).
    | Cpu
    /// ILGPU backend: CUDA, or ILGPU's CPU accelerator when GENESIS_GPU=cpu.
    | Gpu

/// The device a raw tensor's storage lives on.
[<RequireQualifiedAccess>]
type Device =
    /// Managed memory of this process.
    | Cpu
    /// An ILGPU accelerator, named (e.g. "cuda:0" or "ilgpu-cpu").
    | Accelerator of name: string

    /// A short name for messages.
    member d.Name =
        match d with
        | Cpu -> "cpu"
        | Accelerator n -> n

    /// Prints the short name.
    override d.ToString() = d.Name
