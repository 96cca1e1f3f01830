namespace Genesis

open System

/// The process-wide state set by gs.init: backend, precision, random generator.
module Runtime =
    type internal State =
        { Backend: Backend
          Raw: IRawBackend
          Precision: string
          Seed: int option
          Random: Random }

    let mutable internal state: State option = None

    /// An override of the GPU raw backend gs.init(backend = Backend.Gpu) creates (None: Gpu.GpuBackend.Default).
    let mutable internal gpuFactory: (unit -> IRawBackend) option = None

    /// The active state; raises when gs.init has not been called.
    let internal current () =
        match state with
        | Some s -> s
        | None -> raise (GenesisException "Genesis not initialized yet. Call gs.init() first.")

    /// Runs f with exclusive use of the process-wide generator (System.Random is not thread-safe: concurrent
    /// draws corrupt its state and break seed reproducibility).
    let internal withRandom (f: Random -> 'a) : 'a =
        let r = (current ()).Random
        lock r (fun () -> f r)

    /// Resolves a dtype family against the active precision.
    let internal resolve (dtype: DType) =
        let s = current ()
        match dtype with
        | DType.Float -> if s.Precision = "64" then DType.Float64 else DType.Float32
        | DType.Int -> if s.Precision = "64" then DType.Int64 else DType.Int32
        | d -> d
