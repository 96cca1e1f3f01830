namespace Genesis.Physics

open System
open Genesis

/// Rollouts over several steps on the Tensor path, and the parameter tensors in ParamTable's order.
module Rollout =
    /// The parameter tensors in Param's order (ParamTable.toArray).
    let paramsToArray (p: Params) = ParamTable.toArray p

    /// Parameters from tensors in Param's order (ParamTable.ofArray).
    let paramsOfArray (a: Tensor[]) = ParamTable.ofArray a

    /// Runs steps from (qpos, qvel) under one control per step; returns the final state.
    let run (model: Model) (sp: SimParams) (qpos: Tensor) (qvel: Tensor) (controls: Control[]) (time: float) =
        let mutable s = { qpos = qpos; qvel = qvel; time = time }
        for c in controls do
            s <- Physics.step model sp s c
        s
