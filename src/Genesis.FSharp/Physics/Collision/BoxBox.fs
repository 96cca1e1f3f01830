namespace Genesis.Physics

open System
open Genesis
open Genesis.Physics.ContactGeometry

/// Box against box: the separating-axis test over the six face normals picks a reference face; the incident box's
/// corners inside the reference face's slab are the contacts.
module BoxBox =
    /// How much more overlap than the least a face axis may have and still be taken for its contacts when the least
    /// one has none: a tenth of the smallest half-extent of the two boxes.
    let internal faceTieTolerance (hA: float[]) (hB: float[]) = 0.1 * min (Array.min hA) (Array.min hB)

    /// The face axis (0..5) of a box pair: the least overlap; if no incident corner lies within that reference face,
    /// the least-overlap axis within tolerance of it that has such corners (none: the least overlap anyway).
    let internal faceAxis (overlaps: float[]) (hasCorners: int -> bool) (tolerance: float) =
        let mutable best = 0
        for o in 1 .. 5 do
            if overlaps[o] < overlaps[best] then best <- o
        if hasCorners best then best
        else
            let mutable pick = best
            for o in 0 .. 5 do
                if o <> best && overlaps[o] <= overlaps[best] + tolerance && hasCorners o && (pick = best || overlaps[o] < overlaps[pick]) then pick <- o
            pick

    /// Box-box contact by the separating-axis test over the six face normals (chosen per env on the host; edge-edge
    /// axes are not tested): the incident box's corners below the reference face, within its extents, are contacts.
    /// Parallel faces tie (a small box on a large one): when no incident corner lies within the least-overlap
    /// face, the least-overlap axis within `faceTieTolerance` of it that has some is taken (see `faceAxis`).
    let internal contactsOf (kin: Kinematics) (ba: int, ga: GeomSpec) (bb: int, gb: GeomSpec) (mu: float) : Points =
        let pA, rA = frame kin ba ga
        let pB, rB = frame kin bb gb
        let hA, hB = ga.size, gb.size
        let cornersOf (p: Tensor) (r: Tensor) (g: GeomSpec) = toWorld p r (Constants.ofValues g Constants.BoxCorners p [| 8; 3 |] (fun () -> Array.concat (PlaneProbe.boxCorners g.size)))
        let cA, cB = cornersOf pA rA ga, cornersOf pB rB gb
        // host: the axis of least overlap per env, its orientation, and which corners lie within the face
        let nEnv = pA.shape[0]
        let pa, pb = pA.toFloatArray(), pB.toFloatArray()
        let ra, rb = rA.toFloatArray(), rB.toFloatArray()
        let ca, cb = cA.toFloatArray(), cB.toFloatArray()
        let col (r: float[]) e j = [| r[e * 9 + j]; r[e * 9 + 3 + j]; r[e * 9 + 6 + j] |]
        let dot (x: float[]) (y: float[]) = x[0] * y[0] + x[1] * y[1] + x[2] * y[2]
        let weights = Array.zeroCreate (nEnv * 6)
        let signs = Array.zeroCreate (nEnv * 6)
        let inside = Array.zeroCreate (nEnv * 6 * 8)
        for e in 0 .. nEnv - 1 do
            let d = Array.init 3 (fun i -> pb[e * 3 + i] - pa[e * 3 + i])
            let axes = Array.append (Array.init 3 (fun j -> col rb e j)) (Array.init 3 (fun j -> col ra e j))
            let overlap (u: float[]) =
                let radA = Array.init 3 (fun j -> hA[j] * abs (dot u (col ra e j))) |> Array.sum
                let radB = Array.init 3 (fun j -> hB[j] * abs (dot u (col rb e j))) |> Array.sum
                radA + radB - abs (dot d u)
            for o in 0 .. 5 do
                // reference box F (B for o < 3, A otherwise); sign orients its face towards the incident box
                let u = axes[o]
                let s = if o < 3 then (if dot d u <= 0.0 then 1.0 else -1.0) else (if dot d u >= 0.0 then 1.0 else -1.0)
                signs[e * 6 + o] <- s
                let refP, refR, refH, corners = if o < 3 then pb, rb, hB, ca else pa, ra, hA, cb
                let k = o % 3
                for c in 0 .. 7 do
                    let w = Array.init 3 (fun i -> corners[(e * 8 + c) * 3 + i] - refP[e * 3 + i])
                    let within = [ 0; 1; 2 ] |> List.forall (fun j -> j = k || abs (dot w (col refR e j)) <= refH[j] * 1.001 + 1e-9)
                    inside[(e * 6 + o) * 8 + c] <- if within then 1.0 else 0.0
            let overlaps = Array.init 6 (fun o -> overlap axes[o])
            let hasCorners o = Array.exists (fun c -> inside[(e * 6 + o) * 8 + c] = 1.0) [| 0 .. 7 |]
            weights[e * 6 + faceAxis overlaps hasCorners (faceTieTolerance hA hB)] <- 1.0
        let like = pA
        let option (o: int) =
            let k = o % 3
            let refP, refR, refH, corners = if o < 3 then pB, rB, hB, cA else pA, rA, hA, cB
            let u = refR.narrow(2, k, 1).squeeze(2)
            let s = Spatial.constLike like [| nEnv; 1 |] (Array.init nEnv (fun e -> signs[e * 6 + o]))
            let n = (u * s).unsqueeze(1) // reference face normal, towards the incident box
            let depth = refH[k] - ((corners - refP.unsqueeze(1)) * n).sum(-1)
            let m = Spatial.constLike like [| nEnv; 8 |] (Array.init (nEnv * 8) (fun i -> inside[((i / 8) * 6 + o) * 8 + i % 8]))
            let depth = depth * m + (m - 1.0)
            // force on A is along +normal: n when B is the reference, -n when A is
            let normal = if o < 3 then n.expandAs corners else (-n).expandAs corners
            depth, corners, normal
        let w o = Spatial.constLike like [| nEnv; 1 |] (Array.init nEnv (fun e -> weights[e * 6 + o]))
        let parts = Array.init 6 option
        let depth = parts |> Array.mapi (fun o (d, _, _) -> d * w o) |> Array.reduce (+)
        let point = parts |> Array.mapi (fun o (_, p, _) -> p * (w o).unsqueeze(-1)) |> Array.reduce (+)
        let normal = parts |> Array.mapi (fun o (_, _, n) -> n * (w o).unsqueeze(-1)) |> Array.reduce (+)
        { bodyA = ba; bodyB = bb; point = point; normal = normal; depth = depth; friction = mu }

    /// The contacts of box A with box B.
    let internal contacts (kin: Kinematics) (ba: int, ga: GeomSpec) (bb: int, gb: GeomSpec) (mu: float) : Points list =
        [ contactsOf kin (ba, ga) (bb, gb) mu ]

