using FsGs = Genesis.gs;
using static Genesis.CSharp.Tests.Fx;

namespace Genesis.CSharp.Tests;

/// <summary>Scene, SimOptions, Morphs, RigidEntity, RigidLink, RigidJoint, SimState; gradients through the
/// simulation equal the F# API's.</summary>
public static class SceneTests
{
    private static string Arm => Asset("two_link_arm/two_link_arm.urdf");

    private static Genesis.SimOptions FsOptions(double dt, bool requiresGrad) =>
        new(Some(dt), null, null, Some(requiresGrad), null, null, null, null, null, null, null, null, null);

    /// <summary>The Genesis quick start (set an initial position, controlled steps, MSE loss, backward) through the
    /// facade and through the F# API: same loss, same gradients for the initial position and every control.</summary>
    [Test]
    public static void QuickstartGradientsMatchFSharp()
    {
        Init();
        const int steps = 40;
        double[] target = [0.4, 0.2, -0.6];

        var fsScene = new Genesis.Scene(Some(FsOptions(0.01, true)));
        var fsRobot = fsScene.addEntity(Genesis.Morphs.URDF(Arm, null, null, null, Some(true), null, null, null));
        fsScene.build(null);
        var fsInit = FsTensorOf([0.3, -0.2], requiresGrad: true);
        fsRobot.setDofsPosition(fsInit, null, null);
        var fsControls = FsGs.full(new[] { steps, fsRobot.nDofs }, 0.5, null, Some(true), null, null);
        for (var t = 0; t < steps; t++)
        {
            fsRobot.controlDofsForce(FsRow(fsControls, t), null, null);
            fsScene.step();
        }
        var fsDiff = fsRobot.getLink("arm2").getPos() - FsTensorOf(target);
        var fsLoss = Genesis.Reductions.meanDims(Array.Empty<int>(), false, fsDiff.pow(2.0));
        FsBackward(fsLoss);

        var scene = new Scene(new SimOptions { Dt = 0.01, RequiresGrad = true });
        var robot = scene.AddEntity(Morphs.Urdf(Arm, fixedBase: true));
        scene.Build();
        var initialPos = Gs.Tensor([0.3, -0.2], requiresGrad: true);
        robot.SetDofsPosition(initialPos);
        var controls = Gs.Full([steps, robot.NDofs], 0.5, requiresGrad: true);
        for (var t = 0; t < steps; t++)
        {
            robot.ControlDofsForce(controls[t]);
            scene.Step();
        }
        var loss = (robot.GetLink("arm2").GetPos() - Gs.Tensor(target)).Pow(2).Mean();
        Assert.True(loss.Scene == scene, "the loss carries the scene");
        Assert.True(scene.RecordedSegments == fsScene.recordedSegments && scene.RecordedSegments > 0, "RecordedSegments");
        loss.Backward();

        Assert.Close(fsLoss.item(), loss.Item(), Same, "loss");
        Close(fsInit.grad.toFloatArray(), initialPos.Grad!.ToArray(), Same, "initialPos.Grad");
        Close(fsControls.grad.toFloatArray(), controls.Grad!.ToArray(), Same, "controls.Grad");
        Assert.True(initialPos.Grad!.ToArray().Any(g => Math.Abs(g) > 1e-6), "the gradient is not zero");

        SameError(() => fsScene.step(), () => scene.Step(), "Forward simulation not allowed after backward pass");
        scene.Reset();
        scene.Step();
    }

