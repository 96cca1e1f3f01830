namespace Genesis.Vis

open System
open System.IO
open System.IO.Compression
open Genesis

/// An RGB image with its depth: pixels row-major, row 0 at the top.
type Image =
    { /// Width (pixels).
      width: int
      /// Height (pixels).
      height: int
      /// Colour bytes [H; W; 3] flattened.
      rgb: byte[]
      /// Depth along the camera's viewing axis [H; W] flattened (m); +infinity where nothing is hit.
      depth: float[] }

/// PNG and animated GIF writers (no dependency): PNG = zlib-compressed RGB rows with CRC-32 chunks;
/// GIF = a fixed palette (6x6x6 colour cube and a grey ramp), LZW-compressed frames, looping.
module ImageFiles =
    let private crcTable =
        Array.init 256 (fun n ->
            let mutable c = uint32 n
            for _ in 0 .. 7 do
                c <- if c &&& 1u <> 0u then 0xEDB88320u ^^^ (c >>> 1) else c >>> 1
            c)

    /// CRC-32 (ISO 3309, as PNG uses) of bytes.
    let crc32 (data: byte[]) =
        let mutable c = 0xFFFFFFFFu
        for b in data do
            c <- crcTable.[int ((c ^^^ uint32 b) &&& 0xFFu)] ^^^ (c >>> 8)
        c ^^^ 0xFFFFFFFFu

    let private checkSize (what: string) (width: int) (height: int) (rgb: byte[]) =
        if width <= 0 || height <= 0 then raise (GenesisException(sprintf "%s: image size must be positive, got %dx%d" what width height))
        if rgb.Length <> width * height * 3 then
            raise (GenesisException(sprintf "%s: a %dx%d RGB image needs %d bytes, got %d" what width height (width * height * 3) rgb.Length))

    /// PNG file bytes of an RGB image (8 bits per channel, no filtering).
    let pngBytes (width: int) (height: int) (rgb: byte[]) : byte[] =
        checkSize "png" width height rgb
        use out = new MemoryStream()
        let be (v: uint32) = [| byte (v >>> 24); byte (v >>> 16); byte (v >>> 8); byte v |]
        let chunk (kind: string) (data: byte[]) =
            let typed = Array.append (Text.Encoding.ASCII.GetBytes kind) data
            out.Write(be (uint32 data.Length))
            out.Write(typed)
            out.Write(be (crc32 typed))
        out.Write([| 0x89uy; 0x50uy; 0x4Euy; 0x47uy; 0x0Duy; 0x0Auy; 0x1Auy; 0x0Auy |])
        chunk "IHDR" (Array.concat [ be (uint32 width); be (uint32 height); [| 8uy; 2uy; 0uy; 0uy; 0uy |] ])
        let raw = Array.zeroCreate<byte> (height * (1 + 3 * width))
        for i in 0 .. height - 1 do
            Array.blit rgb (i * 3 * width) raw (i * (1 + 3 * width) + 1) (3 * width)
        use z = new MemoryStream()
        (use zs = new ZLibStream(z, CompressionLevel.Optimal, true)
         zs.Write(raw, 0, raw.Length))
        chunk "IDAT" (z.ToArray())
        chunk "IEND" [||]
        out.ToArray()

    /// Writes an RGB image as a PNG file.
    let savePng (path: string) (width: int) (height: int) (rgb: byte[]) = File.WriteAllBytes(path, pngBytes width height rgb)

    /// Palette index of a colour: the nearest (squared RGB distance) of its 6x6x6 cube colour and
    /// its grey-ramp colour (ties to the cube).
    let paletteIndex (r: byte) (g: byte) (b: byte) =
        let q (x: byte) = int (Math.Round(float x * 5.0 / 255.0))
        let lv (i: int) = Math.Round(255.0 * float i / 5.0)
        let cube = q r * 36 + q g * 6 + q b
        let d2 (x: byte) (y: float) = (float x - y) * (float x - y)
        let eCube = d2 r (lv (q r)) + d2 g (lv (q g)) + d2 b (lv (q b))
        let k = int (Math.Round((float r + float g + float b) / 3.0 * 39.0 / 255.0))
        let grey = Math.Round(255.0 * float k / 39.0)
        let eGrey = d2 r grey + d2 g grey + d2 b grey
        if eGrey < eCube then 216 + k else cube

    /// The 256-entry palette: the 6x6x6 colour cube (216), then a 40-level grey ramp.
    let palette =
        Array.init 256 (fun k ->
            if k >= 216 then Array.create 3 (byte (Math.Round(255.0 * float (k - 216) / 39.0)))
            else
                let lv (i: int) = byte (Math.Round(255.0 * float i / 5.0))
                [| lv (k / 36); lv ((k / 6) % 6); lv (k % 6) |])

    /// GIF LZW compression of 8-bit palette indices (minimum code size 8), as sub-blocks.
    let private lzw (indices: byte[]) : byte[] =
        let out = ResizeArray<byte>()
        let mutable acc, bits = 0, 0
        let emit (code: int) (size: int) =
            acc <- acc ||| (code <<< bits)
            bits <- bits + size
            while bits >= 8 do
                out.Add(byte (acc &&& 0xFF))
                acc <- acc >>> 8
                bits <- bits - 8
        let clear, eoi = 256, 257
        let table = Collections.Generic.Dictionary<int, int>()
        let mutable size, next = 9, 258
        emit clear size
        let mutable cur = int indices.[0]
        for k in 1 .. indices.Length - 1 do
            let px = int indices.[k]
            let key = (cur <<< 8) ||| px
            match table.TryGetValue key with
            | true, code -> cur <- code
            | _ ->
                emit cur size
                if next = 4096 then
                    emit clear size
                    next <- 258
                    size <- 9
                    table.Clear()
                else
                    if next >= (1 <<< size) then size <- size + 1
                    table.[key] <- next
                    next <- next + 1
                cur <- px
        emit cur size
        emit eoi size
        if bits > 0 then out.Add(byte (acc &&& 0xFF))
        let data = out.ToArray()
        [| for o in 0 .. 255 .. data.Length - 1 do
               let n = min 255 (data.Length - o)
               yield byte n
               yield! data.[o .. o + n - 1]
           yield 0uy |]

    let private write (s: Stream) (b: byte[]) = s.Write(b, 0, b.Length)

    /// Animated GIF bytes of RGB frames of one size, each shown delayMs milliseconds, looping forever.
    let gifBytes (width: int) (height: int) (frames: byte[] seq) (delayMs: int) : byte[] =
        let frames = Seq.toArray frames
        if frames.Length = 0 then raise (GenesisException "gif: no frames")
        frames |> Array.iteri (fun i f -> checkSize (sprintf "gif frame %d" i) width height f)
        if width > 65535 || height > 65535 then raise (GenesisException(sprintf "gif: %dx%d is larger than 65535" width height))
        use out = new MemoryStream()
        let le (v: int) = [| byte v; byte (v >>> 8) |]
        write out (Text.Encoding.ASCII.GetBytes "GIF89a")
        write out (Array.concat [ le width; le height; [| 0xF7uy; 0uy; 0uy |] ])
        for c in palette do write out c
        write out ([| 0x21uy; 0xFFuy; 0x0Buy |])
        write out (Text.Encoding.ASCII.GetBytes "NETSCAPE2.0")
        write out ([| 3uy; 1uy; 0uy; 0uy; 0uy |])
        let delay = max 1 ((delayMs + 5) / 10)
        for f in frames do
            write out (Array.concat [ [| 0x21uy; 0xF9uy; 4uy; 0uy |]; le delay; [| 0uy; 0uy |] ])
            write out (Array.concat [ [| 0x2Cuy |]; le 0; le 0; le width; le height; [| 0uy; 8uy |] ])
            write out (lzw (Array.init (width * height) (fun p -> byte (paletteIndex f.[3 * p] f.[3 * p + 1] f.[3 * p + 2]))))
        out.WriteByte 0x3Buy
        out.ToArray()

    /// Writes an animated GIF of RGB frames.
    let saveGif (path: string) (width: int) (height: int) (frames: byte[] seq) (delayMs: int) =
        File.WriteAllBytes(path, gifBytes width height frames delayMs)