/// Box against box on arrays, generic over the scalar.
module internal BoxBoxKernel =
    open Genesis.Physics.FastMath
    open Genesis.Real
    open Genesis.HomogeneousArithmetic
    open Genesis.Physics.ContactPointKernel

    /// The 8 corners of box g in the world, x-major as PlaneProbe.boxCorners.
    let inline internal cornersInto (m: FastModel< ^T>) (w: FastWork< ^T>) (g: int) (out: ^T[]) =
        let hs = m.geomSpec[g].size
        let gx, gm = w.geomXpos, w.geomXmat
        for c in 0 .. 7 do
            let sx, sy, sz = float (2 * (c / 4) - 1), float (2 * (c / 2 % 2) - 1), float (2 * (c % 2) - 1)
            let lx, ly, lz = lift (sx * hs[0]), lift (sy * hs[1]), lift (sz * hs[2])
            for i in 0 .. 2 do
                out[c * 3 + i] <- gx[g * 3 + i] + (gm[g * 9 + i * 3] * lx + gm[g * 9 + i * 3 + 1] * ly + gm[g * 9 + i * 3 + 2] * lz)

    /// u . column j of the 3 x 3 block at m[mo..].
    let inline internal dotCol (m: ^T[]) (mo: int) (j: int) (ux: ^T) (uy: ^T) (uz: ^T) = ux * m[mo + j] + uy * m[mo + 3 + j] + uz * m[mo + 6 + j]

    /// Box-box: the face axis of least overlap (BoxBox.faceAxis: ties of parallel faces go to the one with incident
    /// corners within it); the incident box's corners within the reference face are contacts.
    let inline internal boxBox (m: FastModel< ^T>) (w: FastWork< ^T>) (cp: ContactParams) (h: float) (needC: bool) (a: int) (b: int) (mu: ^T) =
        let ba, bb = m.geomBody[a], m.geomBody[b]
        let gx, gm = w.geomXpos, w.geomXmat
        let hA, hB = m.geomSpec[a].size, m.geomSpec[b].size
        cornersInto m w a w.cornersA
        cornersInto m w b w.cornersB
        let am, bm = a * 9, b * 9
        let dx, dy, dz = gx[b * 3] - gx[a * 3], gx[b * 3 + 1] - gx[a * 3 + 1], gx[b * 3 + 2] - gx[a * 3 + 2]
        // axis o: column o of R_B for o < 3, column o - 3 of R_A otherwise
        let inline axisMat o = if o < 3 then bm else am
        let overlaps = w.faceOverlaps
        for o in 0 .. 5 do
            let mo, k = axisMat o, o % 3
            let ux, uy, uz = gm[mo + k], gm[mo + 3 + k], gm[mo + 6 + k]
            let radA = lift hA[0] * abs (dotCol gm am 0 ux uy uz) + lift hA[1] * abs (dotCol gm am 1 ux uy uz) + lift hA[2] * abs (dotCol gm am 2 ux uy uz)
            let radB = lift hB[0] * abs (dotCol gm bm 0 ux uy uz) + lift hB[1] * abs (dotCol gm bm 1 ux uy uz) + lift hB[2] * abs (dotCol gm bm 2 ux uy uz)
            overlaps[o] <- value (radA + radB - abs (dx * ux + dy * uy + dz * uz))
        // reference face o: its box's centre offset and half-extents, and the incident box's corners
        let reference o = (if o < 3 then b * 3 else a * 3), (if o < 3 then hB else hA), (if o < 3 then w.cornersA else w.cornersB)
        // whether incident corner c lies within reference face o's extents (tangentially)
        let within o c =
            let mo, k = axisMat o, o % 3
            let refO, refH, corners = reference o
            let wx, wy, wz = corners[c * 3] - gx[refO], corners[c * 3 + 1] - gx[refO + 1], corners[c * 3 + 2] - gx[refO + 2]
            let mutable inside = true
            for j in 0 .. 2 do
                if j <> k && not (abs (value (wx * gm[mo + j] + wy * gm[mo + 3 + j] + wz * gm[mo + 6 + j])) <= refH[j] * 1.001 + 1e-9) then inside <- false
            inside
        let hasCorners o =
            let mutable any = false
            for c in 0 .. 7 do
                if within o c then any <- true
            any
        let o = BoxBox.faceAxis overlaps hasCorners (BoxBox.faceTieTolerance hA hB)
        let mo, k = axisMat o, o % 3
        let ux, uy, uz = gm[mo + k], gm[mo + 3 + k], gm[mo + 6 + k]
        let du = dx * ux + dy * uy + dz * uz
        let sgn = lift (if o < 3 then (if value du <= 0.0 then 1.0 else -1.0) else (if value du >= 0.0 then 1.0 else -1.0))
        let refO, refH, corners = reference o
        let nx, ny, nz = ux * sgn, uy * sgn, uz * sgn
        let flip = lift (if o < 3 then 1.0 else -1.0)
        for c in 0 .. 7 do
            if within o c then
                let wx, wy, wz = corners[c * 3] - gx[refO], corners[c * 3 + 1] - gx[refO + 1], corners[c * 3 + 2] - gx[refO + 2]
                let depth = lift refH[k] - (wx * nx + wy * ny + wz * nz)
                addPoint m w cp h needC ba bb corners[c * 3] corners[c * 3 + 1] corners[c * 3 + 2] (flip * nx) (flip * ny) (flip * nz) depth mu