    /// <summary>SimOptions: defaults are the engine's, every property reaches the engine, invalid values raise the engine's error.</summary>
    [Test]
    public static void SimOptionsConvert()
    {
        var fsDefaults = new Genesis.SimOptions(null, null, null, null, null, null, null, null, null, null, null, null, null);
        var d = new SimOptions();
        Assert.True(d.Dt == fsDefaults.dt && d.Substeps == fsDefaults.substeps && d.Gravity.SequenceEqual(fsDefaults.gravity)
                    && d.RequiresGrad == fsDefaults.requiresGrad && d.Integrator == Integrator.Euler
                    && d.EnableContact == fsDefaults.enableContact && d.ContactStiffness == fsDefaults.contactStiffness
                    && d.ContactDamping == fsDefaults.contactDamping && d.Friction == fsDefaults.friction
                    && d.CheckpointEvery == fsDefaults.checkpointEvery && d.CheckNonFinite == fsDefaults.checkNonFinite
                    && d.EnableJointLimits == fsDefaults.enableJointLimits && d.MaxStateMagnitude == fsDefaults.maxStateMagnitude,
                    "defaults are the engine's");
        Assert.True(!d.ToFSharp().dtGiven && (d with { Dt = 0.01 }).ToFSharp().dtGiven, "Dt reaches the engine only when set (else a model file's timestep may apply)");
        var o = new SimOptions
        {
            Dt = 0.005, Substeps = 2, Gravity = [0, 0, -1.62], RequiresGrad = true, Integrator = Integrator.RK4, EnableContact = false,
            ContactStiffness = 1e4, ContactDamping = 50, Friction = 0.8, CheckpointEvery = 5, CheckNonFinite = false, EnableJointLimits = false,
            MaxStateMagnitude = 1e6,
        };
        var f = o.ToFSharp();
        Assert.True(f.dt == 0.005 && f.substeps == 2 && f.gravity[2] == -1.62 && f.requiresGrad && f.integrator.IsRK4 && !f.enableContact
                    && f.contactStiffness == 1e4 && f.contactDamping == 50 && f.friction == 0.8 && f.checkpointEvery == 5 && !f.checkNonFinite
                    && !f.enableJointLimits && f.maxStateMagnitude == 1e6,
                    "ToFSharp carries every property");
        Assert.True(SimOptions.FromFSharp(f) is { Dt: 0.005, Integrator: Integrator.RK4, CheckpointEvery: 5 }, "FromFSharp");
        Assert.True((o with { Dt = 0.02 }).Dt == 0.02, "with-expressions");
        Assert.True(new Scene(o).SimOptions.Substeps == 2, "Scene.SimOptions");
        SameError(() => FsOptions(-1, false), () => new Scene(new SimOptions { Dt = -1 }), "dt must be finite and > 0");
    }

    /// <summary>Scene members, SimState, GetState/SetState/Reset(state), tensor.Scene and scene mixing.</summary>
    [Test]
    public static void SceneLifecycleAndState()
    {
        Init();
        var scene = new Scene(new SimOptions { Dt = 0.01 });
        Assert.True(!scene.IsBuilt && scene.Entities.Count == 0, "new scene");
        var robot = scene.AddEntity(Morphs.Urdf(Arm, fixedBase: true));
        Assert.True(scene.Entities.Count == 1 && scene.Entities[0].Equals(robot) && robot.Equals((object)scene.Entities[0]), "Entities");
        Assert.True(robot.GetHashCode() == scene.Entities[0].GetHashCode(), "entity hash");
        scene.Build();
        Assert.True(scene.IsBuilt && scene.NEnvs == 0 && scene.StepsTaken == 0, "built, not batched");
        Assert.True(scene.NEqualities == 0 && scene.GetEqualityViolation().Numel == 0, "no equality constraints");
        Assert.True(Scene.FromFSharp(scene.FSharp) == scene, "one facade object per engine scene");
        robot.SetDofsPosition(Gs.Tensor([0.5, -0.5]));
        var s0 = scene.GetState();
        Assert.True(s0.Time == 0 && s0.Qpos.ToArray() is [0.5, -0.5] && s0.Qvel.Numel == 2, "SimState Time, Qpos, Qvel");
        Shape([robot.NLinks, 3], s0.LinksPos, "SimState.LinksPos");
        Shape([robot.NLinks, 4], s0.LinksQuat, "SimState.LinksQuat");
        Assert.True(s0.Qpos.Scene == scene && s0.FSharp.time == 0, "state tensors carry the scene");
        for (var i = 0; i < 5; i++) scene.Step();
        Assert.True(scene.StepsTaken == 5 && Math.Abs(scene.GetState().Time - 0.05) < 1e-12, "StepsTaken, Time");
        var s5 = scene.GetState();
        scene.Reset();
        Assert.True(scene.StepsTaken == 0 && scene.GetState().Qpos.ToArray() is [0, 0], "Reset returns to the initial state");
        scene.SetState(s5);
        Close(s5.Qpos.ToArray(), robot.GetDofsPosition().ToArray(), 0, "SetState");
        scene.Reset(s0);
        Close([0.5, -0.5], robot.GetDofsPosition().ToArray(), 0, "Reset(state)");

        var bound = Gs.Tensor([1.0, 2.0], scene: scene);
        Assert.True(bound.Scene == scene && Gs.Tensor(1.0).Scene is null, "Tensor.Scene");
        var other = new Scene();
        other.AddEntity(Morphs.Urdf(Arm, fixedBase: true));
        other.Build();
        SameError(() => _ = scene.GetState().FSharp.qpos + other.GetState().FSharp.qpos, () => _ = scene.GetState().Qpos + other.GetState().Qpos,
                  "Tensors not derived from the same Scene");
        SameError(() => scene.FSharp.addEntity(Genesis.Morphs.Plane(null, null)), () => scene.AddEntity(Morphs.Plane()), "already built");
    }

