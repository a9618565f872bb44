"""End-to-end demos: digits, handwriting, saliency, filters, gradient flow."""
