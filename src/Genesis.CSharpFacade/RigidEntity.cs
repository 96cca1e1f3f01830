using static Genesis.CSharp.Fs;

namespace Genesis.CSharp;

/// <summary>
/// A rigid entity (articulated body) of a scene (Genesis RigidEntity; the engine's <c>Genesis.RigidEntity</c>).
/// Dof-wise methods take values shaped [k] or [nEnvs, k] and optional <c>dofsIdx</c> (indices within this
/// entity; null: all dofs) and <c>envsIdx</c> (null: all environments).
/// </summary>
public sealed class RigidEntity : IEquatable<RigidEntity>
{
    internal RigidEntity(Genesis.RigidEntity value) => FSharp = value;

    /// <summary>The wrapped engine entity.</summary>
    public Genesis.RigidEntity FSharp { get; }

    /// <summary>The entity's index in the scene.</summary>
    public int Idx => FSharp.idx;
    /// <summary>The entity (model) name.</summary>
    public string Name => FSharp.name;
    /// <summary>Number of degrees of freedom.</summary>
    public int NDofs => FSharp.nDofs;
    /// <summary>Number of position coordinates.</summary>
    public int NQpos => FSharp.nQpos;
    /// <summary>Number of links (bodies).</summary>
    public int NLinks => FSharp.nLinks;
    /// <summary>Number of joints.</summary>
    public int NJoints => FSharp.nJoints;
    /// <summary>The links.</summary>
    public IReadOnlyList<RigidLink> Links => Array.ConvertAll(FSharp.links, l => new RigidLink(l));
    /// <summary>The joints.</summary>
    public IReadOnlyList<RigidJoint> Joints => Array.ConvertAll(FSharp.joints, j => new RigidJoint(j));

    /// <summary>The link with a name (raises naming the known links).</summary>
    /// <param name="name">The link name.</param>
    public RigidLink GetLink(string name) => new(FSharp.getLink(name));
    /// <summary>The joint with a name (raises naming the known joints).</summary>
    /// <param name="name">The joint name.</param>
    public RigidJoint GetJoint(string name) => new(FSharp.getJoint(name));

    /// <summary>Sets joint positions of hinge/slide dofs; differentiable in the values.</summary>
    /// <param name="position">Positions [k] or [nEnvs, k].</param>
    /// <param name="dofsIdx">Dof indices within the entity (null: all).</param>
    /// <param name="envsIdx">Environments (null: all).</param>
    public void SetDofsPosition(Tensor position, int[]? dofsIdx = null, int[]? envsIdx = null) =>
        FSharp.setDofsPosition(position.FSharp, Ref(dofsIdx), Ref(envsIdx));
    /// <summary>Sets dof velocities; differentiable in the values.</summary>
    /// <param name="velocity">Velocities [k] or [nEnvs, k].</param>
    /// <param name="dofsIdx">Dof indices within the entity (null: all).</param>
    /// <param name="envsIdx">Environments (null: all).</param>
    public void SetDofsVelocity(Tensor velocity, int[]? dofsIdx = null, int[]? envsIdx = null) =>
        FSharp.setDofsVelocity(velocity.FSharp, Ref(dofsIdx), Ref(envsIdx));
    /// <summary>Sets the base position of a floating entity.</summary>
    /// <param name="pos">Position [3] or [nEnvs, 3].</param>
    /// <param name="envsIdx">Environments (null: all).</param>
    public void SetPos(Tensor pos, int[]? envsIdx = null) => FSharp.setPos(pos.FSharp, Ref(envsIdx));
    /// <summary>Sets the base orientation (w, x, y, z) of a floating entity.</summary>
    /// <param name="quat">Quaternion [4] or [nEnvs, 4].</param>
    /// <param name="envsIdx">Environments (null: all).</param>
    public void SetQuat(Tensor quat, int[]? envsIdx = null) => FSharp.setQuat(quat.FSharp, Ref(envsIdx));