    /// <summary>Every RigidEntity, RigidLink and RigidJoint member on the fixed two-link arm.</summary>
    [Test]
    public static void EntityLinksAndJoints()
    {
        Init();
        var scene = new Scene();
        var robot = scene.AddEntity(Morphs.Urdf(Arm, fixedBase: true));
        scene.Build();
        Assert.True(robot.Idx == 0 && robot.Name == "two_link_robot" && robot.NDofs == 2 && robot.NQpos == 2, "entity counts");
        Assert.True(robot.NLinks == robot.Links.Count && robot.NJoints == robot.Joints.Count, "links/joints lists");
        var arm2 = robot.GetLink("arm2");
        Assert.True(arm2.Name == "arm2" && robot.Links[arm2.Idx].Name == "arm2" && arm2.IdxGlobal == arm2.Idx, "RigidLink Name, Idx, IdxGlobal");
        var joint = robot.Joints[0];
        Assert.True(joint.JointType == JointType.Hinge && joint.DofsIdxLocal is [0] && joint.Entity.Equals(robot), "RigidJoint JointType, DofsIdxLocal, Entity");
        Assert.True(robot.GetJoint(joint.Name).Idx == joint.Idx, "GetJoint");
        SameError(() => robot.FSharp.getLink("hand"), () => robot.GetLink("hand"), "has no link 'hand'");
        SameError(() => robot.FSharp.getJoint("elbow?"), () => robot.GetJoint("elbow?"), "has no joint");

        robot.SetDofsPosition(Gs.Tensor([0.0, 0.0]));
        robot.SetDofsVelocity(Gs.Tensor([1.0, 0.0]));
        Close([1, 0], robot.GetDofsVelocity().ToArray(), 0, "SetDofsVelocity/GetDofsVelocity");
        Close([0], robot.GetDofsVelocity(dofsIdx: [1]).ToArray(), 0, "dofsIdx");
        Shape([3], arm2.GetPos(), "RigidLink.GetPos");
        Shape([4], arm2.GetQuat(), "RigidLink.GetQuat");
        Shape([3], robot.GetPos(), "GetPos");
        Shape([4], robot.GetQuat(), "GetQuat");
        Shape([robot.NLinks, 3], robot.GetLinksPos(), "GetLinksPos");
        Shape([robot.NLinks, 4], robot.GetLinksQuat(), "GetLinksQuat");
        Shape([3], robot.GetVel(), "GetVel");
        Shape([3], robot.GetAng(), "GetAng");
        Shape([robot.NLinks, 3], robot.GetLinksNetContactForce(), "GetLinksNetContactForce");
        var jac = robot.GetJacobian(arm2);
        Shape([6, 2], jac, "GetJacobian");
        Close(robot.FSharp.getJacobian(arm2.FSharp).toFloatArray(), jac.ToArray(), Same, "GetJacobian == F#");

        robot.SetDofsKp(Gs.Tensor([100.0, 100.0]));
        robot.SetDofsKv(Gs.Tensor([10.0, 10.0]));
        robot.SetDofsDamping(Gs.Tensor([0.1, 0.1]));
        robot.ControlDofsPosition(Gs.Tensor([0.3, 0.0]));
        Assert.Close(100 * 0.3 - 10 * 1.0, robot.GetDofsForce()[0].Item(), Tol, "PD force kp (target - q) - kv qdot (GetDofsForce)");
        for (var i = 0; i < 100; i++) scene.Step();
        Assert.Close(0.3, robot.GetDofsPosition()[0].Item(), 0.15, "ControlDofsPosition moves towards its target");
        robot.ControlDofsVelocity(Gs.Tensor([0.0, 0.0]));
        robot.ControlDofsForce(Gs.Tensor([0.0]), dofsIdx: [1]);
        scene.Step();
        robot.SetLinksMass(Gs.Tensor([2.0]), linksIdx: [arm2.Idx]);
        Assert.True(robot.GetLinksMass()[arm2.Idx].Item() == 2.0, "SetLinksMass/GetLinksMass");
        scene.SetGravity(Gs.Tensor([0.0, 0.0, -1.0]));
        scene.SetContactParams(stiffness: Gs.Tensor(1e4), friction: Gs.Tensor(0.5));
        scene.Step();

        // SetDofsForceRange: the same result as the F# call on a twin scene (forwarding only, compared NaN-aware:
        // the engine currently turns a range set over the infinite default range into NaN)
        var fsScene = new Genesis.Scene(null);
        var fsArm = fsScene.addEntity(Genesis.Morphs.URDF(Arm, null, null, null, Some(true), null, null, null));
        fsScene.build(null);
        fsArm.setDofsForceRange(FsTensorOf([-5.0, -5.0]), FsTensorOf([5.0, 5.0]), null);
        fsArm.controlDofsForce(FsTensorOf([9.0, -9.0]), null, null);
        var viaFSharp = fsArm.getDofsForce(null).toFloatArray();
        var twin = new Scene();
        var twinArm = twin.AddEntity(Morphs.Urdf(Arm, fixedBase: true));
        twin.Build();
        twinArm.SetDofsForceRange(Gs.Tensor([-5.0, -5.0]), Gs.Tensor([5.0, 5.0]));
        twinArm.ControlDofsForce(Gs.Tensor([9.0, -9.0]));
        var viaFacade = twinArm.GetDofsForce().ToArray();
        Assert.True(viaFSharp.Zip(viaFacade).All(p => p.First.Equals(p.Second)), $"SetDofsForceRange as F#: [{string.Join(", ", viaFacade)}] vs [{string.Join(", ", viaFSharp)}]");
        SameError(() => robot.FSharp.setPos(FsTensorOf([0.0, 0.0, 1.0]), null), () => robot.SetPos(Gs.Tensor([0.0, 0.0, 1.0])), "no free base joint");
        SameError(() => robot.FSharp.setDofsKp(FsTensorOf([1.0]), null), () => robot.SetDofsKp(Gs.Tensor([1.0])), "expected shape [2]");
    }

