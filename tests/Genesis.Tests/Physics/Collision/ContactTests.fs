module Genesis.Tests.Physics.ContactTests

open System
open Expecto
open Genesis
open Genesis.Physics
open Genesis.Tests

/// Penetration allowed at rest by the default penalty contact (k = 3e4 N/m per point).
let private restTolerance = 5e-3

let private sceneWith (dt: float) (friction: float) (planeQuat: float[]) (morphs: Morph list) =
    let scene = Scene(SimOptions(dt = dt, friction = friction))
    scene.addEntity(Morphs.Plane(quat = planeQuat)) |> ignore
    let entities = morphs |> List.map scene.addEntity
    scene.build()
    scene, entities

let private level = [| 1.0; 0.0; 0.0; 0.0 |]
let private tilt (deg: float) = [| cos (deg * Math.PI / 360.0); 0.0; sin (deg * Math.PI / 360.0); 0.0 |]

[<Tests>]
let tests =
    testList "Physics.Contact" [
        test "a sphere and a box dropped on the plane come to rest at their half heights" {
            GsSetup.ensure64 ()
            let scene, es = sceneWith 0.01 0.0 level [ Morphs.Sphere(0.1, pos = [| 0.0; 0.0; 0.4 |]); Morphs.Box([| 0.2; 0.3; 0.4 |], pos = [| 1.0; 0.0; 0.5 |]) ]
            for _ in 1 .. 300 do scene.step()
            let sphere, box = es[0], es[1]
            Expect.floatClose { absolute = restTolerance; relative = 0.0 } ((sphere.getPos().toFloatArray())[2]) 0.1 "sphere height"
            Expect.floatClose { absolute = restTolerance; relative = 0.0 } ((box.getPos().toFloatArray())[2]) 0.2 "box height"
            Expect.isLessThan (sphere.getVel().norm().item()) 1e-3 "sphere at rest"
            Expect.isLessThan (box.getVel().norm().item()) 1e-3 "box at rest"
        }
        test "a capsule and a cylinder come to rest on the plane" {
            GsSetup.ensure64 ()
            let lying = [| cos (Math.PI / 4.0); sin (Math.PI / 4.0); 0.0; 0.0 |]
            // one scene each, so that each rests on the plane alone
            for morph, height, what in
                [ Morphs.Capsule(0.05, 0.3, pos = [| 0.0; 0.0; 0.3 |], quat = lying), 0.05, "capsule lies on its side"
                  Morphs.Cylinder(0.1, 0.2, pos = [| 1.0; 0.0; 0.3 |]), 0.1, "cylinder stands" ] do
                let scene, es = sceneWith 0.01 0.0 level [ morph ]
                for _ in 1 .. 300 do scene.step()
                Expect.floatClose { absolute = restTolerance; relative = 0.0 } ((es[0].getPos().toFloatArray())[2]) height what
        }
        test "a stack of three boxes stays stacked for 5 s" {
            GsSetup.ensure64 ()
            let scene, boxes = sceneWith 0.01 0.0 level [ for k in 0 .. 2 -> Morphs.Box([| 0.2; 0.2; 0.2 |], pos = [| 0.0; 0.0; 0.1 + 0.2 * float k + 0.002 |]) ]
            for _ in 1 .. 500 do scene.step()
            boxes |> List.iteri (fun k b ->
                let p = b.getPos().toFloatArray()
                Expect.floatClose { absolute = 3.0 * restTolerance; relative = 0.0 } p[2] (0.1 + 0.2 * float k) (sprintf "box %d height" k)
                Expect.isLessThan (sqrt (p[0] * p[0] + p[1] * p[1])) 1e-2 (sprintf "box %d stays above the others" k))
        }
        test "a box on a 20 degree incline slides with a = g (sin a - mu cos a) when mu < tan a" {
            GsSetup.ensure64 ()
            let alpha = 20.0 * Math.PI / 180.0
            let mu = 0.1
            let scene, es = sceneWith 0.005 mu (tilt 20.0) [ Morphs.Box([| 0.2; 0.2; 0.2 |], pos = [| 0.0; 0.0; 0.101 |], quat = tilt 20.0) ]
            for _ in 1 .. 100 do scene.step()
            let v0 = es[0].getVel().norm().item()
            for _ in 1 .. 100 do scene.step()
            let v1 = es[0].getVel().norm().item()
            let a = (v1 - v0) / 0.5
            Expect.floatClose { absolute = 0.0; relative = 0.05 } a (9.81 * (sin alpha - mu * cos alpha)) "sliding acceleration"
        }
        test "with mu > tan a the box only creeps (smooth friction: speed below the friction velocity scale)" {
            GsSetup.ensure64 ()
            let scene, es = sceneWith 0.005 0.8 (tilt 20.0) [ Morphs.Box([| 0.2; 0.2; 0.2 |], pos = [| 0.0; 0.0; 0.101 |], quat = tilt 20.0) ]
            for _ in 1 .. 200 do scene.step()
            Expect.isLessThan (es[0].getVel().norm().item()) SimParams.defaultContact.frictionVelocity "creep speed"
        }
        test "a sphere rolls down a 15 degree incline with a = 5/7 g sin a" {
            GsSetup.ensure64 ()
            let alpha = 15.0 * Math.PI / 180.0
            let scene, es = sceneWith 0.005 1.0 (tilt 15.0) [ Morphs.Sphere(0.1, pos = [| 0.0; 0.0; 0.101 |]) ]
            for _ in 1 .. 100 do scene.step()
            let v0 = es[0].getVel().norm().item()
            for _ in 1 .. 100 do scene.step()
            let v1 = es[0].getVel().norm().item()
            Expect.floatClose { absolute = 0.0; relative = 0.03 } ((v1 - v0) / 0.5) (5.0 / 7.0 * 9.81 * sin alpha) "rolling acceleration"
        }
        test "contact gradients are finite over 1000 random states, exactly-at-contact included" {
            GsSetup.ensure64 ()
            let spec = Primitives.sphere (0.1, pos = [| 0.0; 0.0; 0.1 |])
            let plane = Primitives.plane ()
            let m = Model.build [| plane; spec |] DType.Float64
            let sp = { SimParams.defaults with dt = 0.01 }
            let rnd = Random(7)
            let ctrl = { modes = Array.create 6 ControlMode.Force; values = gs.zeros([ 1; 6 ]) }
            let step (x: Tensor) =
                let s = Physics.step m sp { qpos = x.narrow(0, 0, 7).unsqueeze(0); qvel = x.narrow(0, 7, 6).unsqueeze(0); time = 0.0 } ctrl
                gs.cat([| s.qpos; s.qvel |], 1).squeeze(0)
            for i in 0 .. 999 do
                let z = if i % 4 = 0 then 0.1 else 0.1 + (rnd.NextDouble() - 0.5) * 0.02
                let v = Array.init 6 (fun _ -> if i % 8 = 0 then 0.0 else rnd.NextDouble() - 0.5)
                let x = gs.tensor(Array.append [| rnd.NextDouble(); rnd.NextDouble(); z; 1.0; 0.0; 0.0; 0.0 |] v)
                let u = gs.tensor(Array.init 13 (fun _ -> rnd.NextDouble() - 0.5))
                let g = (gs.vjp step x u).toFloatArray()
                if not (g |> Array.forall Double.IsFinite) then failtestf "non-finite gradient at state %d (z = %g)" i z
        }
        test "floating body resting on the ground: d(final state)/d(initial state) equals FD" {
            GsSetup.ensure64 ()
            let m = Model.build [| Primitives.plane (); Primitives.sphere (0.1, pos = [| 0.0; 0.0; 0.1 |]) |] DType.Float64
            let sp = { SimParams.defaults with dt = 0.01 }
            let ctrl = { modes = Array.create 6 ControlMode.Force; values = gs.zeros([ 1; 6 ]) }
            let f (x: Tensor) =
                let mutable s = { qpos = x.narrow(0, 0, 7).unsqueeze(0); qvel = x.narrow(0, 7, 6).unsqueeze(0); time = 0.0 }
                for _ in 1 .. 10 do s <- Physics.step m sp s ctrl
                gs.cat([| s.qpos; s.qvel |], 1).squeeze(0)
            let x0 = [| 0.1; -0.2; 0.098; 1.0; 0.0; 0.0; 0.0; 0.2; 0.1; 0.0; 0.5; -1.0; 0.3 |]
            let ad = gs.jacobian f (gs.tensor x0)
            let adRows = Array.init ad.shape[0] (fun i -> ad.[i].toFloatArray())
            let fd = GsSetup.fdJacobian (fun x -> (f (gs.tensor x)).toFloatArray()) x0 1e-6
            Expect.isLessThan (GsSetup.relErr fd adRows) 1e-6 "AD vs FD"
        }
        test "a sphere whose centre is inside a box is pushed out through the nearest face" {
            GsSetup.ensure64 ()
            let m = Model.build [| Primitives.box ([| 1.0; 1.0; 1.0 |], fixedBase = true); Primitives.sphere (0.1, pos = [| 0.1; 0.0; 0.45 |]) |] DType.Float64
            let kin = Kinematics.compute m (gs.tensor([ [ 0.1; 0.0; 0.45; 1.0; 0.0; 0.0; 0.0 ] ]))
            let f = Contact.compute m SimParams.defaultContact kin (gs.zeros([ 1; 6 ])) 0.01
            let fz = (f.qfrc.toFloatArray())[2]
            Expect.isGreaterThan fz 100.0 "pushed up through the top face (nearest, 0.05 away)"
            Expect.isLessThan (abs ((f.qfrc.toFloatArray())[0])) (fz * 1e-6) "not sideways"
        }
        test "net contact force on links: a small box resting on a larger one feels m g up, the lower one its own weight net" {
            GsSetup.ensure64 ()
            let scene, boxes = sceneWith 0.01 0.0 level [ Morphs.Box([| 0.3; 0.3; 0.2 |], pos = [| 0.0; 0.0; 0.1 |]); Morphs.Box([| 0.2; 0.2; 0.1 |], pos = [| 0.0; 0.0; 0.25 |]) ]
            let lower, upper = boxes[0], boxes[1]
            for _ in 1 .. 300 do scene.step()
            let g = 9.81
            let weight (e: RigidEntity) = e.getLinksMass().sum().item() * g
            // parallel faces tie in the separating-axis test: the small box's corners make the contacts
            Expect.floatClose { absolute = restTolerance; relative = 0.0 } ((upper.getPos().toFloatArray())[2]) 0.25 "the upper box stays on top"
            let fLower, fUpper = lower.getLinksNetContactForce(), upper.getLinksNetContactForce()
            Expect.equal fUpper.shape [| upper.nLinks; 3 |] "shape"
            Expect.isTrue (obj.ReferenceEquals(fUpper.scene, scene)) "carries the scene"
            // at rest the law's force balances gravity (contact damping adds nothing without velocity)
            let close what (expected: float[]) (actual: Tensor) =
                Array.iteri2 (fun i e a -> Expect.floatClose { absolute = 1e-3 * weight lower; relative = 0.0 } a e (sprintf "%s[%d]" what i)) expected (actual.toFloatArray())
            close "upper box" [| 0.0; 0.0; weight upper |] fUpper
            // the ground pushes (m_l + m_u) g up, the upper box m_u g down
            close "lower box" [| 0.0; 0.0; weight lower |] fLower
            // in the air: zero
            let air, es = sceneWith 0.01 0.0 level [ Morphs.Sphere(0.1, pos = [| 0.0; 0.0; 1.0 |]) ]
            close "sphere in the air" [| 0.0; 0.0; 0.0 |] (es[0].getLinksNetContactForce())
            ignore air
        }
        test "net contact force is differentiable: d force / d initial velocity of a sliding sphere equals FD (through checkpoint segments)" {
            GsSetup.ensure64 ()
            let force (grad: bool) (v0: float[]) =
                let scene = Scene(SimOptions(dt = 0.005, requiresGrad = grad, friction = 0.5))
                scene.addEntity(Morphs.Plane()) |> ignore
                let ball = scene.addEntity(Morphs.Sphere(0.1, pos = [| 0.0; 0.0; 0.098 |]))
                scene.build()
                let v = if grad then gs.tensor(v0, requiresGrad = true) else gs.tensor(v0)
                ball.setDofsVelocity(v)
                for _ in 1 .. 20 do scene.step()
                let f = (ball.getLinksNetContactForce() * gs.tensor([ [ 0.7; -0.4; 0.2 ] ])).sum()
                if grad then
                    f.backward()
                    f.item(), v.grad.toFloatArray()
                else f.item(), [||]
            let v0 = [| 0.8; 0.3; -0.1; 0.5; -1.0; 0.2 |]
            let _, ad = force true v0
            let fd = GsSetup.fdJacobian (fun v -> [| fst (force false v) |]) v0 1e-7
            Expect.isTrue (ad |> Array.forall Double.IsFinite) "finite"
            Expect.isGreaterThan (ad |> Array.map abs |> Array.max) 1e-3 "non-zero"
            Expect.isLessThan (GsSetup.relErr fd [| ad |]) 1e-6 "AD vs FD"
        }
    ]
