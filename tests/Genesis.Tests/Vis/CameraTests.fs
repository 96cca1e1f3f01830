module Genesis.Tests.Vis.CameraTests

open System
open System.IO
open System.IO.Compression
open Expecto
open Genesis
open Genesis.Vis
open Genesis.Tests
open Genesis.Tests.TestUtil

/// Depth tolerance (m) and the pixel band around an analytic silhouette edge allowed to differ.
let private depthTol = 1e-6
let private edgePx = 1.0

let private sceneWith (morph: Morph) =
    let scene = Scene(SimOptions(dt = 0.01))
    scene.addEntity morph |> ignore
    scene.build()
    scene

/// Image-plane coordinates (u right, v up) of pixel (i, j) for a camera of vertical fov (degrees).
let private uv (w: int) (h: int) (fov: float) (i: int) (j: int) =
    let f = float h / 2.0 / tan (fov * Math.PI / 360.0)
    (float j + 0.5 - float w / 2.0) / f, (float h / 2.0 - float i - 0.5) / f, f

/// Checks that the covered mask equals `inside` except within edgePx of the silhouette, where
/// `signedPx` gives the distance (pixels, positive inside) of a pixel centre to the edge.
let private checkMask (depth: float[]) (w: int) (h: int) (signedPx: int -> int -> float) =
    let mutable covered = 0
    for i in 0 .. h - 1 do
        for j in 0 .. w - 1 do
            let hit = not (Double.IsInfinity depth.[i * w + j])
            if hit then covered <- covered + 1
            let s = signedPx i j
            if s > edgePx && not hit then failtestf "pixel (%d, %d) is %.2f px inside the silhouette but empty" i j s
            if s < -edgePx && hit then failtestf "pixel (%d, %d) is %.2f px outside the silhouette but covered" i j -s
    covered


/// Decodes the frames of a GIF written by ImageFiles (global palette, LZW minimum code size 8):
/// (width, height, delay in 1/100 s, palette-index frames), by the GIF89a specification.
let private decodeGif (bytes: byte[]) =
    let u16 (o: int) = int bytes.[o] ||| (int bytes.[o + 1] <<< 8)
    Expect.equal (Text.Encoding.ASCII.GetString(bytes, 0, 6)) "GIF89a" "header"
    let w, h = u16 6, u16 8
    let mutable o = 13 + 3 * 256
    let frames = ResizeArray<byte[]>()
    let mutable delay = -1
    while bytes.[o] <> 0x3Buy do
        match bytes.[o] with
        | 0x21uy ->
            if bytes.[o + 1] = 0xF9uy then delay <- u16 (o + 4)
            o <- o + 2
            while bytes.[o] <> 0uy do o <- o + 1 + int bytes.[o]
            o <- o + 1
        | 0x2Cuy ->
            Expect.equal (u16 (o + 5), u16 (o + 7)) (w, h) "frame covers the screen"
            let minSize = int bytes.[o + 10]
            o <- o + 11
            let data = ResizeArray<byte>()
            while bytes.[o] <> 0uy do
                data.AddRange(bytes.[o + 1 .. o + int bytes.[o]])
                o <- o + 1 + int bytes.[o]
            o <- o + 1
            // LZW decode
            let clear, eoi = 1 <<< minSize, (1 <<< minSize) + 1
            let table = ResizeArray<byte[]>()
            let reset () =
                table.Clear()
                for k in 0 .. eoi do table.Add(if k < clear then [| byte k |] else [||])
            reset ()
            let out = ResizeArray<byte>()
            let mutable size, bitPos, prev, fin = minSize + 1, 0, -1, false
            while not fin do
                let mutable code = 0
                for b in 0 .. size - 1 do
                    let p = bitPos + b
                    if (int data.[p / 8] >>> (p % 8)) &&& 1 = 1 then code <- code ||| (1 <<< b)
                bitPos <- bitPos + size
                if code = clear then
                    reset ()
                    size <- minSize + 1
                    prev <- -1
                elif code = eoi then fin <- true
                else
                    let entry =
                        if code < table.Count then table.[code]
                        else Array.append table.[prev] [| table.[prev].[0] |]
                    out.AddRange entry
                    if prev >= 0 && table.Count < 4096 then table.Add(Array.append table.[prev] [| entry.[0] |])
                    if table.Count = (1 <<< size) && size < 12 then size <- size + 1
                    prev <- code
            Expect.equal out.Count (w * h) "pixels per frame"
            frames.Add(out.ToArray())
        | b -> failtestf "unexpected GIF block 0x%02x at %d" b o
    w, h, delay, frames.ToArray()

