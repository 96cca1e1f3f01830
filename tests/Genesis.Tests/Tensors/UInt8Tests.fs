module Genesis.Tests.Tensors.UInt8Tests

open System
open Expecto
open Genesis
open Genesis.Cpu
open Genesis.Tests
open Genesis.Tests.TestUtil
open FsCheck

/// The uint8 dtype (camera images): creation, conversions, typed accessors, printing, promotion, comparisons,
/// wrapping arithmetic, and the GPU backend's refusal.

let private config = { FsCheckConfig.defaultConfig with maxTest = 200 }

let private exact = [ DType.Bool; DType.UInt8; DType.Int32; DType.Int64; DType.Float32; DType.Float64 ]

let private bytes (t: Tensor) = t.toFlatArray() :?> byte[]

/// PyTorch's float -> uint8 here: truncate toward zero, saturate to 0..255, NaN -> 0.
let private saturate (x: float) = if Double.IsNaN x then 0uy elif x <= 0.0 then 0uy elif x >= 255.0 then 255uy else byte (Math.Truncate x)

let private dtypeTests =
    testList "dtype" [
        test "UInt8 is an exact integral dtype of one byte, printed uint8" {
            Expect.equal DType.UInt8.Name "uint8" "name"
            Expect.equal (string DType.UInt8) "uint8" "ToString"
            Expect.equal DType.UInt8.SizeInBytes 1 "one byte"
            Expect.isTrue DType.UInt8.IsIntegral "integral"
            Expect.isFalse DType.UInt8.IsFloating "not floating"
            Expect.isFalse DType.UInt8.IsFamily "exact"
        }
        test "promotion: uint8 with bool gives uint8, with an int the int, with a float the float (as PyTorch)" {
            let p a b = DTypes.tryPromote a b
            Expect.equal (p DType.UInt8 DType.Bool) (Some DType.UInt8) "uint8 + bool"
            Expect.equal (p DType.UInt8 DType.Int32) (Some DType.Int32) "uint8 + int32"
            Expect.equal (p DType.Int64 DType.UInt8) (Some DType.Int64) "int64 + uint8"
            Expect.equal (p DType.UInt8 DType.Float32) (Some DType.Float32) "uint8 + float32"
            Expect.equal (p DType.Float64 DType.UInt8) (Some DType.Float64) "float64 + uint8"
        }
        test "promotion laws over every pair of exact dtypes: commutative, one of the two, idempotent, associative" {
            for a in exact do
                Expect.equal (DTypes.tryPromote a a) (Some a) (sprintf "%O with itself" a)
                for b in exact do
                    let ab = DTypes.tryPromote a b
                    Expect.equal ab (DTypes.tryPromote b a) (sprintf "%O, %O commutes" a b)
                    match ab with
                    | Some d -> Expect.isTrue (d = a || d = b) (sprintf "%O, %O gives one of them" a b)
                    | None -> Expect.isTrue (a.IsFloating && b.IsFloating) (sprintf "only float32/float64 refuse (%O, %O)" a b)
                    for c in exact do
                        let l = ab |> Option.bind (fun d -> DTypes.tryPromote d c)
                        let r = DTypes.tryPromote b c |> Option.bind (fun d -> DTypes.tryPromote a d)
                        if l.IsSome && r.IsSome then Expect.equal l r (sprintf "(%O, %O), %O associates" a b c)
        }
    ]

