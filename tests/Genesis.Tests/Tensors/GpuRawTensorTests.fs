module Genesis.Tests.Tensors.GpuRawTensorTests

open System
open Expecto
open Genesis
open Genesis.Cpu
open Genesis.Gpu
open Genesis.Tests.TestUtil

// Tolerances (relative to 1 + |value|): the GPU backend must agree with the CPU backend.
let tolF64 = 1e-12
let tolF32 = 1e-5

/// One CPU-accelerator backend for every GPU test (kernels compile once per accelerator).
let gpuBackend = lazy (GpuBackend.createCpuAccelerator())
/// A CUDA backend when this machine has a CUDA device (the per-backend tests then run on it too).
let cudaBackend = lazy (try Some(GpuBackend.createCuda()) with :? GenesisException -> None)
/// The GPU backend the running test uses (tests are sequenced; each test sets it before it runs).
let mutable private target = gpuBackend
let gpuB () = target.Value
let gpu () = target.Value :> IRawBackend
let cpu = CpuRawTensor.Instance

let rng = Random(20240611)

let floatDTypes = [ DType.Float32; DType.Float64 ]
let numberDTypes = [ DType.Float32; DType.Float64; DType.Int32; DType.Int64 ]
let allDTypes = numberDTypes @ [ DType.Bool ]

/// A host array of dtype with n values drawn by gen (a float in the op's domain).
let hostArray (dt: DType) (n: int) (gen: unit -> float) : Array =
    match dt with
    | DType.Float64 -> Array.init n (fun _ -> gen ()) :> Array
    | DType.Float32 -> Array.init n (fun _ -> float32 (gen ())) :> Array
    | DType.Int32 -> Array.init n (fun _ -> int (Math.Round(gen () * 3.0))) :> Array
    | DType.Int64 -> Array.init n (fun _ -> int64 (Math.Round(gen () * 3.0))) :> Array
    | DType.Bool -> Array.init n (fun _ -> gen () > 0.0) :> Array
    | _ -> failwith "family"

let uniform lo hi () = lo + (hi - lo) * rng.NextDouble()

/// The same data on both backends.
let both (data: Array) (shape: int[]) = cpu.FromHostArray(data, shape), gpu().FromHostArray(data, shape)

/// Random tensors of a dtype and shape on both backends.
let randBoth (dt: DType) (shape: int[]) (gen: unit -> float) = both (hostArray dt (Shape.numel shape) gen) shape

/// Asserts that a CPU and a GPU result agree: shape, dtype, device, values (tolerance by dtype, NaN = NaN).
let agree (what: string) (c: RawTensor) (g: RawTensor) =
    Expect.equal g.Shape c.Shape (what + ": shape")
    Expect.equal g.DType c.DType (what + ": dtype")
    Expect.equal g.Device (gpu ()).Device (what + ": device")
    let close tol (a: float) (b: float) =
        (Double.IsNaN a && Double.IsNaN b) || a = b || abs (a - b) <= tol * (1.0 + max (abs a) (abs b))
    match c.ToHostArray(), g.ToHostArray() with
    | (:? (float[]) as x), (:? (float[]) as y) ->
        for i in 0 .. x.Length - 1 do
            if not (close tolF64 x[i] y[i]) then failtestf "%s: element %d cpu %.17g gpu %.17g" what i x[i] y[i]
    | (:? (float32[]) as x), (:? (float32[]) as y) ->
        for i in 0 .. x.Length - 1 do
            if not (close tolF32 (float x[i]) (float y[i])) then failtestf "%s: element %d cpu %.9g gpu %.9g" what i x[i] y[i]
    | x, y -> Expect.sequenceEqual (Seq.cast<obj> y) (Seq.cast<obj> x) (what + ": values")

/// Runs the same op on both backends and compares.
let check (what: string) (op: RawTensor -> RawTensor) (c: RawTensor, g: RawTensor) = agree what (op c) (op g)

/// Both backends raise a GenesisException containing the fragment.
let bothRaise (fragment: string) (op: RawTensor -> RawTensor) (c: RawTensor, g: RawTensor) =
    throwsWith<GenesisException> [ fragment ] (fun () -> op c |> ignore)
    throwsWith<GenesisException> [ fragment ] (fun () -> op g |> ignore)

let shapes = [ [||]; [| 5 |]; [| 3; 4 |]; [| 2; 3; 4 |] ]
let pairShapes =
    [ [| 3; 4 |], [| 3; 4 |]; [| 3; 1 |], [| 1; 4 |]; [| 2; 3; 4 |], [| 4 |]; [||], [| 2; 3 |]; [| 2; 1; 3 |], [| 4; 1 |]; [| 0; 3 |], [| 3 |] ]

