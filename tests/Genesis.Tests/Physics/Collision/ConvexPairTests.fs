/// The general convex pair (GJK/EPA witness features, ConvexPair): contact point, normal and depth against analytic
/// cases, and against an independent brute-force signed distance on random poses of every pair of convex shapes.
module Genesis.Tests.Physics.ConvexPairTests

open System
open Expecto
open Genesis
open Genesis.Physics
open Genesis.Tests

/// Analytic cases: depth, normal and point, absolute (metres).
let AnalyticTol = 1e-7
/// The normal and point at a curved core's non-axis point: GJK's normal converges as the square root of its distance
/// tolerance (GjkEpa.Tolerance = 1e-14).
let CurvedNormalTol = 1e-6
/// Brute force (dense surface samples and directions) vs GJK/EPA: signed distance and optimality of the normal (m).
let BruteTol = 1e-3

let private bodyOf = PhysicsTestUtil.bodyOf
let private meshGeom = PhysicsTestUtil.meshGeom

/// Random points in an origin-centred box of half extents (0.12, 0.1, 0.08) (their hull: a random polytope).
let private cloud (rnd: Random) =
    Array.init (3 * 40) (fun k -> (rnd.NextDouble() * 2.0 - 1.0) * [| 0.12; 0.1; 0.08 |][k % 3])

/// The Tensor form's contact of a two-body model (body 0 is A): point, normal, depth.
let internal contactOf (a: EntitySpec) (b: EntitySpec) =
    let m = Model.build [| a; b |] DType.Float64
    let kin = Kinematics.compute m (gs.tensor(m.topology.qpos0).unsqueeze(0))
    let geoms = Broadphase.collidable m.topology
    let pts = (ConvexPair.contacts kin geoms[0] geoms[1] 1.0).Head
    pts.point.toFloatArray(), pts.normal.toFloatArray(), (pts.depth.toFloatArray())[0]

let private expectVec (tol: float) (what: string) (expected: float[]) (actual: float[]) =
    for i in 0 .. 2 do
        Expect.isLessThan (abs (expected[i] - actual[i])) tol (sprintf "%s[%d]: expected %A, got %A" what i expected actual)

let private analyticWithin (normalTol: float) (what: string) (a: EntitySpec) (b: EntitySpec) (depth: float) (normal: float[]) (point: float[]) =
    let p, n, d = contactOf a b
    Expect.isLessThan (abs (d - depth)) AnalyticTol (sprintf "%s: depth %.12g, expected %.12g" what d depth)
    expectVec normalTol (what + ": normal") normal n
    expectVec normalTol (what + ": point") point p

let private analytic = analyticWithin AnalyticTol

let private unit = [| 1.0; 0.0; 0.0; 0.0 |]

// ---------------------------------------------------------------------------------------------------------------
// Brute force: support functions from dense surface samples, the signed distance maximised over directions
// ---------------------------------------------------------------------------------------------------------------

/// Points on (or spanning) the surface of g in its frame, whose maximum along any direction is g's support value.
let private surfaceSamples (g: GeomSpec) (meshPoints: float[]) =
    let s = g.size
    let sphere n = [| for i in 0 .. n do for j in 0 .. 2 * n - 1 -> let th, ph = Math.PI * float i / float n, Math.PI * float j / float n in [| sin th * cos ph; sin th * sin ph; cos th |] |]
    match g.gtype with
    | Sphere -> sphere 60 |> Array.map (Array.map ((*) s[0]))
    | Capsule -> sphere 60 |> Array.map (fun d -> [| s[0] * d[0]; s[0] * d[1]; s[0] * d[2] + (if d[2] >= 0.0 then s[1] else -s[1]) |])
    | Ellipsoid -> sphere 60 |> Array.map (fun d -> Array.map2 (*) d s)
    | Cylinder -> [| for z in [ -s[1]; s[1] ] do for k in 0 .. 719 -> let a = 2.0 * Math.PI * float k / 720.0 in [| s[0] * cos a; s[0] * sin a; z |] |]
    | Box -> PlaneProbe.boxCorners s
    | Mesh -> Array.init (meshPoints.Length / 3) (fun k -> meshPoints[3 * k .. 3 * k + 2])
    | Plane -> [||]

