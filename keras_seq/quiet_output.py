"""Keep TensorFlow's native log lines off the terminal, and our own output on it.

TensorFlow, XLA, LiteRT and the TFLite converter log from C++ straight to the
process's file descriptors 1 and 2: oneDNN and CUDA probing at import
(``Could not find cuda drivers``, ``E0000 ... failed call to cuInit``, which
a newcomer reads as a failure), the converter's settings
(``fully_quantize: 0, inference_type: 6 ...``), the XNNPACK delegate. Lines
logged before ``absl::InitializeLog()`` ignore ``TF_CPP_MIN_LOG_LEVEL``, so
an environment variable alone cannot hide them.

:func:`quiet_native_output` therefore works one level down:

1. it sets ``TF_CPP_MIN_LOG_LEVEL=2`` (unless the user set it), which hides
   what can be hidden before TensorFlow loads;
2. it points descriptors 1 and 2 at an unnamed temporary file, so whatever
   native code (and any child process) writes there lands in that file;
3. it gives Python's ``sys.stdout`` and ``sys.stderr`` duplicates of the
   original descriptors, so ``print``, ``warnings``, progress bars and
   tracebacks of ours still reach the terminal (or whatever the caller
   redirected them to);
4. when the block ends with an exception it replays the captured native log
   on stderr, so a failure inside TensorFlow is not hidden.

Where ``sys.stdout``/``sys.stderr`` are not the process's descriptors 1 and
2 (a test's captured streams, a notebook), they are left as they are.

Example:
    >>> with quiet_native_output(verbose=args.verbose):
    ...     return command.run(args)
"""

import contextlib
import io
import os
import sys
import tempfile

NATIVE_LOG_LEVEL = "2"  # TF_CPP_MIN_LOG_LEVEL: 0 all, 1 no INFO, 2 no WARNING, 3 no ERROR
VERBOSE_HELP = "show TensorFlow's native log lines (start-up, converter), hidden by default"
REPLAY_HEADER = "--- TensorFlow's native log (hidden unless --verbose) ---\n"


@contextlib.contextmanager
def quiet_native_output(verbose=False):
    """Within the block, native writes to descriptors 1 and 2 are kept back; ours are not.

    Args:
        verbose: leave everything as it is (the ``--verbose`` flag).

    Nested uses and repeated calls are safe: the descriptors and streams are
    restored on the way out, also on an exception.
    """
    if verbose:
        yield
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", NATIVE_LOG_LEVEL)
    with tempfile.TemporaryFile() as native_log:
        with _redirected_descriptors(native_log.fileno()):
            try:
                yield
            except BaseException as error:
                if not _is_clean_exit(error):
                    _replay(native_log)
                raise


def quiet_unless_verbose_in(argv=None):
    """:func:`quiet_native_output` for a command line (default ``sys.argv[1:]``) that may hold ``--verbose``.

    For entry points whose parser is built further down; the parser must
    accept ``--verbose`` too.
    """
    argv = sys.argv[1:] if argv is None else argv
    return quiet_native_output(verbose="--verbose" in argv)


def _is_clean_exit(error):
    return isinstance(error, KeyboardInterrupt) or (
        isinstance(error, SystemExit) and error.code in (None, 0)
    )


@contextlib.contextmanager
def _redirected_descriptors(target):
    """Point descriptors 1 and 2 at ``target``; Python's own streams keep the originals."""
    for stream in (sys.stdout, sys.stderr):
        _flush(stream)
    streams = {"stdout": _stream_on(sys.stdout, 1), "stderr": _stream_on(sys.stderr, 2)}
    originals = {name: getattr(sys, name) for name in streams}
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    try:
        for fd in (1, 2):
            os.dup2(target, fd)
        for name, stream in streams.items():
            if stream is not None:
                setattr(sys, name, stream)
        yield
    finally:
        for name, stream in streams.items():
            if stream is not None:
                _flush(stream)
                setattr(sys, name, originals[name])
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)


def _stream_on(stream, fd):
    """A text stream like ``stream`` on a duplicate of ``fd``; None when ``stream`` does not write to ``fd``.

    The stream is left open afterwards (it closes when the last reference
    goes): a logging handler made inside the block keeps writing where the
    user sees it, not into a closed file.
    """
    try:
        if stream is None or stream.fileno() != fd:
            return None
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None
    return open(os.dup(fd), "w", buffering=1, encoding=stream.encoding, errors=stream.errors)


def _replay(native_log):
    native_log.flush()
    native_log.seek(0)
    text = native_log.read().decode("utf-8", errors="replace")
    if text.strip():
        sys.stderr.write(REPLAY_HEADER + text + ("" if text.endswith("\n") else "\n"))
        _flush(sys.stderr)


def _flush(stream):
    with contextlib.suppress(AttributeError, OSError, ValueError):
        stream.flush()
