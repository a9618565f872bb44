"""``keras-seq verify FILE``: is this model file intact and safe to load?

Prints one verdict line and exits with

- 0 ``verified``: the sha256 digest the file was written with matches its
  content (and, with ``KERAS_SEQ_SIGNING_KEY`` set, its signature verifies:
  :mod:`keras_seq.model_signature`), the structural checks pass, and it
  loads (and, for ``.tflite``, runs at batch 1 and ``limits.PROBE_BATCH``)
  in a child process;
- 1 ``unverified``: the same checks pass but the file carries no digest
  (written by another tool), so damage cannot be ruled out;
- 2 refused: one line saying why (damaged, corrupt, hostile, not a model).
"""

import pathlib

ZIP_MAGIC = b"PK\x03\x04"


def add_arguments(parser):
    parser.add_argument("file", help="a .tflite or .keras model file")
    from keras_seq.export.infer_command import add_limit_arguments

    parser.add_argument("--no-probe", action="store_true",
                        help="skip loading it in a child process (digest and structure only)")
    add_limit_arguments(parser)


def run(args):
    import os
    import warnings

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from keras_seq import file_reading, model_signature, saving
    from keras_seq.export import validate

    path = pathlib.Path(args.file)
    file_reading.regular_file_size(path, repr(str(path)), error=saving.ModelFileError)  # a directory, a FIFO...
    with open(path, "rb") as stream:
        head = stream.read(8)
    probe = not args.no_probe
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", saving.UnverifiedModelWarning)  # the verdict says it
        if head[:4] == ZIP_MAGIC:
            verified = saving.check_keras_file(path, probe=probe)
            checks = "zip, sizes, CRCs, config" + (", loads in a child process" if probe else "")
        elif head[4:8] == b"TFL3":
            data, _ = validate.open_tflite(path, probe=probe, time_limit=args.time_limit,
                                           memory_limit=args.memory_limit << 20)
            verified = bool(validate.integrity.verify(data))
            checks = "structure, buffers, outputs" + (
                f", runs at batch 1 and {validate.limits.PROBE_BATCH} on zeros, ones and random data in a child "
                "process" if probe else "")
        else:
            raise saving.ModelFileError(f"{str(path)!r} is neither a .tflite nor a .keras model file")
    if verified:
        signed = "; HMAC signature verifies" if model_signature.signing_key() is not None else ""  # else refused
        print(f"{path}: verified: sha256 digest matches{signed}; {checks}: ok")
        return 0
    print(f"{path}: unverified: no digest (written by another tool), damage cannot be ruled out; {checks}: ok")
    return 1
