/// gs.tensor from .NET arrays of every supported element type and shape (jagged and multidimensional), and the typed
/// accessors toArray1D/2D/3D.
module Genesis.Tests.Api.ArrayInputTests

open Expecto
open Genesis
open Genesis.Tests

[<Tests>]
let tests =
    testList "Api.ArrayInput" [
        test "jagged int64[][] and float32[][][] give their shape, values and the precision's dtype" {
            GsSetup.ensure64 ()
            let a = gs.tensor([| [| 1L; 2L; 3L |]; [| 4L; 5L; 6L |] |])
            Expect.equal a.shape [| 2; 3 |] "shape"
            Expect.equal a.dtype DType.Int64 "integral arrays take the precision's int type"
            Expect.equal (a.toArray2D<int64>()) (array2D [ [ 1L; 2L; 3L ]; [ 4L; 5L; 6L ] ]) "values, row-major"
            let b = gs.tensor([| [| [| 1.0f; 2.0f |]; [| 3.0f; 4.0f |] |]; [| [| 5.0f; 6.0f |]; [| 7.0f; 8.0f |] |] |])
            Expect.equal b.shape [| 2; 2; 2 |] "3-level jagged shape"
            Expect.equal (b.toArray3D<float>()[1, 0, 1]) 6.0 "element [1, 0, 1]"
        }
        test "multidimensional int[,] and bool[][] arrays" {
            GsSetup.ensure64 ()
            let a = gs.tensor(Array2D.init 2 3 (fun i j -> i * 3 + j))
            Expect.equal a.shape [| 2; 3 |] "shape"
            Expect.equal (a.toArray2D<int>()[1, 2]) 5 "element [1, 2]"
            let flags = gs.tensor([| [| true; false |]; [| false; true |] |])
            Expect.equal flags.dtype DType.Bool "bool"
            Expect.equal (flags.toArray2D<bool>()) (array2D [ [ true; false ]; [ false; true ] ]) "bool values"
        }
        test "ragged jagged arrays raise one GenesisException naming the row; unsupported element types name the type" {
            GsSetup.ensure64 ()
            TestUtil.throwsWith<GenesisException> [ "ragged"; "values[1]"; "[2]"; "[3]" ] (fun () -> gs.tensor([| [| 1L; 2L; 3L |]; [| 4L; 5L |] |]) |> ignore)
            TestUtil.throwsWith<GenesisException> [ "ragged"; "values[0][1]" ] (fun () -> gs.tensor([| [| [| 1.0 |]; [| 2.0; 3.0 |] |] |]) |> ignore)
            TestUtil.throwsWith<GenesisException> [ "Decimal" ] (fun () -> gs.tensor([| [| 1.0m |] |]) |> ignore)
        }
        test "toArray1D/2D/3D cast to the element type asked and check the rank" {
            GsSetup.ensure64 ()
            let m = gs.tensor([| [| 1.5; 2.0 |]; [| 3.0; 4.0 |] |])
            Expect.equal (m.toArray2D<float>()) (array2D [ [ 1.5; 2.0 ]; [ 3.0; 4.0 ] ]) "float"
            Expect.equal (m.toArray2D<int>()[0, 0]) 1 "cast to int truncates as the engine's cast"
            Expect.equal (m.[0].toArray1D<float32>()) [| 1.5f; 2.0f |] "row as float32"
            TestUtil.throwsWith<GenesisException> [ "toArray1D"; "[2; 2]"; "not 1" ] (fun () -> m.toArray1D<float>() |> ignore)
            TestUtil.throwsWith<GenesisException> [ "toArray3D"; "not 3" ] (fun () -> m.toArray3D<float>() |> ignore)
            TestUtil.throwsWith<GenesisException> [ "toArray2D<String>"; "element type" ] (fun () -> m.toArray2D<string>() |> ignore)
        }
    ]