    /// <summary>Applies generalised forces to dofs (held until changed).</summary>
    /// <param name="force">Forces [k] or [nEnvs, k].</param>
    /// <param name="dofsIdx">Dof indices within the entity (null: all).</param>
    /// <param name="envsIdx">Environments (null: all).</param>
    public void ControlDofsForce(Tensor force, int[]? dofsIdx = null, int[]? envsIdx = null) =>
        FSharp.controlDofsForce(force.FSharp, Ref(dofsIdx), Ref(envsIdx));
    /// <summary>Drives dofs to target positions with the PD gains (<see cref="SetDofsKp"/>, <see cref="SetDofsKv"/>).</summary>
    /// <param name="position">Targets [k] or [nEnvs, k].</param>
    /// <param name="dofsIdx">Dof indices within the entity (null: all).</param>
    /// <param name="envsIdx">Environments (null: all).</param>
    public void ControlDofsPosition(Tensor position, int[]? dofsIdx = null, int[]? envsIdx = null) =>
        FSharp.controlDofsPosition(position.FSharp, Ref(dofsIdx), Ref(envsIdx));
    /// <summary>Drives the model file's actuators with one control each (clamped to its ctrlrange); their forces equal MuJoCo's at the step's start state.</summary>
    /// <param name="ctrl">Controls [nu] or [nEnvs, nu], in the file's actuator order.</param>
    /// <param name="envsIdx">Environments (null: all).</param>
    public void ControlActuators(Tensor ctrl, int[]? envsIdx = null) =>
        FSharp.controlActuators(ctrl.FSharp, Ref(envsIdx));
    /// <summary>Drives dofs to target velocities with the velocity gain (<see cref="SetDofsKv"/>).</summary>
    /// <param name="velocity">Targets [k] or [nEnvs, k].</param>
    /// <param name="dofsIdx">Dof indices within the entity (null: all).</param>
    /// <param name="envsIdx">Environments (null: all).</param>
    public void ControlDofsVelocity(Tensor velocity, int[]? dofsIdx = null, int[]? envsIdx = null) =>
        FSharp.controlDofsVelocity(velocity.FSharp, Ref(dofsIdx), Ref(envsIdx));

    /// <summary>Sets position gains.</summary>
    /// <param name="kp">Gains [k].</param>
    /// <param name="dofsIdx">Dof indices within the entity (null: all).</param>
    public void SetDofsKp(Tensor kp, int[]? dofsIdx = null) => FSharp.setDofsKp(kp.FSharp, Ref(dofsIdx));
    /// <summary>Sets velocity gains.</summary>
    /// <param name="kv">Gains [k].</param>
    /// <param name="dofsIdx">Dof indices within the entity (null: all).</param>
    public void SetDofsKv(Tensor kv, int[]? dofsIdx = null) => FSharp.setDofsKv(kv.FSharp, Ref(dofsIdx));
    /// <summary>Sets joint damping.</summary>
    /// <param name="damping">Damping [k].</param>
    /// <param name="dofsIdx">Dof indices within the entity (null: all).</param>
    public void SetDofsDamping(Tensor damping, int[]? dofsIdx = null) => FSharp.setDofsDamping(damping.FSharp, Ref(dofsIdx));
    /// <summary>Sets the actuator force range.</summary>
    /// <param name="lower">Lower limits [k].</param>
    /// <param name="upper">Upper limits [k].</param>
    /// <param name="dofsIdx">Dof indices within the entity (null: all).</param>
    public void SetDofsForceRange(Tensor lower, Tensor upper, int[]? dofsIdx = null) =>
        FSharp.setDofsForceRange(lower.FSharp, upper.FSharp, Ref(dofsIdx));

    /// <summary>Sets link masses; differentiable in the values.</summary>
    /// <param name="mass">Masses [k] in kg.</param>
    /// <param name="linksIdx">Link indices within the entity (null: all links).</param>
    public void SetLinksMass(Tensor mass, int[]? linksIdx = null) => FSharp.setLinksMass(mass.FSharp, Ref(linksIdx));
    /// <summary>Link masses ([nLinks]).</summary>
    public Tensor GetLinksMass() => new(FSharp.getLinksMass());

