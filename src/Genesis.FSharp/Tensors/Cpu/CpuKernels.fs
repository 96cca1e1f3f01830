namespace Genesis.Cpu

open System
open System.Numerics
open System.Numerics.Tensors
open Genesis

/// Generic element kernels of the managed CPU backend over flat row-major arrays. Float math uses
/// TensorPrimitives (SIMD) wherever it has the operation.
module internal CpuKernels =

    /// Copies a strided view (offset, strides; 0 strides broadcast) into a new contiguous array.
    let stridedCopy (src: 'T[]) (offset: int) (srcStrides: int[]) (outShape: int[]) : 'T[] =
        let n = Shape.numel outShape
        let dst = Array.zeroCreate<'T> n
        if n > 0 then
            let rank = outShape.Length
            if rank = 0 then
                dst[0] <- src[offset]
            else
                let last = rank - 1
                let inner = outShape[last]
                let innerStride = srcStrides[last]
                let idx = Array.zeroCreate rank
                let mutable o = 0
                let mutable baseOff = offset
                while o < n do
                    if innerStride = 1 then
                        Array.Copy(src, baseOff, dst, o, inner)
                    else
                        let mutable s = baseOff
                        for j in 0 .. inner - 1 do
                            dst[o + j] <- src[s]
                            s <- s + innerStride
                    o <- o + inner
                    // advance the odometer over the outer dims
                    let mutable d = last - 1
                    let mutable carry = true
                    while carry && d >= 0 do
                        idx[d] <- idx[d] + 1
                        baseOff <- baseOff + srcStrides[d]
                        if idx[d] < outShape[d] then
                            carry <- false
                        else
                            baseOff <- baseOff - srcStrides[d] * outShape[d]
                            idx[d] <- 0
                            d <- d - 1
        dst

    /// Expands a contiguous array of `shape` to `target` (no copy when equal).
    let expandTo (src: 'T[]) (shape: int[]) (target: int[]) : 'T[] =
        if Shape.equal shape target then src else stridedCopy src 0 (Shape.broadcastStrides shape target) target

    /// Permutes the dims of a contiguous array.
    let permute (src: 'T[]) (shape: int[]) (perm: int[]) : 'T[] =
        let st = Shape.strides shape
        stridedCopy src 0 (perm |> Array.map (fun p -> st[p])) (perm |> Array.map (fun p -> shape[p]))

    let inline private isNaN<'T when 'T :> INumberBase<'T>> (x: 'T) = 'T.IsNaN x

    /// log(1 + x), accurate for tiny x (TensorPrimitives.LogP1 and T.LogP1 evaluate log(x + 1), which is 0 for
    /// |x| below machine epsilon): log(u) * x / (u - 1) with u = 1 + x corrects the rounding of u (Goldberg).
    let inline private log1pAccurate<'T when 'T :> IFloatingPointIeee754<'T> and 'T: comparison> (x: 'T) : 'T =
        let u = 'T.One + x
        if u = 'T.One then x
        elif 'T.IsInfinity u || 'T.IsNaN u || u <= 'T.Zero then 'T.Log u
        else 'T.Log u * (x / (u - 'T.One))

    /// e^x - 1, accurate for tiny x (TensorPrimitives.ExpM1 and T.ExpM1 evaluate e^x - 1 directly, which is 0
    /// for |x| below machine epsilon): (u - 1) * x / log(u) with u = e^x (Kahan).
    let inline private expm1Accurate<'T when 'T :> IFloatingPointIeee754<'T> and 'T: comparison> (x: 'T) : 'T =
        let u = 'T.Exp x
        if u = 'T.One then x
        elif 'T.IsInfinity u || 'T.IsNaN u then u
        else
            let um1 = u - 'T.One
            if um1 = -'T.One then um1 else um1 * (x / 'T.Log u)

    /// Elementwise unary float op.
    let unaryFloat<'T when 'T :> IFloatingPointIeee754<'T> and 'T: comparison and 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType>
        (kind: UnaryKind) (src: 'T[]) : 'T[] =
        let dst = Array.zeroCreate<'T> src.Length
        let x = ReadOnlySpan src
        let y = Span dst
        let loop (f: 'T -> 'T) =
            for i in 0 .. src.Length - 1 do
                dst[i] <- f src[i]
        match kind with
        | UnaryKind.Neg -> TensorPrimitives.Negate(x, y)
        | UnaryKind.Exp -> TensorPrimitives.Exp(x, y)
        | UnaryKind.Log -> TensorPrimitives.Log(x, y)
        | UnaryKind.Sqrt -> TensorPrimitives.Sqrt(x, y)
        | UnaryKind.Abs -> TensorPrimitives.Abs(x, y)
        | UnaryKind.Sign -> loop (fun v -> if isNaN v then v else 'T.CreateTruncating('T.Sign v))
        | UnaryKind.Sin -> TensorPrimitives.Sin(x, y)
        | UnaryKind.Cos -> TensorPrimitives.Cos(x, y)
        | UnaryKind.Tan -> TensorPrimitives.Tan(x, y)
        | UnaryKind.Tanh -> TensorPrimitives.Tanh(x, y)
        | UnaryKind.Sigmoid -> loop (fun v -> 'T.One / ('T.One + 'T.Exp(-v)))
        | UnaryKind.Relu -> loop (fun v -> if v > 'T.Zero || isNaN v then v else 'T.Zero)
        | UnaryKind.Softplus -> loop (fun v -> if isNaN v then v else 'T.Max(v, 'T.Zero) + log1pAccurate ('T.Exp(-'T.Abs v)))
        | UnaryKind.Floor -> TensorPrimitives.Floor(x, y)
        | UnaryKind.Ceil -> TensorPrimitives.Ceiling(x, y)
        | UnaryKind.Round -> loop (fun v -> 'T.Round v)
        | UnaryKind.Asin -> TensorPrimitives.Asin(x, y)
        | UnaryKind.Acos -> TensorPrimitives.Acos(x, y)
        | UnaryKind.Atan -> TensorPrimitives.Atan(x, y)
        | UnaryKind.Sinh -> TensorPrimitives.Sinh(x, y)
        | UnaryKind.Cosh -> TensorPrimitives.Cosh(x, y)
        | UnaryKind.Log1p -> loop log1pAccurate
        | UnaryKind.Expm1 -> loop expm1Accurate
        dst

    /// Elementwise binary op on equal-length arrays (numbers of any kind; Pow and Atan2 via float64 for ints).
    let binaryNumber<'T when 'T :> INumber<'T> and 'T: comparison and 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType>
        (kind: BinaryKind) (a: 'T[]) (b: 'T[]) (floatOp: BinaryKind -> 'T[] -> 'T[] -> 'T[] -> bool) : 'T[] =
        let dst = Array.zeroCreate<'T> a.Length
        let x = ReadOnlySpan a
        let y = ReadOnlySpan b
        let z = Span dst
        match kind with
        | BinaryKind.Add -> TensorPrimitives.Add(x, y, z)
        | BinaryKind.Sub -> TensorPrimitives.Subtract(x, y, z)
        | BinaryKind.Mul -> TensorPrimitives.Multiply(x, y, z)
        | BinaryKind.Div -> TensorPrimitives.Divide(x, y, z)
        | BinaryKind.Max ->
            for i in 0 .. a.Length - 1 do
                dst[i] <- if isNaN a[i] || a[i] >= b[i] then a[i] else b[i]
        | BinaryKind.Min ->
            for i in 0 .. a.Length - 1 do
                dst[i] <- if isNaN a[i] || a[i] <= b[i] then a[i] else b[i]
        | BinaryKind.Pow | BinaryKind.Atan2 ->
            if not (floatOp kind a b dst) then
                let f = if kind = BinaryKind.Pow then (fun (p: float) q -> Math.Pow(p, q)) else (fun p q -> Math.Atan2(p, q))
                for i in 0 .. a.Length - 1 do
                    dst[i] <- 'T.CreateTruncating(f (Double.CreateTruncating a[i]) (Double.CreateTruncating b[i]))
        dst

    /// Add, Sub, Mul or Div of an n-element array and a one-element array (either side, already at the output
    /// layout) without expanding the scalar: the same IEEE operation per element as binaryNumber on the expansion.
    let binaryScalar<'T when 'T :> INumber<'T> and 'T: comparison and 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType>
        (kind: BinaryKind) (a: 'T[]) (b: 'T[]) (n: int) : 'T[] voption =
        match kind with
        | BinaryKind.Add | BinaryKind.Sub | BinaryKind.Mul | BinaryKind.Div when n > 1 && (b.Length = 1 && a.Length = n || a.Length = 1 && b.Length = n) ->
            let dst = Array.zeroCreate<'T> n
            let z = Span dst
            if b.Length = 1 then
                let x = ReadOnlySpan a
                let y = b[0]
                match kind with
                | BinaryKind.Add -> TensorPrimitives.Add(x, y, z)
                | BinaryKind.Sub -> TensorPrimitives.Subtract(x, y, z)
                | BinaryKind.Mul -> TensorPrimitives.Multiply(x, y, z)
                | _ -> TensorPrimitives.Divide(x, y, z)
            else
                let x = a[0]
                let y = ReadOnlySpan b
                match kind with
                | BinaryKind.Add -> TensorPrimitives.Add(y, x, z)
                | BinaryKind.Sub -> TensorPrimitives.Subtract(x, y, z)
                | BinaryKind.Mul -> TensorPrimitives.Multiply(y, x, z)
                | _ -> TensorPrimitives.Divide(x, y, z)
            ValueSome dst
        | _ -> ValueNone

    /// Pow and Atan2 for float element types through TensorPrimitives.
    let floatPowAtan2<'T when 'T :> IFloatingPointIeee754<'T> and 'T: comparison and 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType>
        (kind: BinaryKind) (a: 'T[]) (b: 'T[]) (dst: 'T[]) : bool =
        match kind with
        | BinaryKind.Pow -> TensorPrimitives.Pow(ReadOnlySpan a, ReadOnlySpan b, Span dst); true
        | BinaryKind.Atan2 -> TensorPrimitives.Atan2(ReadOnlySpan a, ReadOnlySpan b, Span dst); true
        | _ -> false

    /// Elementwise comparison on equal-length arrays.
    let compare<'T when 'T :> INumber<'T> and 'T: comparison> (kind: CompareKind) (a: 'T[]) (b: 'T[]) : bool[] =
        let f: 'T -> 'T -> bool =
            match kind with
            | CompareKind.Eq -> fun p q -> p = q
            | CompareKind.Ne -> fun p q -> p <> q
            | CompareKind.Lt -> fun p q -> p < q
            | CompareKind.Le -> fun p q -> p <= q
            | CompareKind.Gt -> fun p q -> p > q
            | CompareKind.Ge -> fun p q -> p >= q
        Array.init a.Length (fun i -> f a[i] b[i])

    /// cond ? a : b on equal-length arrays.
    let where (cond: bool[]) (a: 'T[]) (b: 'T[]) : 'T[] = Array.init cond.Length (fun i -> if cond[i] then a[i] else b[i])

    /// Reduces contiguous blocks of `block` elements (the reduced dims moved last).
    let reduceBlocks<'T when 'T :> INumber<'T> and 'T: comparison and 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType>
        (kind: ReduceKind) (src: 'T[]) (outN: int) (block: int) : 'T[] =
        let dst = Array.zeroCreate<'T> outN
        for o in 0 .. outN - 1 do
            let s = ReadOnlySpan(src, o * block, block)
            dst[o] <-
                match kind with
                | ReduceKind.Sum -> TensorPrimitives.Sum s
                | ReduceKind.Prod -> if block = 0 then 'T.One else TensorPrimitives.Product s
                | ReduceKind.Max | ReduceKind.Min ->
                    if block = 0 then raise (GenesisException "max/min of an empty tensor")
                    let mutable m = s[0]
                    for j in 1 .. block - 1 do
                        let v = s[j]
                        if not (isNaN m) && (isNaN v || (if kind = ReduceKind.Max then v > m else v < m)) then m <- v
                    m
        dst

    /// Index of the max/min of each contiguous block (NaN counts as the max; first occurrence).
    let argBlocks<'T when 'T :> INumber<'T> and 'T: comparison> (kind: ArgReduceKind) (src: 'T[]) (outN: int) (block: int) : int64[] =
        if block = 0 then raise (GenesisException "argmax/argmin of an empty dimension")
        Array.init outN (fun o ->
            let mutable bi = 0
            let mutable m = src[o * block]
            for j in 1 .. block - 1 do
                let v = src[o * block + j]
                let better =
                    if isNaN m then false
                    elif isNaN v then true
                    elif kind = ArgReduceKind.ArgMax then v > m
                    else v < m
                if better then
                    m <- v
                    bi <- j
            int64 bi)

    /// Batched matrix product of contiguous [batch, n, k] x [batch, k, m].
    let matmul<'T when 'T :> INumber<'T> and 'T: comparison and 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType>
        (a: 'T[]) (b: 'T[]) (batch: int) (n: int) (k: int) (m: int) : 'T[] =
        let c = Array.zeroCreate<'T> (batch * n * m)
        for bt in 0 .. batch - 1 do
            let ao = bt * n * k
            let bo = bt * k * m
            let co = bt * n * m
            for i in 0 .. n - 1 do
                // no shortcut for aik = 0: IEEE 0 * NaN and 0 * inf are NaN, and a NaN in b must reach c
                if m <= 8 then
                    // short rows: a scalar loop, the same unfused b * aik + c per element as MultiplyAdd, without its call cost
                    let ci = co + i * m
                    for kk in 0 .. k - 1 do
                        let aik = a[ao + i * k + kk]
                        let bk = bo + kk * m
                        for j in 0 .. m - 1 do
                            c[ci + j] <- 'T.op_Addition('T.op_Multiply(b[bk + j], aik), c[ci + j])
                else
                    let crow = Span(c, co + i * m, m)
                    for kk in 0 .. k - 1 do
                        let aik = a[ao + i * k + kk]
                        TensorPrimitives.MultiplyAdd(ReadOnlySpan(b, bo + kk * m, m), aik, ReadOnlySpan<'T>(c, co + i * m, m), crow)
        c

    /// Iterates the multi-index of a shape, calling f with the flat offset and the index array.
    let iterIndex (shape: int[]) (f: int -> int[] -> unit) =
        let n = Shape.numel shape
        let idx = Array.zeroCreate shape.Length
        for o in 0 .. n - 1 do
            f o idx
            let mutable d = shape.Length - 1
            let mutable carry = true
            while carry && d >= 0 do
                idx[d] <- idx[d] + 1
                if idx[d] < shape[d] then carry <- false
                else
                    idx[d] <- 0
                    d <- d - 1

    /// Flat offset of idx in a contiguous shape, with idx[dim] replaced by j.
    let offsetWith (strides: int[]) (idx: int[]) (dim: int) (j: int) =
        let mutable off = 0
        for d in 0 .. idx.Length - 1 do
            off <- off + strides[d] * (if d = dim then j else idx[d])
        off

    /// PyTorch gather along dim.
    let gather (src: 'T[]) (shape: int[]) (dim: int) (index: int64[]) (indexShape: int[]) : 'T[] =
        let st = Shape.strides shape
        let dst = Array.zeroCreate<'T> index.Length
        iterIndex indexShape (fun o idx ->
            let j = index[o]
            if j < 0L || j >= int64 shape[dim] then
                raise (GenesisException(sprintf "gather: index %d out of range for dimension %d of size %d" j dim shape[dim]))
            dst[o] <- src[offsetWith st idx dim (int j)])
        dst

    /// PyTorch scatter_add along dim into a copy of dst.
    let scatterAdd<'T when 'T :> INumber<'T> and 'T: comparison> (dst0: 'T[]) (shape: int[]) (dim: int) (index: int64[]) (indexShape: int[]) (src: 'T[]) (srcShape: int[]) : 'T[] =
        let st = Shape.strides shape
        let sst = Shape.strides srcShape
        let dst = Array.copy dst0
        iterIndex indexShape (fun o idx ->
            let j = index[o]
            if j < 0L || j >= int64 shape[dim] then
                raise (GenesisException(sprintf "scatterAdd: index %d out of range for dimension %d of size %d" j dim shape[dim]))
            let so = offsetWith sst idx -1 0
            let d = offsetWith st idx dim (int j)
            dst[d] <- dst[d] + src[so])
        dst

    /// Reverses along the given dims.
    let flip (src: 'T[]) (shape: int[]) (dims: int[]) : 'T[] =
        let st = Shape.strides shape
        let mutable offset = 0
        let fst = Array.copy st
        for d in dims do
            if shape[d] > 0 then
                offset <- offset + st[d] * (shape[d] - 1)
            fst[d] <- -st[d]
        stridedCopy src offset fst shape

    /// Inclusive cumulative sum along dim.
    let cumsum<'T when 'T :> INumber<'T> and 'T: comparison> (src: 'T[]) (shape: int[]) (dim: int) : 'T[] =
        let st = Shape.strides shape
        let dst = Array.copy src
        iterIndex shape (fun o idx ->
            if idx[dim] > 0 then dst[o] <- dst[o - st[dim]] + src[o])
        dst
