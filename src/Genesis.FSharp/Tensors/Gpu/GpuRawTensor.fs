namespace Genesis.Gpu

open System
open System.Collections.Concurrent
open System.Threading
open ILGPU
open ILGPU.Runtime
open ILGPU.Runtime.CPU
open ILGPU.Runtime.Cuda
open Genesis
open Genesis.Gpu.Kernels

/// The device could not allocate a buffer (after a GC and a trimmed pool): bytes asked, bytes held, device.
type GpuOutOfMemoryException(requestedBytes: int64, allocatedBytes: int64, device: string, inner: exn) =
    inherit GenesisException(
        sprintf "out of device memory on %s: %d bytes asked with %d bytes held by live tensors" device requestedBytes allocatedBytes, inner)
    /// The bytes the failed allocation asked for.
    member _.RequestedBytes = requestedBytes
    /// The device bytes live tensors held when it failed.
    member _.AllocatedBytes = allocatedBytes

/// A device buffer shared by the raw tensors that view it (Reshape shares storage); released when the last one is.
[<Sealed; AllowNullLiteral>]
type internal GpuStorage(backend: GpuBackend, buffer: MemoryBuffer, block: GpuBlock) =
    let mutable refs = 1
    /// The backend that allocated the buffer.
    member _.Backend = backend
    /// The device buffer (a MemoryBuffer1D of the element type).
    member _.Buffer = buffer
    /// Adds a viewer.
    member _.AddRef() = Interlocked.Increment(&refs) |> ignore
    /// Removes a viewer; the last one returns the buffer (deferred to the owning thread when called from a finalizer).
    member _.Release(fromFinalizer: bool) =
        if Interlocked.Decrement(&refs) = 0 then
            if fromFinalizer then backend.DeferFree(buffer, block) else backend.Free(buffer, block)

/// The size class of a device buffer: element type, length (elements) and bytes.
and [<Struct>] internal GpuBlock = { Element: ElementType; Length: int64; Bytes: int64 }

