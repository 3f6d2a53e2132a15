// The help of the commands that use a trained run: eval, predict, average, export.

extension Help {
    static let eval = """
    nntrain eval — evaluate trained models

    USAGE:
      nntrain eval RUN_DIR... [--data SOURCE] [--top-k K] [--out DIR] [--threads N] [--json]

    Rebuilds the model of the run in RUN_DIR from its config.json, model.safetensors and
    preprocess.safetensors (the preprocessing fitted on its training split, applied unchanged)
    and prints the loss and accuracy on the config's data.test, or on --data, a data source
    as in the config: --data '{"format": "idx", "images": "t10k-images.gz", "labels": "t10k-labels.gz"}'.
    A classifier adds per-class precision, recall and F1 with their macro and weighted means,
    top-1 and top-K accuracy (default K 5) and the confusion matrix (rows the true class,
    columns the predicted). Several RUN_DIRs are evaluated on the first one's data, each and
    as an ensemble (the mean of their probabilities); the table shown is the ensemble's.
    --json prints {"examples", "loss", "accuracy", "data", "seconds", "samples_per_second",
    "classes", "top_k", "macro", "weighted", "per_class", "confusion_matrix"} (several runs:
    {"data", "examples", "runs": [...], "ensemble": {...}}); seconds: the evaluation loop alone,
    in batches of training.eval_batch_size.

    OPTIONS:
      --top-k K      the k of top-k accuracy (default 5; top-1 always)
      --out DIR      write metrics.json, confusion.csv and per_class.csv into DIR
      --threads N    BLAS threads (default: the run's training.threads)
      --json         print the figures as JSON

    EXIT CODES:
      0 evaluated · 1 --out cannot be written · 2 usage, runs that cannot form an ensemble,
      data without labels · 3 a file does not read · 4 the loss is not finite
    """

    static let predict = """
    nntrain predict — predictions of a trained run or an ensemble of runs

    USAGE:
      nntrain predict RUN_DIR... [--data SOURCE] [--out FILE] [--top-k K] [--probabilities]
                      [--combine mean|geometric] [--tta flip] [--snapshots S] [--threads N] [--json | --quiet]

    Rebuilds each run's model (config.json, model.safetensors, preprocess.safetensors) and
    predicts every example of SOURCE, labels optional. A classifier trained with cross_entropy
    gives softmax probabilities; several RUN_DIRs form an ensemble (same input shape, task,
    classes and loss, else exit 2): mean of the probabilities, or with --combine geometric
    their renormalised geometric mean. With labels, the accuracy (and loss, top-k accuracy) of
    each run and of the ensemble. `predict sweeps/NAME/trials/*` ensembles a sweep's trials
    (a sweep over `seed`: a seed ensemble).

    SOURCE: a JSON data source ('{"format": "idx", "images": "…"}': labels optional; CSV:
    "label_column": null for none), or a file: ….csv (a label column when it has one more
    column than the model's inputs), …idx3-ubyte[.gz] (images, no labels), ….bin (CIFAR-10).
    Default: the first run's data.test.

    OUTPUT (--out FILE, else stdout): index,predicted,probability, then top2,top2_probability …
    up to --top-k, then p0…p{K-1} with --probabilities, then label when the data has labels.
    Regression: index,output0…[,target0…].

    OPTIONS:
      --top-k K            classes listed per example (default 1)
      --probabilities      add every class's probability
      --combine M          mean (default) or geometric
      --tta flip           average each model over the image and its horizontal mirror
      --snapshots S        ensemble each run's snapshots (training.snapshots) instead of its
                           final weights: all, last:K or best:K
      --threads N          BLAS threads (default: the run's training.threads)
      --json               print the figures as JSON (needs --out)
      --quiet              print nothing but errors

    EXIT CODES:
      0 written · 1 cannot write · 2 usage, runs that cannot form an ensemble, data that does
      not fit · 3 a run's file or the data does not read
    """

    static let average = """
    nntrain average — stochastic weight averaging of a run's snapshots

    USAGE:
      nntrain average RUN_DIR [--snapshots all|last:K|best:K] [--out DIR] [--force] [--threads N] [--json | --quiet]

    Averages every weight and buffer of the snapshots the run kept (training.snapshots) that
    --snapshots selects (default all), recomputes batch norm's running statistics with one pass
    over the run's training split (as torch.optim.swa_utils.update_bn), evaluates the result on
    the run's data.test, and writes DIR (default RUN_DIR-swa): config.json and
    preprocess.safetensors of the run, the averaged model.safetensors and summary.json
    (averaged_from, snapshots, epochs, batch_norm_recomputed, test_loss, test_accuracy). DIR is
    a run directory for eval, predict and report's config.

    OPTIONS:
      --snapshots S   all (default), last:K or best:K
      --out DIR       where to write (default RUN_DIR-swa); --force replaces a run there
      --threads N     BLAS threads (default: the run's training.threads)
      --json          print summary.json

    EXIT CODES:
      0 written · 1 DIR cannot be written · 2 usage, no snapshots, DIR holds a run · 3 a file
      does not read
    """

    static let export = """
    nntrain export — a finished run as an ONNX model or as PyTorch source

    USAGE:
      nntrain export RUN_DIR --format onnx [--out FILE] [--probabilities]
      nntrain export RUN_DIR --format torch [--out DIR]

    Reads the run (config.json, model.safetensors, preprocess.safetensors) and writes its whole
    inference path, from the values as the data stores them — uint8 [N, C, H, W] for IDX and
    CIFAR-10 runs (0–255), float32 [N, F] for CSV runs — to the logits [N, K]: the
    stored-value scale (1/255 for pixels) and the fitted preprocessing (scale and shift per
    feature, the PCA/ZCA projection), then every layer in evaluation mode (dropout the
    identity, batch norm's running statistics, weight norm as g·v/‖v‖).

    onnx: one ONNX model (IR version 8, opset 17, written atomically), input "input" with a
    symbolic batch N, output "logits" float32 [N, K]; the README's "Export" lists each layer's op.
    torch: DIR/model.py, plain PyTorch: class Model(torch.nn.Module), whose state_dict() names
    are model.safetensors' (load_state_dict strict=True), the preprocessing as buffers outside
    state_dict(), and load(run_dir), which loads both files and returns the model in eval mode:
      from model import load; m = load("runs/quickstart"); logits = m(x)

    OPTIONS:
      --format onnx|torch  the format (required)
      --out FILE           onnx: where to write (default RUN_DIR/model.onnx)
      --out DIR            torch: the folder of model.py (default RUN_DIR; made when missing)
      --probabilities      onnx: end with Softmax: output "probabilities" (cross_entropy
                           classifiers); with torch, apply torch.softmax(logits, -1)
      --quiet              print nothing but errors

    EXIT CODES:
      0 written · 1 cannot write · 2 usage, an unknown format, a layer with no ONNX (PyTorch)
      form, --probabilities without softmax or with torch · 3 a run's file does not read
    """
}
