"""Fast, vectorised construction of zero-padded string ids such as ``INV00000001``."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_INT32_MAX = 2**31 - 1


def id_width(largest: int, minimum: int) -> int:
    """Digits needed to write numbers up to ``largest``, at least ``minimum``."""
    return max(minimum, len(str(max(largest, 0))))


def format_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.StringArray:
    """``prefix`` + each number zero-padded to ``width`` digits, built without a Python loop.

    The digits are written straight into an Arrow string buffer (fixed-length rows), so ten
    million ids take well under a second.
    """
    numbers = np.asarray(numbers, dtype=np.int64)
    n = len(numbers)
    if n and (numbers.min() < 0 or numbers.max() >= 10**width):
        raise ValueError(f"ids must be in [0, 10**{width})")
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    row = len(head) + width
    if n * row > _INT32_MAX:
        raise ValueError("too many ids for one Arrow string array; use smaller chunks")
    data = np.empty((n, row), dtype=np.uint8)
    data[:, : len(head)] = head
    rest = numbers.copy()
    for col in range(row - 1, len(head) - 1, -1):
        data[:, col] = rest % 10 + ord("0")
        rest //= 10
    offsets = np.arange(0, (n + 1) * row, row, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def pick_strings(labels: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    """Map small integer codes to their string labels (an Arrow ``take``)."""
    return pa.array(labels, type=pa.string()).take(pa.array(np.asarray(codes, dtype=np.int32)))
