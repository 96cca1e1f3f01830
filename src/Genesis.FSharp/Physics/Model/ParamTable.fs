namespace Genesis.Physics

open Genesis

/// The differentiable model parameters, one case per field of Params, numbered in the order of ParamTable.all (the
/// order of Segments' parameter inputs and of Rollout.paramsToArray).
type Param =
    | BodyPos = 0
    | BodyQuat = 1
    | BodyMass = 2
    | BodyIpos = 3
    | BodyInertia = 4
    | JntAxis = 5
    | JntPos = 6
    | DofDamping = 7
    | DofArmature = 8
    | DofStiffness = 9
    | DofSpringref = 10
    | Gravity = 11
    | Kp = 12
    | Kv = 13
    | ForceLo = 14
    | ForceHi = 15
    | ContactStiffness = 16
    | ContactDamping = 17
    | Friction = 18

/// What a parameter has one row of, and the row's shape.
type ParamRows =
    /// One row per body.
    | PerBody
    /// One row per joint.
    | PerJoint
    /// One row per dof.
    | PerDof
    /// A single row: the whole model.
    | Global

/// A parameter's descriptor: its name in Params, rows and row shape, the stage it enters, and how to read it.
type ParamDescriptor =
    { param: Param
      /// The field name in Params (and in docs/computation.md).
      name: string
      /// What it has one row of.
      rows: ParamRows
      /// The shape of one row ([] for a scalar per row).
      rowShape: int[]
      /// The stage that reads it.
      entersStage: string
      /// Reads the tensor from the parameters.
      get: Params -> Tensor }

/// The parameter table: the one place that names, sizes and orders the parameters.
module ParamTable =
    let private d p name rows rowShape stage get = { param = p; name = name; rows = rows; rowShape = rowShape; entersStage = stage; get = get }

    /// Every parameter, in Param's order.
    let all : ParamDescriptor[] =
        [| d Param.BodyPos "bodyPos" PerBody [| 3 |] "Kinematics" (fun p -> p.bodyPos)
           d Param.BodyQuat "bodyQuat" PerBody [| 4 |] "Kinematics" (fun p -> p.bodyQuat)
           d Param.BodyMass "bodyMass" PerBody [||] "Inertia (CRBA), Bias (RNEA)" (fun p -> p.bodyMass)
           d Param.BodyIpos "bodyIpos" PerBody [| 3 |] "Kinematics, Inertia" (fun p -> p.bodyIpos)
           d Param.BodyInertia "bodyInertia" PerBody [| 3; 3 |] "Inertia" (fun p -> p.bodyInertia)
           d Param.JntAxis "jntAxis" PerJoint [| 3 |] "Kinematics" (fun p -> p.jntAxis)
           d Param.JntPos "jntPos" PerJoint [| 3 |] "Kinematics" (fun p -> p.jntPos)
           d Param.DofDamping "dofDamping" PerDof [||] "Passive, Integrate (implicit damping)" (fun p -> p.dofDamping)
           d Param.DofArmature "dofArmature" PerDof [||] "Inertia" (fun p -> p.dofArmature)
           d Param.DofStiffness "dofStiffness" PerDof [||] "Passive" (fun p -> p.dofStiffness)
           d Param.DofSpringref "dofSpringref" PerDof [||] "Passive" (fun p -> p.dofSpringref)
           d Param.Gravity "gravity" Global [| 3 |] "Bias (RNEA)" (fun p -> p.gravity)
           d Param.Kp "kp" PerDof [||] "Actuation" (fun p -> p.kp)
           d Param.Kv "kv" PerDof [||] "Actuation" (fun p -> p.kv)
           d Param.ForceLo "forceLo" PerDof [||] "Actuation" (fun p -> p.forceLo)
           d Param.ForceHi "forceHi" PerDof [||] "Actuation" (fun p -> p.forceHi)
           d Param.ContactStiffness "contactStiffness" Global [||] "Contact (force law)" (fun p -> p.contactStiffness)
           d Param.ContactDamping "contactDamping" Global [||] "Contact (force law)" (fun p -> p.contactDamping)
           d Param.Friction "friction" Global [||] "Contact (force law)" (fun p -> p.friction) |]

    /// The descriptor of p.
    let descriptor (p: Param) = all[int p]

    /// The number of scalars of p in a model of nbody bodies, njnt joints and nv dofs (rows x row size).
    let lengthIn (nbody: int) (njnt: int) (nv: int) (p: Param) =
        let dsc = descriptor p
        let rows = match dsc.rows with PerBody -> nbody | PerJoint -> njnt | PerDof -> nv | Global -> 1
        rows * Array.fold (*) 1 dsc.rowShape

    /// The parameter tensors in Param's order.
    let toArray (p: Params) = all |> Array.map (fun dsc -> dsc.get p)

    /// Parameters from tensors in Param's order.
    let ofArray (a: Tensor[]) =
        let at (p: Param) = a[int p]
        { bodyPos = at Param.BodyPos; bodyQuat = at Param.BodyQuat; bodyMass = at Param.BodyMass; bodyIpos = at Param.BodyIpos
          bodyInertia = at Param.BodyInertia; jntAxis = at Param.JntAxis; jntPos = at Param.JntPos; dofDamping = at Param.DofDamping
          dofArmature = at Param.DofArmature; dofStiffness = at Param.DofStiffness; dofSpringref = at Param.DofSpringref
          gravity = at Param.Gravity; kp = at Param.Kp; kv = at Param.Kv; forceLo = at Param.ForceLo; forceHi = at Param.ForceHi
          contactStiffness = at Param.ContactStiffness; contactDamping = at Param.ContactDamping; friction = at Param.Friction }
