namespace Genesis.Physics

/// A stage of the step (docs/computation.md has the equations of each).
[<RequireQualifiedAccess>]
type Stage =
    /// Body poses, COM positions and motion subspaces from qpos (MuJoCo mj_kinematics, mj_comPos).
    | Kinematics
    /// Spatial inertias of the bodies about the world origin (cinert).
    | SpatialInertia
    /// The joint-space inertia M by composite rigid bodies (mj_crb), armature included.
    | Crba
    /// Bias forces by recursive Newton-Euler with qacc = 0 (mj_rne).
    | Rnea
    /// Joint springs and viscous damping (mj_passive) for hinge and slide dofs.
    | Passive
    /// Springs of ball and free joints about qpos0 (quaternion springs).
    | QuatSprings
    /// The stiff implicit spring-damper at hinge/slide range limits.
    | JointLimits
    /// Fixed tendons: spring-damper on the tendon length and the joint-limit law on its range (Tendons.compute).
    | Tendons
    /// Force, PD position and velocity control, clamped to the force range.
    | Actuation
    /// The smooth contact force law of one point (wrench and its velocity stiffness K).
    | ContactLaw
    /// The narrow phase of one kind of geom pair (PairDispatch) with the law, as generalised forces.
    | ContactPair of PairKind
    /// The solve (M + h D + h C) qacc = f by the tree LDL factorisation.
    | Solve
    /// Equality constraints (connect, weld, joint coupling) as MuJoCo's soft constraints: the force J^T lambda.
    | Equality
    /// Position integration on the configuration manifold (mj_integratePos).
    | Integrate

/// A form a stage is written in.
[<RequireQualifiedAccess>]
type StageForm =
    /// The Tensor path: the reference, differentiated by nested forward and reverse AD.
    | TensorReference
    /// The generic array kernel (the XKernel modules) on floats (the fast path) and on TapeReal (the taped path).
    | GenericKernel
    /// A hand-written adjoint (the XAdjoint modules, EulerAdjoint, ContactAdjoint).
    | HandAdjoint

/// The table of stages and their forms: each (stage, form) has a contract test tying it to the reference
/// (tests/Genesis.Tests/Physics/Stages/StageContractTests.fs), which fails when a form is listed without one.
module StageForms =
    let private all3 = [ StageForm.TensorReference; StageForm.GenericKernel; StageForm.HandAdjoint ]
    let private twoForms = [ StageForm.TensorReference; StageForm.GenericKernel ]

    /// Every stage with the forms it has.
    let table : (Stage * StageForm list) list =
        [ Stage.Kinematics, all3
          Stage.SpatialInertia, all3
          Stage.Crba, all3
          Stage.Rnea, all3
          Stage.Passive, all3
          Stage.QuatSprings, twoForms
          Stage.JointLimits, all3
          Stage.Tendons, all3
          Stage.Actuation, all3
          Stage.ContactLaw, all3
          Stage.ContactPair PairKind.ProbePlane, all3
          Stage.ContactPair PairKind.SegmentSegment, twoForms
          Stage.ContactPair PairKind.SegmentBox, twoForms
          Stage.ContactPair PairKind.BoxBox, twoForms
          Stage.ContactPair PairKind.Convex, twoForms
          Stage.Solve, all3
          Stage.Equality, twoForms
          Stage.Integrate, twoForms ]

    /// The forms of a stage (empty when the table does not list it).
    let formsOf (stage: Stage) = table |> List.tryFind (fst >> (=) stage) |> Option.map snd |> Option.defaultValue []