    /// <summary>Every morph: Plane, Box, Sphere, Cylinder, Capsule, Mjcf, Urdf with pose and scale; a sphere rests on a cylinder; a free box falls (SetPos, SetQuat, GetVel, GetAng).</summary>
    [Test]
    public static void MorphsAndFreeBodies()
    {
        Init();
        var mjcf = Path.Combine(Path.GetTempPath(), $"genesis-facade-pendulum-{Environment.ProcessId}.xml");
        File.WriteAllText(mjcf, """
            <mujoco model="pendulum">
              <worldbody>
                <body name="pole" pos="0 0 2">
                  <joint name="swing" type="hinge" axis="0 1 0"/>
                  <geom type="capsule" fromto="0 0 0 0 0 -0.5" size="0.05" mass="1"/>
                </body>
              </worldbody>
            </mujoco>
            """);
        try
        {
            // a fixed cylinder meets a falling sphere through the general convex pair (GJK/EPA): the sphere comes to
            // rest on the cylinder's top face (z = 0.3 + r)
            var resting = new Scene(new SimOptions { Dt = 0.01 });
            resting.AddEntity(Morphs.Cylinder(0.1, 0.3, pos: [4, 0, 0.15], fixedBase: true));
            var dropped = resting.AddEntity(Morphs.Sphere(0.05, pos: [4, 0, 0.6], density: 500));
            resting.Build();
            for (var i = 0; i < 150; i++) resting.Step();
            Assert.Close(0.35, dropped.GetPos()[2].Item(), 0.02, "a sphere rests on a cylinder's top (convex pair)");
            var scene = new Scene(new SimOptions { Dt = 0.01, EnableContact = false });
            scene.AddEntity(Morphs.Plane());
            var box = scene.AddEntity(Morphs.Box([0.2, 0.2, 0.2], pos: [0, 0, 3], mass: 1.0));
            var ball = scene.AddEntity(Morphs.Sphere(0.1, pos: [2, 0, 0.1], density: 500));
            var cyl = scene.AddEntity(Morphs.Cylinder(0.1, 0.3, pos: [4, 0, 0.15], fixedBase: true));
            var cap = scene.AddEntity(Morphs.Capsule(0.05, 0.2, pos: [6, 0, 1], quat: [1, 0, 0, 0]));
            var pendulum = scene.AddEntity(Morphs.Mjcf(mjcf));
            var arm = scene.AddEntity(Morphs.Urdf(Arm, pos: [0, 5, 1], euler: [0, 0, 90], fixedBase: true, scale: 0.5));
            scene.Build();
            Assert.True(scene.Entities.Count == 7 && box.NDofs == 6 && box.NQpos == 7 && ball.NDofs == 6 && cyl.NDofs == 0 && cap.NDofs == 6, "entity dofs");
            Assert.True(pendulum.NDofs == 1 && pendulum.Joints[0].Name == "swing", "MJCF");
            Close([0, 5, 1], arm.GetPos().ToArray(), 1e-9, "Urdf pos");
            for (var i = 0; i < 10; i++) scene.Step();
            Assert.Close(-9.81 * 0.1, box.GetVel()[2].Item(), 0.02, "a free box falls (GetVel)");
            Close([0, 0, 0], box.GetAng().ToArray(), 1e-9, "without torque it does not spin (GetAng)");
            Assert.True(box.GetQuat().Numel == 4 && box.GetDofsVelocity().Numel == 6, "free-joint dofs");
        }
        finally { File.Delete(mjcf); }

        // SetPos/SetQuat on a free box, in a scene of its own (above, (0, 0, 2) is inside the pendulum)
        var scene2 = new Scene(new SimOptions { Dt = 0.01 });
        scene2.AddEntity(Morphs.Plane());
        var box2 = scene2.AddEntity(Morphs.Box([0.2, 0.2, 0.2], pos: [0, 0, 3], mass: 1.0));
        scene2.Build();
        box2.SetPos(Gs.Tensor([0.0, 0.0, 2.0]));
        box2.SetQuat(Gs.Tensor([0.0, 0.0, 0.0, 1.0]));
        Close([0, 0, 2], box2.GetPos().ToArray(), 0, "SetPos");
        Close([0, 0, 0, 1], box2.GetQuat().ToArray(), 1e-12, "SetQuat");
        scene2.Step();
        Assert.Close(-9.81 * 0.01, box2.GetVel()[2].Item(), 1e-9, "falls after SetPos");
        SameError(() => Genesis.Morphs.Box(new[] { 1.0, 1.0 }, null, null, null, null, null, null), () => Morphs.Box([1.0, 1.0]), "size", argumentError: true);
    }

