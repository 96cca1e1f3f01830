module Genesis.Tests.Tensors.RawCpuTests

open System
open Expecto
open Genesis
open Genesis.Cpu
open Genesis.Tests.TestUtil

/// The CPU raw backend (no gs runtime needed at this layer).
let private cpu = CpuRawTensor.Instance

let private raw (shape: int[]) (data: Array) = cpu.FromHostArray(data, shape)
let private f64 (shape: int[]) (data: float[]) = raw shape data
let private values (t: RawTensor) = RawTensor.toFloatArray t

let private expectRaw (msg: string) (dtype: DType) (shape: int[]) (expected: float[]) (t: RawTensor) =
    Expect.equal t.Shape shape (msg + ": shape")
    Expect.equal t.DType dtype (msg + ": dtype")
    let v = values t
    Expect.equal v.Length expected.Length (msg + ": length")
    for i in 0 .. v.Length - 1 do
        let ok = (Double.IsNaN v[i] && Double.IsNaN expected[i]) || abs (v[i] - expected[i]) <= 1e-12 * (1.0 + abs expected[i])
        if not ok then failtestf "%s: element %d is %g, expected %g (%A)" msg i v[i] expected[i] v

let private shapeTests =
    testList "Shape, DType" [
        test "broadcast follows PyTorch rules and names both shapes when it fails" {
            Expect.equal (Shape.broadcast [| 2; 1; 3 |] [| 4; 1 |]) [| 2; 4; 3 |] "broadcast"
            Expect.equal (Shape.broadcast [||] [| 2 |]) [| 2 |] "scalar"
            Expect.isNone (Shape.tryBroadcast [| 2 |] [| 3 |]) "incompatible"
            throwsWith<GenesisException> [ "[2; 3]"; "[4]" ] (fun () -> Shape.broadcast [| 2; 3 |] [| 4 |] |> ignore)
        }
        test "strides, numel, canExpand, broadcastStrides" {
            Expect.equal (Shape.strides [| 2; 3; 4 |]) [| 12; 4; 1 |] "strides"
            Expect.equal (Shape.numel [||]) 1 "scalar numel"
            Expect.equal (Shape.numel [| 2; 0 |]) 0 "empty numel"
            Expect.isTrue (Shape.canExpand [| 3; 1 |] [| 2; 3; 4 |]) "canExpand"
            Expect.isFalse (Shape.canExpand [| 3; 2 |] [| 3; 4 |]) "cannot"
            Expect.equal (Shape.broadcastStrides [| 3; 1 |] [| 2; 3; 4 |]) [| 0; 1; 0 |] "broadcast strides"
            Expect.equal (Shape.format [| 2; 3 |]) "[2; 3]" "format"
        }
        test "normDim and resolveReshape" {
            Expect.equal (Shape.normDim 3 -1) 2 "negative"
            Expect.equal (Shape.normDim 0 0) 0 "dim 0 of a scalar (reductions accept it)"
            throwsWith<GenesisException> [ "dimension 3 out of range"; "rank 3" ] (fun () -> Shape.normDim 3 3 |> ignore)
            throwsWith<GenesisException> [ "dimension -4" ] (fun () -> Shape.normDim 3 -4 |> ignore)
            Expect.equal (Shape.resolveReshape 12 [| 3; -1 |]) [| 3; 4 |] "-1"
            throwsWith<GenesisException> [ "12 elements"; "[5; -1]" ] (fun () -> Shape.resolveReshape 12 [| 5; -1 |] |> ignore)
            throwsWith<ArgumentException> [ "negative size" ] (fun () -> Shape.check [| 1; -2 |])
        }
        test "dtype promotion: float32 with float64 is refused, otherwise the wider type wins" {
            Expect.isNone (DTypes.tryPromote DType.Float32 DType.Float64) "float32 + float64"
            Expect.isNone (DTypes.tryPromote DType.Float64 DType.Float32) "float64 + float32"
            Expect.equal (DTypes.tryPromote DType.Int32 DType.Int64) (Some DType.Int64) "int32 + int64"
            Expect.equal (DTypes.tryPromote DType.Int64 DType.Float32) (Some DType.Float32) "int64 + float32"
            Expect.equal (DTypes.tryPromote DType.Bool DType.Int32) (Some DType.Int32) "bool + int32"
            Expect.equal (DTypes.tryPromote DType.Float64 DType.Float64) (Some DType.Float64) "same"
        }
        test "dtype properties and names" {
            Expect.isTrue DType.Float.IsFloating "Float family is floating"
            Expect.isTrue (DType.Int.IsIntegral && DType.Int.IsFamily) "Int family"
            Expect.isFalse DType.Bool.IsFloating "bool"
            Expect.equal (DType.Float64.SizeInBytes, DType.Int32.SizeInBytes, DType.Bool.SizeInBytes) (8, 4, 1) "sizes"
            Expect.equal (string DType.Float32) "float32" "name"
            throwsWith<ArgumentException> [ "family" ] (fun () -> DType.Float.SizeInBytes |> ignore)
        }
    ]

