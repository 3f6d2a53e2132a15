enum Help {
    static let overview = """
    nntrain — train neural networks from one JSON experiment config

    USAGE:
      nntrain run CONFIG [--set key.path=value]... [--out DIR] [--force] [--threads N] [--diagnose] [--quiet | --json]
      nntrain run --resume DIR [--set training.epochs=N] [--force] [--threads N]
      nntrain validate CONFIG [--set key.path=value]...
      nntrain eval RUN_DIR [--data SOURCE] [--threads N] [--json]
      nntrain --version
      nntrain help [COMMAND]

    COMMANDS:
      run        train the experiment a config describes and write runs/<name>/
      validate   check a config without loading data: every problem at once, then the
                 effective config, layer shapes, parameter count and learning-rate preview
      eval       evaluate a finished run's model on its test data or on --data

    EXIT CODES:
      0 done · 1 internal failure · 2 usage or config error · 3 data error
      4 training diverged (NaN/Inf) · 130 / 143 interrupted by SIGINT / SIGTERM

    The README documents every config key with its default and formula.
    """

    static let run = """
    nntrain run — train an experiment

    USAGE:
      nntrain run CONFIG [options]
      nntrain run --resume DIR [--set training.epochs=N] [--force] [--threads N] [--quiet | --json]

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
      --quiet                print nothing but errors
      --json                 print summary.json to stdout when done (progress still on stderr)
      --diagnose             also write layers.csv (per epoch and layer: activation mean/std,
                             dead ReLUs, gradient and weight norms, update/weight ratio)

    FILES WRITTEN (runs/<name>/ or --out):
      config.json  curves.csv  steps.csv  summary.json  model.safetensors  preprocess.safetensors
      checkpoint/checkpoint.safetensors (after every epoch and every training.checkpoint_every_steps)

    EXIT CODES:
      0 done · 1 internal failure · 2 usage or config error · 3 data error
      4 training diverged (NaN/Inf) · 130 / 143 interrupted by SIGINT / SIGTERM
    """

    static let validate = """
    nntrain validate — check a config without loading data

    USAGE:
      nntrain validate CONFIG [--set key.path=value]... [--quiet]

    Reports every problem at once (JSON path, what was expected, what was found, the closest
    valid key for a misspelling) and exits 2; otherwise prints the effective config with every
    default filled in, the layers with their output shapes, the parameter count and the learning
    rate at a few epochs, and exits 0.
    """

    static let eval = """
    nntrain eval — evaluate a trained model

    USAGE:
      nntrain eval RUN_DIR [--data SOURCE] [--threads N] [--json]

    Rebuilds the model of the run in RUN_DIR from its config.json, model.safetensors and
    preprocess.safetensors (the preprocessing fitted on its training split, applied unchanged)
    and prints the loss and accuracy on the config's data.test, or on --data, a data source
    as in the config: --data '{"format": "idx", "images": "t10k-images.gz", "labels": "t10k-labels.gz"}'.
    --json prints {"examples", "loss", "accuracy", "data"}.
    """
}
