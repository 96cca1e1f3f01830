module Genesis.Tests.Autodiff.LinalgTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Genesis
open Genesis.Tests.TestUtil
open Genesis.Tests.Autodiff.GradCheck

/// The matrix product by the definition, on row-major float arrays: [n, k] x [k, m].
let private matmulRef (a: float[]) (b: float[]) (n: int) (k: int) (m: int) =
    Array.init (n * m) (fun o ->
        let i, j = o / m, o % m
        let mutable s = 0.0
        for l in 0 .. k - 1 do
            s <- s + a[i * k + l] * b[l * m + j]
        s)

let private valueTests =
    testList "values" [
        gtest "matmul 2-D x 2-D, both orders" (fun () ->
            let a = t64 [| 2; 3 |] [| 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 |]
            let b = t64 [| 3; 2 |] [| 7.0; 8.0; 9.0; 10.0; 11.0; 12.0 |]
            expectValues "a @ b" [| 2; 2 |] [| 58.0; 64.0; 139.0; 154.0 |] (a.matmul b)
            expectValues "b @ a" [| 3; 3 |] [| 39.0; 54.0; 69.0; 49.0; 68.0; 87.0; 59.0; 82.0; 105.0 |] (b.matmul a))
        gtest "matmul with 1-D operands (promoted and squeezed)" (fun () ->
            let m = t64 [| 2; 3 |] [| 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 |]
            expectValues "vector @ matrix" [| 3 |] [| 9.0; 12.0; 15.0 |] ((v64 [ 1.0; 2.0 ]).matmul m)
            expectValues "matrix @ vector" [| 2 |] [| 14.0; 32.0 |] (m.matmul (v64 [ 1.0; 2.0; 3.0 ]))
            expectValues "vector @ vector" [||] [| 32.0 |] ((v64 [ 1.0; 2.0; 3.0 ]).matmul (v64 [ 4.0; 5.0; 6.0 ])))
        gtest "batched matmul broadcasts batch dims" (fun () ->
            let rnd = Random(7)
            let av = Array.init (2 * 1 * 2 * 3) (fun _ -> rnd.NextDouble())
            let bv = Array.init (3 * 3 * 4) (fun _ -> rnd.NextDouble())
            let a = t64 [| 2; 1; 2; 3 |] av
            let b = t64 [| 3; 3; 4 |] bv
            let c = a.matmul b
            Expect.equal c.shape [| 2; 3; 2; 4 |] "shape"
            let expected =
                [| for i in 0 .. 1 do
                       for j in 0 .. 2 do
                           yield! matmulRef av[i * 6 .. i * 6 + 5] bv[j * 12 .. j * 12 + 11] 2 3 4 |]
            expectNear valueTol valueTol "batched" (vals c) expected)
        gtest "matmul of int32 and float32" (fun () ->
            let a = ti32 [| 2; 2 |] [| 1; 2; 3; 4 |]
            expectTensor "int32" DType.Int32 [| 2; 2 |] [| 7.0; 10.0; 15.0; 22.0 |] (a.matmul a)
            let f = t32 [| 2; 2 |] [| 1.0f; 2.0f; 3.0f; 4.0f |]
            expectTensor "float32" DType.Float32 [| 2; 2 |] [| 7.0; 10.0; 15.0; 22.0 |] (f.matmul f))
        gtest "dot, outer and cross" (fun () ->
            let a = v64 [ 1.0; 2.0; 3.0 ]
            let b = v64 [ 4.0; 5.0; 6.0 ]
            expectValues "dot" [||] [| 32.0 |] (a.dot b)
            expectValues "outer" [| 3; 2 |] [| 4.0; 5.0; 8.0; 10.0; 12.0; 15.0 |] (a.outer (v64 [ 4.0; 5.0 ]))
            expectValues "a x b" [| 3 |] [| -3.0; 6.0; -3.0 |] (a.cross b)
            expectValues "b x a" [| 3 |] [| 3.0; -6.0; 3.0 |] (b.cross a)
            expectValues "e1 x e2 = e3" [| 3 |] [| 0.0; 0.0; 1.0 |] ((v64 [ 1.0; 0.0; 0.0 ]).cross (v64 [ 0.0; 1.0; 0.0 ]))
            let rows = t64 [| 2; 3 |] [| 1.0; 0.0; 0.0; 0.0; 1.0; 0.0 |]
            expectValues "batched, broadcast" [| 2; 3 |] [| 0.0; 0.0; 1.0; 0.0; 0.0; 0.0 |] (rows.cross (t64 [| 1; 3 |] [| 0.0; 1.0; 0.0 |]))
            let cols = t64 [| 3; 2 |] [| 1.0; 0.0; 0.0; 1.0; 0.0; 0.0 |]
            expectValues "cross along dim 0" [| 3; 2 |] [| 0.0; 0.0; 0.0; 0.0; 1.0; 0.0 |] (cols.cross (t64 [| 3; 1 |] [| 0.0; 1.0; 0.0 |], dim = 0)))
        gtest "misaligned and invalid operands are named" (fun () ->
            let a = t64 [| 2; 3 |] (Array.zeroCreate 6)
            throwsWith<GenesisException> [ "matmul"; "[2; 3]"; "[2; 3]"; "not aligned" ] (fun () -> a.matmul a |> ignore)
            throwsWith<GenesisException> [ "matmul"; "[3]"; "[2]" ] (fun () -> (v64 [ 1.0; 2.0; 3.0 ]).matmul (v64 [ 1.0; 2.0 ]) |> ignore)
            throwsWith<GenesisException> [ "matmul"; "at least one dimension" ] (fun () -> (s64 1.0).matmul a |> ignore)
            throwsWith<GenesisException> [ "matmul"; "batch dims" ] (fun () -> (t64 [| 2; 1; 3 |] (Array.zeroCreate 6)).matmul (t64 [| 3; 3; 1 |] (Array.zeroCreate 9)) |> ignore)
            throwsWith<GenesisException> [ "matmul"; "float64"; "float32" ] (fun () -> a.matmul (t32 [| 3; 1 |] [| 1.0f; 2.0f; 3.0f |]) |> ignore)
            throwsWith<GenesisException> [ "dot"; "[3]"; "[2]" ] (fun () -> (v64 [ 1.0; 2.0; 3.0 ]).dot (v64 [ 1.0; 2.0 ]) |> ignore)
            throwsWith<GenesisException> [ "outer"; "[2; 3]" ] (fun () -> a.outer (v64 [ 1.0 ]) |> ignore)
            throwsWith<GenesisException> [ "cross"; "size 3"; "[2; 3]" ] (fun () -> a.cross (a, dim = 0) |> ignore))
        gtest "NaN and Inf in either operand propagate through matmul (no skipped zeros)" (fun () ->
            // IEEE: 0 * NaN = NaN and 0 * inf = NaN, so a zero entry of a must not hide a NaN/inf row of b
            let a = t64 [| 1; 2 |] [| 1.0; 0.0 |]
            let b = t64 [| 2; 2 |] [| 1.0; 2.0; nan; infinity |]
            expectNear 0.0 0.0 "a @ b" (vals (a.matmul b)) [| nan; nan |]
            expectNear 0.0 0.0 "b^T @ a^T" (vals (b.T.matmul a.T)) [| nan; nan |]
            let g = gs.grad (fun t -> (t.matmul b).sum ()) a
            expectNear 0.0 0.0 "grad wrt a" (vals g) [| 3.0; nan |]
            let gb = gs.grad (fun t -> (a.matmul t).sum ()) (t64 [| 2; 2 |] [| 1.0; 2.0; 3.0; 4.0 |])
            expectNear 0.0 0.0 "grad wrt b" (vals gb) [| 1.0; 1.0; 0.0; 0.0 |]
            let gnan = gs.vjp (fun t -> a.matmul t) (t64 [| 2; 2 |] [| 1.0; 2.0; 3.0; 4.0 |]) (t64 [| 1; 2 |] [| nan; 1.0 |])
            expectNear 0.0 0.0 "NaN cotangent reaches every row" (vals gnan) [| nan; 1.0; nan; 0.0 |])
    ]