let private creationTests =
    testList "creation and accessors" [
        test "gs.tensor(byte[]) and byte arrays of any rank give uint8 tensors" {
            GsSetup.ensure64 ()
            let t = gs.tensor([| 0uy; 7uy; 255uy |])
            Expect.equal t.dtype DType.UInt8 "byte[] -> uint8"
            Expect.equal (bytes t) [| 0uy; 7uy; 255uy |] "values"
            let m = gs.tensor(array2D [ [ 1uy; 2uy; 3uy ]; [ 4uy; 5uy; 6uy ] ] :> Array)
            Expect.equal (m.dtype, m.shape) (DType.UInt8, [| 2; 3 |]) "byte[,] -> uint8 [2; 3]"
            let j = gs.fromArray([| [| 1uy; 2uy |]; [| 3uy; 4uy |] |])
            Expect.equal (j.dtype, j.shape) (DType.UInt8, [| 2; 2 |]) "jagged byte[][]"
            Expect.equal (gs.tensor([| 1; 2 |], dtype = DType.UInt8).dtype) DType.UInt8 "dtype = UInt8 from ints"
            Expect.equal (bytes (gs.zeros([ 2; 2 ], dtype = DType.UInt8))) (Array.zeroCreate 4) "zeros"
            Expect.equal (bytes (gs.full([ 3 ], 200.0, dtype = DType.UInt8))) [| 200uy; 200uy; 200uy |] "full"
            throwsWith<GenesisException> [ "300"; "uint8" ] (fun () -> gs.full([ 3 ], 300.0, dtype = DType.UInt8) |> ignore)
            throwsWith<GenesisException> [ "-1"; "uint8" ] (fun () -> gs.full([ 3 ], -1.0, dtype = DType.UInt8) |> ignore)
            throwsWith<GenesisException> [ "float tensors"; "uint8" ] (fun () -> gs.tensor([| 1uy |], requiresGrad = true) |> ignore)
        }
        test "typed accessors: toArray1D/2D/3D<byte>, toArray gives byte[,,], float tensors saturate into bytes" {
            GsSetup.ensure64 ()
            let t = gs.tensor([| 0uy .. 23uy |]).reshape([ 2; 3; 4 ])
            let a3 = t.toArray3D<byte>()
            Expect.equal (a3[1, 2, 3], a3[0, 1, 2]) (23uy, 6uy) "toArray3D<byte> row-major"
            Expect.equal ((t.toArray()) :? byte[,,]) true "toArray keeps the element type"
            Expect.equal (t.reshape([ 6; 4 ]).toArray2D<byte>()[5, 3]) 23uy "toArray2D<byte>"
            Expect.equal (t.flatten().toArray1D<int>()) [| 0 .. 23 |] "uint8 -> int accessor"
            Expect.equal (gs.tensor([ -1.5; 2.7; 255.9; 300.0; nan ]).toArray1D<byte>()) [| 0uy; 2uy; 255uy; 255uy; 0uy |] "float -> byte truncates and saturates"
            Expect.equal (gs.tensor([| -1; 256; 257; 255 |]).toArray1D<byte>()) [| 255uy; 0uy; 1uy; 255uy |] "int -> byte wraps modulo 256"
            Expect.equal (gs.tensor([| true; false |]).toArray1D<byte>()) [| 1uy; 0uy |] "bool -> byte"
            Expect.equal (gs.tensor([| 0uy; 3uy |]).toArray1D<bool>()) [| false; true |] "byte -> bool"
            Expect.equal (gs.tensor([| 9uy |]).item()) 9.0 "item"
        }
        test "printing: values as integers and dtype=uint8" {
            GsSetup.ensure64 ()
            Expect.equal (string (gs.tensor([| 1uy; 2uy; 255uy |]))) "tensor([1, 2, 255], dtype=uint8)" "printed"
        }
        testPropertyWithConfig config "byte[] -> tensor -> byte[] is the identity" (fun (b: byte[]) ->
            GsSetup.ensure64 ()
            bytes (gs.tensor b) = b)
        testPropertyWithConfig config "uint8 -> float32/float64/int32/int64 -> uint8 is the identity" (fun (b: byte[]) ->
            GsSetup.ensure64 ()
            let t = gs.tensor b
            [ DType.Float32; DType.Float64; DType.Int32; DType.Int64 ]
            |> List.forall (fun d -> bytes ((t.cast d).cast DType.UInt8) = b && (t.cast d).toFloatArray() = (b |> Array.map float)))
        testPropertyWithConfig config "int -> uint8 wraps modulo 256; float -> uint8 truncates and saturates" (fun (xs: int[]) (fs: NormalFloat[]) ->
            GsSetup.ensure64 ()
            let fs = fs |> Array.map (fun f -> f.Get)
            bytes (gs.tensor(xs).uint8()) = (xs |> Array.map (fun x -> byte (((x % 256) + 256) % 256)))
            && bytes (gs.tensor(fs).uint8()) = (fs |> Array.map saturate))
    ]

