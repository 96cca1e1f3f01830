namespace Genesis

open System

/// The index semantics of the scene's setters and controls (docs/errors.md): index sets are checked (each index
/// once, none empty) and values are placed by gathers, so that every entry is selected, never blended.
module internal SetterIndex =
    /// Raises when idx is empty or an index appears twice in it (what: the member; name: dofsIdx, envsIdx, linksIdx).
    let check (idx: int[]) (what: string) (name: string) =
        if idx.Length = 0 then raise (GenesisException(sprintf "%s: %s is empty" what name))
        let seen = Collections.Generic.HashSet<int>()
        for i in idx do
            if not (seen.Add i) then
                raise (GenesisException(sprintf "%s: index %d appears more than once in %s; each index may be given once" what i name))

    /// Gather indices [b; n] into cat([values [b; k]; full [b; n]], 1): entry (r, c) takes values' column i where
    /// cols[i] = c when row r is addressed (envs; None = all rows), else full's column c (k + c).
    let scatter (b: int) (n: int) (cols: int[]) (envs: int[] option) : int64[] =
        let k = cols.Length
        let rowOn = match envs with None -> Array.create b true | Some e -> Array.init b (fun r -> Array.contains r e)
        let src = Array.init n (fun c -> Array.IndexOf(cols, c))
        Array.init (b * n) (fun i -> let r, c = i / n, i % n in if rowOn[r] && src[c] >= 0 then int64 src[c] else int64 (k + c))

    /// Gather indices [b; k] into rows [len envs; k]: row r takes row (position of r in envs), or row 0 for an env
    /// not addressed (a placeholder that scatter leaves unused).
    let rows (b: int) (k: int) (envs: int[]) : int64[] =
        Array.init (b * k) (fun i -> int64 (max 0 (Array.IndexOf(envs, i / k))))