[<Tests>]
let tests =
    testList "Vis.Camera" [
        test "a unit box covers the expected pixels and its depth is the face distance" {
            GsSetup.ensure64 ()
            let scene = sceneWith (Morphs.Box([| 1.0; 1.0; 1.0 |], fixedBase = true))
            let w, h, fov, d = 64, 48, 50.0, 3.0
            let cam = scene.addCamera((w, h), [| d; 0.0; 0.0 |], [| 0.0; 0.0; 0.0 |], fov = fov)
            let img = cam.renderImage()
            // the near face x = 0.5 is the silhouette: |u|, |v| <= 0.5 / (d - 0.5)
            let half = 0.5 / (d - 0.5)
            let covered =
                checkMask img.depth w h (fun i j ->
                    let u, v, f = uv w h fov i j
                    f * min (half - abs u) (half - abs v))
            Expect.isGreaterThan covered 100 "the box is in view"
            for k in 0 .. w * h - 1 do
                if not (Double.IsInfinity img.depth.[k]) then
                    Expect.floatClose { absolute = depthTol; relative = 0.0 } img.depth.[k] (d - 0.5) "depth of the near face"
        }
        test "a sphere covers its analytic disc and every depth lies on the sphere" {
            GsSetup.ensure64 ()
            let r, d = 0.5, 4.0
            let scene = sceneWith (Morphs.Sphere(r, pos = [| 0.0; 0.0; 1.0 |], fixedBase = true))
            let w, h, fov = 80, 60, 40.0
            // camera on -y looking at the centre (0, 0, 1): right = +x, up = +z
            let cam = scene.addCamera((w, h), [| 0.0; -d; 1.0 |], [| 0.0; 0.0; 1.0 |], fov = fov)
            let img = cam.renderImage()
            let tanAlpha = r / sqrt (d * d - r * r)
            let covered = checkMask img.depth w h (fun i j -> let u, v, f = uv w h fov i j in f * (tanAlpha - sqrt (u * u + v * v)))
            Expect.isGreaterThan covered 100 "the sphere is in view"
            for i in 0 .. h - 1 do
                for j in 0 .. w - 1 do
                    let z = img.depth.[i * w + j]
                    if not (Double.IsInfinity z) then
                        let u, v, _ = uv w h fov i j
                        // hit point = eye + z (forward + u right + v up), forward = +y
                        let p = [| z * u; -d + z; 1.0 + z * v |]
                        let dist = sqrt (p.[0] * p.[0] + p.[1] * p.[1] + (p.[2] - 1.0) ** 2.0)
                        Expect.floatClose { absolute = depthTol; relative = 0.0 } dist r (sprintf "pixel (%d, %d) on the sphere" i j)
                        Expect.isLessThan p.[1] 0.0 "the near side"
        }
        test "images are deterministic bit for bit; tensors have shapes [H; W; 3] and [H; W]" {
            GsSetup.ensure64 ()
            let scene = Scene(SimOptions(dt = 0.01))
            scene.addEntity(Morphs.Plane()) |> ignore
            scene.addEntity(Morphs.URDF(GsSetup.asset "kuka_iiwa/model.urdf", fixedBase = true)) |> ignore
            scene.build()
            let cam = scene.addCamera((48, 40), [| 2.0; 1.5; 1.2 |], [| 0.0; 0.0; 0.6 |])
            let a, b = cam.renderImage(), scene.addCamera((48, 40), [| 2.0; 1.5; 1.2 |], [| 0.0; 0.0; 0.6 |]).renderImage()
            Expect.equal a.rgb b.rgb "RGB bytes identical"
            Expect.equal (a.depth |> Array.map BitConverter.DoubleToInt64Bits) (b.depth |> Array.map BitConverter.DoubleToInt64Bits) "depth bits identical"
            Expect.isGreaterThan (a.rgb |> Array.distinct |> Array.length) 10 "shaded, not flat"
            let rgb, depth = cam.render()
            Expect.equal rgb.shape [| 40; 48; 3 |] "rgb shape"
            Expect.equal depth.shape [| 40; 48 |] "depth shape"
            Expect.equal rgb.dtype DType.UInt8 "rgb is uint8, as the issue and Genesis give it"
            Expect.equal depth.dtype DType.Float64 "depth in float64 metres"
            Expect.equal (rgb.toFlatArray() :?> byte[]) a.rgb "rgb tensor values are the bytes"
            let arr = rgb.toArray3D<byte>()
            Expect.equal (arr[39, 47, 2], arr[0, 0, 0]) (a.rgb[(39 * 48 + 47) * 3 + 2], a.rgb[0]) "row-major [H; W; 3]: row 0 at the top"
        }
        test "a link without visuals is drawn with its collision shapes; collision = true draws collision geometry" {
            GsSetup.ensure64 ()
            let scene = Scene(SimOptions(dt = 0.01))
            let go2 = scene.addEntity(Morphs.URDF(GsSetup.asset "go2/go2.urdf", pos = [| 0.0; 0.0; 0.5 |]))
            scene.build()
            let cam = scene.addCamera((40, 30), [| 1.5; -1.5; 1.0 |], [| 0.0; 0.0; 0.4 |])
            let covered (img: Image) = img.depth |> Array.filter (fun d -> not (Double.IsInfinity d)) |> Array.length
            Expect.isGreaterThan go2.nLinks 1 "a robot"
            Expect.isGreaterThan (covered (cam.renderImage())) 30 "the visual-less Go2 is drawn"
            Expect.equal (cam.renderImage(collision = true)).depth (cam.renderImage()).depth "same shapes either way"
        }
        test "bad camera input raises clear errors" {
            GsSetup.ensure64 ()
            let scene = sceneWith (Morphs.Sphere(0.1, fixedBase = true))
            let eye, at = [| 1.0; 0.0; 0.0 |], [| 0.0; 0.0; 0.0 |]
            throwsWith<GenesisException> [ "resolution"; "(0, 10)" ] (fun () -> scene.addCamera((0, 10), eye, at) |> ignore)
            throwsWith<GenesisException> [ "resolution"; "(10, -1)" ] (fun () -> scene.addCamera((10, -1), eye, at) |> ignore)
            for fov in [ 0.0; 180.0; -5.0; nan ] do
                throwsWith<GenesisException> [ "fov"; "(0, 180)" ] (fun () -> scene.addCamera((10, 10), eye, at, fov = fov) |> ignore)
            throwsWith<GenesisException> [ "lookat equals pos" ] (fun () -> scene.addCamera((10, 10), eye, eye) |> ignore)
            throwsWith<GenesisException> [ "parallel" ] (fun () -> scene.addCamera((10, 10), [| 0.0; 0.0; 2.0 |], at) |> ignore)
            throwsWith<GenesisException> [ "env 3" ] (fun () -> scene.addCamera((10, 10), eye, at).renderImage(env = 3) |> ignore)
        }
        test "saveGif of a recording: one LZW frame per recorded frame, each the quantised rendering" {
            GsSetup.ensure64 ()
            let scene = Scene(SimOptions(dt = 0.01))
            scene.addEntity(Morphs.Plane()) |> ignore
            scene.addEntity(Morphs.Sphere(0.2, pos = [| 0.0; 0.0; 0.6 |])) |> ignore
            scene.build()
            let rec' = scene.record(every = 5)
            rec'.capture()
            for _ in 1 .. 20 do
                scene.step()
                rec'.capture()
            let r = rec'.recording
            let path = Path.Combine(Path.GetTempPath(), sprintf "genesis-cam-%s.gif" (Guid.NewGuid().ToString "N"))
            try
                r.saveGif(path, (40, 30), [| 2.0; -2.0; 1.0 |], [| 0.0; 0.0; 0.4 |], frameMs = 100)
                let w, h, delay, frames = decodeGif (File.ReadAllBytes path)
                Expect.equal (w, h) (40, 30) "size"
                Expect.equal delay 10 "100 ms"
                Expect.equal frames.Length 5 "steps 0, 5, 10, 15, 20"
                let v = Raster.view (40, 30) [| 2.0; -2.0; 1.0 |] [| 0.0; 0.0; 0.4 |] [| 0.0; 0.0; 1.0 |] 40.0
                for k in [ 0; 4 ] do
                    let img = Render.frame v r r.epochs.[0].frames.[k] 0 false
                    let expected = Array.init (40 * 30) (fun p -> byte (ImageFiles.paletteIndex img.rgb.[3 * p] img.rgb.[3 * p + 1] img.rgb.[3 * p + 2]))
                    Expect.equal frames.[k] expected (sprintf "frame %d" k)
                Expect.notEqual frames.[0] frames.[4] "the sphere fell"
                let strip = RenderFiles.filmstripPng r (40, 30) [| 2.0; -2.0; 1.0 |] [| 0.0; 0.0; 0.4 |] 40.0 -1 0 3
                let w = (int strip.[16] <<< 24) ||| (int strip.[17] <<< 16) ||| (int strip.[18] <<< 8) ||| int strip.[19]
                Expect.equal w 120 "filmstrip: three tiles side by side"
                let pal = ImageFiles.palette
                Expect.sequenceEqual pal.[ImageFiles.paletteIndex 255uy 0uy 0uy] [| 255uy; 0uy; 0uy |] "palette: pure red"
                let grey = pal.[ImageFiles.paletteIndex 120uy 121uy 119uy]
                Expect.isTrue (grey.[0] = grey.[1] && grey.[1] = grey.[2] && abs (int grey.[0] - 120) <= 4) (sprintf "greys stay grey: %A" grey)
            finally File.Delete path
        }
        test "saveImage writes a PNG whose chunks check and whose pixels are the image" {
            GsSetup.ensure64 ()
            Expect.equal (ImageFiles.crc32 (Text.Encoding.ASCII.GetBytes "123456789")) 0xCBF43926u "CRC-32 check value"
            let scene = sceneWith (Morphs.Box([| 0.5; 0.5; 0.5 |], fixedBase = true))
            let cam = scene.addCamera((20, 12), [| 2.0; 0.5; 1.0 |], [| 0.0; 0.0; 0.0 |])
            let path = Path.Combine(Path.GetTempPath(), sprintf "genesis-cam-%s.png" (Guid.NewGuid().ToString "N"))
            try
                cam.saveImage path
                let bytes = File.ReadAllBytes path
                Expect.equal bytes.[0..7] [| 0x89uy; 0x50uy; 0x4Euy; 0x47uy; 0x0Duy; 0x0Auy; 0x1Auy; 0x0Auy |] "signature"
                let be (o: int) = (int bytes.[o] <<< 24) ||| (int bytes.[o + 1] <<< 16) ||| (int bytes.[o + 2] <<< 8) ||| int bytes.[o + 3]
                let mutable o = 8
                let idat = new MemoryStream()
                let mutable kinds = []
                while o < bytes.Length do
                    let n = be o
                    let kind = Text.Encoding.ASCII.GetString(bytes, o + 4, 4)
                    kinds <- kinds @ [ kind ]
                    Expect.equal (uint32 (be (o + 8 + n))) (ImageFiles.crc32 bytes.[o + 4 .. o + 7 + n]) (sprintf "CRC of %s" kind)
                    if kind = "IDAT" then idat.Write(bytes, o + 8, n)
                    o <- o + 12 + n
                Expect.equal kinds [ "IHDR"; "IDAT"; "IEND" ] "chunks"
                Expect.equal (be 16, be 20) (20, 12) "size in IHDR"
                idat.Position <- 0L
                use z = new ZLibStream(idat, CompressionMode.Decompress)
                use raw = new MemoryStream()
                z.CopyTo raw
                let rows = raw.ToArray()
                let img = cam.renderImage()
                Expect.equal rows.Length (12 * (1 + 60)) "filter byte + RGB per row"
                for i in 0 .. 11 do
                    Expect.equal rows.[i * 61] 0uy "filter type 0"
                    Expect.equal rows.[i * 61 + 1 .. i * 61 + 60] img.rgb.[i * 60 .. i * 60 + 59] (sprintf "row %d" i)
            finally File.Delete path
        }
    ]
