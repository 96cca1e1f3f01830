module Genesis.Tests.Api.GsTests

open System
open System.Threading
open Expecto
open FsCheck
open FsCheck.FSharp
open Genesis
open Genesis.Tests.TestUtil
open Genesis.Tests.Autodiff.GradCheck

/// A stand-in for an engine Scene (any object identifies a scene).
type private FakeScene(name: string) =
    override _.ToString() = name

let private deviceError = "Device selection not supported"

/// Tests that run against the standard test runtime (precision "64", testSeed), in parallel with the others.
let private creationTests =
    testList "creation (precision 64)" [
        gtest "runtime properties" (fun () ->
            Expect.isTrue gs.isInitialized "initialised"
            Expect.equal gs.backend Backend.Cpu "backend"
            Expect.equal gs.precision "64" "precision")
        gtest "dtype defaults follow the precision; Float/Int families and exact dtypes override" (fun () ->
            Expect.equal (gs.tensor 1.5).dtype DType.Float64 "float scalar"
            Expect.equal (gs.tensor 2).dtype DType.Int64 "int scalar"
            Expect.equal (gs.tensor true).dtype DType.Bool "bool scalar"
            Expect.equal (gs.tensor [ 1.0; 2.0 ]).dtype DType.Float64 "float list"
            Expect.equal (gs.tensor [| 1.0f |]).dtype DType.Float64 "float32 values take the precision's float type"
            Expect.equal (gs.tensor [ 1; 2 ]).dtype DType.Int64 "int list"
            Expect.equal (gs.tensor [| 1L |]).dtype DType.Int64 "int64 values"
            Expect.equal (gs.tensor [| 1; 2 |]).dtype DType.Int64 "int array"
            expectTensor "floats as DType.Int" DType.Int64 [| 2 |] [| 1.0; -2.0 |] (gs.tensor ([ 1.7; -2.2 ], dtype = DType.Int))
            expectTensor "ints as DType.Float" DType.Float64 [| 2 |] [| 1.0; 2.0 |] (gs.tensor ([ 1; 2 ], dtype = DType.Float))
            expectTensor "exact dtype" DType.Float32 [| 1 |] [| 0.5 |] (gs.tensor ([ 0.5 ], dtype = DType.Float32))
            expectTensor "exact int32" DType.Int32 [| 1 |] [| 3.0 |] (gs.tensor ([ 3 ], dtype = DType.Int32))
            Expect.equal (gs.zeros [ 2 ]).dtype DType.Float64 "zeros"
            Expect.equal (gs.zeros ([ 2 ], dtype = DType.Int)).dtype DType.Int64 "zeros Int"
            Expect.equal (gs.arange 3).dtype DType.Int64 "int arange"
            Expect.equal (gs.eye 2).dtype DType.Float64 "eye"
            Expect.equal (gs.rand [ 2 ]).dtype DType.Float64 "rand"
            Expect.equal (gs.randint (0, 5, [ 2 ])).dtype DType.Int64 "randint")
        gtest "tensor overloads: scalars, arrays, lists, matrices, jagged rows, spans, memory, tensors" (fun () ->
            expectTensor "float" DType.Float64 [||] [| 1.5 |] (gs.tensor 1.5)
            expectTensor "int" DType.Int64 [||] [| 2.0 |] (gs.tensor 2)
            expectTensor "bool" DType.Bool [||] [| 1.0 |] (gs.tensor true)
            expectTensor "float[]" DType.Float64 [| 3 |] [| 0.5; 0.73; 0.5 |] (gs.tensor [| 0.5; 0.73; 0.5 |])
            expectTensor "bool[]" DType.Bool [| 2 |] [| 1.0; 0.0 |] (gs.tensor [| true; false |])
            expectTensor "float[,]" DType.Float64 [| 2; 2 |] [| 1.0; 2.0; 3.0; 4.0 |] (gs.tensor (array2D [ [ 1.0; 2.0 ]; [ 3.0; 4.0 ] ]))
            let a3 = Array3D.init 2 1 2 (fun i _ k -> float (10 * i + k))
            expectTensor "float[,,]" DType.Float64 [| 2; 1; 2 |] [| 0.0; 1.0; 10.0; 11.0 |] (gs.tensor a3)
            expectTensor "float[][]" DType.Float64 [| 2; 2 |] [| 1.0; 2.0; 3.0; 4.0 |] (gs.tensor [| [| 1.0; 2.0 |]; [| 3.0; 4.0 |] |])
            expectTensor "float list list" DType.Float64 [| 2; 1 |] [| 1.0; 2.0 |] (gs.tensor [ [ 1.0 ]; [ 2.0 ] ])
            expectTensor "ReadOnlySpan" DType.Float64 [| 2 |] [| 1.0; 2.0 |] (gs.tensor (ReadOnlySpan<float>([| 1.0; 2.0 |])))
            expectTensor "ReadOnlyMemory" DType.Float64 [| 2 |] [| 1.0; 2.0 |] (gs.tensor (ReadOnlyMemory<float>([| 1.0; 2.0 |])))
            let src = gs.tensor [ 1.0; 2.0 ]
            let copy = gs.tensor src
            expectTensor "Tensor" DType.Float64 [| 2 |] [| 1.0; 2.0 |] copy
            Expect.isFalse (obj.ReferenceEquals(src, copy)) "a new tensor"
            throwsWith<GenesisException> [ "row 1 has 1 elements"; "row 0 has 2" ] (fun () -> gs.tensor [| [| 1.0; 2.0 |]; [| 3.0 |] |] |> ignore))
        gtest "gs.tensor copies its input array" (fun () ->
            let data = [| 1.0; 2.0 |]
            let t = gs.tensor data
            data[0] <- 99.0
            expectValues "unchanged" [| 2 |] [| 1.0; 2.0 |] t
            let out = t.toFloatArray ()
            out[1] <- 99.0
            expectValues "toFloatArray is a copy" [| 2 |] [| 1.0; 2.0 |] t)
        gtest "fromArray: any rank and element type, optional shape; a wrong element count is named" (fun () ->
            expectTensor "int[,]" DType.Int64 [| 2; 3 |] [| 1.0 .. 6.0 |] (gs.fromArray (array2D [ [ 1; 2; 3 ]; [ 4; 5; 6 ] ]))
            expectTensor "with shape" DType.Float64 [| 3; 2 |] [| 1.0 .. 6.0 |] (gs.fromArray ([| 1.0 .. 6.0 |], shape = [ 3; 2 ]))
            expectTensor "bool[,]" DType.Bool [| 1; 2 |] [| 0.0; 1.0 |] (gs.fromArray (array2D [ [ false; true ] ]))
            expectTensor "float32[] with dtype" DType.Float32 [| 2 |] [| 1.0; 2.0 |] (gs.fromArray ([| 1.0f; 2.0f |], dtype = DType.Float32))
            throwsWith<GenesisException> [ "6 elements"; "[4]" ] (fun () -> gs.fromArray ([| 1.0 .. 6.0 |], shape = [ 4 ]) |> ignore)
            throwsWith<GenesisException> [ "unsupported element type" ] (fun () -> gs.fromArray ([| 1s |]) |> ignore))
        gtest "zeros, ones, full, empty, eye: shapes, values, dtypes" (fun () ->
            expectTensor "zeros" DType.Float64 [| 2; 3 |] (Array.zeroCreate 6) (gs.zeros [ 2; 3 ])
            expectTensor "zeros scalar" DType.Float64 [||] [| 0.0 |] (gs.zeros [])
            expectTensor "ones" DType.Float64 [| 3 |] [| 1.0; 1.0; 1.0 |] (gs.ones [ 3 ])
            expectTensor "full" DType.Float64 [| 2 |] [| 7.5; 7.5 |] (gs.full ([ 2 ], 7.5))
            expectTensor "full int" DType.Int64 [| 2 |] [| 7.0; 7.0 |] (gs.full ([ 2 ], 7.0, dtype = DType.Int))
            expectTensor "empty" DType.Float64 [| 0; 2 |] [||] (gs.empty [ 0; 2 ])
            expectTensor "eye 3" DType.Float64 [| 3; 3 |] [| 1.0; 0.0; 0.0; 0.0; 1.0; 0.0; 0.0; 0.0; 1.0 |] (gs.eye 3)
            expectTensor "eye 2x3" DType.Float64 [| 2; 3 |] [| 1.0; 0.0; 0.0; 0.0; 1.0; 0.0 |] (gs.eye (2, 3))
            expectTensor "eye int" DType.Int64 [| 2; 2 |] [| 1.0; 0.0; 0.0; 1.0 |] (gs.eye (2, dtype = DType.Int))
            throwsWith<ArgumentException> [ "negative size" ] (fun () -> gs.zeros [ 2; -1 ] |> ignore))
        gtest "arange (float and int forms) is exact" (fun () ->
            expectTensor "float" DType.Float64 [| 4 |] [| 0.0; 0.25; 0.5; 0.75 |] (gs.arange (0.0, 1.0, 0.25))
            expectTensor "float, default step" DType.Float64 [| 3 |] [| 1.5; 2.5; 3.5 |] (gs.arange (1.5, 4.0))
            expectTensor "float, negative step" DType.Float64 [| 2 |] [| 0.0; -0.5 |] (gs.arange (0.0, -1.0, -0.5))
            expectTensor "float, empty" DType.Float64 [| 0 |] [||] (gs.arange (1.0, 1.0))
            expectTensor "0.1 steps stop below 0.3" DType.Float64 [| 3 |] [| 0.0; 0.1; 0.2 |] (gs.arange (0.0, 0.3, 0.1))
            expectTensor "stop" DType.Int64 [| 5 |] [| 0.0 .. 4.0 |] (gs.arange 5)
            expectTensor "start, stop, step" DType.Int64 [| 3 |] [| 2.0; 5.0; 8.0 |] (gs.arange (2, 10, 3))
            expectTensor "negative step" DType.Int64 [| 3 |] [| 5.0; 3.0; 1.0 |] (gs.arange (5, 0, -2))
            expectTensor "empty" DType.Int64 [| 0 |] [||] (gs.arange (3, 3))
            expectTensor "dtype" DType.Float64 [| 3 |] [| 0.0; 1.0; 2.0 |] (gs.arange (3, dtype = DType.Float))
            throwsWith<ArgumentException> [ "step" ] (fun () -> gs.arange (0.0, 1.0, 0.0) |> ignore)
            throwsWith<ArgumentException> [ "step" ] (fun () -> gs.arange (0, 1, 0) |> ignore))
        gtest "linspace and logspace at hand-checked points" (fun () ->
            expectTensor "linspace" DType.Float64 [| 5 |] [| 0.0; 0.25; 0.5; 0.75; 1.0 |] (gs.linspace (0.0, 1.0, 5))
            expectTensor "linspace decreasing" DType.Float64 [| 3 |] [| 2.0; 0.0; -2.0 |] (gs.linspace (2.0, -2.0, 3))
            expectTensor "linspace one step" DType.Float64 [| 1 |] [| 3.0 |] (gs.linspace (3.0, 5.0, 1))
            expectTensor "linspace zero steps" DType.Float64 [| 0 |] [||] (gs.linspace (3.0, 5.0, 0))
            expectTensor "logspace" DType.Float64 [| 3 |] [| 1.0; 10.0; 100.0 |] (gs.logspace (0.0, 2.0, 3))
            expectTensor "logspace base 2" DType.Float64 [| 4 |] [| 1.0; 2.0; 4.0; 8.0 |] (gs.logspace (0.0, 3.0, 4, logBase = 2.0))
            throwsWith<ArgumentException> [ "steps" ] (fun () -> gs.linspace (0.0, 1.0, -1) |> ignore)
            throwsWith<ArgumentException> [ "logspace"; "steps" ] (fun () -> gs.logspace (0.0, 1.0, -1) |> ignore))
        gtest "rand, randn, randint, randperm: shapes, ranges, permutations" (fun () ->
            let r = gs.rand [ 200; 50 ]
            Expect.equal r.shape [| 200; 50 |] "rand shape"
            let rv = vals r
            Expect.isTrue (rv |> Array.forall (fun v -> v >= 0.0 && v < 1.0)) "rand in [0, 1)"
            Expect.isGreaterThan (Array.distinct rv).Length 9990 "rand values differ"
            Expect.isLessThan (abs (Array.average rv - 0.5)) 0.02 "rand mean"
            let n = vals (gs.randn [ 20000 ])
            let mean = Array.average n
            let std = sqrt (Array.averageBy (fun v -> (v - mean) * (v - mean)) n)
            Expect.isLessThan (abs mean) 0.05 "randn mean"
            Expect.isLessThan (abs (std - 1.0)) 0.05 "randn std"
            let ri = gs.randint (-3, 4, [ 2000 ])
            let riv = vals ri |> Array.map int
            Expect.isTrue (riv |> Array.forall (fun v -> v >= -3 && v < 4)) "randint in [low, high)"
            Expect.equal (Array.distinct riv |> Array.sort) [| -3 .. 3 |] "randint hits every value"
            Expect.equal ri.shape [| 2000 |] "randint shape"
            let p = gs.randperm 10
            Expect.equal p.dtype DType.Int64 "randperm dtype"
            Expect.equal (vals p |> Array.map int |> Array.sort) [| 0 .. 9 |] "randperm is a permutation"
            Expect.equal (gs.randperm 0).shape [| 0 |] "empty permutation"
            Expect.equal (gs.rand ([ 3 ], dtype = DType.Float32)).dtype DType.Float32 "rand float32"
            throwsWith<ArgumentException> [ "high (2)"; "low (2)" ] (fun () -> gs.randint (2, 2, [ 1 ]) |> ignore))
        gtest "*Like functions take shape and dtype from their argument" (fun () ->
            let t = t32 [| 2; 3 |] (Array.create 6 5.0f)
            expectTensor "zerosLike" DType.Float32 [| 2; 3 |] (Array.zeroCreate 6) (gs.zerosLike t)
            expectTensor "onesLike with dtype" DType.Int32 [| 2; 3 |] (Array.create 6 1.0) (gs.onesLike (t, dtype = DType.Int32))
            expectTensor "fullLike" DType.Float32 [| 2; 3 |] (Array.create 6 2.5) (gs.fullLike (t, 2.5))
            expectTensor "emptyLike" DType.Float32 [| 2; 3 |] (Array.zeroCreate 6) (gs.emptyLike t)
            let rl = gs.randLike t
            Expect.equal (rl.shape, rl.dtype) ([| 2; 3 |], DType.Float32) "randLike"
            Expect.isTrue (vals rl |> Array.forall (fun v -> v >= 0.0 && v < 1.0)) "randLike in [0, 1)"
            let nl = gs.randnLike (v64 [ 1.0; 2.0 ])
            Expect.equal (nl.shape, nl.dtype) ([| 2 |], DType.Float64) "randnLike"
            Expect.isTrue (gs.zerosLike (t, requiresGrad = true)).requiresGrad "requiresGrad")
        gtest "requiresGrad creation gives leaves; int tensors cannot require grad" (fun () ->
            for t in [ gs.zeros ([ 2 ], requiresGrad = true); gs.rand ([ 2 ], requiresGrad = true); gs.tensor ([ 1.0 ], requiresGrad = true); gs.eye (2, requiresGrad = true); gs.linspace (0.0, 1.0, 3, requiresGrad = true) ] do
                Expect.isTrue (t.requiresGrad && t.isLeaf) "leaf"
            Expect.isFalse (gs.zeros [ 2 ]).requiresGrad "default is no grad"
            throwsWith<GenesisException> [ "only float tensors" ] (fun () -> gs.zeros ([ 2 ], dtype = DType.Int, requiresGrad = true) |> ignore))
        gtest "fromTensor: detach = true copies and cuts the graph, false keeps it" (fun () ->
            let x = gs.tensor ([ 1.0; 2.0 ], requiresGrad = true)
            let y = x * 2.0
            let d = gs.fromTensor y
            Expect.isTrue d.isConstant "detached by default"
            expectValues "values" [| 2 |] [| 2.0; 4.0 |] d
            let k = gs.fromTensor (y, detach = false)
            Expect.isTrue k.requiresGrad "graph kept"
            ((k * 3.0).sum ()).backward ()
            expectValues "gradient flows through" [| 2 |] [| 6.0; 6.0 |] x.grad
            expectTensor "dtype override" DType.Float32 [| 2 |] [| 2.0; 4.0 |] (gs.fromTensor (y, dtype = DType.Float32))
            let leaf = gs.fromTensor (y, requiresGrad = true)
            Expect.isTrue (leaf.isLeaf && leaf.requiresGrad) "a new leaf"
            throwsWith<GenesisException> [ "fromTensor"; "detach = true" ] (fun () -> gs.fromTensor (y, detach = false, requiresGrad = true) |> ignore))
        gtest "fromTensor never turns its argument into a leaf" (fun () ->
            let c = gs.tensor [ 1.0; 2.0 ]
            let l = gs.fromTensor (c, detach = false, requiresGrad = true)
            Expect.isTrue l.requiresGrad "the result is a leaf"
            Expect.isFalse c.requiresGrad "the argument is unchanged"
            Expect.isFalse (obj.ReferenceEquals(c, l)) "a new tensor"
            let d = gs.fromTensor (c, requiresGrad = true)
            Expect.isFalse c.requiresGrad "detach = true leaves it unchanged too"
            ((l * 2.0 + d).sum ()).backward ()
            expectValues "l.grad" [| 2 |] [| 2.0; 2.0 |] l.grad
            Expect.isNull c.grad "c has no grad")
        gtest "the device argument must be the active backend" (fun () ->
            throwsWith<GenesisException> [ deviceError; "Cpu"; "Gpu" ] (fun () -> gs.zeros ([ 2 ], device = Backend.Gpu) |> ignore)
            throwsWith<GenesisException> [ deviceError ] (fun () -> gs.tensor ([ 1.0 ], device = Backend.Gpu) |> ignore)
            throwsWith<GenesisException> [ deviceError ] (fun () -> gs.tensor (1.0, device = Backend.Gpu) |> ignore)
            throwsWith<GenesisException> [ deviceError ] (fun () -> gs.rand ([ 2 ], device = Backend.Gpu) |> ignore)
            throwsWith<GenesisException> [ deviceError ] (fun () -> gs.randint (0, 2, [ 2 ], device = Backend.Gpu) |> ignore)
            throwsWith<GenesisException> [ deviceError ] (fun () -> gs.arange (3, device = Backend.Gpu) |> ignore)
            throwsWith<GenesisException> [ deviceError ] (fun () -> gs.eye (2, device = Backend.Gpu) |> ignore)
            throwsWith<GenesisException> [ deviceError ] (fun () -> gs.full ([ 1 ], 2.0, device = Backend.Gpu) |> ignore)
            throwsWith<GenesisException> [ deviceError ] (fun () -> gs.fromArray ([| 1.0 |], device = Backend.Gpu) |> ignore)
            expectValues "the active backend is accepted" [| 1 |] [| 0.0 |] (gs.zeros ([ 1 ], device = Backend.Cpu)))
    ]