let unaryDomain (k: UnaryKind) =
    match k with
    | UnaryKind.Log | UnaryKind.Sqrt | UnaryKind.Log1p -> uniform 0.05 3.0
    | UnaryKind.Asin | UnaryKind.Acos -> uniform -0.95 0.95
    | _ -> uniform -2.5 2.5

let unaryKinds =
    [ UnaryKind.Neg; UnaryKind.Exp; UnaryKind.Log; UnaryKind.Sqrt; UnaryKind.Abs; UnaryKind.Sign; UnaryKind.Sin; UnaryKind.Cos
      UnaryKind.Tan; UnaryKind.Tanh; UnaryKind.Sigmoid; UnaryKind.Relu; UnaryKind.Softplus; UnaryKind.Floor; UnaryKind.Ceil
      UnaryKind.Round; UnaryKind.Asin; UnaryKind.Acos; UnaryKind.Atan; UnaryKind.Sinh; UnaryKind.Cosh; UnaryKind.Log1p; UnaryKind.Expm1 ]

let binaryKinds =
    [ BinaryKind.Add; BinaryKind.Sub; BinaryKind.Mul; BinaryKind.Div; BinaryKind.Pow; BinaryKind.Max; BinaryKind.Min; BinaryKind.Atan2 ]

let compareKinds = [ CompareKind.Eq; CompareKind.Ne; CompareKind.Lt; CompareKind.Le; CompareKind.Gt; CompareKind.Ge ]

