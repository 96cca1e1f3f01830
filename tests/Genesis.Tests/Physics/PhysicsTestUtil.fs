/// Inputs and comparisons shared by the physics tests that hold one form of a stage to another (FastStepTests,
/// StageContractTests): random valid states and a relative elementwise comparison.
module Genesis.Tests.Physics.PhysicsTestUtil

open System
open Expecto
open Genesis
open Genesis.Physics

/// One env's row [1; n] of float64 values.
let row64 (x: float[]) = gs.fromArray(x, shape = [| 1; x.Length |], dtype = DType.Float64)

/// Fails unless every element of actual is within tol * max(1, the largest |expected|) of expected, naming the first
/// element that is not.
let expectClose (tol: float) (what: string) (expected: float[]) (actual: float[]) =
    Expect.equal actual.Length expected.Length (what + ": length")
    let scale = expected |> Array.fold (fun m e -> max m (abs e)) 1.0
    for i in 0 .. expected.Length - 1 do
        let e, a = expected[i], actual[i]
        if not (abs (a - e) <= tol * scale) then
            failtestf "%s: element %d is %.17g, expected %.17g (diff %g, scale %g)" what i a e (abs (a - e)) scale

/// A random unit quaternion within about `angle` rad of q.
let perturbQuat (rnd: Random) (angle: float) (q: float[]) =
    let w = Array.init 3 (fun _ -> (rnd.NextDouble() - 0.5) * angle)
    let d = [| 1.0; w[0] / 2.0; w[1] / 2.0; w[2] / 2.0 |]
    SpecMath.normalize (SpecMath.quatMul q d)

/// qpos and qvel of b envs (row-major): hinge/slide coordinates within posNoise of qpos0, quaternions within about
/// 4 posNoise rad, free positions shifted by up to `shift`; velocities within velScale.
let randomStates (shift: float) (m: Model) (rnd: Random) (b: int) (posNoise: float) (velScale: float) =
    let topo = m.topology
    let qpos =
        Array.init b (fun _ ->
            let q = Array.copy topo.qpos0
            for j in 0 .. topo.jntType.Length - 1 do
                let a = topo.jntQposAdr[j]
                match topo.jntType[j] with
                | Hinge | Slide -> q[a] <- q[a] + (rnd.NextDouble() - 0.5) * 2.0 * posNoise
                | Ball -> Array.blit (perturbQuat rnd (4.0 * posNoise) q[a .. a + 3]) 0 q a 4
                | Free ->
                    for k in 0 .. 2 do q[a + k] <- q[a + k] + (rnd.NextDouble() - 0.5) * (2.0 * shift)
                    Array.blit (perturbQuat rnd (4.0 * posNoise) q[a + 3 .. a + 6]) 0 q (a + 3) 4
            q)
        |> Array.concat
    let qvel = Array.init (b * topo.nv) (fun _ -> (rnd.NextDouble() - 0.5) * 2.0 * velScale)
    qpos, qvel

/// A free body whose one geom is g (any shape, mesh hulls and ellipsoids included), at pos with orientation quat.
let bodyOf (g: GeomSpec) (pos: float[]) (quat: float[]) =
    let e = Primitives.sphere (0.1, pos = pos, quat = quat, name = sprintf "%A" g.gtype)
    { e with bodies = e.bodies |> Array.map (fun b -> { b with geoms = [| { g with name = b.name } |] }) }

/// A mesh geom: the convex hull of points (flattened xyz), its size the half-extent box of the hull's vertices.
let meshGeom (points: float[]) =
    let hull = ConvexHull.vertices points
    let size = Array.init 3 (fun i -> Array.init (hull.Length / 3) (fun k -> abs hull[3 * k + i]) |> Array.max)
    { GeomSpec.create "mesh" Mesh size with meshVertices = Some hull }
