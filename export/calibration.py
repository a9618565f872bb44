"""int8 calibration data: checked against the model's input range, recorded, and guarded at run time.

Full int8 export picks each activation's scale from the ranges the
representative data produces, q = round(x / scale) + zero_point. Data on
another scale than the model's real inputs (raw 0-255 pixels for a model
that takes [0, 1]) gives scales that ruin the accuracy with no error
anywhere, so:

- ``to_tflite`` refuses calibration data that gives no batch, or whose
  values leave the model's input range (by default [0, 1], what keras-seq's
  models and bundled datasets use) by more than ``RANGE_TOLERANCE`` of its
  width; :class:`CalibrationData` declares another range (or none);
- the range the data actually spans is stored in the file's metadata
  (``keras_seq.calibration``), and :class:`InputRangeGuard` warns once when
  ``predict`` gets inputs more than one calibrated span outside it.
"""

import dataclasses
import json
import warnings

import numpy as np

from keras_seq.export.tflite_file import with_metadata

CALIBRATION_METADATA = "keras_seq.calibration"
DEFAULT_INPUT_RANGE = (0.0, 1.0)
RANGE_TOLERANCE = 0.05


class InputRangeWarning(UserWarning):
    """``predict`` got inputs far outside the range the int8 file was calibrated on."""


class CalibrationWarning(UserWarning):
    """int8 calibration saw a tensor only as zero: in the file any other value there reads as zero."""


@dataclasses.dataclass(frozen=True)
class CalibrationData:
    """Representative data for int8 export, with the range the model's inputs take.

    Args:
        samples: an array (N, ...) or a list of samples without the batch axis.
        input_range: ``(low, high)`` the model's preprocessing gives (default
            [0, 1]); ``None`` skips the range check.

    Example:
        >>> to_tflite(model, quantization="int8",
        ...           representative_data=CalibrationData(x_raw[:200], input_range=(0, 255)))
    """

    samples: object
    input_range: object = DEFAULT_INPUT_RANGE

    def __post_init__(self):
        if self.input_range is not None:
            try:
                low, high = (float(v) for v in self.input_range)
            except (TypeError, ValueError):
                low = high = float("nan")
            if not (np.isfinite(low) and np.isfinite(high) and low < high):
                raise ValueError(
                    f"input_range={self.input_range!r} is not allowed; expected None or (low, high) "
                    "with finite low < high"
                )
            object.__setattr__(self, "input_range", (low, high))


def unwrap(representative_data):
    """``(samples, input_range)`` of plain data (the default range) or a :class:`CalibrationData`."""
    if isinstance(representative_data, CalibrationData):
        return representative_data.samples, representative_data.input_range
    return representative_data, DEFAULT_INPUT_RANGE


def check_samples(samples, input_range, batch):
    """Raise ``ValueError`` unless ``samples`` (arrays with a batch axis) give a usable calibration.

    Args:
        samples: list of float arrays (n_i, ...).
        input_range: ``(low, high)`` or ``None``.
        batch: the model's fixed batch size (1 when dynamic).
    """
    if sum(len(s) // batch for s in samples) == 0:
        given = sum(len(s) for s in samples)
        raise ValueError(
            f"representative_data gives no calibration batch ({given} samples, batch size {batch}); "
            "quantization='int8' needs a few hundred typical inputs"
        )
    if input_range is None:
        return
    low, high = input_range
    margin = RANGE_TOLERANCE * (high - low)
    seen = (min(float(s.min()) for s in samples), max(float(s.max()) for s in samples))
    if seen[0] < low - margin or seen[1] > high + margin:
        raise ValueError(
            f"representative_data spans [{seen[0]:.4g}, {seen[1]:.4g}], outside the model's input range "
            f"[{low:g}, {high:g}]: int8 scales calibrated on it would not fit the real inputs. Preprocess "
            "it as the model's inputs are, or declare the range: "
            "CalibrationData(samples, input_range=(low, high)) (input_range=None skips this check)"
        )


def record(data, representative_data):
    """Return ``data`` (a ``.tflite``) with the range the calibration samples span in its metadata."""
    samples, _ = unwrap(representative_data)
    arrays = samples if isinstance(samples, (list, tuple)) else [samples]
    arrays = [np.asarray(a, dtype=np.float32) for a in arrays]
    spanned = {"min": min(float(a.min()) for a in arrays), "max": max(float(a.max()) for a in arrays)}
    return with_metadata(data, CALIBRATION_METADATA, json.dumps(spanned).encode())


class InputRangeGuard:
    """Warn once when inputs lie far outside the calibrated range stored in a file.

    "Far" is more than one calibrated span beyond it: with [0, 1] calibration,
    values below -1 or above 2 (raw 0-255 pixels, say). Files without the
    metadata (float, dynamic-range, other tools) are never warned about.
    """

    def __init__(self, file, what):
        self.what = what
        self.range = None
        self.warned = False
        try:
            spanned = json.loads(file.metadata.get(CALIBRATION_METADATA, b"null"))
            low, high = float(spanned["min"]), float(spanned["max"])
        except (ValueError, TypeError, KeyError):
            return
        if np.isfinite(low) and np.isfinite(high) and low <= high:
            self.range = (low, high)

    def check(self, x):
        """Warn (once per model) when the real-valued input ``x`` is far outside the calibrated range."""
        if self.range is None or self.warned:
            return
        low, high = self.range
        span = max(high - low, 1e-6)
        seen = (float(np.min(x)), float(np.max(x)))
        if seen[0] < low - span or seen[1] > high + span:
            self.warned = True
            warnings.warn(
                f"{self.what} was calibrated on inputs in [{low:.4g}, {high:.4g}] but got inputs in "
                f"[{seen[0]:.4g}, {seen[1]:.4g}]: its int8 answers for them are unreliable "
                "(preprocess the inputs as the calibration data was)",
                InputRangeWarning,
                stacklevel=3,
            )
