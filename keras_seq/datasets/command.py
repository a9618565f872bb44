"""``keras-seq data``: what is bundled (counts, shapes, folds)."""


def add_arguments(parser):
    parser.add_argument("--path", help="folder holding other copies of the data files")


def run(args):
    import numpy as np

    from keras_seq.datasets import bundled, mnist, ocr_words

    (x_train, y_train), (x_test, y_test) = mnist.load_data(path=args.path)
    print(f"mnist.npz  ({bundled.resolve(mnist.FILE, args.path)})")
    print(f"  train: x {x_train.shape} {x_train.dtype}, y {y_train.shape}; "
          f"per digit {np.bincount(y_train, minlength=10).tolist()}")
    print(f"  test:  x {x_test.shape} {x_test.dtype}, y {y_test.shape}; "
          f"per digit {np.bincount(y_test, minlength=10).tolist()}")
    words = ocr_words.load_words(path=args.path)
    lengths = words.lengths
    print(f"ocr_words.npz  ({bundled.resolve(ocr_words.FILE, args.path)})")
    print(f"  {len(words)} words, {lengths.sum()} letters of {ocr_words.IMAGE_SHAPE} pixels, "
          f"{ocr_words.NUM_CLASSES} classes, lengths {lengths.min()}-{lengths.max()}")
    per_fold = np.bincount(words.folds, minlength=ocr_words.NUM_FOLDS)
    print(f"  words per fold 0-9: {per_fold.tolist()}")
    return 0
