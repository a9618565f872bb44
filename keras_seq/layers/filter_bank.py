"""Named 3x3 image filters (kernels): identity, edge, Laplacian, sharpen, box blur
(Gonzalez & Woods, "Digital Image Processing", ch. 3).

Applied by cross-correlation (see ``FixedConv2D``), each kernel ``w`` maps an
image ``x`` to ``g(i, j) = sum_{u, v} w(u, v) x(i + u, j + v)``.
The lecture's worked examples run on ``LECTURE_IMAGE`` (6x6), the stride
example with ``STRIDE_EXAMPLE_KERNEL`` (2x2).
"""

import numpy as np

_KERNELS = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "edge_diagonal": [[1, 0, -1], [0, 0, 0], [-1, 0, 1]],
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "laplacian_diagonal": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "box_blur": [[1 / 9] * 3] * 3,
}

KERNEL_NAMES = tuple(_KERNELS)

# The 6x6 worked example image: a blob of ink on a zero background.
LECTURE_IMAGE = np.array([
    [0, 0, 0, 0, 0, 0],
    [0, 1, 2, 2, 1, 0],
    [0, 2, 4, 4, 2, 0],
    [0, 1, 3, 3, 1, 0],
    [0, 1, 2, 3, 1, 0],
    [0, 0, 1, 1, 0, 0],
], dtype=np.float32)

# The 2x2 kernel of the stride worked example.
STRIDE_EXAMPLE_KERNEL = np.array([[0, 1], [1, -2]], dtype=np.float32)
for _example in (LECTURE_IMAGE, STRIDE_EXAMPLE_KERNEL):
    _example.setflags(write=False)  # shared by every caller: read-only


def filter_bank():
    """Return the named kernels as ``{name: 3x3 float32 array}``.

    Names: ``identity``, ``edge_diagonal`` ([[1,0,-1],[0,0,0],[-1,0,1]]),
    ``laplacian`` ([[0,1,0],[1,-4,1],[0,1,0]]), ``laplacian_diagonal``
    ([[-1,-1,-1],[-1,8,-1],[-1,-1,-1]]), ``sharpen`` ([[0,-1,0],[-1,5,-1],
    [0,-1,0]]) and ``box_blur`` (all ones / 9, so it sums to 1).

    Every call builds fresh arrays, so changing one never changes the bank.

    Example:
        >>> filter_bank()["laplacian"].sum()
        0.0
    """
    return {name: np.array(rows, dtype=np.float32) for name, rows in _KERNELS.items()}


def named_kernel(name):
    """Return a fresh float32 copy of the kernel called ``name``.

    Raises:
        ValueError: ``name`` is not one of ``KERNEL_NAMES``.
    """
    if name not in _KERNELS:
        raise ValueError(f"kernel={name!r} is not a known filter name; known names: {', '.join(KERNEL_NAMES)}")
    return np.array(_KERNELS[name], dtype=np.float32)
