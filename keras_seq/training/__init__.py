"""Training tools: clipping, gradient-norm monitoring, truncated BPTT, gradient flow."""