/// A raw tensor in the memory of an ILGPU accelerator (CUDA, or ILGPU's CPU accelerator). Dispose frees its device
/// buffer at once; otherwise the finalizer hands the buffer back to the backend, which frees it on its next call.
and [<Sealed>] GpuRawTensor internal (storage: GpuStorage, shape: int[], dtype: DType) =
    inherit RawTensor(shape, dtype, storage.Backend.Device)
    let mutable released = 0
    let backend = storage.Backend
    let kernels: KernelSet = backend.Kernels
    let et = GpuLayout.elementType dtype

    /// The owning backend.
    member _.GpuBackend: GpuBackend = backend
    /// True once Dispose has run.
    member _.IsDisposed = released <> 0

    /// The device buffer (raises after Dispose).
    member internal t.Buffer: MemoryBuffer =
        if released <> 0 then raise (ObjectDisposedException("GpuRawTensor", sprintf "%O was disposed" t))
        storage.Buffer

    /// Views another raw tensor of the same backend (raises for another device or backend).
    member internal _.Peer(other: RawTensor) : GpuRawTensor = GpuRawTensor.Of(backend, other)

    member private t.New(shape: int[], dtype: DType) = backend.Allocate(shape, dtype)

    override _.Backend = backend :> IRawBackend
    override _.IsContiguous = true

    override t.Unary(kind) =
        if not dtype.IsFloating then raise (GenesisException(sprintf "%A needs a float tensor, got %O" kind dtype))
        let res = t.New(shape, dtype)
        kernels.Unary(et, GpuLayout.unaryCode kind, t.Buffer, res.Buffer, t.Numel)
        res :> RawTensor

    override t.Binary(kind, other) =
        let o = t.Peer other
        let outShape = Shape.broadcast shape other.Shape
        if dtype <> other.DType then
            raise (GenesisException(sprintf "raw %A: dtype mismatch %O and %O" kind dtype other.DType))
        if dtype = DType.Bool then raise (GenesisException(sprintf "%A is not defined for %O tensors" kind dtype))
        let res = t.New(outShape, dtype)
        let l = GpuLayout.strided outShape [| Shape.broadcastStrides shape outShape; Shape.broadcastStrides other.Shape outShape |] [||]
        kernels.Binary(et, GpuLayout.binaryCode kind, t.Buffer, o.Buffer, res.Buffer, res.Numel, l)
        res :> RawTensor

    override t.Compare(kind, other) =
        t.Peer other |> ignore
        let outShape = Shape.broadcast shape other.Shape
        let temps = ResizeArray<RawTensor>()
        let cast (x: RawTensor) (d: DType) =
            if x.DType = d then x
            else
                let c = x.Cast d
                temps.Add c
                c
        try
            let a0 = if dtype = DType.Bool || other.DType = DType.Bool then cast t DType.Int32 else t :> RawTensor
            let b0 = if dtype = DType.Bool || other.DType = DType.Bool then cast other DType.Int32 else other
            let target =
                match DTypes.tryPromote a0.DType b0.DType with
                | Some d -> d
                | None -> DType.Float64
            let a = t.Peer(cast a0 target)
            let b = t.Peer(cast b0 target)
            let res = t.New(outShape, DType.Bool)
            let l = GpuLayout.strided outShape [| Shape.broadcastStrides a.Shape outShape; Shape.broadcastStrides b.Shape outShape |] [||]
            kernels.Compare(GpuLayout.elementType target, GpuLayout.compareCode kind, a.Buffer, b.Buffer, res.Buffer, res.Numel, l)
            res :> RawTensor
        finally
            for x in temps do (box x :?> IDisposable).Dispose()

    override t.Where(cond, other) =
        if cond.DType <> DType.Bool then raise (GenesisException(sprintf "where: condition must be bool, got %O" cond.DType))
        if dtype <> other.DType then raise (GenesisException(sprintf "where: dtype mismatch %O and %O" dtype other.DType))
        let c = t.Peer cond
        let o = t.Peer other
        let outShape = Shape.broadcast (Shape.broadcast cond.Shape shape) other.Shape
        let res = t.New(outShape, dtype)
        let l =
            GpuLayout.strided outShape
                [| Shape.broadcastStrides cond.Shape outShape; Shape.broadcastStrides shape outShape; Shape.broadcastStrides other.Shape outShape |] [||]
        kernels.Where(et, c.Buffer, t.Buffer, o.Buffer, res.Buffer, res.Numel, l)
        res :> RawTensor

    override t.Reduce(kind, dims, keepDim) =
        if dtype = DType.Bool then raise (GenesisException(sprintf "%A is not defined for %O tensors" kind dtype))
        let rank = shape.Length
        let l, outN = GpuLayout.reduce shape dims
        if (kind = ReduceKind.Max || kind = ReduceKind.Min) && l.Block = 0 && outN > 0 then
            raise (GenesisException "max/min of an empty tensor")
        let outShape =
            if keepDim then Array.init rank (fun d -> if Array.contains d dims then 1 else shape[d])
            else [| for d in 0 .. rank - 1 do if not (Array.contains d dims) then shape[d] |]
        let res = t.New(outShape, dtype)
        kernels.Reduce(et, GpuLayout.reduceCode kind, t.Buffer, res.Buffer, outN, l)
        res :> RawTensor

    override t.ArgReduce(kind, dim, keepDim) =
        if dtype = DType.Bool then raise (GenesisException(sprintf "%A is not defined for %O tensors" kind dtype))
        let rank = shape.Length
        let block = if rank = 0 then 1 else shape[dim]
        if block = 0 then raise (GenesisException "argmax/argmin of an empty dimension")
        let outShape =
            if rank = 0 then [||]
            elif keepDim then shape |> Array.mapi (fun d s -> if d = dim then 1 else s)
            else shape |> Array.indexed |> Array.filter (fun (d, _) -> d <> dim) |> Array.map snd
        let l, outN = GpuLayout.reduce shape (if rank = 0 then [||] else [| dim |])
        let res = t.New(outShape, DType.Int64)
        let code = if kind = ArgReduceKind.ArgMax then OpCode.ArgMax else OpCode.ArgMin
        kernels.ArgReduce(et, code, t.Buffer, res.Buffer, outN, l)
        res :> RawTensor

    override t.MatMul(other) =
        let o = t.Peer other
        if dtype <> other.DType || dtype = DType.Bool then
            raise (GenesisException(sprintf "matmul is not defined for %O and %O tensors" dtype other.DType))
        let r = shape.Length
        let n, k = shape[r - 2], shape[r - 1]
        let m = other.Shape[r - 1]
        let batch = Shape.numel shape[.. r - 3]
        let res = t.New(Array.append shape[.. r - 3] [| n; m |], dtype)
        kernels.MatMul(et, t.Buffer, o.Buffer, res.Buffer, batch, n, k, m)
        res :> RawTensor

    /// Copies this tensor's elements through a strided read into a new contiguous tensor of `outShape`.
    member internal t.StridedCopy(offset: int, strides: int[], outShape: int[]) =
        let res = t.New(outShape, dtype)
        let l = GpuLayout.strided outShape [| strides; Shape.strides outShape |] [| offset; 0 |]
        kernels.Copy(et, t.Buffer, res.Buffer, res.Numel, l)
        res :> RawTensor

    override t.Permute(perm) =
        let st = Shape.strides shape
        t.StridedCopy(0, perm |> Array.map (fun p -> st[p]), perm |> Array.map (fun p -> shape[p]))

    override t.Expand(target) = t.StridedCopy(0, Shape.broadcastStrides shape target, target)

    override t.Reshape(newShape) =
        let b = t.Buffer
        ignore b
        storage.AddRef()
        new GpuRawTensor(storage, newShape, dtype) :> RawTensor

    override t.Slice(starts, lengths) =
        let st = Shape.strides shape
        t.StridedCopy(Array.fold2 (fun acc s k -> acc + s * k) 0 starts st, st, lengths)

    override t.PadSlice(fullShape, starts) =
        let res = backend.Allocate(fullShape, dtype)
        kernels.Fill(et, res.Buffer, res.Numel, 0.0)
        let fst = Shape.strides fullShape
        let off = Array.fold2 (fun acc s k -> acc + s * k) 0 starts fst
        let l = GpuLayout.strided shape [| Shape.strides shape; fst |] [| 0; off |]
        kernels.Copy(et, t.Buffer, res.Buffer, t.Numel, l)
        res :> RawTensor

    /// The index tensor as int64 on this backend (a temporary when it was int32; raises for other dtypes).
    member private t.Index(index: RawTensor) : GpuRawTensor * bool =
        let i = t.Peer index
        match index.DType with
        | DType.Int64 -> i, false
        | DType.Int32 -> t.Peer(i.Cast DType.Int64), true
        | d -> raise (GenesisException(sprintf "index tensors must be int32 or int64, got %O" d))

    /// Runs an indexed kernel (gather, scatterAdd) with the index as int64 into a result from make (made once the index
    /// is valid): the result is disposed and the operation named when the kernel reports an index out of range for
    /// dimension dim; a temporary index is freed.
    member private t.Indexed(op: string, dim: int, index: RawTensor, make: unit -> GpuRawTensor,
                             run: GpuRawTensor -> GpuRawTensor -> struct (bool * int64)) =
        let idx, temp = t.Index index
        try
            let res = make ()
            let struct (ok, bad) = run idx res
            if not ok then
                (res :> IDisposable).Dispose()
                raise (GenesisException(sprintf "%s: index %d out of range for dimension %d of size %d" op bad dim shape[dim]))
            res :> RawTensor
        finally
            if temp then (idx :> IDisposable).Dispose()

    override t.Gather(dim, index) =
        let l = GpuLayout.index index.Shape shape dim [||]
        t.Indexed("gather", dim, index, (fun () -> t.New(index.Shape, dtype)),
                  fun idx res -> kernels.Gather(et, t.Buffer, idx.Buffer, res.Buffer, res.Numel, l))

    override t.ScatterAdd(dim, index, src) =
        let s = t.Peer src
        if dtype <> src.DType || dtype = DType.Bool then
            raise (GenesisException(sprintf "scatterAdd: dtype mismatch %O and %O" dtype src.DType))
        let l = GpuLayout.index index.Shape shape dim src.Shape
        t.Indexed("scatterAdd", dim, index, (fun () -> t.StridedCopy(0, Shape.strides shape, shape) :?> GpuRawTensor),
                  fun idx res -> kernels.ScatterAdd(et, res.Buffer, idx.Buffer, s.Buffer, index.Numel, l))

    override t.Flip(dims) =
        let st = Shape.strides shape
        let fst = Array.copy st
        let mutable offset = 0
        for d in dims do
            if shape[d] > 0 then offset <- offset + st[d] * (shape[d] - 1)
            fst[d] <- -st[d]
        t.StridedCopy(offset, fst, shape)

    override t.Cumsum(dim) =
        if dtype = DType.Bool then raise (GenesisException(sprintf "cumsum is not defined for %O tensors" dtype))
        if shape.Length = 0 then t.StridedCopy(0, [||], [||])
        else
            let res = t.New(shape, dtype)
            kernels.Cumsum(et, t.Buffer, res.Buffer, Shape.numel shape[.. dim - 1], shape[dim], Shape.numel shape[dim + 1 ..])
            res :> RawTensor

    override t.Cast(target) =
        if target = dtype then t :> RawTensor
        else
            let res = t.New(shape, target)
            kernels.Cast(et, GpuLayout.elementType target, t.Buffer, res.Buffer, t.Numel)
            res :> RawTensor

    override t.ToHostArray() =
        let a = kernels.Download(et, t.Buffer, t.Numel)
        match a with
        | :? (byte[]) as b -> b |> Array.map (fun v -> v <> 0uy) :> Array
        | a -> a

    /// Frees the device buffer now (when no reshaped view still shares it).
    member t.Dispose() =
        if Interlocked.Exchange(&released, 1) = 0 then
            storage.Release false
            GC.SuppressFinalize t

    /// Hands the buffer back to the backend when the tensor was not disposed.
    override _.Finalize() =
        if Interlocked.Exchange(&released, 1) = 0 then storage.Release true

    interface IDisposable with
        member t.Dispose() = t.Dispose()

    interface IDeviceSolve with
        member t.Solve(b) =
            let bb = t.Peer b
            if dtype <> b.DType || not dtype.IsFloating then
                raise (GenesisException(sprintf "solve needs two tensors of one float dtype, got %O and %O" dtype b.DType))
            let r = shape.Length
            let n, m = shape[r - 1], b.Shape[b.Rank - 1]
            // LU overwrites both operands: copies of A and B, and the copy of B becomes X
            let a = t.StridedCopy(0, Shape.strides shape, shape) :?> GpuRawTensor
            let x = bb.StridedCopy(0, Shape.strides b.Shape, b.Shape)
            try kernels.LuSolve(et, a.Buffer, (x :?> GpuRawTensor).Buffer, Shape.numel shape[.. r - 3], n, m)
            finally a.Dispose()
            x

    /// Views any raw tensor as one of this backend (raises for another device or backend).
    static member internal Of(backend: GpuBackend, t: RawTensor) : GpuRawTensor =
        match t with
        | :? GpuRawTensor as g when Object.ReferenceEquals(g.GpuBackend, backend) -> g
        | _ -> raise (GenesisException(sprintf "tensor on device %O used with a %O tensor: tensors of two backends cannot be mixed" t.Device backend.Device))