let elementwise =
    testList "elementwise" [
        test "FromHostArray, ToHostArray, Zeros and Full round-trip every dtype" {
            for dt in allDTypes do
                for s in shapes do
                    let c, g = randBoth dt s (uniform -2.0 2.0)
                    agree (sprintf "upload %O %s" dt (Shape.format s)) c g
                    agree "zeros" (cpu.Zeros(s, dt)) (gpu().Zeros(s, dt))
                    for v in [ 2.7; -3.5; 0.0; 1e20 ] do
                        agree (sprintf "full %g %O" v dt) (cpu.Full(s, dt, v)) (gpu().Full(s, dt, v))
        }
        test "every unary op on float32 and float64" {
            for dt in floatDTypes do
                for k in unaryKinds do
                    for s in [ [| 3; 4 |]; [||] ] do
                        randBoth dt s (unaryDomain k) |> check (sprintf "%A %O" k dt) (fun t -> t.Unary k)
        }
        test "round is half to even, sign and relu keep NaN" {
            for dt in floatDTypes do
                let data = [| -2.5; -1.5; -0.5; 0.5; 1.5; 2.5; 0.49; nan; -0.0; infinity |]
                let c, g = both (hostArray dt data.Length (let q = Collections.Generic.Queue(data) in fun () -> q.Dequeue())) [| data.Length |]
                for k in [ UnaryKind.Round; UnaryKind.Sign; UnaryKind.Relu; UnaryKind.Softplus; UnaryKind.Floor; UnaryKind.Abs ] do
                    check (sprintf "%A %O" k dt) (fun t -> t.Unary k) (c, g)
        }
        test "unary ops on ints raise on both backends" {
            randBoth DType.Int32 [| 3 |] (uniform -2.0 2.0) |> bothRaise "needs a float tensor" (fun t -> t.Unary UnaryKind.Exp)
        }
        test "every binary op with broadcasting on every number dtype" {
            for dt in numberDTypes do
                for k in binaryKinds do
                    for sa, sb in pairShapes do
                        let ca, ga = randBoth dt sa (if k = BinaryKind.Pow then uniform 0.1 2.0 else uniform -2.0 2.0)
                        let bGen =
                            match k with
                            | BinaryKind.Div -> (fun () -> (if rng.Next 2 = 0 then -1.0 else 1.0) * uniform 0.4 2.0 ())
                            | BinaryKind.Pow -> uniform -1.0 2.0
                            | _ -> uniform -2.0 2.0
                        let cb, gb = randBoth dt sb bGen
                        agree (sprintf "%A %O %s %s" k dt (Shape.format sa) (Shape.format sb)) (ca.Binary(k, cb)) (ga.Binary(k, gb))
        }
        test "max and min propagate NaN from either side" {
            let c1, g1 = both [| nan; 1.0; 2.0; nan |] [| 4 |]
            let c2, g2 = both [| 1.0; nan; 3.0; nan |] [| 4 |]
            for k in [ BinaryKind.Max; BinaryKind.Min ] do
                agree (sprintf "%A" k) (c1.Binary(k, c2)) (g1.Binary(k, g2))
        }
        test "binary dtype mismatch and bool raise" {
            let c1, g1 = randBoth DType.Float32 [| 3 |] (uniform 0.0 1.0)
            let c2, g2 = randBoth DType.Float64 [| 3 |] (uniform 0.0 1.0)
            throwsWith<GenesisException> [ "dtype mismatch" ] (fun () -> g1.Binary(BinaryKind.Add, g2) |> ignore)
            throwsWith<GenesisException> [ "dtype mismatch" ] (fun () -> c1.Binary(BinaryKind.Add, c2) |> ignore)
            randBoth DType.Bool [| 3 |] (uniform -1.0 1.0) |> bothRaise "not defined" (fun t -> t.Binary(BinaryKind.Add, t))
        }
        test "comparisons with promotion, bools, NaN and broadcasting" {
            let pairs =
                [ DType.Float64, DType.Float64; DType.Float32, DType.Float32; DType.Int32, DType.Int32; DType.Int64, DType.Int32
                  DType.Int32, DType.Float64; DType.Float32, DType.Float64; DType.Bool, DType.Int64; DType.Bool, DType.Bool ]
            for da, db in pairs do
                for k in compareKinds do
                    let ca, ga = randBoth da [| 3; 1 |] (uniform -1.0 1.0)
                    let cb, gb = randBoth db [| 1; 4 |] (uniform -1.0 1.0)
                    agree (sprintf "%A %O %O" k da db) (ca.Compare(k, cb)) (ga.Compare(k, gb))
            let c1, g1 = both [| nan; 1.0; 2.0; 1.0 |] [| 4 |]
            let c2, g2 = both [| nan; nan; 2.0; 3.0 |] [| 4 |]
            for k in compareKinds do
                agree (sprintf "%A NaN" k) (c1.Compare(k, c2)) (g1.Compare(k, g2))
        }
        test "where broadcasts condition and both branches for every dtype" {
            for dt in allDTypes do
                let cc, gc = randBoth DType.Bool [| 3; 1 |] (uniform -1.0 1.0)
                let ca, ga = randBoth dt [| 1; 4 |] (uniform -2.0 2.0)
                let cb, gb = randBoth dt [| 2; 3; 4 |] (uniform -2.0 2.0)
                agree (sprintf "where %O" dt) (ca.Where(cc, cb)) (ga.Where(gc, gb))
        }
        test "cast between every pair of dtypes saturates and maps NaN to 0" {
            let special = [| 1e20; -1e20; nan; -0.7; 0.7; 2.5; -3.5; 0.0; 4e9; -4e9 |]
            for src in allDTypes do
                let data =
                    if src.IsFloating then (let q = Collections.Generic.Queue(special) in hostArray src special.Length (fun () -> q.Dequeue()))
                    else hostArray src 10 (uniform -3.0 3.0)
                let c, g = both data [| 10 |]
                for dst in allDTypes do
                    check (sprintf "cast %O -> %O" src dst) (fun t -> t.Cast dst) (c, g)
            let c, g = both [| Int64.MaxValue; Int64.MinValue + 5L; 1L <<< 40; -7L |] [| 4 |]
            for dst in allDTypes do
                check (sprintf "cast int64 extremes -> %O" dst) (fun t -> t.Cast dst) (c, g)
        }
    ]

