enum Help {
    /// The commands `nntrain help COMMAND` knows.
    static let commands = ["run", "validate", "eval", "predict", "average", "export", "diagnose", "sweep", "bench", "lr-find", "report"]

    /// The help of `command`, nil for an unknown one.
    static func command(_ command: String) -> String? {
        switch command {
        case "run": return run
        case "validate": return validate
        case "eval": return eval
        case "predict": return predict
        case "average": return average
        case "export": return export
        case "diagnose": return diagnose
        case "sweep": return sweep
        case "bench": return bench
        case "lr-find": return lrFind
        case "report": return report
        default: return nil
        }
    }

    static let overview = """
    nntrain — train neural networks from one JSON experiment config

    USAGE:
      nntrain run CONFIG [--set key.path=value]... [--params-json FILE] [--out DIR] [--force] [--threads N] [--diagnose] [--tensorboard] [--metric NAME[:GOAL]] [--result-json FILE] [--quiet | --json]
      nntrain run --resume DIR [--set training.epochs=N] [--force] [--threads N] [--tensorboard] [--quiet | --json]
      nntrain validate CONFIG [--set key.path=value]... [--quiet]
      nntrain eval RUN_DIR... [--data SOURCE] [--top-k K] [--out DIR] [--threads N] [--json]
      nntrain predict RUN_DIR... [--data SOURCE] [--out FILE] [--top-k K] [--probabilities] [--combine mean|geometric] [--tta flip] [--snapshots all|last:K|best:K] [--threads N] [--json]
      nntrain average RUN_DIR [--snapshots all|last:K|best:K] [--out DIR] [--force] [--threads N] [--json]
      nntrain export RUN_DIR --format onnx [--out FILE] [--probabilities]
      nntrain export RUN_DIR --format torch [--out DIR]
      nntrain diagnose RUN_DIR [--json]
      nntrain report RUN_DIR... | SWEEP_DIR [--out FILE]
      nntrain sweep SWEEP.json | CONFIG --param key.path=DIST... [--trials N] [--jobs N] [--out DIR] [--json]
      nntrain sweep plan | trial | collect ...        (the steps of a sweep, for job arrays)
      nntrain bench CONFIG [--set key.path=value]... [--threads N] [--steps N] [--verbose] [--json]
      nntrain lr-find CONFIG [--set key.path=value]... [--min LR] [--max LR] [--steps N] [--out DIR] [--force] [--threads N] [--quiet | --json]
      nntrain --version
      nntrain help [run | validate | eval | predict | average | export | diagnose | report | sweep | bench | lr-find]

    COMMANDS:
      run        train the experiment a config describes and write runs/<name>/
      validate   check a config without loading data: every problem at once, then the
                 effective config, layer shapes, parameter count and learning-rate preview
      eval       evaluate finished runs (an ensemble when several) on their test data or on
                 --data: loss, accuracy, per-class precision/recall/F1, confusion matrix
      predict    the predictions of a run, or of several runs as an ensemble, on data with or
                 without labels: one CSV row per example (class, probability, top k)
      average    average a run's snapshots into a new run directory (SWA), batch norm
                 statistics recomputed
      export     a finished run as an ONNX model (opset 17) or PyTorch source (model.py): its
                 preprocessing and every layer, from the stored values (uint8 pixels, CSV
                 floats) to the logits
      diagnose   read a run's curves: lr too high or low, overfitting, noise, dead or
                 saturated units, vanishing activations (also printed after every run)
      report     one self-contained HTML page of one or more runs: curves, steps, layers,
                 diagnosis, config (several runs: overlaid, with the config keys that differ),
                 or of a sweep: leaderboard, metric per parameter, top trials, rungs
      bench      time one training step of a config by phase, and its GEMM-bound limit
      lr-find    learning-rate range test: train while raising the lr exponentially, write
                 runs/<name>-lr-find/ (lr_find.csv, lr_find.svg) and suggest an lr
      sweep      hyperparameter search (random log-scale, grid, successive halving) into
                 sweeps/<name>/: trials.csv, best.json and one run directory per trial

    EXIT CODES:
      0 done · 1 internal failure · 2 usage or config error · 3 data error
      4 training diverged (NaN/Inf) · 130 / 143 interrupted by SIGINT / SIGTERM

    The README documents every config key with its default and formula.
    """

