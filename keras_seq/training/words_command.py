"""``keras-seq train words --test-fold K``: train the word reader, write ``model.keras`` and ``metrics.json``.

The run folder (``--out``, default ``./keras-seq-out/words-fold<K>``) gets
``model.keras`` (the reader at a fixed width of ``MAX_WIDTH`` columns, ready
for ``keras-seq export``) and ``backup/`` after every epoch, so rerunning the
same command after a kill continues from the last finished epoch; at the end
``metrics.json`` holds CER and word accuracy (greedy and beam decoding) on the
held-out fold's real word strips and on synthetic strings of its letters.
"""

import pathlib

GLOBAL_CLIPNORM = 5.0
LEARNING_RATE = 3e-3


def _check(args, defaults):
    from keras_seq import arguments

    if args.model is not None:
        raise ValueError("--model is for the digits task only")
    if args.test_fold is None:
        raise ValueError("words needs --test-fold K, the held-out fold 0-9")
    arguments.integer(args.test_fold, "--test-fold", minimum=0, maximum=9)
    if args.clipnorm is not None:
        raise ValueError("--clipnorm is not used by words (it clips globally); give --global-clipnorm")
    if args.strategy != "default":
        raise ValueError(f"--strategy {args.strategy} is not available for words; it trains on one device")
    epochs = defaults[0] if args.epochs is None else arguments.positive_int(args.epochs, "--epochs")
    batch_size = defaults[1] if args.batch_size is None else arguments.positive_int(args.batch_size, "--batch-size")
    learning_rate = LEARNING_RATE if args.learning_rate is None else arguments.positive_real(
        args.learning_rate, "--learning-rate")
    clipnorm = GLOBAL_CLIPNORM if args.global_clipnorm is None else arguments.positive_real(
        args.global_clipnorm, "--global-clipnorm")
    arguments.positive_int(args.limit, "--limit", allow_none=True)
    if args.seed is not None:
        arguments.integer(args.seed, "--seed", minimum=0, maximum=2**32 - 1)
    out = args.out if args.out is not None else f"keras-seq-out/words-fold{args.test_fold}"
    return epochs, batch_size, learning_rate, clipnorm, out


def run_words(args, defaults):
    """Run ``keras-seq train words`` from parsed ``args``; ``defaults`` is (epochs, batch size)."""
    epochs, batch_size, learning_rate, clipnorm, out = _check(args, defaults)
    from keras_seq import atomic_files
    from keras_seq.training import reproducible, trainer, words
    from keras_seq.training.command import stopped

    if args.seed is not None:
        reproducible.set_seed(args.seed)
    print(f"words: preparing fold {args.test_fold} (held-out real strips and synthetic strings)", flush=True)
    data = words.words_data(args.test_fold, args.limit, path=args.data)
    run_description = {"task": "words", "test_fold": args.test_fold, "limit": args.limit,
                       "batch_size": batch_size, "seed": args.seed}
    try:
        model, history, resumed_from = words.train_words(
            data, out_dir=out, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
            global_clipnorm=clipnorm, seed=args.seed or 0, run=run_description)
    except trainer.NonFiniteLossError as error:
        return stopped(error, "a lower --global-clipnorm")
    metrics = words.words_metrics(model, data)
    metrics.update(run_description, epochs=max(epochs, resumed_from), resumed_from_epoch=resumed_from,
                   global_clipnorm=clipnorm, learning_rate=learning_rate,
                   training_words=len(data.train), history=history)
    folder = pathlib.Path(out)
    atomic_files.write_json(metrics, folder / "metrics.json")
    print("words: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()
                                if k.endswith("_cer") or k.endswith("word_accuracy"))
          + f"; wrote {folder / 'model.keras'} and {folder / 'metrics.json'}")
    return 0
