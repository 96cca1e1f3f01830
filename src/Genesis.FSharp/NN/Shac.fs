namespace Genesis.NN

open System
open Genesis

/// SHAC's settings (Xu et al. 2022, "Accelerated Policy Learning with Parallel Differentiable Simulation");
/// ShacConfig.defaults gives the paper's values where it states them.
type ShacConfig =
    { /// Steps of each differentiable window (h; paper 32).
      horizon: int
      /// Discount (paper 0.99).
      gamma: float
      /// TD(lambda) mixing of the critic's targets (paper 0.95).
      lambda: float
      /// Adam learning rate of the actor (paper 2e-3).
      actorLr: float
      /// Adam learning rate of the critic (paper 2e-3).
      criticLr: float
      /// Adam betas of both optimisers (paper (0.7, 0.95)).
      betas: float * float
      /// Passes over the window's data the critic takes each epoch (paper 16).
      criticIterations: int
      /// Minibatches each pass is split into (paper 4).
      criticMinibatches: int
      /// Polyak weight of the old target critic: target <- alpha target + (1 - alpha) critic (paper 0.2).
      targetAlpha: float
      /// Gradient norm clip of actor and critic (paper 1.0).
      maxGradNorm: float
      /// Hidden sizes of the actor's MLP.
      actorHidden: int list
      /// Hidden sizes of the critic's MLP.
      criticHidden: int list
      /// Hidden activation of both MLPs (paper ELU).
      activation: ActivationKind
      /// Initial log standard deviation of the Gaussian action noise (learned; paper -1).
      initLogStd: float
      /// Normalise observations by running mean and variance before actor and critic.
      normalizeObservations: bool
      /// Seed of the action noise and the critic's minibatch shuffling.
      seed: int }

    /// The defaults: h 32, gamma 0.99, lambda 0.95, lr 2e-3 (both), betas (0.7, 0.95), 16 critic passes of 4
    /// minibatches, target alpha 0.2, clip 1, MLPs 64-64 ELU, log std -1, normalised observations, seed 0.
    static member defaults =
        { horizon = 32; gamma = 0.99; lambda = 0.95; actorLr = 2e-3; criticLr = 2e-3; betas = (0.7, 0.95)
          criticIterations = 16; criticMinibatches = 4; targetAlpha = 0.2; maxGradNorm = 1.0
          actorHidden = [ 64; 64 ]; criticHidden = [ 64; 64 ]; activation = ActivationKind.ELU; initLogStd = -1.0
          normalizeObservations = true; seed = 0 }

/// A task SHAC trains on: a batched scene and what the policy sees, does and earns.
type ShacTask =
    { /// The scene (built with nEnvs >= 1 and requiresGrad).
      scene: Scene
      /// Observation size (observe returns [nEnvs; observationSize]).
      observationSize: int
      /// Action size (act receives [nEnvs; actionSize] in (-1, 1)).
      actionSize: int
      /// The observation of every env, differentiable in the scene's state.
      observe: unit -> Tensor
      /// Sets the controls from actions in (-1, 1) (e.g. controlDofsForce(a * maxTorque)).
      act: Tensor -> unit
      /// The reward [nEnvs] of the step just taken, differentiable in the state (and controls).
      reward: unit -> Tensor
      /// Puts the given envs at (sampled) start states, e.g. scene.reset(envsIdx = idx, qpos = ..., qvel = ...).
      resetEnvs: int[] -> unit
      /// Steps per episode: an env whose episode reaches it is reset (time limit; its last state is bootstrapped).
      episodeLength: int }

