module Genesis.Tests.Autodiff.ShapeOpsTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Genesis
open Genesis.Tests.TestUtil
open Genesis.Tests.Autodiff.GradCheck

/// 0, 1, 2, ... as float64 values of a shape (easy to check by hand).
let private iota (shape: int[]) = t64 shape (Array.init (Shape.numel shape) float)

/// The row-major flat offset of a multi-index.
let private offset (shape: int[]) (idx: int[]) = Array.fold2 (fun acc i s -> acc + i * s) 0 idx (Shape.strides shape)

/// Every multi-index of a shape, row-major.
let private indices (shape: int[]) =
    [| for o in 0 .. Shape.numel shape - 1 ->
           let st = Shape.strides shape
           Array.init shape.Length (fun d -> (o / st[d]) % shape[d]) |]

let private values = genFloat -3.0 3.0

/// A tensor of rank minRank..3 with sizes 1..3.
let private genT (minRank: int) = genShapeRank minRank 3 3 |> Gen.bind (fun s -> genData s values)

let private valueTests =
    testList "values" [
        gtest "reshape, view and flatten keep the row-major order; -1 is inferred" (fun () ->
            let x = iota [| 2; 3 |]
            expectValues "reshape" [| 3; 2 |] [| 0.0 .. 5.0 |] (x.reshape [ 3; 2 ])
            expectValues "reshape -1" [| 6; 1 |] [| 0.0 .. 5.0 |] (x.reshape [ -1; 1 ])
            expectValues "view" [| 1; 6 |] [| 0.0 .. 5.0 |] (x.view [ 1; -1 ])
            expectValues "flatten" [| 6 |] [| 0.0 .. 5.0 |] (x.flatten ())
            expectValues "to scalar" [||] [| 7.0 |] ((v64 [ 7.0 ]).reshape [])
            expectTensor "int32 reshape" DType.Int32 [| 3; 1 |] [| 1.0; 2.0; 3.0 |] ((ti32 [| 3 |] [| 1; 2; 3 |]).reshape [ 3; 1 ]))
        gtest "reshape errors name the element count and the target" (fun () ->
            let x = iota [| 2; 3 |]
            throwsWith<GenesisException> [ "6 elements"; "[4; 2]" ] (fun () -> x.reshape [ 4; 2 ] |> ignore)
            throwsWith<GenesisException> [ "only one -1" ] (fun () -> x.reshape [ -1; -1 ] |> ignore)
            throwsWith<GenesisException> [ "6 elements"; "[-1; 4]" ] (fun () -> x.reshape [ -1; 4 ] |> ignore))
        gtest "permute, transpose and T against index arithmetic" (fun () ->
            let s = [| 2; 3; 4 |]
            let x = iota s
            let p = x.permute [ 2; 0; 1 ]
            Expect.equal p.shape [| 4; 2; 3 |] "permute shape"
            let expected = indices p.shape |> Array.map (fun i -> float (offset s [| i[1]; i[2]; i[0] |]))
            expectValues "permute" [| 4; 2; 3 |] expected p
            let t = x.transpose (0, -1)
            let expectedT = indices t.shape |> Array.map (fun i -> float (offset s [| i[2]; i[1]; i[0] |]))
            expectValues "transpose(0, -1)" [| 4; 3; 2 |] expectedT t
            expectValues "T of 3-D reverses dims" [| 4; 3; 2 |] expectedT x.T
            expectValues "T of 2-D" [| 3; 2 |] [| 0.0; 3.0; 1.0; 4.0; 2.0; 5.0 |] (iota [| 2; 3 |]).T
            throwsWith<GenesisException> [ "not a permutation"; "[2; 3; 4]" ] (fun () -> x.permute [ 0; 0; 1 ] |> ignore)
            throwsWith<GenesisException> [ "dimension 3 out of range"; "rank 3" ] (fun () -> x.transpose (0, 3) |> ignore))
        gtest "squeeze and unsqueeze" (fun () ->
            let x = iota [| 1; 3; 1 |]
            Expect.equal (x.squeeze ()).shape [| 3 |] "squeeze all"
            Expect.equal (x.squeeze 0).shape [| 3; 1 |] "squeeze 0"
            Expect.equal (x.squeeze -1).shape [| 1; 3 |] "squeeze -1"
            Expect.equal (x.squeeze 1).shape [| 1; 3; 1 |] "squeeze of a non-1 dim is a no-op"
            Expect.equal (x.unsqueeze 0).shape [| 1; 1; 3; 1 |] "unsqueeze 0"
            Expect.equal (x.unsqueeze -1).shape [| 1; 3; 1; 1 |] "unsqueeze -1"
            Expect.equal ((s64 1.0).unsqueeze 0).shape [| 1 |] "unsqueeze a scalar"
            expectValues "values kept" [| 3; 1 |] [| 0.0; 1.0; 2.0 |] (x.squeeze 0)
            throwsWith<GenesisException> [ "unsqueeze"; "5" ] (fun () -> x.unsqueeze 5 |> ignore))
        gtest "expand and expandAs broadcast; incompatible shapes are named" (fun () ->
            let x = t64 [| 3; 1 |] [| 1.0; 2.0; 3.0 |]
            expectValues "expand" [| 3; 2 |] [| 1.0; 1.0; 2.0; 2.0; 3.0; 3.0 |] (x.expand [ 3; 2 ])
            expectValues "expand -1 and a new leading dim" [| 2; 3; 2 |] (Array.replicate 2 [| 1.0; 1.0; 2.0; 2.0; 3.0; 3.0 |] |> Array.concat) (x.expand [ 2; -1; 2 ])
            expectValues "expandAs" [| 3; 2 |] [| 1.0; 1.0; 2.0; 2.0; 3.0; 3.0 |] (x.expandAs (iota [| 3; 2 |]))
            throwsWith<GenesisException> [ "[3; 1]"; "[2; 2]" ] (fun () -> x.expand [ 2; 2 ] |> ignore))
        gtest "split, narrow and flip" (fun () ->
            let x = iota [| 2; 5 |]
            let parts = x.split ([ 2; 3 ], dim = 1)
            Expect.equal parts.Length 2 "two parts"
            expectValues "part 0" [| 2; 2 |] [| 0.0; 1.0; 5.0; 6.0 |] parts[0]
            expectValues "part 1" [| 2; 3 |] [| 2.0; 3.0; 4.0; 7.0; 8.0; 9.0 |] parts[1]
            expectValues "split dim 0" [| 1; 5 |] [| 5.0 .. 9.0 |] ((x.split [ 1; 1 ])[1])
            throwsWith<GenesisException> [ "split"; "do not add up to 5" ] (fun () -> x.split ([ 2; 2 ], dim = 1) |> ignore)
            expectValues "narrow" [| 2; 2 |] [| 1.0; 2.0; 6.0; 7.0 |] (x.narrow (1, 1, 2))
            throwsWith<GenesisException> [ "out of range"; "size 5" ] (fun () -> x.narrow (1, 4, 2) |> ignore)
            expectValues "flip 1" [| 2; 5 |] [| 4.0; 3.0; 2.0; 1.0; 0.0; 9.0; 8.0; 7.0; 6.0; 5.0 |] (x.flip [ 1 ])
            expectValues "flip both" [| 2; 5 |] [| 9.0 .. -1.0 .. 0.0 |] (x.flip [ 0; -1 ]))
        gtest "gather and scatterAdd (PyTorch semantics, duplicate indices accumulate)" (fun () ->
            let x = t64 [| 2; 3 |] [| 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 |]
            let idx = ti64 [| 2; 2 |] [| 2L; 0L; 1L; 1L |]
            expectValues "gather dim 1" [| 2; 2 |] [| 3.0; 1.0; 5.0; 5.0 |] (x.gather (1, idx))
            let idx0 = ti32 [| 1; 3 |] [| 1; 0; 1 |]
            expectValues "gather dim 0 (int32 index)" [| 1; 3 |] [| 4.0; 2.0; 6.0 |] (x.gather (0, idx0))
            let src = t64 [| 2; 2 |] [| 10.0; 20.0; 30.0; 40.0 |]
            expectValues "scatterAdd dim 1" [| 2; 3 |] [| 21.0; 2.0; 13.0; 4.0; 75.0; 6.0 |] (x.scatterAdd (1, idx, src))
            throwsWith<GenesisException> [ "gather"; "index 3 out of range"; "size 3" ] (fun () -> x.gather (1, ti64 [| 2; 1 |] [| 3L; 0L |]) |> ignore)
            throwsWith<GenesisException> [ "scatterAdd"; "index -1 out of range" ] (fun () -> x.scatterAdd (1, ti64 [| 2; 1 |] [| -1L; 0L |], t64 [| 2; 1 |] [| 1.0; 1.0 |]) |> ignore)
            throwsWith<GenesisException> [ "gather"; "int tensor" ] (fun () -> x.gather (1, v64 [ 0.0 ]) |> ignore)
            throwsWith<GenesisException> [ "gather"; "rank" ] (fun () -> x.gather (1, ti64 [| 2 |] [| 0L; 0L |]) |> ignore)
            throwsWith<GenesisException> [ "scatterAdd"; "src shape [2; 2]"; "index shape [2; 1]" ] (fun () -> x.scatterAdd (1, ti64 [| 2; 1 |] [| 0L; 0L |], src) |> ignore))
        gtest "indexers and F# slicing (both ends inclusive), mixed forms" (fun () ->
            let x = iota [| 3; 4 |]
            expectValues "x.[1]" [| 4 |] [| 4.0 .. 7.0 |] x.[1]
            expectValues "x.[-1]" [| 4 |] [| 8.0 .. 11.0 |] x.[-1]
            expectValues "x.[1, 2]" [||] [| 6.0 |] x.[1, 2]
            expectValues "x.[0..1]" [| 2; 4 |] [| 0.0 .. 7.0 |] x.[0..1]
            expectValues "x.[1..]" [| 2; 4 |] [| 4.0 .. 11.0 |] x.[1..]
            expectValues "x.[..0]" [| 1; 4 |] [| 0.0 .. 3.0 |] x.[..0]
            expectValues "x.[1..0] is empty" [| 0; 4 |] [||] x.[1..0]
            expectValues "x.[0..1, 1..2]" [| 2; 2 |] [| 1.0; 2.0; 5.0; 6.0 |] x.[0..1, 1..2]
            expectValues "x.[2, 1..]" [| 3 |] [| 9.0; 10.0; 11.0 |] x.[2, 1..]
            expectValues "x.[1.., 3]" [| 2 |] [| 7.0; 11.0 |] x.[1.., 3]
            let y = iota [| 2; 3; 4 |]
            expectValues "y.[1, 2, 3]" [||] [| 23.0 |] y.[1, 2, 3]
            expectValues "y.[1, 0..1, 2..]" [| 2; 2 |] [| 14.0; 15.0; 18.0; 19.0 |] y.[1, 0..1, 2..]
            expectValues "y.[0..1, 2, 1..2]" [| 2; 2 |] [| 9.0; 10.0; 21.0; 22.0 |] y.[0..1, 2, 1..2]
            expectValues "y.[.., 1..2, 3]" [| 2; 2 |] [| 7.0; 11.0; 19.0; 23.0 |] y.[*, 1..2, 3]
            expectValues "y.[1, 1, 1..2]" [| 2 |] [| 17.0; 18.0 |] y.[1, 1, 1..2]
            expectValues "y.[0, 1..2, 0]" [| 2 |] [| 4.0; 8.0 |] y.[0, 1..2, 0]
            expectValues "y.[0..1, 0, 3]" [| 2 |] [| 3.0; 15.0 |] y.[0..1, 0, 3]
            expectValues "y.[0..0, 1..1, 2..3]" [| 1; 1; 2 |] [| 6.0; 7.0 |] y.[0..0, 1..1, 2..3])
        gtest "index out of range names the index, dimension and size" (fun () ->
            let x = iota [| 3; 4 |]
            throwsWith<GenesisException> [ "index 3 out of range"; "dimension 0"; "size 3" ] (fun () -> x.[3] |> ignore)
            throwsWith<GenesisException> [ "index -4 out of range" ] (fun () -> x.[-4] |> ignore)
            throwsWith<GenesisException> [ "index 4 out of range"; "size 4" ] (fun () -> x.[0, 4] |> ignore)
            throwsWith<GenesisException> [ "out of range"; "size 3" ] (fun () -> x.[1..3] |> ignore))
        gtest "a scalar has no dimension to index, slice, split, flip, gather or concatenate" (fun () ->
            let s = s64 1.0
            throwsWith<GenesisException> [ "index"; "dimension 0 out of range"; "rank 0" ] (fun () -> s.[0] |> ignore)
            throwsWith<GenesisException> [ "slice"; "rank 0" ] (fun () -> s.[0..0] |> ignore)
            throwsWith<GenesisException> [ "narrow"; "rank 0" ] (fun () -> s.narrow (0, 0, 1) |> ignore)
            throwsWith<GenesisException> [ "split"; "rank 0" ] (fun () -> s.split [ 1 ] |> ignore)
            throwsWith<GenesisException> [ "flip"; "rank 0" ] (fun () -> s.flip [ 0 ] |> ignore)
            throwsWith<GenesisException> [ "gather"; "rank 0" ] (fun () -> s.gather (0, ti64 [||] [| 0L |]) |> ignore)
            throwsWith<GenesisException> [ "cat"; "rank 0" ] (fun () -> gs.cat [ s; s ] |> ignore)
            expectValues "flip of no dims is the identity" [||] [| 1.0 |] (s.flip [])
            expectValues "cumsum of a scalar is the scalar" [||] [| 1.0 |] (s.cumsum 0))
        gtest "cat and stack along each dimension; mismatches are named" (fun () ->
            let a = iota [| 2; 2 |]
            let c = iota [| 2; 1 |] + 10.0
            expectValues "cat dim 1" [| 2; 3 |] [| 0.0; 1.0; 10.0; 2.0; 3.0; 11.0 |] (gs.cat ([ a; c ], dim = 1))
            expectValues "cat dim 0" [| 4; 2 |] [| 0.0; 1.0; 2.0; 3.0; 0.0; 1.0; 2.0; 3.0 |] (gs.cat [ a; a ])
            expectValues "cat dim -1, three tensors" [| 2; 4 |] [| 10.0; 0.0; 1.0; 10.0; 11.0; 2.0; 3.0; 11.0 |] (gs.cat ([ c; a; c ], dim = -1))
            expectValues "stack dim 0" [| 2; 2; 2 |] [| 0.0; 1.0; 2.0; 3.0; 0.0; 1.0; 2.0; 3.0 |] (gs.stack [ a; a ])
            expectValues "stack dim 2" [| 2; 2; 2 |] [| 0.0; 10.0; 1.0; 11.0; 2.0; 12.0; 3.0; 13.0 |] (gs.stack ([ a; a + 10.0 ], dim = 2))
            expectValues "stack scalars" [| 2 |] [| 1.0; 2.0 |] (gs.stack [ s64 1.0; s64 2.0 ])
            expectTensor "cat int32 with int64 promotes" DType.Int64 [| 3 |] [| 1.0; 2.0; 3.0 |] (gs.cat [ ti32 [| 1 |] [| 1 |]; ti64 [| 2 |] [| 2L; 3L |] ])
            throwsWith<GenesisException> [ "cat"; "[2; 2]"; "[2; 1]" ] (fun () -> gs.cat [ a; c ] |> ignore)
            throwsWith<GenesisException> [ "cat"; "dtype mismatch"; "float64"; "float32" ] (fun () -> gs.cat [ a; t32 [| 1; 2 |] [| 1.0f; 2.0f |] ] |> ignore)
            throwsWith<GenesisException> [ "stack"; "[2; 2]"; "[2; 1]" ] (fun () -> gs.stack [ a; c ] |> ignore)
            throwsWith<GenesisException> [ "no tensors" ] (fun () -> gs.cat [] |> ignore))
        gtest "toArray gives arrays of the tensor's rank" (fun () ->
            let m = (iota [| 2; 3 |]).toArray () :?> float[,]
            Expect.equal m.[1, 2] 5.0 "2-D"
            let c = (ti64 [| 2; 1; 2 |] [| 1L; 2L; 3L; 4L |]).toArray () :?> int64[,,]
            Expect.equal c.[1, 0, 1] 4L "3-D int64"
            Expect.equal ((s64 3.0).toArray () :?> float[]) [| 3.0 |] "scalar"
            Expect.equal ((t32 [| 2 |] [| 1.0f; 2.0f |]).toArray () :?> float32[]) [| 1.0f; 2.0f |] "1-D float32")
    ]

