"""Training tools: clipping, gradient-norm monitoring, truncated BPTT, gradient flow."""

# --- training tools: gradient-norm monitor, truncated BPTT, gradient flow ---
from keras_seq.training.gradient_flow import gradient_flow
from keras_seq.training.gradient_monitor import GradientNormMonitor
from keras_seq.training.truncated_bptt import TruncatedBPTT

# --- training runs: resumable, NaN-safe, distributed, reproducible ---
from keras_seq.training.resume import RunBackup
from keras_seq.training.trainer import NonFiniteLossError, TrainingResult, train

__all__ = [
    "GradientNormMonitor", "NonFiniteLossError", "RunBackup", "TrainingResult", "TruncatedBPTT", "gradient_flow",
    "train",
]