let private opTests =
    testList "ops" [
        testPropertyWithConfig config "uint8 arithmetic wraps modulo 256 (as PyTorch); comparisons agree with bytes" (fun (pairs: (byte * byte)[]) ->
            GsSetup.ensure64 ()
            let a, b = Array.map fst pairs, Array.map snd pairs
            let ta, tb = gs.tensor a, gs.tensor b
            let wrap f = Array.map2 (fun (x: byte) (y: byte) -> byte ((f (int x) (int y) % 256 + 256) % 256)) a b
            let cmp (f: byte -> byte -> bool) = Array.map2 f a b
            (ta + tb).dtype = DType.UInt8
            && bytes (ta + tb) = wrap (+) && bytes (ta - tb) = wrap (-) && bytes (ta * tb) = wrap (*)
            && (ta.eq tb).toArray1D<bool>() = cmp (=) && (ta.lt tb).toArray1D<bool>() = cmp (<)
            && (ta.ge tb).toArray1D<bool>() = cmp (>=) && (ta.ne tb).toArray1D<bool>() = cmp (<>))
        test "mixed dtypes promote: uint8 with int32 gives int32, with float64 float64; scalars keep uint8 when they fit" {
            GsSetup.ensure64 ()
            let u = gs.tensor([| 250uy; 3uy |])
            let i = gs.tensor([| 10; -5 |], dtype = DType.Int32)
            Expect.equal ((u + i).dtype, (u + i).toArray1D<int>()) (DType.Int32, [| 260; -2 |]) "uint8 + int32 -> int32, no wrap"
            let f = gs.tensor([ 0.5; 0.25 ])
            Expect.equal ((u * f).dtype, (u * f).toFloatArray()) (DType.Float64, [| 125.0; 0.75 |]) "uint8 * float64 -> float64"
            Expect.equal ((u + 10.0).dtype, bytes (u + 10.0)) (DType.UInt8, [| 4uy; 13uy |]) "uint8 + 10 stays uint8 and wraps"
            Expect.equal ((u + 300.0).dtype, (u + 300.0).toFloatArray()) (DType.Int64, [| 550.0; 303.0 |]) "a scalar outside 0..255 promotes to int64"
            Expect.equal ((u + 0.5).dtype, (u + 0.5).toFloatArray()) (DType.Float32, [| 250.5; 3.5 |]) "a fractional scalar promotes to float32"
            Expect.equal ((u / gs.tensor([| 2uy; 2uy |])).toFloatArray()) [| 125.0; 1.5 |] "division is true division in float"
            Expect.equal ((u.gt 200.0).toArray1D<bool>()) [| true; false |] "compare with a scalar"
            Expect.equal ((u.lt 1000.0).toArray1D<bool>()) [| true; true |] "compare with a scalar beyond 255"
            Expect.equal ((u.eq (gs.tensor [ 250.0; 2.0 ])).toArray1D<bool>()) [| true; false |] "compare with floats"
            Expect.equal (bytes (-u)) [| 6uy; 253uy |] "negation wraps"
        }
        test "reductions: sum in int64 (as PyTorch), max/min/argmax in uint8, mean in float32" {
            GsSetup.ensure64 ()
            let u = gs.tensor([| 200uy; 100uy; 7uy |])
            Expect.equal ((u.sum()).dtype, u.sum().item()) (DType.Int64, 307.0) "sum does not wrap"
            Expect.equal (u.max().dtype, u.max().item(), u.min().item()) (DType.UInt8, 200.0, 7.0) "max, min"
            Expect.equal (u.argmin().item()) 2.0 "argmin"
            Expect.equal (u.mean().dtype) DType.Float32 "mean in float32"
            Expect.floatClose Accuracy.high (u.mean().item()) (307.0 / 3.0) "mean value"
        }
        test "shape ops, where and cat keep uint8" {
            GsSetup.ensure64 ()
            let img = gs.tensor([| 0uy .. 11uy |]).reshape([ 2; 2; 3 ])
            Expect.equal (bytes (img.permute([ 2; 0; 1 ]))) [| 0uy; 3uy; 6uy; 9uy; 1uy; 4uy; 7uy; 10uy; 2uy; 5uy; 8uy; 11uy |] "permute HWC -> CHW"
            Expect.equal (bytes (img.flip([ 0 ]).[0])) [| 6uy .. 11uy |] "flip and select"
            Expect.equal (bytes (img.[1..1].flatten())) [| 6uy .. 11uy |] "slice"
            Expect.equal (bytes (gs.cat([ img; img ], dim = 2))).Length 24 "cat"
            let w = gs.where(img.gt 5.0, img, gs.zeros([ 1 ], dtype = DType.UInt8))
            Expect.equal (w.dtype, bytes w) (DType.UInt8, Array.init 12 (fun k -> if k > 5 then byte k else 0uy)) "where"
        }
        test "the GPU backend refuses uint8 with a clear error (uint8 exists for images made on the CPU)" {
            let gpu = GpuRawTensorTests.gpu ()
            throwsWith<GenesisException> [ "uint8"; "GPU backend"; "Backend.Cpu" ] (fun () -> gpu.FromHostArray([| 1uy; 2uy |], [| 2 |]) |> ignore)
            throwsWith<GenesisException> [ "uint8"; "GPU backend" ] (fun () -> gpu.Zeros([| 2 |], DType.UInt8) |> ignore)
            let f = gpu.FromHostArray([| 1.0; 2.0 |], [| 2 |])
            throwsWith<GenesisException> [ "uint8"; "GPU backend" ] (fun () -> f.Cast DType.UInt8 |> ignore)
            Expect.equal (CpuRawTensor.Instance.FromHostArray([| 1uy |], [| 1 |])).DType DType.UInt8 "the CPU backend has it"
        }
    ]

[<Tests>]
let tests = testList "Tensors.UInt8" [ dtypeTests; creationTests; opTests ]
