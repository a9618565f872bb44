"""One child process for all that runs a model file's graph: the load-time probe and every run.

LiteRT runs a file's graph natively, where a WHILE loop that never ends, a
TILE that fills gigabytes or a kernel that follows a hostile offset cannot
be stopped or caught by the process running it. A :class:`Sandbox` runs it
in a child process forked from a clean fork server (multiprocessing's
forkserver, which has imported only numpy, LiteRT and this package's export
runners, so a fork takes milliseconds), and the caller bounds every call:

- time: a call answers within ``time_limit`` seconds;
- memory: while a call runs, the caller reads the child's resident memory
  every ``limits.POLL_SECONDS`` and it must stay under ``memory_limit``
  bytes; the child's address space is capped too
  (:func:`keras_seq.export.limits.address_space_cap`), so an allocation
  faster than the polling still ends;
- Ctrl-C: the caller waits in ``select``, which SIGINT interrupts at once;
  the child ignores SIGINT and is killed.

A child that overruns is killed and the call raises :class:`RunLimitError`,
which names the limit and how to raise it; one that crashes raises
:class:`~keras_seq.export.errors.ModelFileError`. An exception the served
object raises in the child (a kernel's ``RuntimeError``) is raised again in
the caller. After a kill the next :meth:`Sandbox.start` forks a fresh child.
"""

import multiprocessing
import os
import pickle
import signal
import sys
import time
import types

from keras_seq.export import limits
from keras_seq.export.errors import ModelFileError
from keras_seq.saving import limit_child_memory

_forkserver = None

RAISE_TIME = "time_limit=SECONDS (EdgeModel, check_tflite), --time-limit SECONDS (keras-seq infer, verify)"
RAISE_MEMORY = "memory_limit=BYTES (EdgeModel, check_tflite), --memory-limit MIB (keras-seq infer, verify)"


class RunLimitError(ModelFileError):
    """Running a model file went past its time or memory limit, and was stopped."""


def _context():
    global _forkserver
    if _forkserver is None:
        _forkserver = multiprocessing.get_context("forkserver")
        _forkserver.set_forkserver_preload(["numpy", "ai_edge_litert.interpreter", "keras_seq.export.runners"])
    return _forkserver


def _resident_bytes(pid):
    """The resident memory of process ``pid`` (Linux ``/proc``), or ``None`` where it cannot be read."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as stream:
            return int(stream.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _picklable(error):
    try:
        pickle.dumps(error)
        return error
    except Exception:  # an exception type that does not pickle: keep its text
        return RuntimeError(f"{type(error).__name__}: {error}")


def _serve(connection, address_space):
    """The child: build the served object, then answer ``(method, args)`` requests until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's to handle: it kills this process
    quiet = os.open(os.devnull, os.O_WRONLY)  # the runtime's own log lines stay off the terminal
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    failure = None
    try:
        limit_child_memory(address_space)
    except Exception as error:  # OSError, ValueError, OverflowError: the answer to every request, in one line
        failure = RuntimeError(f"could not cap the process's address space: {error}")
    served = None
    while True:
        try:
            method, args = connection.recv()
        except EOFError:
            return
        except Exception as error:  # a request that does not unpickle here (a class of the caller's __main__)
            connection.send(("error", RuntimeError(f"the child process cannot read the request: {error}")))
            continue
        try:
            if failure is not None:
                raise failure
            if method is None:  # build: args = (factory, factory_args, attributes)
                factory, factory_args, attributes = args
                served = factory(*factory_args)
                result = {name: getattr(served, name) for name in attributes}
            else:
                result = getattr(served, method)(*args)
            answer = ("ok", result)
        except BaseException as error:  # every failure goes back to the caller, which decides
            answer = ("error", _picklable(error))
        try:
            connection.send(answer)
        except Exception as error:  # a result that does not pickle
            connection.send(("error", RuntimeError(f"the child process cannot send its answer: {error}")))


