namespace Genesis

open System
open Genesis.Cpu

/// The entry point (Genesis' `gs` module): initialisation, tensor creation and functional differentiation.
/// .NET arrays given to gs.tensor / gs.fromArray, flattened row-major with their shape.
module internal ArrayInput =
    let private supported = [ typeof<float>; typeof<float32>; typeof<int>; typeof<int64>; typeof<bool>; typeof<byte> ]

    /// The elements (row-major, in an array of the leaf element type) and the shape of a multidimensional or jagged
    /// array; raises for ragged rows or an unsupported element type.
    let flatten (values: Array) : Array * int[] =
        let rec elementType (t: Type) = if t.IsArray then elementType (t.GetElementType()) else t
        let leaf = elementType (values.GetType())
        if not (List.contains leaf supported) then
            raise (GenesisException(sprintf "gs.tensor: unsupported element type %s (float, float32, int, int64, bool or byte; any rank, jagged or multidimensional)" leaf.Name))
        let items = ResizeArray<obj>()
        // the shape of the first element at each depth; every other element must match it
        let rec walk (a: Array) (path: string) : int[] =
            let dims = Array.init a.Rank a.GetLength
            if a.GetType().GetElementType().IsArray then
                let mutable inner: int[] option = None
                let mutable k = 0
                for x in a do
                    let sub = match x with :? Array as sub -> sub | _ -> raise (GenesisException(sprintf "gs.tensor: element %s[%d] is null" path k))
                    let d = walk sub (sprintf "%s[%d]" path k)
                    match inner with
                    | None -> inner <- Some d
                    | Some first when first <> d ->
                        raise (GenesisException(sprintf "gs.tensor: ragged array: element %s[%d] has shape %s, element %s[0] has %s" path k (Shape.format d) path (Shape.format first)))
                    | Some _ -> ()
                    k <- k + 1
                Array.append dims (defaultArg inner [| 0 |])
            else
                for x in a do items.Add x
                dims
        let shape = walk values "values"
        let flat = Array.CreateInstance(leaf, items.Count)
        for i in 0 .. items.Count - 1 do flat.SetValue(items[i], i)
        flat, shape