let private backendTests =
    testList "CPU backend" [
        test "FromHostArray and ToHostArray copy; element count is checked" {
            let data = [| 1.0; 2.0 |]
            let t = f64 [| 2 |] data
            data[0] <- 9.0
            let out = t.ToHostArray() :?> float[]
            out[1] <- 9.0
            expectRaw "copies" DType.Float64 [| 2 |] [| 1.0; 2.0 |] t
            throwsWith<GenesisException> [ "3 elements"; "[2; 2]" ] (fun () -> raw [| 2; 2 |] [| 1.0; 2.0; 3.0 |] |> ignore)
            throwsWith<GenesisException> [ "unsupported element type" ] (fun () -> raw [| 1 |] [| 1s |] |> ignore)
            Expect.equal t.Device Device.Cpu "device"
            Expect.isTrue t.IsContiguous "contiguous"
        }
        test "Zeros and Full for every dtype; families must be resolved first" {
            for dt in [ DType.Float32; DType.Float64; DType.Int32; DType.Int64; DType.Bool ] do
                expectRaw (string dt) dt [| 2 |] [| 0.0; 0.0 |] (cpu.Zeros([| 2 |], dt))
                expectRaw (string dt) dt [| 1 |] [| 1.0 |] (cpu.Full([| 1 |], dt, 1.0))
            throwsWith<ArgumentException> [ "resolve" ] (fun () -> cpu.Zeros([| 1 |], DType.Float) |> ignore)
        }
        test "Unary needs a float tensor; Binary broadcasts and needs equal dtypes" {
            expectRaw "exp" DType.Float64 [| 2 |] [| 1.0; Math.E |] ((f64 [| 2 |] [| 0.0; 1.0 |]).Unary UnaryKind.Exp)
            throwsWith<GenesisException> [ "float tensor"; "int32" ] (fun () -> (raw [| 1 |] [| 1 |]).Unary UnaryKind.Exp |> ignore)
            let a = f64 [| 2; 1 |] [| 1.0; 2.0 |]
            let b = f64 [| 3 |] [| 10.0; 20.0; 30.0 |]
            expectRaw "add" DType.Float64 [| 2; 3 |] [| 11.0; 21.0; 31.0; 12.0; 22.0; 32.0 |] (a.Binary(BinaryKind.Add, b))
            expectRaw "sub" DType.Float64 [| 2; 3 |] [| -9.0; -19.0; -29.0; -8.0; -18.0; -28.0 |] (a.Binary(BinaryKind.Sub, b))
            expectRaw "pow" DType.Float64 [| 2 |] [| 8.0; 9.0 |] ((f64 [| 2 |] [| 2.0; 3.0 |]).Binary(BinaryKind.Pow, f64 [| 2 |] [| 3.0; 2.0 |]))
            expectRaw "int div truncates" DType.Int32 [| 2 |] [| 3.0; -3.0 |] ((raw [| 2 |] [| 7; -7 |]).Binary(BinaryKind.Div, raw [| 2 |] [| 2; 2 |]))
            expectRaw "int pow through float64" DType.Int64 [| 2 |] [| 8.0; 1.0 |] ((raw [| 2 |] [| 2L; 1L |]).Binary(BinaryKind.Pow, raw [| 2 |] [| 3L; 5L |]))
            expectRaw "int max" DType.Int64 [| 2 |] [| 2.0; 5.0 |] ((raw [| 2 |] [| 2L; 1L |]).Binary(BinaryKind.Max, raw [| 2 |] [| 1L; 5L |]))
            throwsWith<GenesisException> [ "dtype mismatch"; "float64"; "float32" ] (fun () -> b.Binary(BinaryKind.Add, raw [| 3 |] [| 1.0f; 2.0f; 3.0f |]) |> ignore)
            throwsWith<GenesisException> [ "[2; 3]"; "[4]" ] (fun () -> (f64 [| 2; 3 |] (Array.zeroCreate 6)).Binary(BinaryKind.Add, f64 [| 4 |] (Array.zeroCreate 4)) |> ignore)
        }
        test "Compare promotes (bool to int, float32 with float64 to float64) and broadcasts" {
            expectRaw "lt" DType.Bool [| 2; 2 |] [| 0.0; 0.0; 1.0; 0.0 |] ((f64 [| 2; 1 |] [| 3.0; 1.0 |]).Compare(CompareKind.Lt, f64 [| 2 |] [| 2.0; 1.0 |]))
            expectRaw "float32 vs float64" DType.Bool [| 1 |] [| 0.0 |] ((raw [| 1 |] [| 0.1f |]).Compare(CompareKind.Eq, f64 [| 1 |] [| 0.1 |]))
            expectRaw "bool vs int" DType.Bool [| 2 |] [| 1.0; 1.0 |] ((raw [| 2 |] [| true; false |]).Compare(CompareKind.Eq, raw [| 2 |] [| 1; 0 |]))
            expectRaw "NaN is unequal to itself" DType.Bool [| 1 |] [| 1.0 |] ((f64 [| 1 |] [| nan |]).Compare(CompareKind.Ne, f64 [| 1 |] [| nan |]))
        }
        test "Where broadcasts all three; the condition must be bool and operands share a dtype" {
            let cond = raw [| 2; 1 |] [| true; false |]
            let r = (f64 [| 2 |] [| 1.0; 2.0 |]).Where(cond, f64 [||] [| 0.0 |])
            expectRaw "where" DType.Float64 [| 2; 2 |] [| 1.0; 2.0; 0.0; 0.0 |] r
            throwsWith<GenesisException> [ "condition must be bool" ] (fun () -> (f64 [| 1 |] [| 1.0 |]).Where(f64 [| 1 |] [| 1.0 |], f64 [| 1 |] [| 1.0 |]) |> ignore)
            throwsWith<GenesisException> [ "dtype mismatch" ] (fun () -> (f64 [| 1 |] [| 1.0 |]).Where(raw [| 1 |] [| true |], raw [| 1 |] [| 1 |]) |> ignore)
        }
        test "Reduce: sum, prod, max, min over dims with and without keepDim" {
            let x = f64 [| 2; 3 |] [| 1.0; 5.0; 3.0; 4.0; 2.0; 6.0 |]
            expectRaw "sum 1" DType.Float64 [| 2 |] [| 9.0; 12.0 |] (x.Reduce(ReduceKind.Sum, [| 1 |], false))
            expectRaw "prod 0 keep" DType.Float64 [| 1; 3 |] [| 4.0; 10.0; 18.0 |] (x.Reduce(ReduceKind.Prod, [| 0 |], true))
            expectRaw "max all" DType.Float64 [||] [| 6.0 |] (x.Reduce(ReduceKind.Max, [| 0; 1 |], false))
            expectRaw "min 1" DType.Float64 [| 2 |] [| 1.0; 2.0 |] (x.Reduce(ReduceKind.Min, [| 1 |], false))
            expectRaw "max propagates NaN" DType.Float64 [||] [| nan |] ((f64 [| 3 |] [| 1.0; nan; 3.0 |]).Reduce(ReduceKind.Max, [| 0 |], false))
            expectRaw "sum of an empty dim" DType.Float64 [| 2 |] [| 0.0; 0.0 |] ((f64 [| 2; 0 |] [||]).Reduce(ReduceKind.Sum, [| 1 |], false))
            expectRaw "prod of an empty dim" DType.Float64 [| 2 |] [| 1.0; 1.0 |] ((f64 [| 2; 0 |] [||]).Reduce(ReduceKind.Prod, [| 1 |], false))
            throwsWith<GenesisException> [ "empty" ] (fun () -> (f64 [| 2; 0 |] [||]).Reduce(ReduceKind.Max, [| 1 |], false) |> ignore)
            expectRaw "int sum" DType.Int32 [| 3 |] [| 5.0; 7.0; 9.0 |] ((raw [| 2; 3 |] [| 1; 2; 3; 4; 5; 6 |]).Reduce(ReduceKind.Sum, [| 0 |], false))
            throwsWith<GenesisException> [ "Sum"; "bool" ] (fun () -> (raw [| 1 |] [| true |]).Reduce(ReduceKind.Sum, [| 0 |], false) |> ignore)
        }
        test "ArgReduce: first occurrence, NaN counts as the max, keepDim" {
            let x = f64 [| 2; 3 |] [| 1.0; 5.0; 5.0; 4.0; nan; 6.0 |]
            expectRaw "argmax 1" DType.Int64 [| 2 |] [| 1.0; 1.0 |] (x.ArgReduce(ArgReduceKind.ArgMax, 1, false))
            expectRaw "argmin 0 keep" DType.Int64 [| 1; 3 |] [| 0.0; 1.0; 0.0 |] (x.ArgReduce(ArgReduceKind.ArgMin, 0, true))
        }
        test "MatMul: batched" {
            let a = f64 [| 2; 1; 2 |] [| 1.0; 2.0; 3.0; 4.0 |]
            let b = f64 [| 2; 2; 1 |] [| 5.0; 6.0; 7.0; 8.0 |]
            expectRaw "batched" DType.Float64 [| 2; 1; 1 |] [| 17.0; 53.0 |] (a.MatMul b)
        }
        test "Permute, Expand, Reshape, Slice, PadSlice, Flip, Cumsum" {
            let x = f64 [| 2; 3 |] [| 0.0; 1.0; 2.0; 3.0; 4.0; 5.0 |]
            expectRaw "permute" DType.Float64 [| 3; 2 |] [| 0.0; 3.0; 1.0; 4.0; 2.0; 5.0 |] (x.Permute [| 1; 0 |])
            expectRaw "expand" DType.Float64 [| 2; 2 |] [| 7.0; 8.0; 7.0; 8.0 |] ((f64 [| 2 |] [| 7.0; 8.0 |]).Expand [| 2; 2 |])
            expectRaw "reshape" DType.Float64 [| 3; 2 |] [| 0.0 .. 5.0 |] (x.Reshape [| 3; 2 |])
            expectRaw "slice" DType.Float64 [| 2; 2 |] [| 1.0; 2.0; 4.0; 5.0 |] (x.Slice([| 0; 1 |], [| 2; 2 |]))
            expectRaw "padSlice" DType.Float64 [| 3; 3 |] [| 0.0; 0.0; 0.0; 0.0; 1.0; 2.0; 0.0; 4.0; 5.0 |] ((x.Slice([| 0; 1 |], [| 2; 2 |])).PadSlice([| 3; 3 |], [| 1; 1 |]))
            expectRaw "flip" DType.Float64 [| 2; 3 |] [| 5.0; 4.0; 3.0; 2.0; 1.0; 0.0 |] (x.Flip [| 0; 1 |])
            expectRaw "cumsum" DType.Float64 [| 2; 3 |] [| 0.0; 1.0; 3.0; 3.0; 7.0; 12.0 |] (x.Cumsum 1)
            expectRaw "bool permute" DType.Bool [| 2; 1 |] [| 1.0; 0.0 |] ((raw [| 1; 2 |] [| true; false |]).Permute [| 1; 0 |])
        }
        test "Gather and ScatterAdd check their indices" {
            let x = f64 [| 2; 2 |] [| 1.0; 2.0; 3.0; 4.0 |]
            let idx = raw [| 2; 1 |] [| 1L; 0L |]
            expectRaw "gather" DType.Float64 [| 2; 1 |] [| 2.0; 3.0 |] (x.Gather(1, idx))
            expectRaw "scatterAdd" DType.Float64 [| 2; 2 |] [| 1.0; 12.0; 23.0; 4.0 |] (x.ScatterAdd(1, idx, f64 [| 2; 1 |] [| 10.0; 20.0 |]))
            throwsWith<GenesisException> [ "index 2 out of range"; "size 2" ] (fun () -> x.Gather(1, raw [| 1; 1 |] [| 2L |]) |> ignore)
            throwsWith<GenesisException> [ "index tensors must be int32 or int64"; "float64" ] (fun () -> x.Gather(1, f64 [| 1; 1 |] [| 0.0 |]) |> ignore)
        }
        test "Cast: floats to ints truncate toward zero and saturate, NaN gives 0, bool" {
            let x = f64 [| 5 |] [| -1.9; 2.9; 1e30; -1e30; nan |]
            expectRaw "int32" DType.Int32 [| 5 |] [| -1.0; 2.0; float Int32.MaxValue; float Int32.MinValue; 0.0 |] (x.Cast DType.Int32)
            expectRaw "bool" DType.Bool [| 5 |] [| 1.0; 1.0; 1.0; 1.0; 1.0 |] (x.Cast DType.Bool)
            expectRaw "bool to float32" DType.Float32 [| 2 |] [| 1.0; 0.0 |] ((raw [| 2 |] [| true; false |]).Cast DType.Float32)
            expectRaw "int64 to int32" DType.Int32 [| 1 |] [| 5.0 |] ((raw [| 1 |] [| 5L |]).Cast DType.Int32)
            Expect.isTrue (obj.ReferenceEquals(x.Cast DType.Float64, x)) "same dtype is a no-op"
        }
        test "Cat along a dimension" {
            let a = f64 [| 2; 1 |] [| 1.0; 2.0 |]
            let b = f64 [| 2; 2 |] [| 3.0; 4.0; 5.0; 6.0 |]
            expectRaw "cat 1" DType.Float64 [| 2; 3 |] [| 1.0; 3.0; 4.0; 2.0; 5.0; 6.0 |] (cpu.Cat([| a; b |], 1))
            expectRaw "cat 0" DType.Float64 [| 4; 1 |] [| 1.0; 2.0; 1.0; 2.0 |] (cpu.Cat([| a; a |], 0))
        }
    ]

[<Tests>]
let tests = testList "Tensors.RawCpu" [ shapeTests; backendTests ]
