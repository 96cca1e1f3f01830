namespace Genesis.Physics

open System
open Genesis

/// A convex geom as a core swept by a sphere (GJK's view of it): the support point of the core in the geom frame,
/// and the sweep radius. Spheres are a point swept by their radius, capsules a segment; boxes, cylinders, ellipsoids
/// and mesh hulls are their own core (radius 0).
module ConvexSupport =
    /// The sweep radius of g: a sphere's or capsule's radius, 0 for the other shapes.
    let radius (g: GeomSpec) = match g.gtype with Sphere | Capsule -> g.size[0] | _ -> 0.0

    let private sgn (x: float) = if x >= 0.0 then 1.0 else -1.0

    /// The vertices of g's core when it is a polytope given by points (a mesh hull; a mesh without vertices is its box).
    let private hullOf (g: GeomSpec) =
        match g.meshVertices with
        | Some v when v.Length >= 3 -> v
        | _ -> Array.concat (PlaneProbe.boxCorners g.size)

    let private hullCache = System.Runtime.CompilerServices.ConditionalWeakTable<GeomSpec, float[]>()

    /// The point of g's core farthest along the geom-frame direction (ux, uy, uz), sup_x u . x (ties go to +).
    let support (g: GeomSpec) (ux: float) (uy: float) (uz: float) : struct (float * float * float) =
        let s = g.size
        match g.gtype with
        | Sphere -> struct (0.0, 0.0, 0.0)
        | Capsule -> struct (0.0, 0.0, sgn uz * s[1])
        | Box -> struct (sgn ux * s[0], sgn uy * s[1], sgn uz * s[2])
        | Ellipsoid ->
            // x = E^2 u / |E u|, E = diag(size): the point of {x : |E^-1 x| = 1} with normal u
            let ex, ey, ez = s[0] * ux, s[1] * uy, s[2] * uz
            let l = sqrt (ex * ex + ey * ey + ez * ez)
            if l = 0.0 then struct (s[0], 0.0, 0.0) else struct (s[0] * ex / l, s[1] * ey / l, s[2] * ez / l)
        | Cylinder ->
            let l = sqrt (ux * ux + uy * uy)
            let rx, ry = if l > 1e-12 * (l + abs uz) then s[0] * ux / l, s[0] * uy / l else s[0], 0.0
            struct (rx, ry, sgn uz * s[1])
        | Mesh ->
            let v = hullCache.GetValue(g, fun g -> hullOf g)
            let mutable best, bestDot = 0, Double.NegativeInfinity
            for i in 0 .. v.Length / 3 - 1 do
                let d = ux * v[3 * i] + uy * v[3 * i + 1] + uz * v[3 * i + 2]
                if d > bestDot then
                    best <- i
                    bestDot <- d
            struct (v[3 * best], v[3 * best + 1], v[3 * best + 2])
        | Plane -> Errors.fail "a plane has no support point (geom '%s'): planes collide by PlaneProbe" g.name

    /// The support point of g's core in the world: p + R s(R^T d), with R row-major (r[3 i + j] = R_ij) and the
    /// world direction d; also returns the local point.
    let worldSupport (g: GeomSpec) (p: float[]) (r: float[]) (dx: float) (dy: float) (dz: float) =
        let ux = r[0] * dx + r[3] * dy + r[6] * dz
        let uy = r[1] * dx + r[4] * dy + r[7] * dz
        let uz = r[2] * dx + r[5] * dy + r[8] * dz
        let struct (lx, ly, lz) = support g ux uy uz
        let wx = p[0] + r[0] * lx + r[1] * ly + r[2] * lz
        let wy = p[1] + r[3] * lx + r[4] * ly + r[5] * lz
        let wz = p[2] + r[6] * lx + r[7] * ly + r[8] * lz
        [| wx; wy; wz |], [| lx; ly; lz |]