[<AbstractClass; Sealed>]
type gs =
    /// Initialises Genesis: backend (Cpu default, or Gpu), precision "32" (default) or "64", and the random seed.
    static member init(?backend: Backend, ?precision: string, ?seed: int) =
        if Runtime.state.IsSome then
            raise (GenesisException "Genesis already initialized. Call gs.destroy() before initializing again.")
        let precision = defaultArg precision "32"
        if precision <> "32" && precision <> "64" then
            raise (ArgumentException(sprintf "precision must be \"32\" or \"64\", got %A" precision, "precision"))
        let backend = defaultArg backend Backend.Cpu
        let raw =
            match backend with
            | Backend.Cpu -> CpuRawTensor.Instance
            | Backend.Gpu ->
                match Runtime.gpuFactory with
                | Some create -> create ()
                | None -> Genesis.Gpu.GpuBackend.Default :> IRawBackend
        Runtime.state <-
            Some
                { Backend = backend
                  Raw = raw
                  Precision = precision
                  Seed = seed
                  Random = (match seed with Some s -> Random(s) | None -> Random()) }

    /// Releases the runtime so that gs.init can be called again.
    static member destroy() = Runtime.state <- None
    /// Runs f without recording a requiresGrad graph (torch.no_grad): ops inside give constants; this thread only.
    static member noGrad(f: unit -> 'a) : 'a =
        Apply.NoGradDepth <- Apply.NoGradDepth + 1
        try f () finally Apply.NoGradDepth <- Apply.NoGradDepth - 1
    /// Opens a no-grad scope on this thread until the result is disposed (C# `using`; F# gs.noGrad(fun () -> ...)).
    static member noGradScope() : IDisposable =
        Apply.NoGradDepth <- Apply.NoGradDepth + 1
        let mutable closed = false
        { new IDisposable with
            member _.Dispose() =
                if not closed then
                    closed <- true
                    Apply.NoGradDepth <- Apply.NoGradDepth - 1 }
    /// True inside gs.noGrad / gs.noGradScope on this thread.
    static member isNoGrad = Apply.NoGradDepth > 0
    /// True after gs.init and before gs.destroy.
    static member isInitialized = Runtime.state.IsSome
    /// The active backend.
    static member backend = (Runtime.current ()).Backend
    /// The active precision ("32" or "64").
    static member precision = (Runtime.current ()).Precision
    /// The folder of the robot descriptions shipped with the engine (Genesis' gs.utils.get_assets_dir()): a morph's
    /// relative file that is not found relative to the current folder is looked up here; raises when there is none.
    static member assetsDir = ShippedAssets.folder ()

    static member private make(data: Array, shape: int[], defaultDType: DType, dtype: DType option, requiresGrad: bool option, scene: obj option, device: Backend option) =
        let s = Runtime.current ()
        match device with
        | Some d when d <> s.Backend -> raise (GenesisException(sprintf "Device selection not supported: tensors live on the backend chosen at gs.init (%A), got %A" s.Backend d))
        | _ -> ()
        let dtype = Runtime.resolve (defaultArg dtype defaultDType)
        let raw = s.Raw.FromHostArray(data, shape)
        let raw = if raw.DType = dtype then raw else raw.Cast dtype
        let t = Tensor(TConst raw, Option.toObj scene)
        if defaultArg requiresGrad false then t.requiresGrad_() else t

    static member private floats(values: float[], shape: int[], dtype, requiresGrad, scene, device) =
        gs.make(values, shape, DType.Float, dtype, requiresGrad, scene, device)

    static member private shapeOf(shape: seq<int>) =
        let s = Seq.toArray shape
        Shape.check s
        s

    /// A scalar tensor from a float.
    static member tensor(value: float, ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) =
        gs.floats([| value |], [||], dtype, requiresGrad, scene, device)
    /// A scalar tensor from an int.
    static member tensor(value: int, ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) =
        gs.make([| value |], [||], DType.Int, dtype, requiresGrad, scene, device)
    /// A scalar bool tensor.
    static member tensor(value: bool, ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) =
        gs.make([| value |], [||], DType.Bool, dtype, requiresGrad, scene, device)
    /// A 1-D tensor from floats.
    static member tensor(values: float[], ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) =
        gs.floats(values, [| values.Length |], dtype, requiresGrad, scene, device)
    /// A 1-D tensor from an F# float list.
    static member tensor(values: float list, ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) =
        gs.floats(List.toArray values, [| values.Length |], dtype, requiresGrad, scene, device)
    /// A 1-D tensor from float32 values.
    static member tensor(values: float32[], ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) =
        gs.make(values, [| values.Length |], DType.Float, dtype, requiresGrad, scene, device)
    /// A 1-D tensor from ints.
    static member tensor(values: int[], ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) =
        gs.make(values, [| values.Length |], DType.Int, dtype, requiresGrad, scene, device)
    /// A 1-D tensor from an F# int list.
    static member tensor(values: int list, ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) =
        gs.make(List.toArray values, [| values.Length |], DType.Int, dtype, requiresGrad, scene, device)
    /// A 1-D tensor from int64 values.
    static member tensor(values: int64[], ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) =
        gs.make(values, [| values.Length |], DType.Int, dtype, requiresGrad, scene, device)
    /// A 1-D bool tensor.
    static member tensor(values: bool[], ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) =
        gs.make(values, [| values.Length |], DType.Bool, dtype, requiresGrad, scene, device)
    /// A 1-D uint8 tensor from bytes (CPU backend only).
    static member tensor(values: byte[], ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) =
        gs.make(values, [| values.Length |], DType.UInt8, dtype, requiresGrad, scene, device)
    /// A 2-D tensor from a float matrix.
    static member tensor(values: float[,], ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) =
        gs.fromArray(values, ?dtype = dtype, ?requiresGrad = requiresGrad, ?scene = scene, ?device = device)
    /// A 3-D tensor from a float array.
    static member tensor(values: float[,,], ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) =
        gs.fromArray(values, ?dtype = dtype, ?requiresGrad = requiresGrad, ?scene = scene, ?device = device)
    /// A 2-D tensor from jagged float rows (all rows of equal length).
    static member tensor(rows: float[][], ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) =
        let n = rows.Length
        let m = if n = 0 then 0 else rows[0].Length
        for i in 0 .. n - 1 do
            if rows[i].Length <> m then
                raise (GenesisException(sprintf "gs.tensor: row %d has %d elements, row 0 has %d" i rows[i].Length m))
        gs.floats(Array.concat rows, [| n; m |], dtype, requiresGrad, scene, device)
    /// A 2-D tensor from an F# list of float lists.
    static member tensor(rows: float list list, ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) =
        gs.tensor(rows |> List.map List.toArray |> List.toArray, ?dtype = dtype, ?requiresGrad = requiresGrad, ?scene = scene, ?device = device)
    /// A 1-D tensor from a span of floats.
    static member tensor(values: ReadOnlySpan<float>, ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) =
        gs.floats(values.ToArray(), [| values.Length |], dtype, requiresGrad, scene, device)
    /// A 1-D tensor from memory of floats.
    static member tensor(values: ReadOnlyMemory<float>, ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) =
        gs.floats(values.ToArray(), [| values.Length |], dtype, requiresGrad, scene, device)
    /// A tensor from any other .NET array of float32/float/int/int64/bool/byte (jagged of any depth, e.g. int64[][], or
    /// multidimensional): as gs.fromArray.
    static member tensor(values: Array, ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) =
        gs.fromArray(values, ?dtype = dtype, ?requiresGrad = requiresGrad, ?scene = scene, ?device = device)
    /// A copy of an existing tensor (detached; see fromTensor to keep the graph).
    static member tensor(value: Tensor, ?dtype: DType, ?requiresGrad: bool, ?scene: obj) =
        gs.fromTensor(value, detach = true, ?dtype = dtype, ?requiresGrad = requiresGrad, ?scene = scene)

    /// A tensor from any .NET array of float32/float/int/int64/bool/byte: multidimensional (float[,]) or jagged (int64[][],
    /// float[][][]; rows of equal length, else one GenesisException naming the ragged row), shape taken from the
    /// array unless given.
    static member fromArray(values: Array, ?shape: seq<int>, ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) =
        let flat, dims = ArrayInput.flatten values
        let shape = match shape with Some s -> gs.shapeOf s | None -> dims
        if Shape.numel shape <> flat.Length then
            raise (GenesisException(sprintf "fromArray: %d elements do not fill shape %s" flat.Length (Shape.format shape)))
        let def = match RawTensor.dtypeOfArray flat with DType.UInt8 -> DType.UInt8 | d when d.IsFloating -> DType.Float | d when d.IsIntegral -> DType.Int | d -> d
        gs.make(flat, shape, def, dtype, requiresGrad, scene, device)

    /// A tensor from another: detach = true (default) copies the value cutting the graph; false keeps the graph.
    static member fromTensor(value: Tensor, ?detach: bool, ?dtype: DType, ?requiresGrad: bool, ?scene: obj) =
        let scene = match scene with Some s -> s | None -> value.scene
        let t =
            if defaultArg detach true then Tensor(TConst value.raw, scene) else value.WithScene scene
        let t = match dtype with Some d -> t.cast (Runtime.resolve d) | None -> t
        if defaultArg requiresGrad false then
            // requiresGrad_ works in place: make the leaf a new tensor so that `value` itself never changes
            if t.isConstant then Tensor(TConst t.raw, t.scene).requiresGrad_()
            else raise (GenesisException "fromTensor: requiresGrad needs detach = true")
        else t

    static member private filled(shape: seq<int>, value: float, dtype: DType option, requiresGrad, scene, device) =
        let shape = gs.shapeOf shape
        let s = Runtime.current ()
        let dt = Runtime.resolve (defaultArg dtype DType.Float)
        let raw = s.Raw.Full(shape, dt, value)
        gs.fromRaw(raw, requiresGrad, scene, device)

    static member private fromRaw(raw: RawTensor, requiresGrad: bool option, scene: obj option, device: Backend option) =
        let s = Runtime.current ()
        match device with
        | Some d when d <> s.Backend -> raise (GenesisException(sprintf "Device selection not supported: tensors live on the backend chosen at gs.init (%A), got %A" s.Backend d))
        | _ -> ()
        let t = Tensor(TConst raw, Option.toObj scene)
        if defaultArg requiresGrad false then t.requiresGrad_() else t

    /// Zeros of a shape.
    static member zeros(shape: seq<int>, ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) = gs.filled(shape, 0.0, dtype, requiresGrad, scene, device)
    /// Ones of a shape.
    static member ones(shape: seq<int>, ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) = gs.filled(shape, 1.0, dtype, requiresGrad, scene, device)
    /// A constant-filled tensor.
    static member full(shape: seq<int>, value: float, ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) = gs.filled(shape, value, dtype, requiresGrad, scene, device)
    /// An uninitialised tensor (zeros here).
    static member empty(shape: seq<int>, ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) = gs.filled(shape, 0.0, dtype, requiresGrad, scene, device)
    /// The n x m identity (m defaults to n).
    static member eye(n: int, ?m: int, ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) =
        let m = defaultArg m n
        let v = Array.init (n * m) (fun k -> if k / m = k % m then 1.0 else 0.0)
        gs.floats(v, [| n; m |], dtype, requiresGrad, scene, device)
    /// Values start, start + step, ... below stop (floats).
    static member arange(start: float, stop: float, ?step: float, ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) =
        let step = defaultArg step 1.0
        if step = 0.0 then raise (ArgumentException("arange: step must not be 0", "step"))
        let n = max 0 (int (Math.Ceiling((stop - start) / step)))
        gs.floats(Array.init n (fun i -> start + float i * step), [| n |], dtype, requiresGrad, scene, device)
    /// 0, 1, ..., stop - 1 (ints).
    static member arange(stop: int, ?dtype: DType, ?scene: obj, ?device: Backend) =
        gs.make(Array.init (max 0 stop) id, [| max 0 stop |], DType.Int, dtype, None, scene, device)
    /// start, start + step, ... below stop (ints).
    static member arange(start: int, stop: int, ?step: int, ?dtype: DType, ?scene: obj, ?device: Backend) =
        let step = defaultArg step 1
        if step = 0 then raise (ArgumentException("arange: step must not be 0", "step"))
        let v = [| start .. step .. (if step > 0 then stop - 1 else stop + 1) |]
        gs.make(v, [| v.Length |], DType.Int, dtype, None, scene, device)
    /// Evenly spaced values with both ends exact: the first half counts up from start, the second half down
    /// from stop (PyTorch's rule), so start + (stop - start) rounding never moves the last value.
    static member private evenlySpaced(name: string, start: float, stop: float, steps: int) =
        if steps < 0 then raise (ArgumentException(sprintf "%s: steps must be >= 0, got %d" name steps, "steps"))
        if steps = 1 then [| start |]
        else
            let step = (stop - start) / float (steps - 1)
            let half = steps / 2
            Array.init steps (fun i -> if i < half then start + step * float i else stop - step * float (steps - 1 - i))
    /// `steps` evenly spaced values from start to stop inclusive (both ends exact).
    static member linspace(start: float, stop: float, steps: int, ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) =
        let v = gs.evenlySpaced("linspace", start, stop, steps)
        gs.floats(v, [| steps |], dtype, requiresGrad, scene, device)
    /// `steps` values base^x for x evenly spaced from start to stop (both ends exact).
    static member logspace(start: float, stop: float, steps: int, ?logBase: float, ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) =
        let b = defaultArg logBase 10.0
        let v = gs.evenlySpaced("logspace", start, stop, steps) |> Array.map (fun x -> Math.Pow(b, x))
        gs.floats(v, [| steps |], dtype, requiresGrad, scene, device)
    /// Uniform samples in [0, 1) (also in float32, where a double just below 1 would round to 1).
    static member rand(shape: seq<int>, ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) =
        let shape = gs.shapeOf shape
        let values = Runtime.withRandom (fun r -> Array.init (Shape.numel shape) (fun _ -> r.NextDouble()))
        if Runtime.resolve (defaultArg dtype DType.Float) = DType.Float32 then
            let below1 = MathF.BitDecrement 1.0f
            let v32 = values |> Array.map (fun v -> let f = float32 v in if f >= 1.0f then below1 else f)
            gs.make(v32, shape, DType.Float, dtype, requiresGrad, scene, device)
        else gs.floats(values, shape, dtype, requiresGrad, scene, device)
    /// Standard normal samples.
    static member randn(shape: seq<int>, ?dtype: DType, ?requiresGrad: bool, ?scene: obj, ?device: Backend) =
        let shape = gs.shapeOf shape
        let normal (r: Random) =
            let u1 = 1.0 - r.NextDouble()
            let u2 = r.NextDouble()
            Math.Sqrt(-2.0 * Math.Log u1) * Math.Cos(2.0 * Math.PI * u2)
        let values = Runtime.withRandom (fun r -> Array.init (Shape.numel shape) (fun _ -> normal r))
        gs.floats(values, shape, dtype, requiresGrad, scene, device)
    /// Uniform integers in [low, high).
    static member randint(low: int, high: int, shape: seq<int>, ?dtype: DType, ?scene: obj, ?device: Backend) =
        if high <= low then raise (ArgumentException(sprintf "randint: high (%d) must be greater than low (%d)" high low, "high"))
        let shape = gs.shapeOf shape
        let values = Runtime.withRandom (fun r -> Array.init (Shape.numel shape) (fun _ -> r.Next(low, high)))
        gs.make(values, shape, DType.Int, dtype, None, scene, device)
    /// A random permutation of 0 .. n-1.
    static member randperm(n: int, ?dtype: DType, ?scene: obj, ?device: Backend) =
        let v = Array.init n id
        Runtime.withRandom (fun r -> r.Shuffle v)
        gs.make(v, [| n |], DType.Int, dtype, None, scene, device)

    /// Zeros shaped like t (same dtype unless given).
    static member zerosLike(t: Tensor, ?dtype: DType, ?requiresGrad: bool, ?scene: obj) = gs.filled(t.shape, 0.0, Some(defaultArg dtype t.dtype), requiresGrad, scene, None)
    /// Ones shaped like t.
    static member onesLike(t: Tensor, ?dtype: DType, ?requiresGrad: bool, ?scene: obj) = gs.filled(t.shape, 1.0, Some(defaultArg dtype t.dtype), requiresGrad, scene, None)
    /// A constant shaped like t.
    static member fullLike(t: Tensor, value: float, ?dtype: DType, ?requiresGrad: bool, ?scene: obj) = gs.filled(t.shape, value, Some(defaultArg dtype t.dtype), requiresGrad, scene, None)
    /// Uniform samples shaped like t.
    static member randLike(t: Tensor, ?dtype: DType, ?requiresGrad: bool, ?scene: obj) = gs.rand(t.shape, defaultArg dtype t.dtype, ?requiresGrad = requiresGrad, ?scene = scene)
    /// Normal samples shaped like t.
    static member randnLike(t: Tensor, ?dtype: DType, ?requiresGrad: bool, ?scene: obj) = gs.randn(t.shape, defaultArg dtype t.dtype, ?requiresGrad = requiresGrad, ?scene = scene)
    /// An empty (zero) tensor shaped like t.
    static member emptyLike(t: Tensor, ?dtype: DType, ?requiresGrad: bool, ?scene: obj) = gs.filled(t.shape, 0.0, Some(defaultArg dtype t.dtype), requiresGrad, scene, None)

    /// Concatenates along a dimension.
    static member cat(tensors: seq<Tensor>, ?dim: int) = ShapeOps.cat (defaultArg dim 0) (Seq.toArray tensors)
    /// Stacks along a new dimension.
    static member stack(tensors: seq<Tensor>, ?dim: int) = ShapeOps.stack (defaultArg dim 0) (Seq.toArray tensors)
    /// cond ? a : b elementwise.
    static member where(cond: Tensor, a: Tensor, b: Tensor) = Apply.where cond a b

    /// The gradient of a scalar-valued f at x.
    static member grad (f: Tensor -> Tensor) (x: Tensor) = Functional.grad f x
    /// f(x) and its gradient.
    static member fgrad (f: Tensor -> Tensor) (x: Tensor) = Functional.fgrad f x
    /// f(x) and its gradient (alias of fgrad).
    static member gradAndValue (f: Tensor -> Tensor) (x: Tensor) = Functional.fgrad f x
    /// The directional derivative grad f(x) . v.
    static member gradv (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) = Functional.gradv f x v
    /// J_f(x) v (forward mode).
    static member jvp (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) = Functional.jvp f x v
    /// f(x) and J_f(x) v.
    static member fjvp (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) = Functional.fjvp f x v
    /// v^T J_f(x) (reverse mode).
    static member vjp (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) = Functional.vjp f x v
    /// f(x) and v^T J_f(x).
    static member fvjp (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) = Functional.fvjp f x v
    /// The Jacobian [f(x).numel; x.numel].
    static member jacobian (f: Tensor -> Tensor) (x: Tensor) = Functional.jacobian f x
    /// J_f(x) v.
    static member jacobianv (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) = Functional.jacobianv f x v
    /// J_f(x)^T v.
    static member jacobianTv (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) = Functional.jacobianTv f x v
    /// The Hessian [x.numel; x.numel] of a scalar-valued f.
    static member hessian (f: Tensor -> Tensor) (x: Tensor) = Functional.hessian f x
    /// H_f(x) v (forward over reverse).
    static member hvp (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) = Functional.hvp f x v
    /// H_f(x) v (alias of hvp, DiffSharp naming).
    static member hessianv (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) = Functional.hvp f x v
    /// df/dx at scalar x.
    static member diff (f: Tensor -> Tensor) (x: Tensor) = Functional.diff f x
    /// d2f/dx2 at scalar x.
    static member diff2 (f: Tensor -> Tensor) (x: Tensor) = Functional.diff2 f x
    /// The n-th derivative at scalar x.
    static member diffn (n: int) (f: Tensor -> Tensor) (x: Tensor) = Functional.diffn n f x