/// What one differentiable window produced.
type ShacWindow =
    { /// -(sum_t gamma^t r_t + gamma^h V'(s_h)) / (h N), discounting restarted at episode ends (differentiable).
      actorLoss: Tensor
      /// Observations before each step, [h][N * observationSize] (values).
      observations: float[][]
      /// Rewards [h][N] (values).
      rewards: float[][]
      /// Target critic's value of the state after each step [h][N] (an ended episode's last state, before its reset).
      nextValues: float[][]
      /// Whether env n's episode ended at step t [h][N].
      dones: bool[][]
      /// Steps into its episode of every env after the window.
      episodeSteps: int[]
      /// Undiscounted return so far of every env's episode after the window.
      episodeReturns: float[]
      /// Undiscounted returns of the episodes that ended in the window.
      finishedReturns: float[] }

/// One SHAC epoch's numbers.
type ShacEpochStats =
    { /// The actor loss of the window.
      actorLoss: float
      /// The critic's mean squared TD(lambda) error, last pass.
      criticLoss: float
      /// Mean reward per env-step in the window.
      meanReward: float
      /// Actor gradient norm before clipping.
      actorGradNorm: float
      /// The critic's mean squared error of each pass (averaged over its minibatches).
      criticLosses: float[]
      /// Undiscounted returns of the episodes that ended in this epoch's window.
      finishedReturns: float[] }

