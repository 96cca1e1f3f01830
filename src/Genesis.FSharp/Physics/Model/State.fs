namespace Genesis.Physics

open Genesis

/// The minimal simulation state; every field has a leading env dimension B (B = 1 when not batched).
type State =
    { /// Generalised positions [B; nq] (MuJoCo layout: free = x y z qw qx qy qz).
      qpos: Tensor
      /// Generalised velocities [B; nv] (free = v world, w body).
      qvel: Tensor
      /// Simulated time (s).
      time: float }

/// How a dof is driven.
[<RequireQualifiedAccess>]
type ControlMode =
    /// values are generalised forces.
    | Force
    /// values are position targets of a PD controller (kp, kv).
    | Position
    /// values are velocity targets of a P controller on velocity (kv).
    | Velocity

/// ControlMode as the kernels read it: an enum, so a per-dof branch is an integer compare (ModeCode.ofMode maps them).
type internal DriveCode =
    | Force = 0
    | Position = 1
    | Velocity = 2

/// The control applied during a step: a mode per dof and values [B; nv].
type Control =
    { /// The control mode of each dof.
      modes: ControlMode[]
      /// Forces or targets [B; nv].
      values: Tensor }

/// Options of the pure step function.
type SimParams =
    { /// Time step (s).
      dt: float
      /// Sub-steps per step (each of dt / substeps).
      substeps: int
      /// The integrator.
      integrator: Integrator
      /// Contact model parameters.
      contact: ContactParams
      /// Enable contacts.
      enableContact: bool
      /// Enforce joint position limits (hinge/slide ranges) with a stiff implicit spring-damper.
      enableJointLimits: bool }

/// Numerical (non-differentiable) contact settings; stiffness, damping and friction are model parameters.
and ContactParams =
    { /// Velocity scale (m/s) of the smooth Coulomb friction law.
      frictionVelocity: float
      /// Softness (m) of the smooth penetration softplus.
      softness: float }

/// Defaults.
module SimParams =
    /// Default contact parameters.
    let defaultContact =
        { frictionVelocity = 0.01; softness = 1e-4 }
    /// MuJoCo-like defaults: dt 0.01, 1 substep, Euler, contacts on.
    let defaults =
        { dt = 0.01; substeps = 1; integrator = Integrator.Euler; contact = defaultContact; enableContact = true; enableJointLimits = true }
