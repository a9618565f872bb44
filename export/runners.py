"""The two LiteRT runtimes behind :class:`keras_seq.export.EdgeModel`, behind one small interface.

Both take raw input arrays in the file's own dtype and return raw outputs;
quantization, batching and padding are :class:`EdgeModel`'s.

* :class:`InterpreterRunner`: the classic ``Interpreter`` (XNNPACK or the
  builtin kernels), which resizes dynamic dimensions and keeps variable
  tensors (the fused LSTM's state) between runs.
* :class:`CompiledModelRunner`: LiteRT's ``CompiledModel`` API on the CPU
  (what its accelerators and LiteRT.js are built on); fixed shapes only.
* :class:`IsolatedRunner`: either of them, built and run in a child process
  (:class:`keras_seq.export.sandbox.Sandbox`) under a time and memory limit
  per run; what ``EdgeModel`` uses.
"""

import weakref

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

from keras_seq.export.native_log import captured_stderr, silence_native_teardown


class InterpreterRunner:
    """The classic ``Interpreter``.

    Args:
        data: the flatbuffer bytes.
        num_threads: threads (``None``: LiteRT's default).
        xnnpack: apply the default XNNPACK delegate (``False``: builtin kernels).
    """

    name = "interpreter"

    def __init__(self, data, num_threads=None, xnnpack=True):
        resolver = OpResolverType.AUTO if xnnpack else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        self.name = "interpreter" if xnnpack else "interpreter-builtin"
        self._interpreter = Interpreter(
            model_content=data, num_threads=num_threads, experimental_op_resolver_type=resolver
        )
        self.input_detail = self._interpreter.get_input_details()[0]
        self.output_details = self._interpreter.get_output_details()
        self._allocated = False
        try:
            self._interpreter.allocate_tensors()
            self._allocated = True
        except RuntimeError:
            # A dynamic dimension starts at size 1, which can be too small for a
            # kernel (a word strip 1 column wide pools to 0 columns, which the
            # builtin CONV_2D refuses): such a file is allocated at its first input.
            if all(int(d) > 0 for d in self.input_detail["shape_signature"]):
                raise

    def run(self, x, variables=(), reset=False):
        """Run on ``x``; ``variables`` lists the variable tensors whose values survive a resize;
        ``reset``: from zero state (:meth:`reset_state` first)."""
        if reset:
            self.reset_state()
        state = self.read_state(variables) if variables and self._allocated else None
        if not self._allocated or tuple(self.input_detail["shape"]) != tuple(x.shape):
            self._interpreter.resize_tensor_input(self.input_detail["index"], list(x.shape), strict=False)
            self._interpreter.allocate_tensors()
            self._allocated = True
            self.input_detail = self._interpreter.get_input_details()[0]
            if state is not None:
                self.write_state(variables, state)
            else:
                self._interpreter.reset_all_variables()
        self._interpreter.set_tensor(self.input_detail["index"], x)
        self._interpreter.invoke()
        return [self._interpreter.get_tensor(d["index"]).copy() for d in self.output_details]

    def run_chunks(self, x, step, what="TFLite model"):
        """:meth:`run` ``x`` in chunks of ``step`` samples, each from zero state; per output, the chunks'
        outputs stacked. Each must have a row per sample (else a ``ModelFileError`` naming ``what``)."""
        from keras_seq.export.validate import check_outputs

        runs = []
        for start in range(0, len(x), step):
            chunk = x[start:start + step]
            runs.append(self.run(chunk, reset=True))
            check_outputs(runs[-1], len(chunk), what)
        return [np.concatenate(parts) for parts in zip(*runs)]

    def reset_state(self):
        """Zero every variable tensor: the next run starts from h_0 = C_0 = 0."""
        if self._allocated:  # else they are zeroed when the first run allocates them
            self._interpreter.reset_all_variables()

    def read_state(self, variables):
        return [self._interpreter.get_tensor(i).copy() for i in variables]

    def write_state(self, variables, state):
        for index, value in zip(variables, state):
            if self._interpreter.get_tensor(index).shape == value.shape:
                self._interpreter.set_tensor(index, value)