class Sandbox:
    """A child process that holds one object (a runner) and runs its methods under the caller's bounds.

    Args:
        what: how messages name the model (``"TFLite model 'x.tflite'"``).
        time_limit: seconds each call may take.
        memory_limit: resident bytes the child may use.
    """

    def __init__(self, what, time_limit=limits.RUN_TIME_LIMIT, memory_limit=limits.RUN_MEMORY_LIMIT):
        self.what = what
        self.time_limit = limits.time_limit(time_limit)
        self.memory_limit = limits.memory_limit(memory_limit)
        self._process = None
        self._connection = None
        self._inherited_cap = None

    @property
    def alive(self):
        return self._process is not None

    def start(self, factory, args=(), attributes=()):
        """Fork a child and build ``factory(*args)`` in it; returns ``{name: its attribute}`` for ``attributes``."""
        self.close()
        context = _context()
        receiver, sender = context.Pipe(duplex=True)
        cap, inherited = limits.address_space_cap(self.memory_limit)
        self._inherited_cap = cap if inherited else None
        process = context.Process(target=_serve, args=(sender, cap), daemon=True)
        # multiprocessing would re-import the caller's __main__ script in the child
        # (for a script importing Keras, seconds of TensorFlow start-up per child):
        # hand it a blank main module while it records what the child needs.
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            process.start()
        finally:
            sys.modules["__main__"] = main
        sender.close()
        self._process, self._connection = process, receiver
        return self._call(None, (factory, tuple(args), tuple(attributes)), "loading it")

    def call(self, method, *args, runs=1):
        """Run ``served.method(*args)`` in the child and return its result (see the module docstring).

        ``runs``: how many runs the call makes (chunks of a batch): it may take ``runs * time_limit``.
        """
        if self._process is None:
            raise RuntimeError("the sandbox has no child process: start() it first")
        return self._call(method, args, "running it", runs)

    def _call(self, method, args, doing, runs=1):
        try:
            self._connection.send((method, args))
            deadline = time.monotonic() + runs * self.time_limit
            while not self._connection.poll(limits.POLL_SECONDS):
                resident = _resident_bytes(self._process.pid)
                if resident is not None and resident > self.memory_limit:
                    self.close()
                    raise RunLimitError(
                        f"{self.what}: stopped {doing}: it used more than the memory limit of "
                        f"{limits.describe_bytes(self.memory_limit)} ({limits.describe_bytes(resident)} resident); "
                        f"if the model needs more, raise it: {RAISE_MEMORY}"
                    )
                if time.monotonic() > deadline:
                    self.close()
                    raise RunLimitError(
                        f"{self.what}: stopped {doing}: it ran past the time limit of {self.time_limit:g} s"
                        f"{' per run' if runs > 1 else ''}; "
                        f"if the model needs longer, raise it: {RAISE_TIME}"
                    )
                if not self._process.is_alive():
                    break
            status, value = self._connection.recv()
        except (EOFError, OSError, BrokenPipeError):
            self._crashed(doing)
        except BaseException:  # Ctrl-C (KeyboardInterrupt) or a limit: the child must not outlive the call
            self.close()
            raise
        if status == "error":
            if self._inherited_cap is not None and isinstance(value, (RuntimeError, MemoryError)):
                value.args = (f"{value} (this process's address-space limit, ulimit -v, caps a run at "
                              f"{limits.describe_bytes(self._inherited_cap)})",)
            raise value
        return value

    def _crashed(self, doing):
        process = self._process
        process.join(1)
        code = process.exitcode
        self.close()
        if code is not None and code < 0:
            raise ModelFileError(f"{self.what}: the runtime crashed {doing} ({signal.Signals(-code).name})")
        raise ModelFileError(f"{self.what}: the process {doing} ended unexpectedly (exit {code})")

    def close(self):
        """Kill the child (a no-op when there is none)."""
        process, connection = self._process, self._connection
        self._process = self._connection = None
        if connection is not None:
            connection.close()
        if process is not None:
            if process.is_alive():
                process.kill()
            process.join()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter teardown: the child is a daemon and goes with this process
            pass


def run_isolated(function, args, what, time_limit, memory_limit):
    """Run ``function(*args)`` once in a fresh child under the limits (the load-time probe)."""
    sandbox = Sandbox(what, time_limit, memory_limit)
    try:
        sandbox.start(function, args)
    finally:
        sandbox.close()