let reductions =
    testList "reductions" [
        test "sum, prod, max and min over several dims with and without keepDim" {
            let dimSets = [ [| 0 |]; [| 1 |]; [| 2 |]; [| 0; 2 |]; [| 1; 2 |]; [| 0; 1; 2 |]; [||] ]
            for dt in numberDTypes do
                let pair = randBoth dt [| 2; 3; 4 |] (uniform -1.5 1.5)
                for k in [ ReduceKind.Sum; ReduceKind.Prod; ReduceKind.Max; ReduceKind.Min ] do
                    for dims in dimSets do
                        for keep in [ false; true ] do
                            check (sprintf "%A %O dims %A keep %b" k dt dims keep) (fun t -> t.Reduce(k, dims, keep)) pair
        }
        test "long reductions use the block kernel (one and two passes)" {
            for dt in numberDTypes do
                for n in [ 200; 1000; 5000 ] do
                    let pair = randBoth dt [| n |] (uniform -1.0 1.0)
                    for k in [ ReduceKind.Sum; ReduceKind.Max; ReduceKind.Min ] do
                        check (sprintf "%A %O n=%d" k dt n) (fun t -> t.Reduce(k, [| 0 |], false)) pair
                let pair = randBoth dt [| 3; 700 |] (uniform -1.0 1.0)
                check (sprintf "sum rows %O" dt) (fun t -> t.Reduce(ReduceKind.Sum, [| 1 |], true)) pair
                check (sprintf "sum cols %O" dt) (fun t -> t.Reduce(ReduceKind.Sum, [| 0 |], false)) pair
        }
        test "max/min propagate NaN; empty sums are 0 and empty max raises" {
            let data = Array.init 300 (fun i -> if i = 137 then nan else float i)
            let pair = both data [| 300 |]
            for k in [ ReduceKind.Max; ReduceKind.Min; ReduceKind.Sum ] do
                check (sprintf "%A NaN" k) (fun t -> t.Reduce(k, [| 0 |], false)) pair
            let empty = randBoth DType.Float64 [| 0; 3 |] (uniform 0.0 1.0)
            check "empty sum" (fun t -> t.Reduce(ReduceKind.Sum, [| 0 |], false)) empty
            check "empty prod" (fun t -> t.Reduce(ReduceKind.Prod, [| 0 |], true)) empty
            empty |> bothRaise "empty" (fun t -> t.Reduce(ReduceKind.Max, [| 0 |], false))
        }
        test "argmax/argmin: first of ties, NaN wins, keepDim, rank 0" {
            let data = [| 1.0; 3.0; 3.0; 0.0; 2.0; 2.0; nan; 5.0; 0.0; 0.0; -1.0; -1.0 |]
            for dt in floatDTypes do
                let pair = both (let q = Collections.Generic.Queue(data) in hostArray dt data.Length (fun () -> q.Dequeue())) [| 3; 4 |]
                for k in [ ArgReduceKind.ArgMax; ArgReduceKind.ArgMin ] do
                    for dim in [ 0; 1 ] do
                        for keep in [ false; true ] do
                            check (sprintf "%A %O dim %d keep %b" k dt dim keep) (fun t -> t.ArgReduce(k, dim, keep)) pair
            for dt in [ DType.Int32; DType.Int64 ] do
                let pair = randBoth dt [| 2; 3; 4 |] (uniform -1.0 1.0)
                for dim in [ 0; 1; 2 ] do
                    check (sprintf "argmax %O dim %d" dt dim) (fun t -> t.ArgReduce(ArgReduceKind.ArgMax, dim, false)) pair
            let scalar = gpu().FromHostArray([| 2.5 |], [||])
            Expect.equal (scalar.ArgReduce(ArgReduceKind.ArgMax, 0, false).ToHostArray()) ([| 0L |] :> Array) "rank 0 (GPU only: the CPU backend's permute needs rank >= 1)"
        }
        test "cumsum along every dim" {
            for dt in numberDTypes do
                let pair = randBoth dt [| 2; 3; 4 |] (uniform -1.0 1.0)
                for dim in [ 0; 1; 2 ] do
                    check (sprintf "cumsum %O dim %d" dt dim) (fun t -> t.Cumsum dim) pair
            randBoth DType.Bool [| 3 |] (uniform -1.0 1.0) |> bothRaise "cumsum" (fun t -> t.Cumsum 0)
        }
    ]