/// The ILGPU raw backend: owns an ILGPU context and accelerator, the compiled kernels (KernelSet) and the count of
/// device bytes allocated. Create it with create() (CUDA, or the CPU accelerator when GENESIS_GPU=cpu),
/// createCuda() or createCpuAccelerator().
and [<Sealed>] GpuBackend private (context: Context, accelerator: Accelerator, name: string) =
    let kernels = KernelSet(accelerator)
    let gate = obj ()
    let pending = ConcurrentQueue<struct (MemoryBuffer * GpuBlock)>()
    let pool = Collections.Generic.Dictionary<struct (ElementType * int64), Collections.Generic.Stack<MemoryBuffer>>()
    let mutable pooled = 0L
    let mutable poolLimit = 256L * 1024L * 1024L
    let mutable memoryLimit = 0L
    let mutable allocated = 0L
    let mutable liveBuffers = 0
    let mutable disposed = false
    static let mutable shared: GpuBackend option = None
    static let sharedGate = obj ()

    /// The kernels of this accelerator.
    member internal _.Kernels = kernels
    /// The device tensors of this backend report, e.g. Accelerator "cuda:0" or "ilgpu-cpu".
    member val Device = Device.Accelerator name
    /// The ILGPU accelerator.
    member _.Accelerator = accelerator
    /// True when this backend runs on ILGPU's CPU accelerator.
    member _.IsCpuAccelerator = accelerator.AcceleratorType = AcceleratorType.CPU
    /// True after Dispose.
    member _.IsDisposed = disposed
    /// The matmul tile edge and block-reduction group size chosen for this accelerator.
    member _.TileAndGroup = kernels.Tile, kernels.ReduceGroup
    /// How many kernel specialisations have been compiled (each once per accelerator).
    member _.CompiledKernels = kernels.CompiledKernels

    /// Device bytes held by live tensors of this backend (after taking back buffers that finalizers released).
    member b.AllocatedBytes =
        b.Collect()
        Interlocked.Read(&allocated)

    /// The number of live device buffers (after taking back buffers that finalizers released).
    member b.LiveBuffers =
        b.Collect()
        Volatile.Read(&liveBuffers)

    /// Kernel launches on this backend so far (KernelSet.Launches): the difference around a call is its launch count.
    member _.KernelLaunches = kernels.Launches
    /// Host-to-device copies so far (FromHostArray).
    member _.Uploads = kernels.Uploads
    /// Device-to-host copies so far (ToHostArray and the gather/scatter range flag).
    member _.Downloads = kernels.Downloads

    /// A cap on AllocatedBytes (0 = none, the default): an allocation that would pass it fails as one the device
    /// refuses does (GpuOutOfMemoryException). For tests of out-of-memory handling on small devices.
    member _.MemoryLimitBytes
        with get () = memoryLimit
        and set (v: int64) = memoryLimit <- max 0L v

    /// Device bytes kept in the reuse pool (freed buffers waiting for a tensor of the same type and length).
    member _.PooledBytes = Interlocked.Read(&pooled)

    /// The most bytes the reuse pool keeps (default 256 MiB; 0 frees every buffer at once).
    member _.PoolLimitBytes
        with get () = poolLimit
        and set (v: int64) = poolLimit <- max 0L v

    /// Frees every pooled buffer.
    member _.TrimPool() =
        lock gate (fun () ->
            if not disposed then kernels.Bind()
            for stack in pool.Values do
                for buf in stack do
                    if not disposed then buf.Dispose()
            pool.Clear()
            pooled <- 0L)

    /// Takes back the buffers that finalizers released (on the calling thread, which may use the accelerator).
    member b.Collect() =
        let mutable item = Unchecked.defaultof<struct (MemoryBuffer * GpuBlock)>
        while pending.TryDequeue(&item) do
            let struct (buf, block) = item
            b.Free(buf, block)

    /// Returns a buffer: into the reuse pool while it has room, else freed (on a thread that may use the accelerator).
    /// Pooling keeps CUDA's cuMemFree, which synchronises the device, out of the steady state of a loop.
    member internal _.Free(buf: MemoryBuffer, block: GpuBlock) =
        lock gate (fun () ->
            if not disposed then
                if pooled + block.Bytes <= poolLimit then
                    let key = struct (block.Element, block.Length)
                    match pool.TryGetValue key with
                    | true, stack -> stack.Push buf
                    | _ ->
                        let stack = Collections.Generic.Stack<MemoryBuffer>()
                        stack.Push buf
                        pool[key] <- stack
                    pooled <- pooled + block.Bytes
                else
                    kernels.Bind()
                    buf.Dispose()
            Interlocked.Add(&allocated, -block.Bytes) |> ignore
            Interlocked.Decrement(&liveBuffers) |> ignore
            GC.RemoveMemoryPressure(max 1L block.Bytes))

    /// Queues a buffer released by a finalizer (finalizers run on another thread: device calls are left to the owner).
    member internal _.DeferFree(buf: MemoryBuffer, block: GpuBlock) =
        if not disposed then pending.Enqueue(struct (buf, block))

    /// A pooled buffer of the block's type and length, or a new one (after a full GC and a trimmed pool when the
    /// device is out of memory).
    member private b.Take(block: GpuBlock) : MemoryBuffer =
        let fromPool =
            lock gate (fun () ->
                match pool.TryGetValue(struct (block.Element, block.Length)) with
                | true, stack when stack.Count > 0 ->
                    pooled <- pooled - block.Bytes
                    stack.Pop()
                | _ -> null)
        if not (isNull fromPool) then fromPool
        else
            let allocate () =
                if memoryLimit > 0L && Interlocked.Read(&allocated) + block.Bytes > memoryLimit then
                    raise (OutOfMemoryException(sprintf "the device memory limit of %d bytes is reached" memoryLimit))
                kernels.Allocate(block.Element, block.Length)
            try allocate ()
            with :? AcceleratorException | :? OutOfMemoryException ->
                GC.Collect()
                GC.WaitForPendingFinalizers()
                b.Collect()
                b.TrimPool()
                try allocate ()
                with (:? AcceleratorException | :? OutOfMemoryException) as e ->
                    raise (GpuOutOfMemoryException(block.Bytes, Interlocked.Read(&allocated), name, e))

    /// Allocates an uninitialised tensor.
    member internal b.Allocate(shape: int[], dtype: DType) : GpuRawTensor =
        if disposed then raise (ObjectDisposedException("GpuBackend", sprintf "the GPU backend %s was disposed" name))
        b.Collect()
        let et = GpuLayout.elementType dtype
        let len = max 1L (int64 (Shape.numel shape))
        let block = { Element = et; Length = len; Bytes = len * int64 (KernelSet.SizeOf et) }
        let buf = b.Take block
        Interlocked.Add(&allocated, block.Bytes) |> ignore
        Interlocked.Increment(&liveBuffers) |> ignore
        GC.AddMemoryPressure block.Bytes
        new GpuRawTensor(new GpuStorage(b, buf, block), shape, dtype)

    /// Waits until every queued kernel has finished (for timing).
    member _.Synchronize() = kernels.Synchronize()

    /// Frees every buffer and the accelerator; tensors of this backend are unusable afterwards.
    member b.Dispose() =
        if not disposed then
            b.Collect()
            b.TrimPool()
            lock gate (fun () -> disposed <- true)
            accelerator.Dispose()
            context.Dispose()

    interface IDisposable with
        member b.Dispose() = b.Dispose()

    interface IRawBackend with
        member b.Device = b.Device
        member b.Zeros(shape, dtype) =
            let t = b.Allocate(shape, dtype)
            kernels.Fill(GpuLayout.elementType dtype, t.Buffer, t.Numel, 0.0)
            t :> RawTensor
        member b.Full(shape, dtype, value) =
            let t = b.Allocate(shape, dtype)
            kernels.Fill(GpuLayout.elementType dtype, t.Buffer, t.Numel, value)
            t :> RawTensor
        member b.FromHostArray(data, shape) =
            if data.Length <> Shape.numel shape then
                raise (GenesisException(sprintf "%d elements do not fill shape %s" data.Length (Shape.format shape)))
            let t = b.Allocate(shape, RawTensor.dtypeOfArray data)
            match data with
            | :? (float[]) as a -> kernels.Upload(t.Buffer, a)
            | :? (float32[]) as a -> kernels.Upload(t.Buffer, a)
            | :? (int[]) as a -> kernels.Upload(t.Buffer, a)
            | :? (int64[]) as a -> kernels.Upload(t.Buffer, a)
            | :? (bool[]) as a -> kernels.Upload(t.Buffer, a |> Array.map (fun v -> if v then 1uy else 0uy))
            | _ -> ()
            t :> RawTensor
        member b.Cat(tensors, dim) =
            let first = tensors[0]
            for x in tensors do
                if x.DType <> first.DType then
                    raise (GenesisException(sprintf "cat: dtype mismatch %O and %O" first.DType x.DType))
            let outShape = Array.copy first.Shape
            outShape[dim] <- tensors |> Array.sumBy (fun t -> t.Shape[dim])
            let res = b.Allocate(outShape, first.DType)
            let ost = Shape.strides outShape
            let mutable at = 0
            for x in tensors do
                let g = GpuRawTensor.Of(b, x)
                let l = GpuLayout.strided x.Shape [| Shape.strides x.Shape; ost |] [| 0; at * ost[dim] |]
                kernels.Copy(GpuLayout.elementType x.DType, g.Buffer, res.Buffer, x.Numel, l)
                at <- at + x.Shape[dim]
            res :> RawTensor

    /// A backend on ILGPU's CPU accelerator (kernels run as .NET code on worker threads; for tests and CI).
    static member createCpuAccelerator() =
        let context = Context.Create(fun b -> b.CPU(CPUDeviceKind.Default).EnableAlgorithms().Release() |> ignore)
        let acc = context.CreateCPUAccelerator(0)
        new GpuBackend(context, acc :> Accelerator, "ilgpu-cpu")

    /// A backend on CUDA device `deviceIndex` (default 0); raises naming GENESIS_GPU=cpu when there is none.
    static member createCuda(?deviceIndex: int) =
        let index = defaultArg deviceIndex 0
        let noCuda (detail: string) (inner: exn) =
            GenesisException(
                sprintf "Backend.Gpu needs a CUDA device, but %s. Set the environment variable GENESIS_GPU=cpu to run the GPU backend on ILGPU's CPU accelerator (for tests), or use Backend.Cpu." detail,
                inner)
        let context =
            try
                // libdevice (CUDA's math library) when the CUDA toolkit is installed, else ILGPU.Algorithms' math.
                try Context.Create(fun b -> b.Cuda().EnableAlgorithms().LibDevice().Release() |> ignore)
                with _ -> Context.Create(fun b -> b.Cuda().EnableAlgorithms().Release() |> ignore)
            with e -> raise (noCuda "the CUDA driver could not be loaded" e)
        let devices = context.GetCudaDevices()
        if devices.Count <= index then
            context.Dispose()
            let detail = if devices.Count = 0 then "no CUDA device was found" else sprintf "CUDA device %d does not exist (%d found)" index devices.Count
            raise (noCuda detail null)
        let acc = context.CreateCudaAccelerator(index)
        new GpuBackend(context, acc :> Accelerator, sprintf "cuda:%d" index)

    /// The backend GENESIS_GPU asks for: unset (or "cuda") -> CUDA device 0, "cpu" -> ILGPU's CPU accelerator.
    static member create() : GpuBackend =
        match Environment.GetEnvironmentVariable "GENESIS_GPU" with
        | null | "" | "cuda" | "auto" -> GpuBackend.createCuda()
        | "cpu" -> GpuBackend.createCpuAccelerator()
        | other -> raise (GenesisException(sprintf "GENESIS_GPU=%s is not understood: set GENESIS_GPU=cpu for ILGPU's CPU accelerator, or leave it unset for CUDA" other))

    /// The backend gs.init(backend = Backend.Gpu) uses: create() on first use, kept for the process (so kernels compile
    /// once); set it to choose another (e.g. GpuBackend.createCpuAccelerator() in tests).
    static member Default
        with get () : GpuBackend =
            lock sharedGate (fun () ->
                match shared with
                | Some b when not b.IsDisposed -> b
                | _ ->
                    let b = GpuBackend.create()
                    shared <- Some b
                    b)
        and set (v: GpuBackend) = lock sharedGate (fun () -> shared <- Some v)

    /// Forgets the default backend (without disposing it), so that the next gs.init(backend = Backend.Gpu) selects
    /// again from GENESIS_GPU.
    static member clearDefault() = lock sharedGate (fun () -> shared <- None)