class CompiledModelRunner:
    """LiteRT's ``CompiledModel`` on the CPU, for a file whose input shape is fixed.

    Raises:
        ValueError: LiteRT cannot compile the file; the message carries
            LiteRT's own reason (its log lines stay out of the terminal).
    """

    name = "compiled-model"

    def __init__(self, data, num_threads=None):
        from ai_edge_litert.compiled_model import CompiledModel
        from ai_edge_litert.cpu_options import CpuOptions
        from ai_edge_litert.options import Options

        options = Options(cpu_options=CpuOptions(num_threads=num_threads or 0))
        silence_native_teardown()
        details = Interpreter(model_content=data)  # for the quantization parameters only
        self.input_detail = details.get_input_details()[0]
        self.output_details = details.get_output_details()
        # LiteRT sets up its environment and accelerators on the first run:
        # load and run once on zeros here, with its log captured.
        with captured_stderr() as log:
            try:
                self._model = CompiledModel.from_buffer(data, options=options)
                self._inputs = self._model.create_input_buffers(0)
                self._outputs = self._model.create_output_buffers(0)
                shape = tuple(int(d) for d in self.input_detail["shape"])
                self.run(np.zeros(shape, self.input_detail["dtype"]))
            except Exception as error:  # LiteRT raises RuntimeError with little detail
                failure = error
            else:
                failure = None
        if failure is not None:
            errors = log.lines("ERROR") or [str(failure)]
            raise ValueError(f"LiteRT's CompiledModel cannot load this file: {errors[-1].strip()}") from failure
        # Released when this runner goes, or at exit before Python tears down.
        self.close = weakref.finalize(self, _release, self._model, self._inputs, self._outputs)

    def run(self, x, variables=(), reset=False):
        """Run on ``x`` (``variables`` and ``reset`` as for :class:`InterpreterRunner`: no state here)."""
        self._inputs[0].write(np.ascontiguousarray(x))
        self._model.run_by_index(0, self._inputs, self._outputs)
        results = []
        for detail, buffer in zip(self.output_details, self._outputs):
            shape = tuple(int(d) for d in detail["shape"])
            results.append(buffer.read(int(np.prod(shape)), np.dtype(detail["dtype"])).reshape(shape))
        return results

    run_chunks = InterpreterRunner.run_chunks

    def reset_state(self):
        """Nothing to reset: a file ``CompiledModel`` loads keeps no state between runs."""


class IsolatedRunner:
    """A runner (``runner_class(*args)``) held in a child process, every call bounded by the caller.

    Same interface as the runners it holds. A run that goes past the
    sandbox's time or memory limit is stopped
    (:class:`keras_seq.export.sandbox.RunLimitError`); the next run starts
    a fresh child from zero state, and a run that expected the lost state
    (``variables``, a stream) raises until :meth:`reset_state`.

    Args:
        sandbox: the :class:`keras_seq.export.sandbox.Sandbox` to run in.
        runner_class, args: what to build in the child.
    """

    def __init__(self, sandbox, runner_class, args):
        self._sandbox = sandbox
        self._build = (runner_class, tuple(args))
        self._state_lost = False
        self._start()

    def _start(self):
        attributes = self._sandbox.start(*self._build, attributes=("name", "input_detail", "output_details"))
        self.name = attributes["name"]
        self.input_detail = attributes["input_detail"]
        self.output_details = attributes["output_details"]

    def _ready(self):
        if not self._sandbox.alive:  # the last call was stopped: its child is gone
            self._start()
            self._state_lost = True

    def run(self, x, variables=(), reset=False):
        self._ready()
        if variables and not reset and self._state_lost:
            raise RuntimeError("the recurrent state was lost when an earlier run was stopped; "
                               "reset the state (EdgeStream.reset()) to start the sequence again")
        self._state_lost = self._state_lost and not reset
        return self._sandbox.call("run", x, variables, reset)

    def run_chunks(self, x, step, what="TFLite model"):
        """All chunks in one call to the child (one round trip), ``time_limit`` per chunk."""
        self._ready()
        return self._sandbox.call("run_chunks", x, step, what, runs=-(-len(x) // step))

    def reset_state(self):
        self._ready()
        self._state_lost = False
        self._sandbox.call("reset_state")

    def close(self):
        """Stop the child process."""
        self._sandbox.close()


def _release(model, *buffers):
    """Free a compiled model, its buffers and its LiteRT environment, whose teardown logs."""
    with captured_stderr():
        for buffer in (b for group in buffers for b in group):
            buffer.destroy()
        environment = model.environment
        model.close()
        environment.close()
        del model, environment
