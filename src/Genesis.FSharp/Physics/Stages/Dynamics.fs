namespace Genesis.Physics

open System
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
    /// The mass matrix and bias forces at (qpos, qvel) given the kinematics.
    let compute (model: Model) (kin: Kinematics) (qvel: Tensor) : Dynamics =
        let cinert = Inertia.compute model kin qvel.shape[0]
        let jac = Crba.bodyJacobians model kin
        let qM = Crba.massMatrix model jac cinert
        let cvel, qfrcBias = Rnea.bias model kin jac cinert qvel
        { cinert = cinert; qM = qM; qfrcBias = qfrcBias; cvel = cvel }