let private toWorld (pos: float[]) (quat: float[]) (pts: float[][]) =
    let r = SpecMath.quatToMat (SpecMath.normalize quat)
    pts |> Array.map (fun x -> Array.init 3 (fun i -> pos[i] + r[3 * i] * x[0] + r[3 * i + 1] * x[1] + r[3 * i + 2] * x[2]))

let private maxAlong (pts: float[][]) (u: float[]) = pts |> Array.fold (fun m x -> max m (u[0] * x[0] + u[1] * x[1] + u[2] * x[2])) Double.NegativeInfinity

/// The signed distance along u: min over A of u . a - max over B of u . b (its maximum over u is the signed distance).
let private gapAlong (a: float[][]) (b: float[][]) (u: float[]) = -(maxAlong a (Array.map (~-) u)) - maxAlong b u

let private normalize (u: float[]) = let l = sqrt (u |> Array.sumBy (fun x -> x * x)) in u |> Array.map (fun x -> x / l)

/// max over unit u of gapAlong: a Fibonacci sphere of directions, then hill climbing with a shrinking step.
let private bruteSignedDistance (a: float[][]) (b: float[][]) (rnd: Random) =
    let n = 3000
    let golden = Math.PI * (3.0 - sqrt 5.0)
    let dirs = Array.init n (fun i -> let z = 1.0 - 2.0 * (float i + 0.5) / float n in let r = sqrt (1.0 - z * z) in [| r * cos (golden * float i); r * sin (golden * float i); z |])
    let mutable best = dirs |> Array.maxBy (gapAlong a b)
    let mutable bestGap = gapAlong a b best
    let mutable step = 0.05
    while step > 1e-6 do
        let mutable improved = false
        for _ in 1 .. 12 do
            let cand = normalize (Array.init 3 (fun i -> best[i] + step * (rnd.NextDouble() * 2.0 - 1.0)))
            let g = gapAlong a b cand
            if g > bestGap then
                best <- cand
                bestGap <- g
                improved <- true
        if not improved then step <- step / 2.0
    bestGap, best

/// The shapes of the brute-force test, with the raw points of the mesh.
let private shapes (rnd: Random) =
    let pts = cloud rnd
    [ GeomSpec.create "sphere" Sphere [| 0.1 |], [||]
      GeomSpec.create "capsule" Capsule [| 0.05; 0.1 |], [||]
      GeomSpec.create "cylinder" Cylinder [| 0.08; 0.1 |], [||]
      GeomSpec.create "ellipsoid" Ellipsoid [| 0.15; 0.1; 0.06 |], [||]
      GeomSpec.create "box" Box [| 0.1; 0.07; 0.05 |], [||]
      meshGeom pts, pts ]

let private randomQuat (rnd: Random) = normalize (Array.init 4 (fun _ -> rnd.NextDouble() * 2.0 - 1.0))

/// Every pair of convex shapes at random poses: GJK/EPA's depth = minus the brute-force signed distance, its normal
/// maximises the brute-force gap, and its point lies on A's surface along the normal.
let private bruteForce () =
    let rnd = Random 31
    let all = shapes rnd
    let mutable apart, overlapping = 0, 0
    for i in 0 .. all.Length - 1 do
        for j in i .. all.Length - 1 do
            let (ga, ma), (gb, mb) = all[i], all[j]
            for trial in 0 .. 5 do
                let qa, qb = randomQuat rnd, randomQuat rnd
                let dir = normalize (Array.init 3 (fun _ -> rnd.NextDouble() * 2.0 - 1.0))
                let reach = Broadphase.boundRadius ga + Broadphase.boundRadius gb
                let pb = dir |> Array.map (fun x -> x * reach * (0.3 + 0.6 * rnd.NextDouble()))
                let pa = [| 0.0; 0.0; 0.0 |]
                let point, normal, depth = contactOf (bodyOf ga pa qa) (bodyOf gb pb qb)
                let sa, sb = toWorld pa qa (surfaceSamples ga ma), toWorld pb qb (surfaceSamples gb mb)
                let sd, _ = bruteSignedDistance sa sb rnd
                let what = sprintf "%A-%A trial %d" ga.gtype gb.gtype trial
                if sd > 0.0 then apart <- apart + 1 else overlapping <- overlapping + 1
                Expect.isLessThan (abs (-depth - sd)) BruteTol (sprintf "%s: depth %.6g, brute-force signed distance %.6g" what depth sd)
                Expect.isGreaterThan (gapAlong sa sb normal) (sd - BruteTol) (sprintf "%s: the gap along the normal %A is the largest" what normal)
                let onA = -(maxAlong sa (Array.map (~-) normal))
                let along = normal[0] * point[0] + normal[1] * point[1] + normal[2] * point[2]
                Expect.isLessThan (abs (along - onA)) BruteTol (sprintf "%s: the point lies on A's surface along the normal" what)
    Expect.isGreaterThan apart 10 "separated poses tested"
    Expect.isGreaterThan overlapping 10 "penetrating poses tested"

