namespace Genesis.NN

open System
open System.Buffers.Binary
open System.IO
open System.Text
open System.Text.Json
open Genesis

/// One tensor read from a safetensors file: its name, dtype, shape and values (the file's bytes, decoded).
type SafetensorsEntry =
    { /// The tensor's name in the header.
      name: string
      /// The element type (Float64 or Float32).
      dtype: DType
      /// The shape.
      shape: int[]
      /// The values, widened to float (exact for F32 and F64).
      values: float[] }

/// The safetensors format (written by hand): an 8-byte little-endian header length N, N bytes of JSON header
/// ({"name": {"dtype": "F64", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}, padded with spaces
/// to a multiple of 8), then the little-endian data, offsets counted from the end of the header.
module Safetensors =
    let private codeOf (path: string) (name: string) (d: DType) =
        match d with
        | DType.Float64 -> "F64"
        | DType.Float32 -> "F32"
        | other -> raise (GenesisException(sprintf "safetensors '%s': tensor '%s' has dtype %O; only Float64 and Float32 are written" path name other))

    let private sizeOf (code: string) = if code = "F64" then 8 else 4

    /// The bytes of a safetensors file holding the tensors in the given order (and optional string metadata).
    let toBytes (path: string) (tensors: (string * Tensor)[]) (metadata: (string * string)[]) : byte[] =
        let dup = tensors |> Array.countBy fst |> Array.tryFind (fun (_, c) -> c > 1)
        match dup with
        | Some(n, _) -> raise (GenesisException(sprintf "safetensors '%s': tensor name '%s' appears twice" path n))
        | None -> ()
        let codes = tensors |> Array.map (fun (n, t) -> codeOf path n t.dtype)
        let sizes = Array.map2 (fun (_, t: Tensor) c -> int64 t.numel * int64 (sizeOf c)) tensors codes
        let json = new MemoryStream()
        do
            use w = new Utf8JsonWriter(json)
            w.WriteStartObject()
            if metadata.Length > 0 then
                w.WriteStartObject("__metadata__")
                for k, v in metadata do w.WriteString(k, v)
                w.WriteEndObject()
            let mutable offset = 0L
            tensors |> Array.iteri (fun i (n, t) ->
                w.WriteStartObject(n)
                w.WriteString("dtype", codes[i])
                w.WriteStartArray("shape")
                for d in t.shape do w.WriteNumberValue(d)
                w.WriteEndArray()
                w.WriteStartArray("data_offsets")
                w.WriteNumberValue(offset)
                w.WriteNumberValue(offset + sizes[i])
                w.WriteEndArray()
                w.WriteEndObject()
                offset <- offset + sizes[i])
            w.WriteEndObject()
        let header = json.ToArray()
        let padded = (header.Length + 7) / 8 * 8
        let total = 8L + int64 padded + Array.sum sizes
        let out = Array.zeroCreate<byte> (int total)
        BinaryPrimitives.WriteUInt64LittleEndian(out.AsSpan(0, 8), uint64 padded)
        Array.blit header 0 out 8 header.Length
        for k in 8 + header.Length .. 8 + padded - 1 do out[k] <- byte ' '
        let mutable pos = 8 + padded
        tensors |> Array.iteri (fun i (_, t) ->
            let values = t.toFloatArray()
            if codes[i] = "F64" then
                for v in values do
                    BinaryPrimitives.WriteDoubleLittleEndian(out.AsSpan(pos, 8), v)
                    pos <- pos + 8
            else
                for v in values do
                    BinaryPrimitives.WriteSingleLittleEndian(out.AsSpan(pos, 4), float32 v)
                    pos <- pos + 4)
        out

    /// Writes the tensors to a safetensors file (whole file written at once).
    let save (path: string) (tensors: (string * Tensor)[]) (metadata: (string * string)[]) =
        File.WriteAllBytes(path, toBytes path tensors metadata)

    let private fail (path: string) (msg: string) = raise (GenesisException(sprintf "safetensors '%s': %s" path msg))

    let private readEntry (path: string) (bytes: byte[]) (dataStart: int64) (p: JsonProperty) =
        let v = p.Value
        let prop (k: string) =
            match v.ValueKind with
            | JsonValueKind.Object ->
                match v.TryGetProperty k with
                | true, x -> x
                | _ -> fail path (sprintf "tensor '%s' has no \"%s\" in the header" p.Name k)
            | _ -> fail path (sprintf "header entry '%s' is not an object" p.Name)
        let code = let d = prop "dtype" in if d.ValueKind = JsonValueKind.String then d.GetString() else fail path (sprintf "tensor '%s': dtype is not a string" p.Name)
        let dtype =
            match code with
            | "F64" -> DType.Float64
            | "F32" -> DType.Float32
            | other -> fail path (sprintf "tensor '%s' has dtype '%s'; only F64 and F32 are read" p.Name other)
        let ints (k: string) =
            let a = prop k
            if a.ValueKind <> JsonValueKind.Array then fail path (sprintf "tensor '%s': %s is not an array" p.Name k)
            [| for x in a.EnumerateArray() ->
                 match x.TryGetInt64() with
                 | true, n when n >= 0L -> n
                 | _ -> fail path (sprintf "tensor '%s': %s holds %s, not a non-negative integer" p.Name k (x.GetRawText())) |]
        let shape = ints "shape"
        let offsets = ints "data_offsets"
        if offsets.Length <> 2 then fail path (sprintf "tensor '%s': data_offsets has %d entries, expected 2" p.Name offsets.Length)
        let numel = shape |> Array.fold (fun a d -> a * d) 1L
        let size = int64 (sizeOf code)
        let b, e = offsets[0], offsets[1]
        if e < b || e - b <> numel * size then
            fail path (sprintf "tensor '%s': data_offsets [%d, %d] hold %d bytes, but shape %s of %s needs %d" p.Name b e (e - b) (Shape.format (shape |> Array.map int)) code (numel * size))
        if dataStart + e > int64 bytes.Length then
            fail path (sprintf "tensor '%s': data_offsets end %d lies past the data (%d bytes); the file is truncated" p.Name e (int64 bytes.Length - dataStart))
        let start = int (dataStart + b)
        let values =
            Array.init (int numel) (fun k ->
                if code = "F64" then BinaryPrimitives.ReadDoubleLittleEndian(ReadOnlySpan(bytes, start + 8 * k, 8))
                else float (BinaryPrimitives.ReadSingleLittleEndian(ReadOnlySpan(bytes, start + 4 * k, 4))))
        { name = p.Name; dtype = dtype; shape = shape |> Array.map int; values = values }, (b, e)

    /// Parses the bytes of a safetensors file (path only names the file in errors); raises GenesisException naming
    /// the problem (truncated file, bad header, overlapping data) without returning partial results.
    let ofBytes (path: string) (bytes: byte[]) : SafetensorsEntry[] =
        if bytes.Length < 8 then fail path (sprintf "the file has %d bytes, fewer than the 8-byte header length" bytes.Length)
        let n = BinaryPrimitives.ReadUInt64LittleEndian(ReadOnlySpan(bytes, 0, 8))
        if n > uint64 (bytes.Length - 8) then
            fail path (sprintf "header length %d exceeds the %d bytes after the length field (corrupt or truncated file)" n (bytes.Length - 8))
        let headerText =
            try UTF8Encoding(false, true).GetString(bytes, 8, int n)
            with _ -> fail path "the header is not valid UTF-8"
        let doc =
            try JsonDocument.Parse(headerText)
            with e -> fail path (sprintf "the header is not valid JSON (%s)" e.Message)
        use doc = doc
        if doc.RootElement.ValueKind <> JsonValueKind.Object then fail path "the header is not a JSON object"
        let dataStart = 8L + int64 n
        let read =
            [| for p in doc.RootElement.EnumerateObject() do
                 if p.Name <> "__metadata__" then readEntry path bytes dataStart p |]
        // the data regions must not overlap
        let sorted = read |> Array.map snd |> Array.sortBy fst
        for k in 1 .. sorted.Length - 1 do
            if fst sorted[k] < snd sorted[k - 1] then
                fail path (sprintf "data_offsets overlap ([%d, %d] and [%d, %d])" (fst sorted[k - 1]) (snd sorted[k - 1]) (fst sorted[k]) (snd sorted[k]))
        read |> Array.map fst

    /// Reads every tensor of a safetensors file.
    let load (path: string) : SafetensorsEntry[] =
        let bytes =
            try File.ReadAllBytes path
            with :? IOException | :? UnauthorizedAccessException as e -> raise (GenesisException(sprintf "safetensors '%s': cannot read the file (%s)" path e.Message, e))
        ofBytes path bytes
