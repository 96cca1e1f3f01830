namespace Genesis.Physics

open System
open Genesis
open Genesis.Physics.ContactGeometry

/// A geom against a plane: the geom's probe points (a sphere's centre, a capsule's end centres, box corners, cylinder
/// rims, ellipsoid axis extremes, mesh vertices) with the probe radius; depth = radius - height above the plane.
module PlaneProbe =
    /// The 8 corners of a box of half extents h, x-major.
    let internal boxCorners (h: float[]) =
        [| for x in [ -1.0; 1.0 ] do for y in [ -1.0; 1.0 ] do for z in [ -1.0; 1.0 ] -> [| x * h[0]; y * h[1]; z * h[2] |] |]

    let private probesOf (g: GeomSpec) : float[][] * float =
        let s = g.size
        match g.gtype with
        | Sphere -> [| [| 0.0; 0.0; 0.0 |] |], s[0]
        | Capsule -> [| [| 0.0; 0.0; s[1] |]; [| 0.0; 0.0; -s[1] |] |], s[0]
        | Box -> boxCorners s, 0.0
        | Cylinder ->
            [| for z in [ -1.0; 1.0 ] do
                   for k in 0 .. 7 ->
                       let a = float k * Math.PI / 4.0
                       [| s[0] * cos a; s[0] * sin a; z * s[1] |] |], 0.0
        | Ellipsoid -> [| for ax in 0 .. 2 do for sg in [ -1.0; 1.0 ] -> Array.init 3 (fun i -> if i = ax then sg * s[i] else 0.0) |], 0.0
        | Mesh ->
            match g.meshVertices with
            | Some v -> Array.init (v.Length / 3) (fun i -> v[3 * i .. 3 * i + 2]), 0.0
            | None -> boxCorners s, 0.0
        | Plane -> [||], 0.0

    let private probeCache = System.Runtime.CompilerServices.ConditionalWeakTable<GeomSpec, float[][] * float>()

    /// Points of a geom tested against a plane (local frame) and the radius around them (computed once per geom).
    let internal planeProbe (g: GeomSpec) : float[][] * float = probeCache.GetValue(g, fun g -> probesOf g)

    /// A's probe points against plane B (normal: the plane's z axis, from B into A).
    let internal contacts (kin: Kinematics) (ba: int, ga: GeomSpec) (bb: int, gb: GeomSpec) (mu: float) : Points list =
        let pp, pr = frame kin bb gb
        let n = pr.narrow(2, 2, 1).squeeze(2).unsqueeze(1)
        let probes, radius = planeProbe ga
        let gp, gr = frame kin ba ga
        let world = toWorld gp gr (Constants.ofValues ga Constants.PlaneProbes gp [| probes.Length; 3 |] (fun () -> Array.concat probes))
        let height = ((world - pp.unsqueeze(1)) * n).sum(-1)
        let point = world - n * radius
        [ { bodyA = ba; bodyB = bb; point = point; normal = n.expandAs point; depth = radius - height; friction = mu } ]

/// The plane probe on arrays, generic over the scalar.
module internal PlaneProbeKernel =
    open Genesis.Physics.FastMath
    open Genesis.Real
    open Genesis.HomogeneousArithmetic
    open Genesis.Physics.ContactPointKernel

    /// A's probe points against plane B (normal: the plane's z axis); geoms whose every probe is out of reach are
    /// skipped. Each point within reach is logged as (a, b, probe) in w.probeLog when there is one.
    let inline internal probePlane (m: FastModel< ^T>) (w: FastWork< ^T>) (cp: ContactParams) (h: float) (needC: bool) (a: int) (b: int) (mu: ^T) =
        let ba, bb = m.geomBody[a], m.geomBody[b]
        let gx, gm = w.geomXpos, w.geomXmat
        let po, pm = b * 3, b * 9
        let nx, ny, nz = gm[pm + 2], gm[pm + 5], gm[pm + 8]
        let ao, am = a * 3, a * 9
        let probes, radius = m.geomProbe[a], m.geomProbeRadius[a]
        // the reach and each probe's depth are first computed on values (the same float operations), so that on the
        // tape probes out of reach record nothing
        let inline v (i: int) (x: ^T[]) = value x[i]
        let centre = (v ao gx - v po gx) * value nx + (v (ao + 1) gx - v (po + 1) gx) * value ny + (v (ao + 2) gx - v (po + 2) gx) * value nz
        if (value radius - (centre - m.geomProbeReach[a])) / cp.softness >= SkipBelow - 1.0 then
            for k in 0 .. probes.Length / 3 - 1 do
                let lx, ly, lz = probes[3 * k], probes[3 * k + 1], probes[3 * k + 2]
                let hx = v ao gx + (v am gm * value lx + v (am + 1) gm * value ly + v (am + 2) gm * value lz)
                let hy = v (ao + 1) gx + (v (am + 3) gm * value lx + v (am + 4) gm * value ly + v (am + 5) gm * value lz)
                let hz = v (ao + 2) gx + (v (am + 6) gm * value lx + v (am + 7) gm * value ly + v (am + 8) gm * value lz)
                let heightValue = (hx - v po gx) * value nx + (hy - v (po + 1) gx) * value ny + (hz - v (po + 2) gx) * value nz
                if not ((value radius - heightValue) / cp.softness < SkipBelow) then
                    if not (isNull w.probeLog) then
                        w.probeLog.Add a
                        w.probeLog.Add b
                        w.probeLog.Add k
                    let wx = gx[ao] + (gm[am] * lx + gm[am + 1] * ly + gm[am + 2] * lz)
                    let wy = gx[ao + 1] + (gm[am + 3] * lx + gm[am + 4] * ly + gm[am + 5] * lz)
                    let wz = gx[ao + 2] + (gm[am + 6] * lx + gm[am + 7] * ly + gm[am + 8] * lz)
                    let height = (wx - gx[po]) * nx + (wy - gx[po + 1]) * ny + (wz - gx[po + 2]) * nz
                    addPoint m w cp h needC ba bb (wx - nx * radius) (wy - ny * radius) (wz - nz * radius) nx ny nz (radius - height) mu
