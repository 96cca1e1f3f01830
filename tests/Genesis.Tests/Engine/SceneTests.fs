module Genesis.Tests.Engine.SceneTests

open Expecto
open Genesis
open Genesis.Tests
open Genesis.Tests.TestUtil

/// The two-link arm (fixed base) in a built scene with dt 0.01.
let armScene (requiresGrad: bool) (nEnvs: int) =
    let scene = Scene(SimOptions(dt = 0.01, requiresGrad = requiresGrad))
    let robot = scene.addEntity(Morphs.URDF(GsSetup.asset "two_link_arm/two_link_arm.urdf", fixedBase = true))
    scene.build(nEnvs = nEnvs)
    scene, robot

[<Tests>]
let tests =
    testList "Engine.Scene" [
        test "entity sizes and names" {
            GsSetup.ensure64 ()
            let _, robot = armScene false 0
            Expect.equal robot.nDofs 2 "two continuous joints"
            Expect.equal (robot.links |> Array.map (fun l -> l.name)) [| "base"; "arm1"; "arm2" |] "fixed endEffector fused into arm2"
            Expect.equal (robot.joints |> Array.map (fun j -> j.name)) [| "baseHinge"; "interArm" |] "joint names"
        }
        test "an MJCF entity's base link is the first body under <worldbody> (links[0] is the world)" {
            GsSetup.ensure64 ()
            let scene = Scene(SimOptions(dt = 0.005))
            let humanoid = scene.addEntity(Morphs.MJCF(GsSetup.asset "mjcf/humanoid.xml"))
            scene.build()
            let torso = humanoid.getLink "torso"
            Expect.equal (humanoid.getPos().toFloatArray()) (torso.getPos().toFloatArray()) "getPos is the torso's"
            Expect.equal (humanoid.getQuat().toFloatArray()) (torso.getQuat().toFloatArray()) "getQuat is the torso's"
            humanoid.setPos(gs.tensor([ 0.5; 0.0; 2.0 ]))
            Expect.equal (humanoid.getPos().toFloatArray()) [| 0.5; 0.0; 2.0 |] "setPos and getPos act on the same link"
            humanoid.setDofsVelocity(gs.tensor([ 1.0; 0.0; 0.0; 0.0; 0.0; 2.0 ]), dofsIdx = [| 0 .. 5 |])
            Expect.floatClose Accuracy.veryHigh ((humanoid.getVel().toFloatArray())[0]) 1.0 "getVel: the free joint's linear velocity"
            Expect.floatClose Accuracy.veryHigh ((humanoid.getAng().toFloatArray())[2]) 2.0 "getAng: its angular velocity"
        }
        test "getters have no env dimension unbatched and a leading one batched" {
            GsSetup.ensure64 ()
            let _, r0 = armScene false 0
            Expect.equal (r0.getPos().shape) [| 3 |] "getPos"
            Expect.equal (r0.getLinksPos().shape) [| 3; 3 |] "getLinksPos"
            Expect.equal (r0.getDofsPosition().shape) [| 2 |] "getDofsPosition"
            Expect.equal (r0.getJacobian(r0.getLink "arm2").shape) [| 6; 2 |] "getJacobian"
            let _, r3 = armScene false 3
            Expect.equal (r3.getPos().shape) [| 3; 3 |] "batched getPos"
            Expect.equal (r3.getDofsVelocity().shape) [| 3; 2 |] "batched getDofsVelocity"
        }
        test "setDofsPosition round-trips and moves the links" {
            GsSetup.ensure64 ()
            let _, robot = armScene false 0
            robot.setDofsPosition(gs.tensor([ 0.3; -0.4 ]))
            Expect.sequenceEqual (robot.getDofsPosition().toFloatArray()) [| 0.3; -0.4 |] "dofs position"
            let p = robot.getLink("arm2").getPos().toFloatArray()
            // arm1 pitches about y by 0.3: its tip (arm2's origin) is at length 1 along the rotated x axis
            Expect.floatClose Accuracy.veryHigh p[0] (cos 0.3) "x"
            Expect.floatClose Accuracy.veryHigh p[2] (-(sin 0.3)) "z"
        }
        test "envsIdx sets only the chosen envs" {
            GsSetup.ensure64 ()
            let _, robot = armScene false 3
            robot.setDofsPosition(gs.tensor([ [ 0.5; 0.1 ] ]), envsIdx = [| 1 |])
            let q = robot.getDofsPosition().toFloatArray()
            Expect.sequenceEqual q [| 0.0; 0.0; 0.5; 0.1; 0.0; 0.0 |] "only env 1 changed"
        }
        test "the Jacobian maps dof velocities to the link velocity" {
            GsSetup.ensure64 ()
            let scene, robot = armScene false 0
            robot.setDofsPosition(gs.tensor([ 0.3; -0.4 ]))
            let link = robot.getLink "arm2"
            let j = robot.getJacobian link
            let qd = gs.tensor([ 0.7; -1.1 ])
            let h = 1e-6
            robot.setDofsVelocity(qd)
            let p0 = link.getPos()
            robot.setDofsPosition(gs.tensor([ 0.3 + h * 0.7; -0.4 - h * 1.1 ]))
            let v = (link.getPos() - p0) / h
            let jv = j.matmul(qd).narrow(0, 0, 3)
            Expect.isLessThan ((v - jv).abs().max().item()) 1e-5 "finite-difference velocity"
            ignore scene
        }
        test "bad inputs raise GenesisException naming the problem" {
            GsSetup.ensure64 ()
            let scene = Scene()
            let robot = scene.addEntity(Morphs.URDF(GsSetup.asset "two_link_arm/two_link_arm.urdf", fixedBase = true))
            throwsWith<GenesisException> [ "not built" ] (fun () -> scene.step())
            throwsWith<GenesisException> [ "not built" ] (fun () -> robot.getPos() |> ignore)
            scene.build()
            throwsWith<GenesisException> [ "already built" ] (fun () -> scene.addEntity(Morphs.Plane()) |> ignore)
            throwsWith<GenesisException> [ "controlDofsForce"; "expected shape [2]"; "[3]" ] (fun () -> robot.controlDofsForce(gs.zeros([ 3 ])))
            throwsWith<GenesisException> [ "setDofsPosition"; "[2; 2]" ] (fun () -> robot.setDofsPosition(gs.zeros([ 2; 2 ])))
            throwsWith<GenesisException> [ "dof index 5" ] (fun () -> robot.controlDofsForce(gs.zeros([ 1 ]), dofsIdx = [| 5 |]))
            throwsWith<GenesisException> [ "no link 'hand'"; "arm1" ] (fun () -> robot.getLink "hand" |> ignore)
            throwsWith<GenesisException> [ "no free base joint" ] (fun () -> robot.setPos(gs.zeros([ 3 ])))
        }
        test "a non-finite step raises naming env and dof and keeps the previous state" {
            GsSetup.ensure64 ()
            let scene, robot = armScene false 0
            robot.setDofsPosition(gs.tensor([ 0.1; 0.2 ]))
            scene.step()
            let before = robot.getDofsPosition().toFloatArray()
            robot.controlDofsForce(gs.tensor([ nan; 0.0 ]))
            throwsWith<GenesisException> [ "non-finite"; "env 0"; "baseHinge" ] (fun () -> scene.step())
            Expect.sequenceEqual (robot.getDofsPosition().toFloatArray()) before "previous state kept"
        }
        test "Genesis' backward rules: single backward, no forward after backward, reset clears" {
            GsSetup.ensure64 ()
            let scene, robot = armScene true 0
            let u = gs.zeros([ 5; 2 ], requiresGrad = true)
            for t in 0 .. 4 do
                robot.controlDofsForce(u.[t])
                scene.step()
            let loss = robot.getPos().sum() + robot.getLink("arm2").getPos().pow(2.0).sum()
            loss.backward()
            Expect.isNotNull u.grad "grad set"
            throwsWith<GenesisException> [ "Multiple backward calls not allowed" ] (fun () -> loss.backward())
            throwsWith<GenesisException> [ "Forward simulation not allowed after backward pass. Please reset scene state." ] (fun () -> scene.step())
            scene.reset()
            scene.step()
            Expect.equal scene.stepsTaken 1 "stepping works after reset"
        }
        test "parameters set from new leaves every epoch after reset start a fresh graph; one set once raises on the second backward" {
            GsSetup.ensure64 ()
            // the robot's links are some of the model's bodies (the plane's come first): setting its masses keeps the
            // other entries of the parameter tensor, which the first backward used up
            let scene = Scene(SimOptions(dt = 0.01, requiresGrad = true))
            scene.addEntity(Morphs.Plane()) |> ignore
            let robot = scene.addEntity(Morphs.URDF(GsSetup.asset "two_link_arm/two_link_arm.urdf", fixedBase = true))
            scene.build()
            let m0 = robot.getLinksMass().toFloatArray()
            let epoch (setDamping: bool) =
                scene.reset()
                let mass = gs.tensor(m0, requiresGrad = true)
                let kp = gs.full([ 2 ], 50.0, requiresGrad = true)
                robot.setLinksMass(mass)
                robot.setDofsKp(kp)
                if setDamping then robot.setDofsDamping(gs.full([ 2 ], 0.1, requiresGrad = true))
                for _ in 1 .. 10 do
                    robot.controlDofsPosition(gs.tensor([ 0.5; -0.3 ]))
                    scene.step()
                (robot.getDofsPosition() - gs.tensor([ 0.2; 0.1 ])).pow(2.0).sum().backward()
                Array.append (mass.grad.toFloatArray()) (kp.grad.toFloatArray())
            let first = epoch true
            for _ in 1 .. 2 do
                Expect.sequenceEqual (epoch true) first "the same gradients every epoch"
            Expect.isTrue (first |> Array.exists (fun g -> abs g > 1e-9)) "non-zero"
            // a parameter set once from a leaf, before the loop, is part of a graph the first backward used up
            robot.setDofsDamping(gs.full([ 2 ], 0.1, requiresGrad = true))
            epoch false |> ignore
            throwsWith<GenesisException> [ "Multiple backward calls not allowed" ] (fun () -> epoch false |> ignore)
        }
        test "tensors of two scenes cannot be mixed" {
            GsSetup.ensure64 ()
            let _, a = armScene true 0
            let _, b = armScene true 0
            throwsWith<GenesisException> [ "Tensors not derived from the same Scene object" ] (fun () -> (a.getPos() + b.getPos()) |> ignore)
            let ok = a.getPos().sceneless() + b.getPos()
            Expect.equal ok.shape [| 3 |] "sceneless tensors combine"
        }
        test "scene outputs carry the scene; reset returns to the initial state" {
            GsSetup.ensure64 ()
            let scene, robot = armScene false 0
            Expect.isTrue (obj.ReferenceEquals(robot.getPos().scene, scene)) "scene set"
            let q0 = robot.getLinksPos().toFloatArray()
            for _ in 1 .. 10 do scene.step()
            Expect.notEqual (robot.getLinksPos().toFloatArray()) q0 "moved under gravity"
            scene.reset()
            Expect.sequenceEqual (robot.getLinksPos().toFloatArray()) q0 "reset"
            let st = scene.getState()
            Expect.equal st.qpos.shape [| 2 |] "state qpos"
            Expect.equal st.linksQuat.shape [| 3; 4 |] "state link quats"
        }
        test "a force range set over the default unbounded one clips the applied forces" {
            GsSetup.ensure64 ()
            let _, robot = armScene false 0
            robot.setDofsForceRange(gs.tensor([ -5.0; -5.0 ]), gs.tensor([ 5.0; 5.0 ]))
            robot.controlDofsForce(gs.tensor([ 9.0; -9.0 ]))
            Expect.sequenceEqual (robot.getDofsForce().toFloatArray()) [| 5.0; -5.0 |] "clipped, not NaN"
            robot.setDofsForceRange(gs.tensor([ -3.0 ]), gs.tensor([ 3.0 ]), dofsIdx = [| 1 |])
            Expect.sequenceEqual (robot.getDofsForce().toFloatArray()) [| 5.0; -3.0 |] "one dof changed"
        }
    ]
