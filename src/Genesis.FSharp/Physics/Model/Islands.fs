namespace Genesis.Physics

open System

/// h C's entries between the dofs of two moving bodies in contact (ContactPointKernel.crossTerms), outside M's tree
/// pattern: triplets (row j, column k, value v) standing for C[j, k] -= v and C[k, j] -= v, in the order the contacts
/// add them. Grown on demand: memory linear in the contacts found.
[<Sealed; AllowNullLiteral>]
type internal CrossTerms<'T>() =
    let mutable rows: int[] = Array.zeroCreate 16
    let mutable cols: int[] = Array.zeroCreate 16
    let mutable values: 'T[] = Array.zeroCreate 16
    let mutable count = 0
    /// The row dof j of each triplet.
    member _.Rows = rows
    /// The column dof k of each triplet.
    member _.Cols = cols
    /// The value v of each triplet.
    member _.Values = values
    /// The number of triplets.
    member _.Count = count
    /// Forgets every triplet (the buffers are kept).
    member _.Clear() = count <- 0
    /// Appends the triplet (j, k, v).
    member _.Add(j: int, k: int, v: 'T) =
        if count = rows.Length then
            Array.Resize(&rows, 2 * count)
            Array.Resize(&cols, 2 * count)
            Array.Resize(&values, 2 * count)
        rows[count] <- j
        cols[count] <- k
        values[count] <- v
        count <- count + 1
    /// Replaces the triplets by those of src, with their values mapped by f (EulerTrace saves a step's as floats).
    member c.CopyFrom(src: CrossTerms<'U>, f: 'U -> 'T) =
        c.Clear()
        for t in 0 .. src.Count - 1 do c.Add(src.Rows[t], src.Cols[t], f src.Values[t])

/// The islands of a step: the connected components of the dof trees coupled by cross terms (union-find over the
/// trees' root dofs), each solved densely over its own dofs while every other tree keeps the tree LDL. Island i holds
/// the dofs dofs[start[i] .. start[i + 1] - 1] in ascending order and the cross terms termOrder[termStart[i] ..
/// termStart[i + 1] - 1] in their order. Every array is sized by nv or by the terms: memory linear in bodies and contacts.
[<Sealed; AllowNullLiteral>]
type internal Islands(p: TreePattern) =
    let nv = p.nv
    let rootOf =
        let r = Array.zeroCreate nv
        for k in 0 .. nv - 1 do r[k] <- if p.parent[k] < 0 then k else r[p.parent[k]]
        r
    let uf: int[] = Array.zeroCreate nv
    let rootIsland: int[] = Array.zeroCreate nv
    let cursor: int[] = Array.zeroCreate (nv + 1)
    let mutable order: int[] = Array.zeroCreate 16
    let mutable count = 0
    let mutable largest = 0
    let rec find (x: int) =
        if uf[x] = x then x
        else
            uf[x] <- uf[uf[x]]
            find uf[x]
    /// The island of each dof (-1 when its tree is coupled to no other by this step's contacts).
    member val dofIsland: int[] = Array.zeroCreate nv
    /// The index of each island dof within its island (its row in the island's block).
    member val local: int[] = Array.zeroCreate nv
    /// The islands' dofs, island after island, ascending within each.
    member val dofs: int[] = Array.zeroCreate nv
    /// Where island i's dofs start in dofs (count + 1 entries used).
    member val start: int[] = Array.zeroCreate (nv + 1)
    /// Where island i's cross terms start in termOrder (count + 1 entries used).
    member val termStart: int[] = Array.zeroCreate (nv + 1)
    /// The cross terms' indices, island after island, in their order within each.
    member _.termOrder = order
    /// The number of islands.
    member _.Count = count
    /// The largest island's dof count.
    member _.Largest = largest

    /// Groups the trees coupled by the cross terms (rows, cols: nterms of them) into islands.
    member g.Group(rows: int[], cols: int[], nterms: int) =
        for k in 0 .. nv - 1 do
            uf[k] <- k
            rootIsland[k] <- -1
            g.dofIsland[k] <- -1
        for t in 0 .. nterms - 1 do
            let a, b = find rootOf[rows[t]], find rootOf[cols[t]]
            if a <> b then uf[max a b] <- min a b
        for t in 0 .. nterms - 1 do rootIsland[find rootOf[rows[t]]] <- -2
        // number the islands in the order of their first dof, and count their dofs
        count <- 0
        Array.Clear(g.start)
        for k in 0 .. nv - 1 do
            let r = find rootOf[k]
            if rootIsland[r] <> -1 then
                if rootIsland[r] = -2 then
                    rootIsland[r] <- count
                    count <- count + 1
                let i = rootIsland[r]
                g.dofIsland[k] <- i
                g.local[k] <- g.start[i + 1]
                g.start[i + 1] <- g.start[i + 1] + 1
        largest <- 0
        for i in 0 .. count - 1 do
            largest <- max largest g.start[i + 1]
            g.start[i + 1] <- g.start[i + 1] + g.start[i]
        for k in 0 .. nv - 1 do
            let i = g.dofIsland[k]
            if i >= 0 then g.dofs[g.start[i] + g.local[k]] <- k
        // the terms, stably sorted by island
        if order.Length < nterms then order <- Array.zeroCreate (max nterms (2 * order.Length))
        Array.Clear(g.termStart, 0, count + 1)
        for t in 0 .. nterms - 1 do
            let i = g.dofIsland[rows[t]]
            g.termStart[i + 1] <- g.termStart[i + 1] + 1
        for i in 0 .. count - 1 do g.termStart[i + 1] <- g.termStart[i + 1] + g.termStart[i]
        Array.blit g.termStart 0 cursor 0 (count + 1)
        for t in 0 .. nterms - 1 do
            let i = g.dofIsland[rows[t]]
            order[cursor[i]] <- t
            cursor[i] <- cursor[i] + 1