let linalgAndShape =
    testList "matmul and shape ops" [
        test "matmul batched, non-square, sizes not a multiple of the tile" {
            for dt in numberDTypes do
                for batch, n, k, m in [ [||], 1, 1, 1; [||], 5, 7, 3; [| 2 |], 17, 9, 13; [| 2; 3 |], 4, 6, 5; [||], 33, 20, 18 ] do
                    let ca, ga = randBoth dt (Array.append batch [| n; k |]) (uniform -1.0 1.0)
                    let cb, gb = randBoth dt (Array.append batch [| k; m |]) (uniform -1.0 1.0)
                    agree (sprintf "matmul %O %A %dx%dx%d" dt batch n k m) (ca.MatMul cb) (ga.MatMul gb)
        }
        test "permute, expand, reshape, slice, padSlice and flip on every dtype" {
            for dt in allDTypes do
                let pair = randBoth dt [| 2; 3; 4 |] (uniform -2.0 2.0)
                check "permute" (fun t -> t.Permute [| 2; 0; 1 |]) pair
                check "permute id" (fun t -> t.Permute [| 0; 1; 2 |]) pair
                check "reshape" (fun t -> t.Reshape [| 6; 4 |]) pair
                check "slice" (fun t -> t.Slice([| 1; 0; 1 |], [| 1; 2; 3 |])) pair
                check "padSlice" (fun t -> t.PadSlice([| 4; 5; 6 |], [| 1; 2; 0 |])) pair
                check "flip 0 2" (fun t -> t.Flip [| 0; 2 |]) pair
                check "flip 1" (fun t -> t.Flip [| 1 |]) pair
                check "expand" (fun t -> t.Reshape([| 2; 1; 3; 4 |]).Expand [| 5; 2; 2; 3; 4 |]) pair
                check "expand scalar" (fun t -> t.Slice([| 0; 0; 0 |], [| 1; 1; 1 |]).Reshape([||]).Expand [| 3; 2 |]) pair
        }
        test "cat along every dim" {
            for dt in allDTypes do
                let a = randBoth dt [| 2; 3; 4 |] (uniform -2.0 2.0)
                for dim in [ 0; 1; 2 ] do
                    let bShape = [| 2; 3; 4 |] |> Array.mapi (fun d s -> if d = dim then 2 else s)
                    let b = randBoth dt bShape (uniform -2.0 2.0)
                    agree (sprintf "cat %O dim %d" dt dim) (cpu.Cat([| fst a; fst b; fst a |], dim)) (gpu().Cat([| snd a; snd b; snd a |], dim))
        }
        test "gather and scatterAdd along every dim with int32 and int64 indices" {
            for dt in numberDTypes do
                let pair = randBoth dt [| 3; 4; 5 |] (uniform -2.0 2.0)
                for dim in [ 0; 1; 2 ] do
                    let idxShape = [| 3; 4; 5 |] |> Array.mapi (fun d s -> if d = dim then 6 else max 1 (s - 1))
                    let size = [| 3; 4; 5 |][dim]
                    for idt in [ DType.Int64; DType.Int32 ] do
                        let ci, gi = randBoth idt idxShape (fun () -> float (rng.Next size) / 3.0)
                        agree (sprintf "gather %O dim %d %O" dt dim idt) ((fst pair).Gather(dim, ci)) ((snd pair).Gather(dim, gi))
                        let srcShape = idxShape |> Array.map (fun s -> s + 1)
                        let cs, gs = randBoth dt srcShape (uniform -2.0 2.0)
                        agree (sprintf "scatterAdd %O dim %d %O" dt dim idt) ((fst pair).ScatterAdd(dim, ci, cs)) ((snd pair).ScatterAdd(dim, gi, gs))
        }
        test "gather and scatterAdd out of range raise on both backends" {
            let c, g = randBoth DType.Float64 [| 3; 4 |] (uniform 0.0 1.0)
            let ci, gi = both [| 0L; 4L; 1L |] [| 1; 3 |]
            throwsWith<GenesisException> [ "out of range"; "4" ] (fun () -> c.Gather(1, ci) |> ignore)
            throwsWith<GenesisException> [ "out of range"; "4" ] (fun () -> g.Gather(1, gi) |> ignore)
            let cs, gs = randBoth DType.Float64 [| 1; 3 |] (uniform 0.0 1.0)
            throwsWith<GenesisException> [ "out of range" ] (fun () -> c.ScatterAdd(1, ci, cs) |> ignore)
            throwsWith<GenesisException> [ "out of range" ] (fun () -> g.ScatterAdd(1, gi, gs) |> ignore)
        }
    ]