/// SHAC's pieces as functions: TD(lambda) targets, the stochastic actor, one differentiable window.
module Shac =
    /// TD(lambda) targets [h][N] of a window: G_t = r_t + gamma V_{t+1} at the window's last step or where the episode
    /// ended (dones), else G_t = r_t + gamma ((1 - lambda) V_{t+1} + lambda G_{t+1}).
    let tdLambdaTargets (gamma: float) (lambda: float) (rewards: float[][]) (nextValues: float[][]) (dones: bool[][]) =
        let h = rewards.Length
        if nextValues.Length <> h || dones.Length <> h then
            raise (GenesisException(sprintf "tdLambdaTargets: rewards have %d steps, nextValues %d and dones %d" h nextValues.Length dones.Length))
        let g = Array.zeroCreate h
        for t in h - 1 .. -1 .. 0 do
            let n = rewards[t].Length
            if nextValues[t].Length <> n || dones[t].Length <> n then
                raise (GenesisException(sprintf "tdLambdaTargets: step %d has %d rewards, %d next values and %d dones" t n nextValues[t].Length dones[t].Length))
            g[t] <- Array.init n (fun e ->
                let r, v = rewards[t][e], nextValues[t][e]
                if t = h - 1 || dones[t][e] then r + gamma * v
                else r + gamma * ((1.0 - lambda) * v + lambda * g[t + 1][e]))
        g

    /// The actor's action tanh(mean(obs) + exp(logStd) eps) for noise eps [N; actionSize] (zeros: the mean action).
    let action (actor: Tensor -> Tensor) (logStd: Tensor) (obs: Tensor) (eps: Tensor) = (actor obs + logStd.exp() * eps).tanh()

    /// Runs one window of `noise.Length` steps from the scene's current state: before each step the actor's action
    /// (`policy obs eps_t`, eps_t the rows of noise[t], [N * actionSize]) is applied, after it the reward is earned;
    /// episodes reaching task.episodeLength are bootstrapped with `value` (the target critic) at their last state and
    /// reset with task.resetEnvs. The actor loss is differentiable through the physics, the policy and `value`.
    let window (task: ShacTask) (gamma: float) (policy: Tensor -> Tensor -> Tensor) (value: Tensor -> Tensor) (noise: float[][]) (episodeSteps: int[]) (episodeReturns: float[]) =
        let h = noise.Length
        let n = episodeSteps.Length
        if h < 1 then raise (GenesisException "Shac.window: the window needs at least one step (noise is empty)")
        if n <> task.scene.nEnvs then raise (GenesisException(sprintf "Shac.window: %d episode counters for %d envs" n task.scene.nEnvs))
        let steps, returns = Array.copy episodeSteps, Array.copy episodeReturns
        let disc = Array.create n 1.0
        let finished = ResizeArray<float>()
        let mutable acc: Tensor = null
        let add (x: Tensor) = acc <- if isNull acc then x else acc + x
        let obsOut, rewOut, valOut, doneOut = Array.zeroCreate h, Array.zeroCreate h, Array.zeroCreate h, Array.zeroCreate h
        for t in 0 .. h - 1 do
            let obs = task.observe ()
            obsOut[t] <- obs.detach().toFloatArray()
            if noise[t].Length <> n * task.actionSize then
                raise (GenesisException(sprintf "Shac.window: noise of step %d has %d values, expected %d envs x %d actions" t noise[t].Length n task.actionSize))
            task.act (policy obs (gs.fromArray(noise[t], shape = [ n; task.actionSize ], dtype = obs.dtype)))
            task.scene.step()
            let r = task.reward ()
            let rv = r.detach().toFloatArray()
            add (r * gs.fromArray(disc, dtype = r.dtype))
            for e in 0 .. n - 1 do
                disc[e] <- disc[e] * gamma
                steps[e] <- steps[e] + 1
                returns[e] <- returns[e] + rv[e]
            let ends = steps |> Array.map (fun s -> s >= task.episodeLength)
            let last = t = h - 1
            let bootstrap = if last then Array.create n true else ends
            let next = task.observe ()
            let v =
                if Array.exists id bootstrap then
                    let v = (value next).reshape([ n ])
                    add (v * gs.fromArray(Array.init n (fun e -> if bootstrap[e] then disc[e] else 0.0), dtype = v.dtype))
                    v.detach()
                else gs.noGrad (fun () -> (value next).reshape([ n ]))
            rewOut[t] <- rv
            valOut[t] <- v.toFloatArray()
            doneOut[t] <- ends
            let ended = Array.init n id |> Array.filter (fun e -> ends[e])
            if ended.Length > 0 then
                for e in ended do
                    finished.Add returns[e]
                    steps[e] <- 0
                    returns[e] <- 0.0
                    disc[e] <- 1.0
                task.resetEnvs ended
        let loss = -(acc.sum()) / float (h * n)
        { actorLoss = loss; observations = obsOut; rewards = rewOut; nextValues = valOut; dones = doneOut
          episodeSteps = steps; episodeReturns = returns; finishedReturns = finished.ToArray() }

    /// Fits `value` (observations [B; d] -> [B]) to targets: `iterations` passes over the rows of obs ([rows * d],
    /// row-major) in a random order drawn from rnd, each split into `minibatches` minibatches of mean squared error,
    /// an optimiser step after each (gradients clipped to maxGradNorm); returns each pass's mean loss.
    let fitCritic (value: Tensor -> Tensor) (opt: Optimizer) (parameters: Tensor[]) (maxGradNorm: float) (obs: float[]) (targets: float[]) (iterations: int) (minibatches: int) (rnd: Random) =
        let rows = targets.Length
        if rows = 0 || obs.Length % rows <> 0 then
            raise (GenesisException(sprintf "Shac.fitCritic: %d observation values do not split into %d rows" obs.Length rows))
        let d = obs.Length / rows
        let perBatch = max 1 (rows / max 1 minibatches)
        Array.init iterations (fun _ ->
            let order = Array.init rows id
            for i in rows - 1 .. -1 .. 1 do
                let j = rnd.Next(i + 1)
                let x = order[i]
                order[i] <- order[j]
                order[j] <- x
            let losses =
                [| for start in 0 .. perBatch .. rows - perBatch do
                       let idx = order[start .. start + perBatch - 1]
                       let x = gs.fromArray(idx |> Array.collect (fun r -> obs[r * d .. (r + 1) * d - 1]), shape = [ idx.Length; d ])
                       let y = gs.fromArray(idx |> Array.map (fun r -> targets[r]))
                       opt.zeroGrad()
                       let loss = (value x - y).pow(2.0).mean()
                       loss.backward()
                       NN.clipGradNorm(parameters, maxGradNorm) |> ignore
                       opt.step()
                       yield loss.item() |]
            Array.average losses)