let private sceneTests =
    testList "scenes" [
        gtest "creation ops have no scene unless given; children inherit it" (fun () ->
            Expect.isNull (gs.zeros [ 2 ]).scene "no scene"
            let s = FakeScene "s"
            let x = gs.tensor ([ 1.0; 2.0 ], scene = s, requiresGrad = true)
            Expect.isTrue (obj.ReferenceEquals(x.scene, s)) "given scene"
            for label, t in [ "x + 1", x + 1.0; "x * constant", x * gs.ones [ 2 ]; "constant - x", gs.ones [ 2 ] - x; "sum", x.sum (); "exp", x.exp ()
                              "reshape", x.reshape [ 2; 1 ]; "index", x.[0]; "matmul", x.matmul x; "cat", gs.cat [ x; gs.zeros [ 1 ] ]
                              "where", gs.where (x.gt 1.0, x, gs.zeros [ 2 ]); "comparison", x.gt 1.0; "detach", x.detach ()
                              "fromTensor", gs.fromTensor x; "zeros with scene", gs.zeros ([ 1 ], scene = s) ] do
                Expect.isTrue (obj.ReferenceEquals(t.scene, s)) (label + " inherits the scene"))
        gtest "combining tensors of two scenes raises" (fun () ->
            let a = gs.tensor ([ 1.0 ], scene = FakeScene "a")
            let b = gs.tensor ([ 2.0 ], scene = FakeScene "b")
            let msg = "Tensors not derived from the same Scene object"
            throwsWith<GenesisException> [ msg ] (fun () -> a + b |> ignore)
            throwsWith<GenesisException> [ msg ] (fun () -> a.matmul b |> ignore)
            throwsWith<GenesisException> [ msg ] (fun () -> gs.cat [ a; b ] |> ignore)
            throwsWith<GenesisException> [ msg ] (fun () -> gs.where (a.gt 0.0, a, b) |> ignore)
            throwsWith<GenesisException> [ msg ] (fun () -> a.eq b |> ignore))
        gtest "detach(sceneless = true) and sceneless() drop the scene; sceneless keeps the graph" (fun () ->
            let s = FakeScene "s"
            let x = gs.tensor ([ 3.0 ], scene = s, requiresGrad = true)
            Expect.isNull (x.detach (sceneless = true)).scene "detach sceneless"
            let free = (x * 2.0).sceneless ()
            Expect.isNull free.scene "sceneless"
            Expect.isTrue free.requiresGrad "graph kept"
            let other = gs.tensor ([ 1.0 ], scene = FakeScene "other")
            ((free * other).sum ()).backward ()
            expectValues "grad through sceneless" [| 1 |] [| 2.0 |] x.grad
            Expect.isTrue (obj.ReferenceEquals((gs.fromTensor (x, scene = other.scene)).scene, other.scene)) "fromTensor scene override")
    ]