    /// <summary>ControlActuators drives an MJCF file's position actuator: the hinge settles at the control's target.</summary>
    [Test]
    public static void FileActuators()
    {
        Init();
        var mjcf = Path.Combine(Path.GetTempPath(), $"genesis-facade-actuated-{Environment.ProcessId}.xml");
        File.WriteAllText(mjcf, """
            <mujoco model="actuated">
              <option gravity="0 0 0"/>
              <worldbody>
                <body name="pole" pos="0 0 1">
                  <joint name="swing" type="hinge" axis="0 1 0" damping="2"/>
                  <geom type="capsule" fromto="0 0 0 0.5 0 0" size="0.05" mass="1" contype="0" conaffinity="0"/>
                </body>
              </worldbody>
              <actuator>
                <position name="servo" joint="swing" kp="20"/>
              </actuator>
            </mujoco>
            """);
        try
        {
            var scene = new Scene(new SimOptions { Dt = 0.01 });
            var pole = scene.AddEntity(Morphs.Mjcf(mjcf));
            scene.Build();
            pole.ControlActuators(Gs.Tensor([0.5]));
            for (var i = 0; i < 300; i++) scene.Step();
            Assert.Close(0.5, pole.GetDofsPosition()[0].Item(), 1e-2, "the position actuator holds its target");
        }
        finally { File.Delete(mjcf); }
    }

    /// <summary>Build(nEnvs) adds an env dimension; envsIdx selects environments.</summary>
    [Test]
    public static void BatchedEnvironments()
    {
        Init();
        var scene = new Scene();
        var robot = scene.AddEntity(Morphs.Urdf(Arm, fixedBase: true));
        scene.Build(nEnvs: 3);
        Assert.True(scene.NEnvs == 3, "NEnvs");
        robot.SetDofsPosition(Gs.Tensor([0.1, 0.2]), envsIdx: [1]);
        Close([0, 0, 0.1, 0.2, 0, 0], robot.GetDofsPosition().ToArray(), 0, "envsIdx");
        robot.SetDofsVelocity(Gs.Tensor(new double[,] { { 1, 0 }, { 2, 0 }, { 3, 0 } }));
        Close([1, 2, 3], robot.GetDofsVelocity(dofsIdx: [0]).Flatten().ToArray(), 0, "[nEnvs, k] values");
        Shape([3, 3], robot.GetPos(), "batched GetPos");
        Shape([3, 6, 2], robot.GetJacobian(robot.GetLink("arm2")), "batched GetJacobian");
        SameError(() => robot.FSharp.setDofsPosition(FsTensorOf([0.0, 0.0]), null, Some(new[] { 5 })), () => robot.SetDofsPosition(Gs.Tensor([0.0, 0.0]), envsIdx: [5]), "out of range");
    }
}