let backendTests =
    testList "backend" [
        test "mixing CPU and GPU raw tensors raises on both sides" {
            let c, g = randBoth DType.Float64 [| 3 |] (uniform 0.0 1.0)
            let name = (gpu ()).Device.Name
            throwsWith<GenesisException> [ "cannot be mixed"; name ] (fun () -> g.Binary(BinaryKind.Add, c) |> ignore)
            throwsWith<GenesisException> [ "cannot be mixed"; name ] (fun () -> c.Binary(BinaryKind.Add, g) |> ignore)
            throwsWith<GenesisException> [ "cannot be mixed" ] (fun () -> gpu().Cat([| g; c |], 0) |> ignore)
        }
        test "CUDA selection without a device names GENESIS_GPU=cpu" {
            match (try Ok(GpuBackend.createCuda()) with e -> Error e) with
            | Ok b -> b.Dispose() // a CUDA machine: nothing to check here
            | Error e ->
                Expect.isTrue (e :? GenesisException) "a GenesisException"
                Expect.stringContains e.Message "CUDA" "names CUDA"
                Expect.stringContains e.Message "GENESIS_GPU=cpu" "names the CPU accelerator option"
        }
        test "Dispose frees device bytes at once; a reshaped view keeps the storage alive" {
            let b = gpuB ()
            GC.Collect()
            GC.WaitForPendingFinalizers()
            b.Collect()
            let before = b.AllocatedBytes
            let t = (gpu().Zeros([| 1000 |], DType.Float64)) :?> GpuRawTensor
            Expect.equal (b.AllocatedBytes - before) 8000L "8000 bytes allocated"
            let v = t.Reshape [| 10; 100 |] :?> GpuRawTensor
            t.Dispose()
            Expect.equal (b.AllocatedBytes - before) 8000L "the view still holds the buffer"
            Expect.equal (RawTensor.toFloatArray v |> Array.sum) 0.0 "the view still reads"
            let pooledBefore = b.PooledBytes
            v.Dispose()
            Expect.equal b.AllocatedBytes before "freed"
            Expect.equal (b.PooledBytes - pooledBefore) 8000L "the buffer waits in the reuse pool"
            throwsWith<ObjectDisposedException> [ "disposed" ] (fun () -> v.ToHostArray() |> ignore)
            let again = gpu().Zeros([| 1000 |], DType.Float64) :?> GpuRawTensor
            Expect.equal b.PooledBytes pooledBefore "a tensor of the same type and length reuses it"
            Expect.equal (RawTensor.toFloatArray again |> Array.sum) 0.0 "reused storage is zeroed by Zeros"
            again.Dispose()
            b.TrimPool()
            Expect.equal b.PooledBytes 0L "TrimPool frees the pool"
            b.PoolLimitBytes <- 0L
            (gpu().Zeros([| 10 |], DType.Float32) :?> GpuRawTensor).Dispose()
            Expect.equal b.PooledBytes 0L "no pooling with a zero limit"
            b.PoolLimitBytes <- 256L * 1024L * 1024L
        }
        test "10,000 ops with dropped tensors do not grow device memory" {
            let b = gpuB ()
            let x = gpu().FromHostArray([| 0.1; 0.2; 0.3; 0.4 |], [| 4 |])
            GC.Collect()
            GC.WaitForPendingFinalizers()
            b.Collect()
            b.TrimPool()
            let before = b.AllocatedBytes
            let buffersBefore = b.LiveBuffers
            let mutable acc = x
            for i in 1 .. 5000 do // two ops per iteration: 10,000 ops
                let y = acc.Unary(UnaryKind.Sin).Binary(BinaryKind.Add, x)
                acc <- if i % 100 = 0 then x else y
                if i % 1000 = 0 then
                    GC.Collect()
                    GC.WaitForPendingFinalizers()
            acc <- x
            GC.Collect()
            GC.WaitForPendingFinalizers()
            let after = b.AllocatedBytes
            Expect.isLessThanOrEqual after before (sprintf "device bytes before %d, after %d" before after)
            Expect.isLessThanOrEqual b.LiveBuffers buffersBefore "live buffers"
            Expect.isLessThanOrEqual b.PooledBytes b.PoolLimitBytes "the reuse pool stays within its limit"
            Expect.isLessThanOrEqual b.PooledBytes (2L * 1000L * 2L * 32L) "the pool holds at most the garbage of one GC window (2 x 1000 iterations x 2 buffers x 32 bytes)"
        }
        test "every kernel specialisation compiles to PTX (CUDA backend, no device needed)" {
            let failures = Genesis.Gpu.Kernels.PtxCheck.CompileAll()
            Expect.isGreaterThan Genesis.Gpu.Kernels.PtxCheck.Count 50 "all specialisations enumerated"
            Expect.stringContains (Genesis.Gpu.Kernels.PtxCheck.PtxOf "LuSolve<Double>") ".entry" "the physics step's LU solve compiles"
            let mm = Genesis.Gpu.Kernels.PtxCheck.PtxOf "MatMul<Double>"
            Expect.stringContains mm "bar.sync" "the tiled matmul synchronises its group"
            Expect.stringContains mm ".shared" "the tiled matmul uses shared memory"
            Expect.stringContains (Genesis.Gpu.Kernels.PtxCheck.PtxOf "ScatterAdd<Double>") "atom" "scatterAdd adds atomically"
            if failures.Count > 0 then
                failtestf "%d of %d kernels do not compile to PTX:\n%s" failures.Count Genesis.Gpu.Kernels.PtxCheck.Count
                    (failures |> Seq.map (fun struct (k, e) -> k + ": " + e) |> String.concat "\n")
        }
        test "kernels are compiled once per accelerator" {
            let c, g = randBoth DType.Float64 [| 4 |] (uniform 0.0 1.0)
            check "warm" (fun t -> t.Unary UnaryKind.Cos) (c, g)
            let n = (gpuB ()).CompiledKernels
            for _ in 1 .. 5 do
                check "again" (fun t -> t.Unary UnaryKind.Cos) (c, g)
            Expect.equal (gpuB ()).CompiledKernels n "no recompilation"
        }
    ]