/// Operand shapes of matmul: 2-D x 2-D, 1-D on either side, and batched with broadcast batch dims.
let private genMatmulShapes =
    gen {
        let! n = Gen.choose (1, 3)
        let! k = Gen.choose (1, 3)
        let! m = Gen.choose (1, 3)
        let! kind = Gen.choose (0, 4)
        match kind with
        | 0 -> return [| n; k |], [| k; m |]
        | 1 -> return [| k |], [| k; m |]
        | 2 -> return [| n; k |], [| k |]
        | 3 -> return [| k |], [| k |]
        | _ ->
            let! target = genShapeRank 1 2 2
            let! ba = genBroadcastFrom target
            let! bb = genBroadcastFrom target
            return Array.append ba [| n; k |], Array.append bb [| k; m |]
    }

let private values = genFloat -2.0 2.0

let private derivativeTests =
    testList "derivatives (JVP/VJP vs central differences)" [
        gprop "matmul (2-D, 1-D, batched; a, b and both active)" (genMatmulShapes |> Gen.bind (fun (sa, sb) -> Gen.zip (genData sa values) (genData sb values))) (fun (a, b) ->
            checkBinary "matmul" NonZero NonZero (fun x y -> x.matmul y) a.T b.T)
        gprop "dot" (Gen.choose (1, 5) |> Gen.bind (fun n -> Gen.zip (genData [| n |] values) (genData [| n |] values))) (fun (a, b) ->
            checkBinary "dot" NonZero NonZero (fun x y -> x.dot y) a.T b.T)
        gprop "outer" (Gen.zip (Gen.choose (1, 4)) (Gen.choose (1, 4)) |> Gen.bind (fun (n, m) -> Gen.zip (genData [| n |] values) (genData [| m |] values))) (fun (a, b) ->
            checkBinary "outer" NonZero NonZero (fun x y -> x.outer y) a.T b.T)
        gprop "cross (batched, broadcast, along any dim)" (gen {
            let! target = genShapeRank 0 2 2
            let! pos = Gen.choose (0, target.Length)
            let full = Array.insertAt pos 3 target
            let! sa = genBroadcastFrom target
            let! sb = genBroadcastFrom target
            // insert the size-3 dim at the same position from the end as in `full` (padding with 1s if needed)
            let ins (s: int[]) =
                let dropped = target.Length - s.Length
                if pos >= dropped then Array.insertAt (pos - dropped) 3 s
                else Array.concat [ [| 3 |]; Array.create (dropped - pos) 1; s ]
            let! a = genData (ins sa) values
            let! b = genData (ins sb) values
            return a, b, pos - full.Length
        }) (fun (a, b, dim) ->
            checkBinary "cross" NonZero NonZero (fun x y -> x.cross (y, dim = dim)) a.T b.T)
    ]

[<Tests>]
let tests = testList "Autodiff.Linalg" [ valueTests; derivativeTests ]