    /// <summary>Joint positions of hinge/slide dofs ([k] or [nEnvs, k]).</summary>
    /// <param name="dofsIdx">Dof indices within the entity (null: all).</param>
    public Tensor GetDofsPosition(int[]? dofsIdx = null) => new(FSharp.getDofsPosition(Ref(dofsIdx)));
    /// <summary>Dof velocities ([k] or [nEnvs, k]).</summary>
    /// <param name="dofsIdx">Dof indices within the entity (null: all).</param>
    public Tensor GetDofsVelocity(int[]? dofsIdx = null) => new(FSharp.getDofsVelocity(Ref(dofsIdx)));
    /// <summary>Actuator forces the current controls produce at the current state ([k] or [nEnvs, k]).</summary>
    /// <param name="dofsIdx">Dof indices within the entity (null: all).</param>
    public Tensor GetDofsForce(int[]? dofsIdx = null) => new(FSharp.getDofsForce(Ref(dofsIdx)));
    /// <summary>Base link position ([3] or [nEnvs, 3]).</summary>
    public Tensor GetPos() => new(FSharp.getPos());
    /// <summary>Base link orientation (w, x, y, z) ([4] or [nEnvs, 4]).</summary>
    public Tensor GetQuat() => new(FSharp.getQuat());
    /// <summary>Link origins ([nLinks, 3] or [nEnvs, nLinks, 3]).</summary>
    public Tensor GetLinksPos() => new(FSharp.getLinksPos());
    /// <summary>Link orientations ([nLinks, 4] or [nEnvs, nLinks, 4]).</summary>
    public Tensor GetLinksQuat() => new(FSharp.getLinksQuat());
    /// <summary>Linear velocity of the base link origin in the world frame ([3] or [nEnvs, 3]).</summary>
    public Tensor GetVel() => new(FSharp.getVel());
    /// <summary>Angular velocity of the base link in the world frame ([3] or [nEnvs, 3]).</summary>
    public Tensor GetAng() => new(FSharp.getAng());
    /// <summary>Net contact force on each link in the world frame ([nLinks, 3] or [nEnvs, nLinks, 3]), at the current state.</summary>
    public Tensor GetLinksNetContactForce() => new(FSharp.getLinksNetContactForce());
    /// <summary>The Jacobian of a link origin w.r.t. this entity's dofs: [6, nDofs] (rows: linear; angular), or [nEnvs, 6, nDofs].</summary>
    /// <param name="link">A link of this entity.</param>
    public Tensor GetJacobian(RigidLink link) => new(FSharp.getJacobian(link.FSharp));

    /// <summary>True when both wrap the same engine entity.</summary>
    /// <param name="other">Another entity.</param>
    public bool Equals(RigidEntity? other) => other is not null && ReferenceEquals(FSharp, other.FSharp);
    /// <summary>True when <paramref name="obj"/> wraps the same engine entity.</summary>
    /// <param name="obj">Any object.</param>
    public override bool Equals(object? obj) => Equals(obj as RigidEntity);
    /// <summary>The hash of the wrapped engine entity.</summary>
    public override int GetHashCode() => FSharp.GetHashCode();
}

/// <summary>A link (body) of an entity (the engine's <c>Genesis.RigidLink</c>).</summary>
public sealed class RigidLink
{
    internal RigidLink(Genesis.RigidLink value) => FSharp = value;

    /// <summary>The wrapped engine link.</summary>
    public Genesis.RigidLink FSharp { get; }

    /// <summary>The link name.</summary>
    public string Name => FSharp.name;
    /// <summary>The link index within its entity.</summary>
    public int Idx => FSharp.idx;
    /// <summary>The link index within the scene.</summary>
    public int IdxGlobal => FSharp.idxGlobal;
    /// <summary>World position of the link origin ([3] or [nEnvs, 3]); differentiable.</summary>
    public Tensor GetPos() => new(FSharp.getPos());
    /// <summary>World orientation (w, x, y, z) of the link ([4] or [nEnvs, 4]).</summary>
    public Tensor GetQuat() => new(FSharp.getQuat());
}

/// <summary>A joint of an entity (the engine's <c>Genesis.RigidJoint</c>).</summary>
public sealed class RigidJoint
{
    internal RigidJoint(Genesis.RigidJoint value) => FSharp = value;

    /// <summary>The wrapped engine joint.</summary>
    public Genesis.RigidJoint FSharp { get; }

    /// <summary>The joint name.</summary>
    public string Name => FSharp.name;
    /// <summary>The joint index within its entity.</summary>
    public int Idx => FSharp.idx;
    /// <summary>The joint kind.</summary>
    public JointType JointType => FSharp.jointType.ToCs();
    /// <summary>Indices (within the entity) of this joint's dofs.</summary>
    public int[] DofsIdxLocal => FSharp.dofsIdxLocal;
    /// <summary>The entity.</summary>
    public RigidEntity Entity => new(FSharp.entity);
}
