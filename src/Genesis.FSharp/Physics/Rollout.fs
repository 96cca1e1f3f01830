namespace Genesis.Physics

open System
open Genesis

/// Rollouts over several steps on the Tensor path, and the parameter tensors in a fixed order.
module Rollout =
    /// The parameter tensors in a fixed order.
    let paramsToArray (p: Params) =
        [| p.bodyPos; p.bodyQuat; p.bodyMass; p.bodyIpos; p.bodyInertia; p.jntAxis; p.jntPos; p.dofDamping
           p.dofArmature; p.dofStiffness; p.dofSpringref; p.gravity; p.kp; p.kv; p.forceLo; p.forceHi
           p.contactStiffness; p.contactDamping; p.friction |]

    /// Parameters from tensors in the order of paramsToArray.
    let paramsOfArray (a: Tensor[]) =
        { bodyPos = a[0]; bodyQuat = a[1]; bodyMass = a[2]; bodyIpos = a[3]; bodyInertia = a[4]; jntAxis = a[5]
          jntPos = a[6]; dofDamping = a[7]; dofArmature = a[8]; dofStiffness = a[9]; dofSpringref = a[10]
          gravity = a[11]; kp = a[12]; kv = a[13]; forceLo = a[14]; forceHi = a[15]
          contactStiffness = a[16]; contactDamping = a[17]; friction = a[18] }

    /// Runs steps from (qpos, qvel) under one control per step; returns the final state.
    let run (model: Model) (sp: SimParams) (qpos: Tensor) (qvel: Tensor) (controls: Control[]) (time: float) =
        let mutable s = { qpos = qpos; qvel = qvel; time = time }
        for c in controls do
            s <- Physics.step model sp s c
        s
