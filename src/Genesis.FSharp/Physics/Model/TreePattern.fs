namespace Genesis.Physics

open System
open Genesis

/// The sparsity pattern of the mass matrix along the dof tree, in MuJoCo's layout (rowadr / rownnz / colind of
/// mjData.qLD): row k holds the entries (k, j) for the ancestor dofs j of k in ascending order, then the diagonal
/// (k, k). M is stored as one value per entry (its lower triangle; the upper is the same by symmetry), so memory is
/// the sum of the dofs' depths: linear in independent entities, quadratic only along one chain.
type internal TreePattern =
    { nv: int
      /// The nearest dof above dof k in the tree (-1 at a root), parents first: parent[k] < k (MuJoCo dof_parentid).
      parent: int[]
      /// The first entry of row k and the row's length (its ancestors and the diagonal).
      rowAdr: int[]
      rowNnz: int[]
      /// The column j of each entry, rows one after another.
      colInd: int[] }

/// Building the tree pattern and moving values between it and dense nv x nv matrices.
module internal TreePattern =
    /// The pattern of the dof tree given by parent (parent[k] < k, -1 at a root); row i of an ancestor i of k is a
    /// prefix of row k, which the factorisation relies on.
    let ofParent (parent: int[]) : TreePattern =
        let nv = parent.Length
        parent
        |> Array.iteri (fun k p ->
            if p < -1 || p >= k then Errors.fail "TreePattern: the parent of dof %d is %d; it must be -1 (a root) or a dof below %d (parents first)" k p k)
        let rowNnz = Array.zeroCreate nv
        for k in 0 .. nv - 1 do
            rowNnz[k] <- if parent[k] < 0 then 1 else rowNnz[parent[k]] + 1
        // the dofs' depths sum past an array's length only for one chain of ~65,000 dofs (quadratic in its length)
        let total = Array.sumBy int64 rowNnz
        if total > int64 Array.MaxLength then
            raise (GenesisNotSupportedException(sprintf "TreePattern: the mass matrix's tree pattern of these %d dofs has %d entries, more than an array holds (a chain that long is not supported)" nv total))
        let rowAdr = Array.zeroCreate nv
        for k in 1 .. nv - 1 do
            rowAdr[k] <- rowAdr[k - 1] + rowNnz[k - 1]
        let colInd = Array.zeroCreate (int total)
        for k in 0 .. nv - 1 do
            let mutable j, q = k, rowAdr[k] + rowNnz[k] - 1
            while j >= 0 do
                colInd[q] <- j
                j <- parent[j]
                q <- q - 1
        { nv = nv; parent = parent; rowAdr = rowAdr; rowNnz = rowNnz; colInd = colInd }

    /// The number of stored entries (the sum of the dofs' depths).
    let nnz (p: TreePattern) = p.colInd.Length

    /// The address of the diagonal entry (k, k): the last of row k.
    let diag (p: TreePattern) (k: int) = p.rowAdr[k] + p.rowNnz[k] - 1

    /// dense (nv x nv, row-major) += the symmetric matrix whose pattern entries are values (both halves of each entry).
    let inline addSymInto (p: TreePattern) (values: ^T[]) (dense: ^T[]) =
        let nv = p.nv
        for k in 0 .. nv - 1 do
            let d = diag p k
            for q in p.rowAdr[k] .. d - 1 do
                let j = p.colInd[q]
                dense[k * nv + j] <- dense[k * nv + j] + values[q]
                dense[j * nv + k] <- dense[j * nv + k] + values[q]
            dense[k * nv + k] <- dense[k * nv + k] + values[d]

    /// The symmetric dense matrix (nv x nv, row-major) of the pattern values.
    let toDense (p: TreePattern) (values: float[]) =
        let dense = Array.zeroCreate (p.nv * p.nv)
        addSymInto p values dense
        dense

    /// The pattern entries of a dense matrix (its lower triangle, row k's (k, j)).
    let ofDense (p: TreePattern) (dense: float[]) =
        let values = Array.zeroCreate (nnz p)
        for k in 0 .. p.nv - 1 do
            for q in p.rowAdr[k] .. diag p k do
                values[q] <- dense[k * p.nv + p.colInd[q]]
        values