let private propertyTests =
    testList "properties" [
        gprop "linspace includes both ends exactly and is monotone" (Gen.zip3 (genFloat -5.0 5.0) (genFloat -5.0 5.0) (Gen.choose (2, 60))) (fun (a, b, n) ->
            let v = vals (gs.linspace (a, b, n))
            Expect.equal v.Length n "count"
            Expect.equal v[0] a "first element is start"
            Expect.equal v[n - 1] b "last element is stop"
            let ok = v |> Array.pairwise |> Array.forall (fun (p, q) -> if b >= a then q >= p else q <= p)
            Expect.isTrue ok "monotone")
        gprop "logspace includes both ends exactly" (Gen.zip3 (Gen.choose (-3, 3)) (Gen.choose (-3, 3)) (Gen.choose (2, 20))) (fun (a, b, n) ->
            let v = vals (gs.logspace (float a, float b, n, logBase = 2.0))
            Expect.equal v[0] (Math.Pow(2.0, float a)) "first"
            Expect.equal v[n - 1] (Math.Pow(2.0, float b)) "last")
    ]

// ---------------------------------------------------------------------------------------------------------
// Tests that change the process-wide runtime: sequenced (Expecto runs them after every parallel test), each
// restoring the standard test runtime when done.
// ---------------------------------------------------------------------------------------------------------