/// A shape containing some size-1 dims.
let private genWithOnes =
    gen {
        let! s = genShapeRank 1 4 3
        let! ones = Gen.arrayOfLength s.Length (Gen.elements [ true; false ])
        return Array.map2 (fun d o -> if o then 1 else d) s ones
    }

let private derivativeTests =
    let data (g: Gen<int[]>) = g |> Gen.bind (fun s -> genData s values)
    testList "derivatives (JVP/VJP vs central differences)" [
        gprop "reshape (reversed dims, and -1)" (genT 0) (fun d ->
            checkAt "reshape" NonZero (fun t -> t.reshape (Array.rev d.Shape)) d.T
            checkAt "reshape -1" NonZero (fun t -> t.reshape [ -1 ]) d.T)
        gprop "view and flatten" (genT 0) (fun d ->
            checkAt "view" NonZero (fun t -> t.view [ 1; -1 ]) d.T
            checkAt "flatten" NonZero (fun t -> t.flatten ()) d.T)
        gprop "permute" (genT 1 |> Gen.bind (fun d -> genPerm d.Shape.Length |> Gen.map (fun p -> d, p))) (fun (d, p) ->
            checkAt "permute" NonZero (fun t -> t.permute p) d.T)
        gprop "transpose and T" (genT 1 |> Gen.bind (fun d -> Gen.two (Gen.choose (-d.Shape.Length, d.Shape.Length - 1)) |> Gen.map (fun dims -> d, dims))) (fun (d, (d0, d1)) ->
            checkAt "transpose" NonZero (fun t -> t.transpose (d0, d1)) d.T
            checkAt "T" NonZero (fun t -> t.T) d.T)
        gprop "squeeze and unsqueeze" (data genWithOnes |> Gen.bind (fun d -> Gen.choose (0, d.Shape.Length) |> Gen.map (fun k -> d, k))) (fun (d, k) ->
            checkAt "squeeze()" NonZero (fun t -> t.squeeze ()) d.T
            checkAt "squeeze(dim)" NonZero (fun t -> t.squeeze (k % d.Shape.Length)) d.T
            checkAt "unsqueeze" NonZero (fun t -> t.unsqueeze k) d.T)
        gprop "expand (adjoint sums over broadcast dims)" (genShape 3 3 |> Gen.bind (fun target -> genBroadcastFrom target |> Gen.bind (fun s -> genData s values |> Gen.map (fun d -> d, target)))) (fun (d, target) ->
            checkAt "expand" NonZero (fun t -> t.expand target) d.T)
        gprop "split (pieces weighted and re-joined)" (genT 1 |> Gen.bind (fun d -> Gen.choose (0, d.Shape.Length - 1) |> Gen.bind (fun dim -> Gen.choose (0, d.Shape[dim]) |> Gen.map (fun k -> d, dim, k)))) (fun (d, dim, k) ->
            let n = d.Shape[dim]
            let sizes = [ k; n - k ]
            checkAt "split" NonZero (fun t -> gs.cat (t.split (sizes, dim) |> Array.mapi (fun i p -> p * float (i + 2)), dim)) d.T)
        gprop "flip" (genT 1 |> Gen.bind (fun d -> Gen.subListOf [ 0 .. d.Shape.Length - 1 ] |> Gen.map (fun dims -> d, Seq.toList dims))) (fun (d, dims) ->
            checkAt "flip" NonZero (fun t -> t.flip dims * (iota d.Shape + 1.0)) d.T)
        gprop "narrow" (genT 1 |> Gen.bind (fun d -> Gen.choose (0, d.Shape.Length - 1) |> Gen.bind (fun dim -> Gen.choose (0, d.Shape[dim] - 1) |> Gen.bind (fun s -> Gen.choose (1, d.Shape[dim] - s) |> Gen.map (fun l -> d, dim, s, l))))) (fun (d, dim, s, l) ->
            checkAt "narrow" NonZero (fun t -> t.narrow (dim, s, l)) d.T)
        gprop "gather (random indices, repeats allowed)" (genT 1 |> Gen.bind (fun d ->
            gen {
                let! dim = Gen.choose (0, d.Shape.Length - 1)
                let! ishape = Gen.sequenceToArray [ for s in d.Shape -> Gen.choose (1, s) ]
                let! k = Gen.choose (1, 3)
                ishape[dim] <- k
                let! idx = Gen.arrayOfLength (Shape.numel ishape) (Gen.choose (0, d.Shape[dim] - 1))
                return d, dim, ishape, idx
            })) (fun (d, dim, ishape, idx) ->
            let index = ti64 ishape (Array.map int64 idx)
            checkAt "gather" NonZero (fun t -> t.gather (dim, index)) d.T)
        gprop "scatterAdd (input and src active)" (genT 1 |> Gen.bind (fun d ->
            gen {
                let! dim = Gen.choose (0, d.Shape.Length - 1)
                let! ishape = Gen.sequenceToArray [ for s in d.Shape -> Gen.choose (1, s) ]
                let! idx = Gen.arrayOfLength (Shape.numel ishape) (Gen.choose (0, d.Shape[dim] - 1))
                let! src = genData ishape values
                return d, dim, idx, src
            })) (fun (d, dim, idx, src) ->
            let index = ti64 src.Shape (Array.map int64 idx)
            checkBinary "scatterAdd" NonZero NonZero (fun t s -> t.scatterAdd (dim, index, s)) d.T src.T)
        gprop "indexers t.[i], t.[i, j] and slices t.[a..b], t.[i, a..b], t.[a..b, j]" (genShapeRank 2 3 3 |> Gen.bind (fun s ->
            gen {
                let! d = genData s values
                let! i = Gen.choose (-s[0], s[0] - 1)
                let! j = Gen.choose (0, s[1] - 1)
                let! a = Gen.choose (0, s[0] - 1)
                let! b = Gen.choose (a, s[0] - 1)
                let! c = Gen.choose (0, s[1] - 1)
                let! e = Gen.choose (c, s[1] - 1)
                return d, i, j, a, b, c, e
            })) (fun (d, i, j, a, b, c, e) ->
            checkAt "t.[i]" NonZero (fun t -> t.[i]) d.T
            checkAt "t.[i, j]" NonZero (fun t -> t.[i, j]) d.T
            checkAt "t.[a..b]" NonZero (fun t -> t.[a..b]) d.T
            checkAt "t.[a..b, c..e]" NonZero (fun t -> t.[a..b, c..e]) d.T
            checkAt "t.[i, c..e]" NonZero (fun t -> t.[i, c..e]) d.T
            checkAt "t.[a..b, j]" NonZero (fun t -> t.[a..b, j]) d.T)
        gprop "cat and stack (both operands active or constant)" (genShapeRank 1 3 3 |> Gen.bind (fun s ->
            gen {
                let! dim = Gen.choose (0, s.Length - 1)
                let! k = Gen.choose (1, 3)
                let s2 = Array.copy s
                s2[dim] <- k
                let! a = genData s values
                let! b = genData s2 values
                let! c = genData s values
                return a, b, c, dim
            })) (fun (a, b, c, dim) ->
            checkBinary "cat" NonZero NonZero (fun x y -> gs.cat ([ x; y ], dim = dim)) a.T b.T
            checkBinary "stack" NonZero NonZero (fun x y -> gs.stack ([ x; y ], dim = dim)) a.T c.T)
    ]

[<Tests>]
let tests = testList "Autodiff.ShapeOps" [ valueTests; derivativeTests ]
