"""``keras-seq train``: train the digits, handwriting or words model; write ``model.keras`` and ``metrics.json``.

    keras-seq train digits [--model lenet5|lenet5-modern|rnn] [--epochs N] ...
    keras-seq train handwriting --test-fold K [--epochs N] ...
    keras-seq train words --test-fold K [--epochs N] ...   (keras_seq.training.words_command)

The run folder (``--out``, default ``./keras-seq-out/<task>``) gets
``model.keras`` after every epoch, ``backup/`` (what a rerun with the same
``--out`` continues from) and, at the end, ``metrics.json``. All files are
written atomically; the final ``model.keras`` carries a sha256 digest that
``keras-seq export``, ``demo --model`` and ``verify`` check. The run owns
its folder: a second run into it while the first is alive is refused
(:mod:`keras_seq.training.run_lock`).
"""

import sys

TASKS = ("digits", "handwriting", "words")
LEARNING_RATE = 1e-3  # digits and handwriting; words has its own
DEFAULTS = {  # task: (epochs, batch size)
    "digits": (10, 128),
    "handwriting": (20, 32),
    "words": (30, 32),
}


def add_arguments(parser):
    parser.add_argument("task", choices=TASKS,
                        help="digits (MNIST), handwriting (OCR words, letters cut out) or words "
                             "(the word reader: whole word images, CNN + BiLSTM + CTC)")
    parser.add_argument("--model", default=None,
                        help="digits only: lenet5, lenet5-modern or rnn (default rnn)")
    parser.add_argument("--test-fold", type=int, default=None,
                        help="handwriting and words: the held-out fold 0-9 (required)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="total epochs (default 10 for digits, 20 for handwriting, 30 for words)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="global batch size (default 128 for digits, 32 words for handwriting and words)")
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="Adam step size (default 0.001; 0.003 for words)")
    parser.add_argument("--clipnorm", type=float, default=None,
                        help="digits and handwriting: clip each variable's gradient to this L2 norm")
    parser.add_argument("--global-clipnorm", type=float, default=None,
                        help="clip all gradients together to this L2 norm (Pascanu et al. 2013; "
                             "default 5 for words, none for the others)")
    parser.add_argument("--out", default=None,
                        help="run folder (default ./keras-seq-out/<task>; for words ./keras-seq-out/words-fold<K>)")
    parser.add_argument("--seed", type=int, default=None,
                        help="fix the result on this machine (seeded, deterministic ops)")
    parser.add_argument("--strategy", default="default", choices=("default", "mirrored", "multiworker"),
                        help="digits and handwriting: tf.distribute strategy; multiworker reads "
                             "TF_CONFIG (words trains on one device)")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only N training and N test examples (quick runs; words: N words "
                             "spread over each set)")
    parser.add_argument("--data", default=None, help="folder holding other copies of the data files")


def run(args):
    if args.task == "words":
        from keras_seq.training.words_command import run_words

        return run_words(args, DEFAULTS["words"])
    options = _check(args)
    # The strategy first: MultiWorkerMirroredStrategy must exist before TensorFlow runs anything.
    from keras_seq.training import distribute, run_lock

    strategy = distribute.make_strategy(args.strategy)
    with run_lock.RunLock(distribute.worker_dir(options["out"], strategy)) as lock:
        if lock.took_over:
            print(f"keras-seq train: took over the lock of process {lock.took_over}, which has ended",
                  file=sys.stderr)
        return _train(args, options, strategy)