    static let run = """
    nntrain run — train an experiment

    USAGE:
      nntrain run CONFIG [options]
      nntrain run --resume DIR [--set training.epochs=N] [--force] [--threads N] [--tensorboard] [--quiet | --json]

    OPTIONS:
      --set key.path=value   override a config value (repeatable); lists by index:
                             --set model.layers.1.units=256 --set optimizer.lr=3e-4
                             The value is parsed as JSON, falling back to a string.
      --out DIR              write the run here instead of runs/<name>/
      --force                replace an existing run directory; with --resume, resume even
                             though the config changed
      --resume DIR           continue the run in DIR from its checkpoint and its own config.json
                             (only training.epochs may change; it keeps the run's thread count)
      --threads N            BLAS threads (default: config "threads", NNTRAIN_THREADS, or all cores)
      --params-json FILE     config values from a JSON object, applied before --set: flat
                             {"optimizer.lr": 0.01}, nested {"optimizer": {"lr": 0.01}} (merged
                             key by key, as --set would) or W&B's {"optimizer.lr": {"value": 0.01}}
      --quiet                print no progress and no diagnosis: only warnings and errors
      --json                 print summary.json to stdout when done (progress still on stderr);
                             a failed run prints {"status", "exit_code", "message", "summary"}
      --diagnose             also write layers.csv (per epoch and layer: activation mean/std,
                             dead ReLUs, saturated sigmoid/tanh units, gradient and weight
                             norms, update/weight ratio)
      --tensorboard          also write TensorBoard's event file (events.out.tfevents.*: the
                             steps.csv and curves.csv figures); --set output.tensorboard=true
      --metric NAME[:GOAL]   print only the best value of a curves.csv column (val_loss,
                             val_accuracy, loss, accuracy) over the epochs, for $(...) in a script;
                             GOAL minimize|maximize (default: maximize for accuracy)
      --result-json FILE     write {"metric", "goal", "value", "best_epoch", "status", "message",
                             "run_dir", "summary"}, also when the run fails (value null)

    Options other tools take for config values are --set paths here:
      --epochs 2 → --set training.epochs=2   --lr 0.01 → --set optimizer.lr=0.01
      --batch-size 32 → --set training.batch_size=32

    FILES WRITTEN (runs/<name>/ or --out):
      config.json  curves.csv  steps.csv  summary.json  model.safetensors  preprocess.safetensors
      checkpoint/checkpoint.safetensors (after every epoch and every training.checkpoint_every_steps)
      events.out.tfevents.<unix seconds>.<host> (with --tensorboard)

    EXIT CODES:
      0 done · 1 internal failure · 2 usage or config error · 3 data error
      4 training diverged (NaN/Inf) · 130 / 143 interrupted by SIGINT / SIGTERM
    """

    static let validate = """
    nntrain validate — check a config (or a sweep file) without loading data

    USAGE:
      nntrain validate CONFIG [--set key.path=value]... [--quiet]
      nntrain validate SWEEP.json [--quiet]

    Reports every problem at once (JSON path, what was expected, what was found, the closest
    valid key for a misspelling) and exits 2; otherwise prints the effective config with every
    default filled in, the layers with their output shapes, the parameter count and the learning
    rate at a few epochs, and exits 0. Warnings (a symmetric initialisation, two layers with no
    nonlinearity between them, an activation before cross_entropy, a missing data file) go to
    stderr either way.

    OPTIONS:
      --set key.path=value   override a config value (repeatable), as for run
      --quiet                print only the problems and warnings, not the effective config
    """