/// humanoid100: 100 free capsules, ellipsoids, boxes, cylinders and spheres dropped into a pen of capsules with a
/// humanoid; every pair (Capsule-Ellipsoid included) now collides. After 1 s every object is above the floor.
let private humanoid100 () =
    let f = "/usr/share/mujoco/model/humanoid100/humanoid100.xml"
    Expect.isTrue (IO.File.Exists f) "MuJoCo's sample models (libmujoco-dev) are installed"
    let scene = Scene(SimOptions(dt = 0.005))
    let e = scene.addEntity(Morphs.MJCF(file = f))
    scene.build()
    let m = scene.model
    let geoms = Broadphase.collidable m.topology
    let kinds = Broadphase.staticPairs m.topology |> Array.map (fun (a, b) -> (snd geoms[a]).gtype, (snd geoms[b]).gtype)
    Expect.isTrue (kinds |> Array.exists (fun (a, b) -> set [ a; b ] = set [ Capsule; Ellipsoid ])) "capsule-ellipsoid pairs may collide"
    for _ in 1 .. 200 do scene.step()
    let z = e.getLinksPos().toFloatArray() |> Array.chunkBySize 3 |> Array.map (fun p -> p[2])
    Expect.isTrue (z |> Array.forall Double.IsFinite) "finite state"
    // the free objects (the bodies with a free joint of their own, the humanoid's torso included)
    let free = [| for b in 0 .. m.topology.nbody - 1 do if m.topology.bodyJoints[b] |> Array.exists (fun j -> m.topology.jntType[j] = Free) then b |]
    Expect.isGreaterThan free.Length 100 "the objects and the humanoid float"
    let lowest = free |> Array.minBy (fun b -> z[b])
    Expect.isGreaterThan z[lowest] 0.02 (sprintf "no object fell through the floor (lowest: body '%s')" m.topology.bodyName[lowest])