let private notInitialised = "Genesis not initialized yet."

let private runtimeTests =
    testSequenced <| testList "runtime state (sequenced)" [
        testCase "gs before init raises 'Genesis not initialized yet.'" (fun () ->
            withRuntime ignore (fun () ->
                Expect.isFalse gs.isInitialized "destroyed"
                throwsWith<GenesisException> [ notInitialised ] (fun () -> gs.tensor 1.0 |> ignore)
                throwsWith<GenesisException> [ notInitialised ] (fun () -> gs.zeros [ 2 ] |> ignore)
                throwsWith<GenesisException> [ notInitialised ] (fun () -> gs.rand [ 2 ] |> ignore)
                throwsWith<GenesisException> [ notInitialised ] (fun () -> gs.arange 3 |> ignore)
                throwsWith<GenesisException> [ notInitialised ] (fun () -> gs.backend |> ignore)
                throwsWith<GenesisException> [ notInitialised ] (fun () -> gs.precision |> ignore)))
        testCase "init twice raises unless destroyed; a bad precision is named" (fun () ->
            withRuntime (fun () -> gs.init ()) (fun () ->
                Expect.equal gs.precision "32" "default precision"
                Expect.equal gs.backend Backend.Cpu "default backend"
                throwsWith<GenesisException> [ "already initialized"; "gs.destroy()" ] (fun () -> gs.init ())
                gs.destroy ()
                throwsWith<ArgumentException> [ "precision"; "16" ] (fun () -> gs.init (precision = "16"))
                Expect.isFalse gs.isInitialized "a failed init leaves gs uninitialised"
                // Backend.Gpu without CUDA is covered by the GPU suite (Tensors/GpuRawTensorTests.fs), which controls GENESIS_GPU
                gs.init (precision = "64")
                Expect.equal gs.precision "64" "re-initialised"))
        testCase "precision 32: floats are float32 and ints int32 by default" (fun () ->
            withRuntime (fun () -> gs.init (precision = "32")) (fun () ->
                Expect.equal (gs.tensor 1.5).dtype DType.Float32 "float"
                Expect.equal (gs.tensor [ 1.0 ]).dtype DType.Float32 "float list"
                Expect.equal (gs.tensor [ 1 ]).dtype DType.Int32 "int list"
                Expect.equal (gs.tensor [| 1L |]).dtype DType.Int32 "int64 values take the precision's int type"
                Expect.equal (gs.zeros [ 1 ]).dtype DType.Float32 "zeros"
                Expect.equal (gs.eye 1).dtype DType.Float32 "eye"
                Expect.equal (gs.arange 2).dtype DType.Int32 "arange"
                Expect.equal (gs.arange (0.0, 1.0)).dtype DType.Float32 "float arange"
                Expect.equal (gs.linspace (0.0, 1.0, 2)).dtype DType.Float32 "linspace"
                Expect.equal (gs.rand [ 1 ]).dtype DType.Float32 "rand"
                Expect.equal (gs.randn [ 1 ]).dtype DType.Float32 "randn"
                Expect.equal (gs.randint (0, 3, [ 1 ])).dtype DType.Int32 "randint"
                Expect.equal (gs.randperm 3).dtype DType.Int32 "randperm"
                Expect.equal (gs.fromArray (array2D [ [ 1.0 ] ])).dtype DType.Float32 "fromArray"
                Expect.equal (gs.tensor ([ 1.0 ], dtype = DType.Int)).dtype DType.Int32 "DType.Int"
                Expect.equal (gs.tensor ([ 1 ], dtype = DType.Float)).dtype DType.Float32 "DType.Float"
                Expect.equal (gs.tensor ([ 1.0 ], dtype = DType.Float64)).dtype DType.Float64 "exact dtype"))
        testCase "the seed makes every sampler reproducible" (fun () ->
            let draw () = vals (gs.rand [ 5 ]), vals (gs.randn [ 5 ]), vals (gs.randint (0, 1000, [ 5 ])), vals (gs.randperm 8)
            let mutable first = ([||], [||], [||], [||])
            withRuntime (fun () -> gs.init (seed = 5)) (fun () -> first <- draw ())
            withRuntime (fun () -> gs.init (seed = 5)) (fun () -> Expect.equal (draw ()) first "same seed, same samples")
            withRuntime (fun () -> gs.init (seed = 6)) (fun () ->
                let r, _, _, _ = draw ()
                let r0, _, _, _ = first
                Expect.notEqual r r0 "another seed, other samples"))
        testCase "rand in float32 stays below 1" (fun () ->
            // with seed 295, draw 169838 of the stream is 0.99999997..., which rounds to 1.0f
            withRuntime (fun () -> gs.init (seed = 295)) (fun () ->
                let r = gs.rand ([ 200000 ], dtype = DType.Float32)
                Expect.equal r.dtype DType.Float32 "dtype"
                let m = vals r |> Array.max
                Expect.isLessThan m 1.0 "max of rand < 1"
                let rl = gs.randLike (t32 [| 1 |] [| 0.0f |])
                Expect.isLessThan (vals rl).[0] 1.0 "randLike"))
        testCase "concurrent sampling draws each value of the seeded stream exactly once" (fun () ->
            // two threads share gs's generator; each call must take a contiguous, uncorrupted part of the stream,
            // so the union of their samples equals what one thread draws from the same seed
            let calls, size = 300, 1000
            let concurrent = Array.init 2 (fun _ -> ResizeArray<float>())
            withRuntime (fun () -> gs.init (seed = 11)) (fun () ->
                use barrier = new Barrier(2)
                let worker k () =
                    barrier.SignalAndWait()
                    for _ in 1 .. calls do
                        concurrent[k].AddRange(vals (gs.rand [ size ]))
                let threads = [| for k in 0 .. 1 -> Thread(worker k) |]
                threads |> Array.iter (fun t -> t.Start())
                threads |> Array.iter (fun t -> t.Join()))
            let mutable sequential = [||]
            withRuntime (fun () -> gs.init (seed = 11)) (fun () ->
                sequential <- Array.init (2 * calls) (fun _ -> vals (gs.rand [ size ])) |> Array.concat)
            let union = Seq.append concurrent[0] concurrent[1] |> Seq.toArray |> Array.sort
            Expect.equal union.Length sequential.Length "sample count"
            Expect.isTrue (union = Array.sort sequential) "same multiset of samples as a single thread")
    ]

[<Tests>]
let tests = testList "Api.Gs" [ creationTests; sceneTests; propertyTests; runtimeTests ]