    static let diagnose = """
    nntrain diagnose — read a run's curves

    USAGE:
      nntrain diagnose RUN_DIR [--json]

    Applies the rules of the README's "Diagnosis" to the run's curves.csv, steps.csv and (from
    a run with diagnostics on) layers.csv, and prints one line per finding: its code and the
    advice, or `healthy`. The codes: lr_too_high, lr_too_low, overfitting, underfitting,
    noisy_batch_too_small, dead_relu, saturation, vanishing_activations, exploding_activations.
    `nntrain run` writes the same findings into summary.json's "diagnosis" and prints them.

    OPTIONS:
      --json                 print {"run_dir", "diagnosis": [{"code", "message", "evidence"}, ...]}

    EXIT CODES:
      0 diagnosed (whatever was found) · 2 usage, or RUN_DIR holds no run · 3 a file of the
      run does not read (not a CSV nntrain wrote, a broken summary.json)
    """

    static let report = """
    nntrain report — an HTML page of one or more runs, or of a sweep

    USAGE:
      nntrain report RUN_DIR... [--out FILE]
      nntrain report SWEEP_DIR [--out FILE]

    Writes one self-contained HTML file (inline SVG and CSS, no scripts, nothing fetched): per
    run the loss, val_loss, accuracy, val_accuracy and lr per epoch, the per-step loss with its
    smoothed trend and grad_norm (steps.csv), the layer statistics of layers.csv (from a run
    with --diagnose), the diagnosis with its evidence marked on the plots, the resolved
    config.json and summary.json. Several runs: their curves overlaid, and a table of the
    config keys (dotted paths) whose values differ.

    A sweep directory (one with plan.json; given alone): the leaderboard (as `sweep collect`,
    then the trials not completed), the metric against each searched parameter (log axis for
    log distributions, the search range with its outer tenths shaded, and with a boundary
    warning the widened range it suggests drawn red as not searched; the best trial marked,
    halving: a colour per rung), the curves of
    the 5 best trials overlaid, and for halving each rung's budget, trials and promotions and
    each trial's metric across its rungs. The sweep is only read; it may still be running.

    OPTIONS:
      --out FILE, -o FILE    where to write the page; default DIR/report.html for one run or
                             a sweep, required for several runs

    EXIT CODES:
      0 written · 1 the page cannot be written · 2 usage, a directory that holds no run, a
      sweep directory given with others, a plan.json that does not load · 3 a file of a run
      does not read (not a CSV nntrain wrote, broken JSON)
    """

    static let sweep = """
    nntrain sweep — hyperparameter search

    USAGE:
      nntrain sweep SWEEP.json [options]            a sweep file (W&B vocabulary, see README)
      nntrain sweep CONFIG.json --param key.path=DIST... [--trials N] [options]
      nntrain sweep DIR [options]                   continue the sweep in DIR
      nntrain sweep plan SWEEP.json [--param ...] --out DIR
      nntrain sweep trial DIR --index I [--threads N] [--retry-failed]
      nntrain sweep collect DIR [--json]

    DIST (--param):
      log:MIN:MAX       log_uniform_values, e.g. optimizer.lr=log:1e-6:1 (10^uniform(-6, 0))
      uniform:MIN:MAX   int:MIN:MAX (inclusive)   q:MIN:MAX:Q   qlog:MIN:MAX:Q
      normal:MU:SIGMA   lognormal:MU:SIGMA        A,B,C (values)   X (one value)
      '{"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1}' (a W&B spec)

    OPTIONS:
      --trials N          number of trials (run_cap; default 20, grid: every point)
      --method M          random (default), grid, halving
      --metric NAME[:GOAL]  val_loss (default with validation data), val_accuracy, loss,
                          accuracy; GOAL minimize|maximize (default: maximize for accuracy)
      --seed N            sweep seed: trial i's values and seed depend on (seed, i) only
      --repeats R         train each configuration R times with different seeds, ranked by
                          the mean of the metric (default 1; trials.csv + configs.csv)
      --name NAME         sweep name (directory sweeps/NAME)
      --min-epochs N --max-epochs N --eta N   successive halving's rungs (default 1, 9, 3)
      --jobs N            trials at once, each in its own process (default: the file's jobs, 1)
      --threads N         BLAS threads per trial (default: cores / jobs)
      --out DIR           sweep directory (default sweeps/<name>)
      --retry-failed      run failed trials again with the same values
      --worker            pull trials until none is left to take, then exit (for several
                          processes or machines sharing DIR); no waiting for others' trials
      --stale-after S     a claim from another host with no heartbeat for S seconds is
                          taken over (default 300; on this host a dead pid is enough)
      --json              print the leaderboard as JSON on stdout
      --quiet             print nothing but errors

    FILES (sweeps/<name>/ or --out):
      plan.json    the trials (values, seeds), the sweep and the base config
      ledger/      append-only claims and results (safe to share over NFS)
      trials/NNNN/ each trial's run directory (curves.csv, summary.json, checkpoint/, log.txt)
      trials.csv   trial,status,[rung,]<parameters>,<metric>,best_epoch,epochs_run,seconds,run_dir,reason
      best.json    the best trial's resolved config: nntrain run sweeps/<name>/best.json
      configs.csv  (repeats > 1) one row per configuration: the metric's mean, std, min, max

    Re-running the same command continues an interrupted sweep: finished trials are kept,
    interrupted ones resume from their checkpoints, nothing is sampled twice.

    EXIT CODES:
      0 done (at least one trial completed) · 2 usage or sweep/config error · 3, 4 or 1 when
      every trial failed (data error, diverged, other) · 130 / 143 interrupted
    """

