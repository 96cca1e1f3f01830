namespace Genesis

open System
open Genesis.Physics

/// The values a scene takes from its users and the states it checks, as pure functions of the scene's size: a value
/// given as [k] or [nEnvs; k] batched to [B; k] (B = max 1 nEnvs) in the scene's float type, columns and envs written
/// by a selection (a gather, never a mix), and the finiteness check of a step's result.
module internal SceneValues =
    /// A value tensor in the float type; a bool tensor is refused (it is no number).
    let asFloat (floatType: DType) (values: Tensor) (what: string) : Tensor =
        if values.dtype = DType.Bool then raise (GenesisException(sprintf "%s: expected a float tensor, got a %O tensor" what values.dtype))
        values.cast floatType

    /// A value on the scene's device (that of like): a constant tensor on another device is copied there once (one
    /// transfer, at the call that gives it); one that requires grad is refused naming both devices, since its gradient
    /// could not flow back across devices.
    let onDevice (like: Tensor) (values: Tensor) (what: string) : Tensor =
        if values.device = like.device || values.dtype = DType.Bool then values
        elif values.isConstant then
            let moved = Tensor.Constant(like, values.toFloatArray(), values.shape)
            if values.dtype.IsFloating then moved else moved.cast values.dtype
        else
            raise (GenesisException(sprintf "%s: the tensor is on %O but the scene is on %O, and it requires grad (a gradient cannot cross devices); create it on %O (gs.init's backend) or detach it" what values.device like.device like.device))

    /// A value given as [k] or [nEnvs; k] as [B; k]; raises naming expected and actual shapes.
    let batched (nEnvs: int) (floatType: DType) (values: Tensor) (k: int) (what: string) : Tensor =
        let b = max 1 nEnvs
        let v = asFloat floatType values what
        if v.shape = [| k |] then v.unsqueeze(0).expand([ b; k ])
        elif v.shape = [| b; k |] && nEnvs > 0 then v
        else
            let expected = if nEnvs = 0 then sprintf "[%d]" k else sprintf "[%d] or [%d; %d]" k nEnvs k
            raise (GenesisException(sprintf "%s: expected shape %s, got %s" what expected (Shape.format values.shape)))

    /// Writes values [B; k] into columns cols of full [B; n] (rows envs only; None = all), differentiably: every entry
    /// is selected from values or full (a gather), never mixed, so a non-finite entry stays where it was written.
    let scatter (full: Tensor) (values: Tensor) (cols: int[]) (envs: int[] option) : Tensor =
        let n = full.shape[1]
        if envs.IsNone && cols = Array.init n id then values.expand(full.shape)
        else
            let b, k = full.shape[0], cols.Length
            let index = gs.fromArray(SetterIndex.scatter b n cols envs, shape = [ b; n ], dtype = DType.Int64)
            gs.cat([ values.expand([ b; k ]); full ], 1).gather(1, index)

    /// Raises unless the scene is batched and envsIdx names distinct envs of its nEnvs.
    let checkEnvs (nEnvs: int) (what: string) (envsIdx: int[]) =
        if nEnvs = 0 then raise (GenesisException(sprintf "%s: envsIdx given but the scene is not batched (build(nEnvs = N))" what))
        for i in envsIdx do
            if i < 0 || i >= nEnvs then raise (GenesisException(sprintf "%s: env index %d out of range for %d envs" what i nEnvs))
        SetterIndex.check envsIdx what "envsIdx"

    /// A value given for some envs ([len envsIdx; k] or [k]) as [B; k] rows (rows of envs not in envsIdx are
    /// placeholders that scatter leaves unused).
    let forEnvs (nEnvs: int) (floatType: DType) (values: Tensor) (k: int) (envsIdx: int[] option) (what: string) : Tensor =
        match envsIdx with
        | None -> batched nEnvs floatType values k what
        | Some e ->
            checkEnvs nEnvs what e
            let v = asFloat floatType values what
            let rows =
                if v.shape = [| k |] then v.unsqueeze(0).expand([ e.Length; k ])
                elif v.shape = [| e.Length; k |] then v
                else raise (GenesisException(sprintf "%s: expected shape [%d; %d] for %d envs, got %s" what e.Length k e.Length (Shape.format values.shape)))
            // row r of the result is row (position of r in envsIdx) of `rows`, a selection (gather), never a sum
            rows.gather(0, gs.fromArray(SetterIndex.rows nEnvs k e, shape = [ nEnvs; k ], dtype = DType.Int64))

    /// True when every entry of qpos and qvel is within +-bound (false for NaN, and for infinities however large the
    /// bound, which the host check then names), computed on their device with one scalar read back.
    let private withinBound (bound: float) (next: State) =
        let ok (t: Tensor) = if t.numel = 0 then Tensor.Scalar(t, 1.0) else t.abs().le(bound).cast(t.dtype).min()
        (ok next.qpos * ok next.qvel).item() = 1.0 && not (Double.IsInfinity bound)

    /// The check on the host (every value read back): raises naming the first bad entry.
    let private hostCheck (topo: Topology) (bound: float) (dt: float) (next: State) =
        let check (name: string) (t: Tensor) (width: int) (label: int -> string) =
            let v = t.toFloatArray()
            match v |> Array.tryFindIndex (fun x -> Double.IsNaN x || Double.IsInfinity x) with
            | Some k ->
                raise (GenesisException(sprintf "step produced a non-finite %s (%g) in env %d at %s; the previous state is kept (SimOptions(checkNonFinite = false) disables this check)" name v[k] (k / width) (label (k % width))))
            | None -> ()
            match v |> Array.tryFindIndex (fun x -> abs x > bound) with
            | Some k ->
                raise (GenesisException(sprintf "step produced a huge %s (%g, above SimOptions.maxStateMagnitude = %g) in env %d at %s: the simulation has exploded; try a smaller dt (now %g) or more substeps; the previous state is kept" name v[k] bound (k / width) (label (k % width)) dt))
            | None -> ()
        let dofLabel (d: int) = sprintf "dof %d (joint '%s')" d topo.jntName[topo.dofJoint[d]]
        let qposLabel (q: int) =
            let j = topo.jntQposAdr |> Array.findIndexBack (fun a -> a <= q)
            sprintf "qpos %d (joint '%s')" q topo.jntName[j]
        check "velocity" next.qvel topo.nv dofLabel
        check "position" next.qpos topo.nq qposLabel

    /// Raises when a step produced a non-finite state or one above maxMagnitude (an explosion), naming the env, the
    /// dof or qpos entry and its joint; dt is quoted in the advice. On a device only one flag is read back unless it
    /// fails.
    let checkFinite (topo: Topology) (maxMagnitude: float) (dt: float) (next: State) =
        if next.qpos.device = Device.Cpu || not (withinBound maxMagnitude next) then hostCheck topo maxMagnitude dt next