def _train(args, options, strategy):
    """Train, evaluate and write the run folder; returns the exit status."""
    from keras_seq import atomic_files
    from keras_seq.training import reproducible, tasks, trainer

    if args.seed is not None:
        reproducible.set_seed(args.seed)
    if args.task == "digits":
        (x, y), (x_test, y_test) = tasks.digits_data(args.limit, path=args.data)
        weights, build = None, tasks.digit_model_builder(options["model"])
    else:
        (x, y, weights), (x_test, y_test, mask_test) = tasks.handwriting_data(
            args.test_fold, args.limit, path=args.data)
        from keras_seq.models.handwriting import handwriting as build
    run_description = {"task": args.task, "model": options["model"], "test_fold": args.test_fold,
                       "limit": args.limit, "batch_size": options["batch_size"]}
    data_seed = args.seed if args.seed is not None else (0 if args.strategy == "multiworker" else None)
    try:
        result = trainer.train(
            build, x, y, weights, out_dir=options["out"], epochs=options["epochs"],
            batch_size=options["batch_size"], strategy=strategy,
            learning_rate=LEARNING_RATE if args.learning_rate is None else args.learning_rate,
            clipnorm=args.clipnorm, global_clipnorm=args.global_clipnorm, data_seed=data_seed,
            run=run_description,
        )
    except trainer.NonFiniteLossError as error:
        return stopped(error, "--clipnorm or --global-clipnorm")
    if args.task == "digits":
        metrics = tasks.digits_metrics(result.model, x_test, y_test)
    else:
        metrics = tasks.handwriting_metrics(result.model, x_test, y_test, mask_test)
    metrics.update(run_description, epochs=result.epochs_done, resumed_from_epoch=result.resumed_from,
                   steps=result.steps, seed=args.seed, strategy=args.strategy,
                   replicas=int(strategy.num_replicas_in_sync), history=result.history)
    atomic_files.write_json(metrics, result.folder / "metrics.json")
    shown = {k: v for k, v in metrics.items() if k.endswith("accuracy") or k.endswith("error")}
    print(f"{args.task}: " + ", ".join(f"{k} {v:.4f}" for k, v in shown.items())
          + f"; wrote {result.folder / 'model.keras'} and {result.folder / 'metrics.json'}")
    return 0


def stopped(error, clipping):
    """Report a run stopped by a NaN or infinite loss, with the options that avoid it; the exit status 3."""
    print(f"keras-seq train: stopped: {error}\n"
          f"keras-seq train: rerun with the same --out, a lower --learning-rate or {clipping}, to continue",
          file=sys.stderr)
    return 3


def _check(args):
    """Validate the options that argparse cannot; return the resolved ones."""
    if args.task == "digits":
        if args.test_fold is not None:
            raise ValueError("--test-fold is for the handwriting task only")
        model = args.model or "rnn"
        if model not in ("lenet5", "lenet5-modern", "rnn"):
            raise ValueError(f"--model {model!r} is not allowed; expected lenet5, lenet5-modern or rnn")
    else:
        if args.model is not None:
            raise ValueError("--model is for the digits task only")
        if args.test_fold is None:
            raise ValueError("handwriting needs --test-fold K, the held-out fold 0-9")
        if not 0 <= args.test_fold <= 9:
            raise ValueError(f"--test-fold {args.test_fold} is not allowed; expected a fold 0-9")
        model = "handwriting"
    epochs, batch_size = DEFAULTS[args.task]
    epochs = epochs if args.epochs is None else args.epochs
    batch_size = batch_size if args.batch_size is None else args.batch_size
    for name, value in (("--epochs", epochs), ("--batch-size", batch_size)):
        if value < 1:
            raise ValueError(f"{name} {value} is not allowed; expected an int >= 1")
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit {args.limit} would leave an empty dataset; expected an int >= 1")
    for name, value in (("--learning-rate", args.learning_rate), ("--clipnorm", args.clipnorm),
                        ("--global-clipnorm", args.global_clipnorm)):
        if value is not None and not (value > 0 and value != float("inf")):
            raise ValueError(f"{name} {value} is not allowed; expected a finite number > 0")
    if args.clipnorm is not None and args.global_clipnorm is not None:
        raise ValueError("--clipnorm and --global-clipnorm are both set; choose one")
    if args.seed is not None and not 0 <= args.seed < 2**32:
        raise ValueError(f"--seed {args.seed} is not allowed; expected an int in [0, 2**32 - 1]")
    if args.out is not None and not args.out.strip():
        raise ValueError(f"--out {args.out!r} is not allowed; expected a folder path")
    out = args.out if args.out is not None else f"keras-seq-out/{args.task}"
    return {"model": model, "epochs": epochs, "batch_size": batch_size, "out": out}
