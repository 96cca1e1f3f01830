namespace Genesis.Physics

open Genesis

/// Mass matrix and bias forces, vectorised over bodies: with J_i the spatial Jacobian of body i (the cdof of
/// its ancestor dofs), M = sum_i J_i^T I_i J_i (CRBA) and qfrcBias = sum_i J_i^T (I_i a_i + v_i x* I_i v_i)
/// with a_i = Jdot_i qvel - gravity (RNEA with qacc = 0), all about the world origin.
type Dynamics =
    { /// Spatial inertia of each body about the world origin [B; nbody; 6; 6].
      cinert: Tensor
      /// Joint-space inertia [B; nv; nv] (armature included).
      qM: Tensor
      /// Coriolis, centrifugal and gravity forces [B; nv] (MuJoCo qfrc_bias).
      qfrcBias: Tensor
      /// Spatial velocity of each body about the world origin [B; nbody; 6].
      cvel: Tensor }

/// CRBA and RNEA (engine_core_smooth in MuJoCo).
module Dynamics =
    /// The mass matrix and bias forces at (qpos, qvel) given the kinematics.
    let compute (model: Model) (kin: Kinematics) (qvel: Tensor) : Dynamics =
        let topo, p = model.topology, model.parameters
        let b = qvel.shape[0]
        let nb, nv = topo.nbody, topo.nv
        let like = qvel
        let inertiaWorld = kin.xmat.matmul(p.bodyInertia).matmul(kin.xmat.transpose(-1, -2))
        let cinert = Spatial.spatialInertia (p.bodyMass.expand([ b; nb ])) kin.xipos inertiaWorld
        let mask = Constants.ofValues topo Constants.AncestorMask like [| nb; nv |] (fun () -> Model.ancestorMask topo)
        // J [B; nb; 6; nv]: body i's Jacobian is the cdof of its ancestor dofs
        let jac = kin.cdof.transpose(1, 2).unsqueeze(1) * mask.unsqueeze(1)
        let jt = jac.transpose(-1, -2)
        let qM = jt.matmul(cinert).matmul(jac).sum(1) + Spatial.eyeLike like nv * p.dofArmature
        // velocities and the velocity-product accelerations Jdot qvel
        let cvel = jac.matmul(qvel.unsqueeze(1).unsqueeze(-1)).squeeze(-1)
        // cdof_k moves with the frame that carries its axis: the parent body plus the joints of its own body up to
        // and including its joint (MuJoCo mj_comVel), not with later joints of the same body
        let frameMask = Constants.ofValues topo Constants.DofFrameMask like [| nv; nv |] (fun () -> Model.dofFrameMask topo)
        let vdof = frameMask.matmul(kin.cdof * qvel.unsqueeze(-1))
        let bodyFixed = Constants.ofValues topo Constants.DofMovingMask like [| nv; 1 |] (fun () -> topo.dofWorldFixed |> Array.map (fun w -> if w then 0.0 else 1.0))
        let cdofDot = Spatial.crossMotionMatrix(vdof).matmul(kin.cdof.unsqueeze(-1)).squeeze(-1) * bodyFixed
        let grav = gs.cat([| Constants.ofValues Constants.shared Constants.GravityHead like [| 3 |] (fun () -> Array.zeroCreate 3); -p.gravity |])
        let acc = mask.matmul(cdofDot * qvel.unsqueeze(-1)) + grav
        let iv = cinert.matmul(cvel.unsqueeze(-1)).squeeze(-1)
        let ia = cinert.matmul(acc.unsqueeze(-1)).squeeze(-1)
        let crf = -(Spatial.crossMotionMatrix cvel).transpose(-1, -2)
        let f = ia + crf.matmul(iv.unsqueeze(-1)).squeeze(-1)
        // qfrcBias_k = cdof_k . (sum of f over the subtree of dof k's body)
        let fsub = mask.T.matmul(f)
        let qfrcBias = (kin.cdof * fsub).sum(-1)
        { cinert = cinert; qM = qM; qfrcBias = qfrcBias; cvel = cvel }