/// The SHAC trainer (Short-Horizon Actor-Critic): each epoch runs one differentiable window of h steps over the
/// task's envs, steps the actor on the gradient of the window's loss (through the physics and the target critic),
/// fits the critic to the window's TD(lambda) targets (criticIterations passes of criticMinibatches minibatches),
/// then moves the target critic towards the critic (Polyak). Envs carry on from window to window; episodes end at
/// task.episodeLength and restart through task.resetEnvs.
type ShacTrainer(task: ShacTask, ?config: ShacConfig) =
    let cfg = defaultArg config ShacConfig.defaults
    do
        if task.scene.nEnvs < 1 then raise (GenesisException "ShacTrainer: the scene must be batched (build(nEnvs = N), N >= 1)")
        if not task.scene.simOptions.requiresGrad then raise (GenesisException "ShacTrainer: the scene must differentiate (SimOptions(requiresGrad = true))")
        if cfg.horizon < 1 then raise (GenesisException(sprintf "ShacTrainer: horizon must be >= 1, got %d" cfg.horizon))
        if task.episodeLength < 1 then raise (GenesisException(sprintf "ShacTrainer: episodeLength must be >= 1, got %d" task.episodeLength))
        if task.observationSize < 1 || task.actionSize < 1 then
            raise (GenesisException(sprintf "ShacTrainer: observation and action sizes must be >= 1, got %d and %d" task.observationSize task.actionSize))
        if cfg.criticIterations < 1 || cfg.criticMinibatches < 1 then
            raise (GenesisException(sprintf "ShacTrainer: criticIterations and criticMinibatches must be >= 1, got %d and %d" cfg.criticIterations cfg.criticMinibatches))
        if not (cfg.gamma > 0.0 && cfg.gamma <= 1.0) || not (cfg.lambda >= 0.0 && cfg.lambda <= 1.0) || not (cfg.targetAlpha >= 0.0 && cfg.targetAlpha < 1.0) then
            raise (GenesisException(sprintf "ShacTrainer: need 0 < gamma <= 1, 0 <= lambda <= 1 and 0 <= targetAlpha < 1, got %g, %g and %g" cfg.gamma cfg.lambda cfg.targetAlpha))
    let nEnvs = task.scene.nEnvs
    let sizes (hidden: int list) outSize = task.observationSize :: hidden @ [ outSize ]
    let actorNet = NN.mlp(sizes cfg.actorHidden task.actionSize, cfg.activation)
    let logStdT = gs.full([ task.actionSize ], cfg.initLogStd, requiresGrad = true)
    let criticNet = NN.mlp(sizes cfg.criticHidden 1, cfg.activation)
    let target = NN.mlp(sizes cfg.criticHidden 1, cfg.activation)
    do Array.iter2 (fun (t: Tensor) (c: Tensor) -> t.copy_(c.detach()) |> ignore) (target.parameters()) (criticNet.parameters())
    let obsNorm = ObsNormalizer(task.observationSize)
    let b1, b2 = cfg.betas
    let actorParams = Array.append (actorNet.parameters()) [| logStdT |]
    let actorOpt = Adam(actorParams, lr = cfg.actorLr, beta1 = b1, beta2 = b2)
    let criticOpt = Adam(criticNet.parameters(), lr = cfg.criticLr, beta1 = b1, beta2 = b2)
    let rnd = Random(cfg.seed)
    let normal () = sqrt (-2.0 * log (1.0 - rnd.NextDouble())) * cos (2.0 * Math.PI * rnd.NextDouble())
    let norm (obs: Tensor) = if cfg.normalizeObservations then obsNorm.forward obs else obs
    let mutable steps = Array.zeroCreate<int> nEnvs
    let mutable returns = Array.zeroCreate<float> nEnvs
    let mutable started = false
    let mutable epochCount = 0

    /// The settings.
    member _.config = cfg
    /// The actor's MLP (observation -> action mean before tanh).
    member _.actor: Module = actorNet
    /// The learned log standard deviation of the action noise [actionSize].
    member _.logStd = logStdT
    /// The critic (observation -> value).
    member _.critic: Module = criticNet
    /// The target critic (a Polyak average of the critic; bootstraps the actor's windows).
    member _.targetCritic: Module = target
    /// The observation normaliser the actor and critics read through.
    member _.normalizer = obsNorm
    /// Epochs trained.
    member _.epochs = epochCount

    /// The deterministic action tanh(actor(normalise obs)) for observations [B; observationSize] (evaluation).
    member _.act(obs: Tensor) = (actorNet.forward(norm obs)).tanh()
    /// The critic's value of observations [B; observationSize] -> [B].
    member _.value(obs: Tensor) = criticNet.forward(norm obs).reshape([ obs.shape[0] ])

    /// One epoch: a window, an actor step, the critic's passes, the target update.
    member t.trainEpoch() : ShacEpochStats =
        let scene = task.scene
        if not started then
            scene.reset()
            task.resetEnvs (Array.init nEnvs id)
            started <- true
        let noise = Array.init cfg.horizon (fun _ -> Array.init (nEnvs * task.actionSize) (fun _ -> normal ()))
        let policy (obs: Tensor) (eps: Tensor) = Shac.action (fun o -> actorNet.forward(norm o)) logStdT obs eps
        let value (obs: Tensor) = target.forward(norm obs)
        actorOpt.zeroGrad()
        let w = Shac.window task cfg.gamma policy value noise steps returns
        let endState = scene.getState()
        let q, v = endState.qpos.detach(), endState.qvel.detach()
        w.actorLoss.backward()
        let gradNorm = NN.clipGradNorm(actorParams, cfg.maxGradNorm)
        actorOpt.step()
        target.zeroGrad()
        scene.reset(qpos = q, qvel = v)
        steps <- w.episodeSteps
        returns <- w.episodeReturns
        // the critic on the window's states and TD(lambda) targets
        let obsAll = Array.concat w.observations
        if cfg.normalizeObservations then obsNorm.update(gs.fromArray(obsAll, shape = [ cfg.horizon * nEnvs; task.observationSize ]))
        let targets = Shac.tdLambdaTargets cfg.gamma cfg.lambda w.rewards w.nextValues w.dones |> Array.concat
        let criticLosses = Shac.fitCritic t.value criticOpt (criticNet.parameters()) cfg.maxGradNorm obsAll targets cfg.criticIterations cfg.criticMinibatches rnd
        // target <- alpha target + (1 - alpha) critic
        Array.iter2 (fun (tp: Tensor) (cp: Tensor) ->
            tp.copy_((tp.detach() * cfg.targetAlpha + cp.detach() * (1.0 - cfg.targetAlpha)).detach()) |> ignore) (target.parameters()) (criticNet.parameters())
        epochCount <- epochCount + 1
        { actorLoss = w.actorLoss.item(); criticLoss = criticLosses[criticLosses.Length - 1]
          meanReward = (w.rewards |> Array.concat |> Array.average); actorGradNorm = gradNorm; criticLosses = criticLosses; finishedReturns = w.finishedReturns }

    /// Trains `epochs` epochs, calling onEpoch (if given) with the epoch's index and numbers; returns all numbers.
    member t.train(epochs: int, ?onEpoch: int -> ShacEpochStats -> unit) =
        if epochs < 0 then raise (GenesisException(sprintf "ShacTrainer.train: epochs must be >= 0, got %d" epochs))
        Array.init epochs (fun i ->
            let s = t.trainEpoch()
            onEpoch |> Option.iter (fun f -> f i s)
            s)