[<Tests>]
let tests =
    testList "Physics.Collision.ConvexPair" [
        test "sphere-sphere: depth ra + rb - |ca - cb|, normal along ca - cb" {
            GsSetup.ensure64 ()
            let ca, cb = [| 0.1; 0.2; 0.2 |], [| 0.0; 0.0; 0.0 |]
            let d = sqrt 0.09
            let n = ca |> Array.map (fun x -> x / d)
            analytic "apart" (bodyOf (GeomSpec.create "a" Sphere [| 0.1 |]) ca unit) (bodyOf (GeomSpec.create "b" Sphere [| 0.15 |]) cb unit)
                (0.25 - d) n (Array.map2 (fun c x -> c - 0.1 * x) ca n)
            analytic "overlapping" (bodyOf (GeomSpec.create "a" Sphere [| 0.2 |]) ca unit) (bodyOf (GeomSpec.create "b" Sphere [| 0.15 |]) cb unit)
                (0.35 - d) n (Array.map2 (fun c x -> c - 0.2 * x) ca n)
        }
        test "sphere-box: a face, a corner and a centre inside the box (EPA)" {
            GsSetup.ensure64 ()
            let box = bodyOf (GeomSpec.create "box" Box [| 0.2; 0.3; 0.1 |]) [| 0.0; 0.0; 0.0 |] unit
            let sphere (c: float[]) = bodyOf (GeomSpec.create "s" Sphere [| 0.1 |]) c unit
            analytic "face" (sphere [| 0.05; 0.1; 0.18 |]) box 0.02 [| 0.0; 0.0; 1.0 |] [| 0.05; 0.1; 0.08 |]
            let off = sqrt 3.0 * 0.05
            let k = 1.0 / sqrt 3.0
            analytic "corner" (sphere [| 0.25; 0.35; 0.15 |]) box (0.1 - off) [| k; k; k |] [| 0.25 - 0.1 * k; 0.35 - 0.1 * k; 0.15 - 0.1 * k |]
            analytic "centre inside" (sphere [| 0.0; 0.05; 0.05 |]) box 0.15 [| 0.0; 0.0; 1.0 |] [| 0.0; 0.05; -0.05 |]
        }
        test "box-box overlapping through a face (EPA): depth and normal of the least overlap" {
            GsSetup.ensure64 ()
            let top = bodyOf (GeomSpec.create "a" Box [| 0.1; 0.1; 0.1 |]) [| 0.02; 0.01; 0.15 |] unit
            let bottom = bodyOf (GeomSpec.create "b" Box [| 0.3; 0.3; 0.1 |]) [| 0.0; 0.0; 0.0 |] unit
            let _, n, d = contactOf top bottom
            Expect.isLessThan (abs (d - 0.05)) AnalyticTol (sprintf "depth %g" d)
            expectVec AnalyticTol "normal" [| 0.0; 0.0; 1.0 |] n
        }
        test "capsule-ellipsoid: end on the pole, side on the equator, and a sphere on a sloped point" {
            GsSetup.ensure64 ()
            let radii = [| 0.3; 0.2; 0.1 |]
            let ell = bodyOf (GeomSpec.create "e" Ellipsoid radii) [| 0.0; 0.0; 0.0 |] unit
            let capsule = GeomSpec.create "c" Capsule [| 0.05; 0.1 |]
            // upright capsule, lower end centre 0.04 above the pole (0, 0, 0.1)
            analytic "end on the pole" (bodyOf capsule [| 0.0; 0.0; 0.24 |] unit) ell 0.01 [| 0.0; 0.0; 1.0 |] [| 0.0; 0.0; 0.09 |]
            // capsule along y, its axis 0.04 beyond the x vertex (0.3, 0, 0)
            let alongY = [| cos (Math.PI / 4.0); sin (Math.PI / 4.0); 0.0; 0.0 |]
            analytic "side on the equator" (bodyOf capsule [| 0.34; 0.0; 0.0 |] alongY) ell 0.01 [| 1.0; 0.0; 0.0 |] [| 0.29; 0.0; 0.0 |]
            // a sphere of radius r along the surface normal at x0 = (a cos t, 0, c sin t), depth 0.01
            let t = 0.7
            let x0 = [| radii[0] * cos t; 0.0; radii[2] * sin t |]
            let n = normalize [| cos t / radii[0]; 0.0; sin t / radii[2] |]
            let r = 0.05
            let centre = Array.map2 (fun x k -> x + (r - 0.01) * k) x0 n
            analyticWithin CurvedNormalTol "sloped point" (bodyOf (GeomSpec.create "s" Sphere [| r |]) centre unit) ell 0.01 n (Array.map2 (fun c k -> c - r * k) centre n)
        }
        test "every pair of sphere, capsule, cylinder, ellipsoid, box and mesh hull vs a brute-force signed distance on random poses" {
            GsSetup.ensure64 ()
            bruteForce ()
        }
        test "humanoid100 (capsule-ellipsoid pairs among others) builds, steps 1 s and nothing falls through the floor" {
            GsSetup.ensure64 ()
            humanoid100 ()
        }
        test "the dispatch table has a narrow phase for every pair of geom types" {
            for (a, b), kind in PairDispatch.table do
                Expect.notEqual kind PairKind.Unsupported (sprintf "%A-%A" a b)
        }
    ]
