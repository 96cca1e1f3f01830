module Genesis.Tests.NN.SafetensorsTests

open System
open System.IO
open System.Text
open Expecto
open Genesis
open Genesis.NN
open Genesis.Tests
open Genesis.Tests.TestUtil

let private tempFile () = Path.Combine(Path.GetTempPath(), sprintf "genesis-nn-%s.safetensors" (Guid.NewGuid().ToString("N")))

/// A safetensors file laid out by hand: header length, header padded with spaces to 8 bytes, little-endian data.
let private handMade (header: string) (data: byte[]) =
    let h = Encoding.UTF8.GetBytes header
    let padded = (h.Length + 7) / 8 * 8
    Array.concat [ BitConverter.GetBytes(uint64 padded) |> (fun b -> if BitConverter.IsLittleEndian then b else Array.rev b)
                   h
                   Array.create (padded - h.Length) (byte ' ')
                   data ]

let private le64 (v: float) = let b = BitConverter.GetBytes v in if BitConverter.IsLittleEndian then b else Array.rev b
let private le32 (v: float32) = let b = BitConverter.GetBytes v in if BitConverter.IsLittleEndian then b else Array.rev b

let private bits (m: Module) = m.stateDict() |> Array.collect (fun (_, t) -> t.toFloatArray() |> Array.map BitConverter.DoubleToInt64Bits)

[<Tests>]
let tests =
    testList "NN.Safetensors" [
        test "save then load restores parameters and buffers bit for bit" {
            GsSetup.ensure64 ()
            let net = Sequential([ ObsNormalizer(3) :> Module; Linear(3, 4); Tanh(); Linear(4, 2) ])
            (net.layers[0] :?> ObsNormalizer).update(gs.tensor([| 0.1; 1e-300; Math.PI; -2.0; 7.0; 1.0 / 3.0 |]).reshape([ 2; 3 ]))
            let path = tempFile ()
            try
                net.save path
                let other = Sequential([ ObsNormalizer(3) :> Module; Linear(3, 4); Tanh(); Linear(4, 2) ])
                Expect.notEqual (bits other) (bits net) "a fresh network differs"
                other.load path
                Expect.equal (bits other) (bits net) "bitwise equal"
                Expect.isTrue (other.parameters() |> Array.forall (fun p -> p.requiresGrad && p.isLeaf)) "still requiresGrad leaves"
            finally File.Delete path
        }
        test "the writer produces exactly the documented byte layout and the reader decodes a hand-made file" {
            GsSetup.ensure64 ()
            let a = gs.tensor([| 1.5; -2.25 |])
            let b = gs.tensor([| 0.5; 3.0 |], dtype = DType.Float32).reshape([ 1; 2 ])
            let header = """{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[1,2],"data_offsets":[16,24]}}"""
            let data = Array.concat [ le64 1.5; le64 -2.25; le32 0.5f; le32 3.0f ]
            let expected = handMade header data
            Expect.equal (Safetensors.toBytes "mem" [| "a", a; "b", b |] [||]) expected "writer bytes"
            // a hand-made file with metadata, entries out of order and unpadded header
            let h2 = """{"__metadata__":{"k":"v"},"y":{"dtype":"F32","shape":[],"data_offsets":[8,12]},"x":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"""
            let hb = Encoding.UTF8.GetBytes h2
            let file = Array.concat [ BitConverter.GetBytes(uint64 hb.Length); hb; le64 42.0; le32 -1.25f ]
            let entries = Safetensors.ofBytes "mem" file
            let x = entries |> Array.find (fun e -> e.name = "x")
            let y = entries |> Array.find (fun e -> e.name = "y")
            Expect.equal (x.dtype, x.shape, x.values) (DType.Float64, [| 1 |], [| 42.0 |]) "x"
            Expect.equal (y.dtype, y.shape, y.values) (DType.Float32, [||], [| -1.25 |]) "y (scalar)"
        }
        test "corrupt files raise a GenesisException naming the problem and leave the module unchanged" {
            GsSetup.ensure64 ()
            let net = NN.mlp([ 2; 3; 1 ])
            let before = bits net
            let good = Safetensors.toBytes "mem" (NN.mlp([ 2; 3; 1 ]).stateDict()) [||]
            let cases =
                [ "truncated data", good[.. good.Length - 5], [ "truncated" ]
                  "short file", good[..4], [ "fewer than the 8-byte" ]
                  "header length too large", Array.append (BitConverter.GetBytes(uint64 1_000_000)) good[8..], [ "header length 1000000" ]
                  "bad JSON", handMade "{\"0.weight\": [" [||], [ "not valid JSON" ]
                  "wrong dtype", handMade """{"0.weight":{"dtype":"BF16","shape":[3,2],"data_offsets":[0,12]}}""" (Array.zeroCreate 12), [ "BF16" ]
                  "size mismatch", handMade """{"0.weight":{"dtype":"F64","shape":[3,2],"data_offsets":[0,40]}}""" (Array.zeroCreate 48), [ "need"; "48" ]
                  "overlap", handMade """{"p":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"q":{"dtype":"F64","shape":[1],"data_offsets":[8,16]}}""" (Array.zeroCreate 16), [ "overlap" ] ]
            for name, bytes, frags in cases do
                let path = tempFile ()
                try
                    File.WriteAllBytes(path, bytes)
                    throwsWith<GenesisException> (path :: frags) (fun () -> net.load path)
                    Expect.equal (bits net) before (sprintf "%s: module unchanged" name)
                finally File.Delete path
            // well-formed files that do not fit the module
            let wrongShape = tempFile ()
            let missing = tempFile ()
            try
                NN.mlp([ 2; 4; 1 ]).save wrongShape
                throwsWith<GenesisException> [ "0.weight"; "[4; 2]"; "[3; 2]" ] (fun () -> net.load wrongShape)
                Linear(2, 3).save missing
                throwsWith<GenesisException> [ "missing"; "0.weight" ] (fun () -> net.load missing)
                Expect.equal (bits net) before "module unchanged"
                throwsWith<GenesisException> [ "cannot read" ] (fun () -> net.load (tempFile ()))
            finally
                File.Delete wrongShape
                File.Delete missing
        }
    ]