// The AD layer over the GPU backend, through gs (process-wide state: sequenced).
let private withGs (backend: Backend) (f: unit -> 'a) =
    gs.destroy ()
    gs.init (backend = backend, precision = "64", seed = 1)
    try f () finally gs.destroy ()

let private onBoth (f: unit -> Tensor) =
    let c = withGs Backend.Cpu (fun () -> let r = f () in r.raw.Device, r.toFloatArray (), r.shape)
    GpuBackend.Default <- gpuBackend.Value
    let g = withGs Backend.Gpu (fun () -> let r = f () in r.raw.Device, r.toFloatArray (), r.shape)
    c, g

let private agreeAD (what: string) ((cd, cv: float[], cs), (gd, gv: float[], gs: int[])) =
    Expect.equal cd Device.Cpu (what + ": cpu device")
    Expect.equal gd (Device.Accelerator "ilgpu-cpu") (what + ": gpu device")
    Expect.equal gs cs (what + ": shape")
    for i in 0 .. cv.Length - 1 do
        if abs (cv[i] - gv[i]) > 1e-10 * (1.0 + abs cv[i]) then failtestf "%s: element %d cpu %.17g gpu %.17g" what i cv[i] gv[i]

let adTests =
    testSequenced <| testList "autodiff over the GPU backend" [
        test "grad, jvp, hessian and backward agree with the CPU backend" {
            let x () = gs.tensor([ 0.3; -1.2; 0.8; 2.0 ])
            let v () = gs.tensor([ 1.0; 0.5; -0.25; 2.0 ])
            let f (x: Tensor) = (x.sin() * x.exp() + x.pow(2.0)).sum() + (x.reshape([ 2; 2 ]).matmul(x.reshape([ 2; 2 ]))).tanh().sum()
            onBoth (fun () -> gs.grad f (x ())) |> agreeAD "grad"
            onBoth (fun () -> gs.jvp f (x ()) (v ())) |> agreeAD "jvp"
            onBoth (fun () -> gs.hessian f (x ())) |> agreeAD "hessian"
            onBoth (fun () -> gs.hvp f (x ()) (v ())) |> agreeAD "hvp"
            let h (x: Tensor) = (x.cumsum(0) * x.flip([ 0 ])).max() + x.abs().mean() + x.gather(0, gs.tensor([ 3; 0; 0 ], dtype = DType.Int64)).sum()
            onBoth (fun () -> gs.grad h (x ())) |> agreeAD "grad of cumsum/flip/max/gather"
            onBoth (fun () -> gs.jacobian (fun x -> x.reshape([ 2; 2 ]).T.exp()) (x ())) |> agreeAD "jacobian"
            onBoth (fun () ->
                let p = gs.tensor([ 0.5; 1.5; -0.5 ], requiresGrad = true)
                let loss = (p * p * p).sum() + p.[0..1].sum()
                loss.backward ()
                p.grad) |> agreeAD "backward"
        }
        test "batched solve runs on the device (no transfer) and agrees with the CPU's LU, pivoting included" {
            // a zero leading pivot forces a row swap; the batch holds two systems with two right-hand sides
            let a () = gs.tensor([ 0.0; 2.0; 1.0; 1.0; 1.0; 0.0; 3.0; 0.0; 1.0; 4.0; 1.0; 0.5; 1.0; 3.0; 1.0; 0.5; 1.0; 5.0 ]).reshape([ 2; 3; 3 ])
            let b () = gs.tensor([ 1.0; 2.0; 3.0; -1.0; 0.5; 4.0; 2.0; 0.0; -3.0; 1.0; 1.0; 1.0 ]).reshape([ 2; 3; 2 ])
            onBoth (fun () -> Solve.solve (a ()) (b ())) |> agreeAD "solve"
            onBoth (fun () ->
                let flat = a().flatten()
                gs.grad (fun (m: Tensor) -> (Solve.solve (m.reshape([ 2; 3; 3 ])) (b ())).pow(2.0).sum()) flat) |> agreeAD "grad of solve"
            GpuBackend.Default <- gpuBackend.Value
            withGs Backend.Gpu (fun () ->
                let x, y = a (), b ()
                let before = gpuBackend.Value.Uploads + gpuBackend.Value.Downloads
                let r = Solve.solve x y
                Expect.equal (gpuBackend.Value.Uploads + gpuBackend.Value.Downloads) before "no host-device transfer"
                Expect.equal r.device (Device.Accelerator "ilgpu-cpu") "on the device")
        }
        test "gs.init(Backend.Gpu) selects from GENESIS_GPU: cpu -> CPU accelerator, unset without CUDA -> clear error" {
            let saved = Environment.GetEnvironmentVariable "GENESIS_GPU"
            try
                Environment.SetEnvironmentVariable("GENESIS_GPU", "cpu")
                GpuBackend.clearDefault ()
                withGs Backend.Gpu (fun () ->
                    let t = gs.tensor([ 1.0; 2.0 ]) * 3.0
                    Expect.equal t.device (Device.Accelerator "ilgpu-cpu") "GENESIS_GPU=cpu selects the CPU accelerator"
                    Expect.equal (t.toFloatArray ()) [| 3.0; 6.0 |] "and computes")
                GpuBackend.Default.Dispose()
                Environment.SetEnvironmentVariable("GENESIS_GPU", "bogus")
                GpuBackend.clearDefault ()
                gs.destroy ()
                throwsWith<GenesisException> [ "GENESIS_GPU=bogus"; "GENESIS_GPU=cpu" ] (fun () -> gs.init (backend = Backend.Gpu))
                Environment.SetEnvironmentVariable("GENESIS_GPU", null)
                GpuBackend.clearDefault ()
                match (try gs.init (backend = Backend.Gpu); None with e -> Some e) with
                | None -> gs.destroy () // a CUDA machine: init succeeds
                | Some e ->
                    Expect.isTrue (e :? GenesisException) (sprintf "a GenesisException, got %s" (e.GetType().Name))
                    Expect.stringContains e.Message "no CUDA device" "names the missing CUDA device"
                    Expect.stringContains e.Message "GENESIS_GPU=cpu" "names the CPU accelerator option"
                    Expect.isFalse gs.isInitialized "init left no state behind"
            finally
                Environment.SetEnvironmentVariable("GENESIS_GPU", saved)
                GpuBackend.Default <- gpuBackend.Value
                gs.destroy ()
        }
        test "gs.init(Backend.Gpu) uses GpuBackend.Default and mixing with CPU tensors raises" {
            GpuBackend.Default <- gpuBackend.Value
            let cpuTensor = withGs Backend.Cpu (fun () -> gs.tensor([ 1.0; 2.0 ]))
            withGs Backend.Gpu (fun () ->
                let t = gs.tensor([ 1.0; 2.0 ])
                Expect.equal t.device (Device.Accelerator "ilgpu-cpu") "device"
                Expect.equal gs.backend Backend.Gpu "backend"
                throwsWith<GenesisException> [ "cannot be mixed" ] (fun () -> (t + cpuTensor).toFloatArray () |> ignore))
        }
    ]

/// Makes every test case of t run `first` before it runs (e.g. to select a backend).
let rec beforeEach (first: unit -> unit) (t: Test) =
    match t with
    | TestCase(Sync f, state) -> TestCase(Sync(fun () -> first (); f ()), state)
    | TestList(tests, state) -> TestList(tests |> List.map (beforeEach first), state)
    | TestLabel(name, inner, state) -> TestLabel(name, beforeEach first inner, state)
    | Test.Sequenced(how, inner) -> Test.Sequenced(how, beforeEach first inner)
    | other -> other

/// Makes every test case of t select backend before it runs.
let private selectIn (backend: Lazy<GpuBackend>) (t: Test) = beforeEach (fun () -> target <- backend) t

/// Runs a test list on one GPU backend.
let private onTarget (name: string) (backend: Lazy<GpuBackend>) (t: Test) = testList name [ selectIn backend t ]

[<Tests>]
let tests =
    let perBackend = testList "raw ops" [ elementwise; reductions; linalgAndShape; backendTests ]
    testSequenced <| testList "Tensors.Gpu" [
        yield onTarget "ilgpu-cpu" gpuBackend perBackend
        match cudaBackend.Value with
        | Some b -> yield onTarget "cuda" (lazy b) perBackend
        | None -> ()
        yield adTests ]
