namespace Genesis

/// Shape arithmetic: broadcasting, strides, dimension normalisation. Shapes are int[] (row-major).
module Shape =
    /// Formats a shape as [2; 3].
    let format (shape: int[]) = "[" + (shape |> Array.map string |> String.concat "; ") + "]"

    /// The number of elements of a shape (1 for a scalar).
    let numel (shape: int[]) =
        let mutable n = 1
        for s in shape do
            n <- n * s
        n

    /// True when two shapes are equal (an allocation-free loop, for hot paths).
    let equal (a: int[]) (b: int[]) =
        if obj.ReferenceEquals(a, b) then true
        elif a.Length <> b.Length then false
        else
            let mutable same = true
            let mutable i = 0
            while same && i < a.Length do
                if a[i] <> b[i] then same <- false
                i <- i + 1
            same

    /// Row-major contiguous strides.
    let strides (shape: int[]) =
        let st = Array.zeroCreate shape.Length
        let mutable acc = 1
        for i in shape.Length - 1 .. -1 .. 0 do
            st[i] <- acc
            acc <- acc * shape[i]
        st

    /// Checks that every size is non-negative.
    let check (shape: int[]) =
        for s in shape do
            if s < 0 then
                invalidArg "shape" (sprintf "shape %s has a negative size" (format shape))

    /// The broadcast shape of two shapes (PyTorch rules), or None.
    let tryBroadcast (a: int[]) (b: int[]) : int[] option =
        let n = max a.Length b.Length
        let out = Array.zeroCreate n
        let mutable ok = true
        for i in 0 .. n - 1 do
            let da = if i < n - a.Length then 1 else a[i - (n - a.Length)]
            let db = if i < n - b.Length then 1 else b[i - (n - b.Length)]
            if da = db || db = 1 then out[i] <- da
            elif da = 1 then out[i] <- db
            else ok <- false
        if ok then Some out else None

    /// The broadcast shape of two shapes; raises naming both shapes.
    let broadcast (a: int[]) (b: int[]) =
        match tryBroadcast a b with
        | Some s -> s
        | None -> raise (GenesisException(sprintf "shape mismatch: shapes %s and %s cannot be broadcast together" (format a) (format b)))

    /// True when `from` can be expanded to `target` (PyTorch expand rules).
    let canExpand (from: int[]) (target: int[]) =
        from.Length <= target.Length
        && (Array.forall2 (fun f t -> f = t || f = 1) from target[target.Length - from.Length ..])

    /// Strides of `shape` read as broadcast to `target` (0 on broadcast dims).
    let broadcastStrides (shape: int[]) (target: int[]) =
        let st = strides shape
        let off = target.Length - shape.Length
        Array.init target.Length (fun i ->
            if i < off then 0
            elif shape[i - off] = 1 && target[i] <> 1 then 0
            else st[i - off])

    /// Normalises a possibly negative dimension index; raises when out of range.
    let normDim (rank: int) (dim: int) =
        let d = if dim < 0 then dim + rank else dim
        if d < 0 || d >= max rank 1 then
            raise (GenesisException(sprintf "dimension %d out of range for a tensor of rank %d" dim rank))
        d

    /// Resolves a single -1 in a reshape target.
    let resolveReshape (numel0: int) (target: int[]) =
        let unknown = target |> Array.filter (fun s -> s = -1) |> Array.length
        if unknown > 1 then raise (GenesisException(sprintf "reshape: only one -1 allowed in %s" (format target)))
        let known = target |> Array.filter (fun s -> s <> -1) |> numel
        let out =
            if unknown = 1 then
                if known = 0 || numel0 % known <> 0 then
                    raise (GenesisException(sprintf "reshape: cannot reshape %d elements to %s" numel0 (format target)))
                target |> Array.map (fun s -> if s = -1 then numel0 / known else s)
            else target
        if numel out <> numel0 then
            raise (GenesisException(sprintf "reshape: cannot reshape %d elements to %s" numel0 (format target)))
        out