    static let bench = """
    nntrain bench — time a config's training step and its GEMM-bound limit

    USAGE:
      nntrain bench CONFIG [--set key.path=value]... [--threads N] [--steps N] [--verbose] [--json]

    Builds the config's model and optimizer (no data is read: random inputs of the config's
    batch size), runs --steps training steps (default 50) after 5 warm-up steps, and prints the
    median time of each phase (forward, loss, backward, optimizer). After each timed step it
    replays the step's matrix products alone, on the step's own matrices: their median time is
    the GEMM-bound limit, the speed the step would have if everything but its GEMMs were free
    (an untimed step comes between a replay and the next timed step); --verbose also lists each
    product with its shape and time on its own. --json prints the figures as one JSON object.
    """

    static let lrFind = """
    nntrain lr-find — learning-rate range test (Smith; Lightning's Tuner.lr_find)

    USAGE:
      nntrain lr-find CONFIG [--set key.path=value]... [--min LR] [--max LR] [--steps N] [--out DIR] [--force] [--threads N] [--quiet | --json]

    Trains from the config's initial weights (its seed, data pipeline and optimizer; no
    schedule) while raising the lr exponentially, lr_i = min·(max/min)^(i/(steps−1)), batches
    cycling through the epochs if needed. It records each step's loss and its smoothed value
    (β = 0.98, bias-corrected) and stops once the smoothed loss exceeds 4× its best or the loss
    is NaN/Inf: the loss diverged, the normal end of a range test. The suggested lr is where the
    smoothed loss falls fastest against log lr (skipping the first 10 and the last point).

    OPTIONS:
      --set key.path=value   override a config value (repeatable)
      --min LR               the first lr (default 1e-7)
      --max LR               the last lr (default 10)
      --steps N              steps from --min to --max (default 100)
      --out DIR              output directory (default runs/<name>-lr-find, or output.dir + -lr-find)
      --force                write into DIR even if it holds an earlier range test or a run
      --threads N            BLAS threads
      --quiet                print only the suggested lr
      --json                 print {"suggested_lr", "min_loss_lr", "steps", "diverged_at_step", "csv", "svg"}
                             (steps: the steps run; diverged_at_step: null when all ran)

    FILES (DIR): lr_find.csv (step,lr,loss,smoothed_loss) and lr_find.svg (smoothed loss against
    lr on a log axis, the suggestion marked; after a blow-up, a second chart zoomed to the loss
    up to 1.2× its start).

    EXIT CODES:
      0 done, diverged or not · 2 usage or config error · 3 data error · 130 / 143 interrupted
    """
}
