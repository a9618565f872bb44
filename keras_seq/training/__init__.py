"""Training tools: clipping, gradient-norm monitoring, truncated BPTT, gradient flow."""

# --- training tools: gradient-norm monitor, truncated BPTT, gradient flow ---
from keras_seq.training.gradient_monitor import GradientNormMonitor  # noqa: E402
from keras_seq.training.gradient_flow import gradient_flow  # noqa: E402
from keras_seq.training.truncated_bptt import TruncatedBPTT  # noqa: E402

# --- training runs: resumable, NaN-safe, distributed, reproducible ---
from keras_seq.training.resume import RunBackup  # noqa: E402,F401
from keras_seq.training.trainer import NonFiniteLossError, TrainingResult, train  # noqa: E402,F401
