module Genesis.Tests.Physics.PrimitivesTests

open System
open Expecto
open Genesis.Physics
open Genesis.Tests.Physics.MorphTestUtil

/// Closed-form mass properties are exact up to rounding.
let Tol = 1e-12

[<Tests>]
let tests =
    testList "Physics.Morphs.Primitives" [
        test "box: mass from density, inertia m(b^2+c^2)/12, free joint" {
            let e = Primitives.box([| 1.0; 2.0; 3.0 |], pos = [| 0.0; 0.0; 1.0 |])
            let b = e.bodies.[0]
            nearScalar Tol "mass" b.mass 6000.0
            near 1e-9 "inertia" b.inertia (SpecMath.diag [| 6000.0 * 13.0 / 12.0; 6000.0 * 10.0 / 12.0; 6000.0 * 5.0 / 12.0 |])
            near Tol "half extents" b.geoms.[0].size [| 0.5; 1.0; 1.5 |]
            Expect.equal b.joints.[0].jtype Free "free joint"
            Expect.equal (EntitySpec.nq e) 7 "nq"
            Expect.equal (EntitySpec.nv e) 6 "nv"
            near Tol "qpos0 = pos, quat" (EntitySpec.qpos0 e) [| 0.0; 0.0; 1.0; 1.0; 0.0; 0.0; 0.0 |]
        }
        test "sphere: 2/5 m r^2; mass overrides density" {
            let e = Primitives.sphere(0.5, mass = 2.0)
            nearScalar Tol "mass" e.bodies.[0].mass 2.0
            near Tol "inertia" e.bodies.[0].inertia (SpecMath.diag (Array.create 3 (0.4 * 2.0 * 0.25)))
        }
        test "cylinder: m(3r^2+h^2)/12, m r^2/2" {
            let e = Primitives.cylinder(0.1, 0.4, density = 500.0)
            let m = 500.0 * Math.PI * 0.01 * 0.4
            nearScalar Tol "mass" e.bodies.[0].mass m
            near Tol "inertia" e.bodies.[0].inertia (SpecMath.diag [| m * (0.03 + 0.16) / 12.0; m * (0.03 + 0.16) / 12.0; m * 0.01 / 2.0 |])
            near Tol "size" e.bodies.[0].geoms.[0].size [| 0.1; 0.2; 0.0 |]
        }
        test "capsule: cylinder plus two hemispheres" {
            let r, h = 0.1, 0.6
            let e = Primitives.capsule(r, h)
            let mc = 1000.0 * Math.PI * r * r * h
            let ms = 1000.0 * 4.0 / 3.0 * Math.PI * r ** 3.0
            // hemisphere COM at 3r/8 from its flat face; parallel axis about the capsule centre
            let ixx = mc * (3.0 * r * r + h * h) / 12.0 + ms * (2.0 * r * r / 5.0 + h * h / 4.0 + 3.0 * h * r / 8.0)
            let izz = mc * r * r / 2.0 + ms * 2.0 * r * r / 5.0
            nearScalar 1e-9 "mass" e.bodies.[0].mass (mc + ms)
            near 1e-12 "inertia" e.bodies.[0].inertia (SpecMath.diag [| ixx; ixx; izz |])
        }
        test "fixedBase gives a welded body; plane is always static" {
            let e = Primitives.box([| 1.0; 1.0; 1.0 |], fixedBase = true)
            Expect.isEmpty e.bodies.[0].joints "no joints"
            Expect.equal (EntitySpec.nq e) 0 "nq"
            let p = Primitives.plane(pos = [| 0.0; 0.0; -1.0 |])
            Expect.isEmpty p.bodies.[0].joints "plane static"
            Expect.equal p.bodies.[0].geoms.[0].gtype Plane "plane geom"
        }
        test "quat is normalised" {
            let e = Primitives.sphere(1.0, quat = [| 2.0; 0.0; 0.0; 0.0 |])
            near Tol "unit quat" e.bodies.[0].quat [| 1.0; 0.0; 0.0; 0.0 |]
        }
        test "bad arguments raise ArgumentException naming the argument" {
            Expect.throwsT<ArgumentException> (fun () -> Primitives.box([| 1.0; 0.0; 1.0 |]) |> ignore) "zero size"
            Expect.throwsT<ArgumentException> (fun () -> Primitives.sphere(-1.0) |> ignore) "negative radius"
            Expect.throwsT<ArgumentException> (fun () -> Primitives.sphere(1.0, mass = 1.0, density = 2.0) |> ignore) "both"
            Expect.throwsT<ArgumentException> (fun () -> Primitives.sphere(1.0, pos = [| 0.0 |]) |> ignore) "pos"
            Expect.throwsT<ArgumentException> (fun () -> Primitives.sphere(1.0, mass = 0.0) |> ignore) "massless moving"
        }
    ]
