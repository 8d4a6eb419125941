"""Top-k selection on score matrices, the one ranking step of evaluation and outputs."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

PADDING = -1
SCORE_BUDGET = 1 << 25  # scores held at once when scoring users in batches (128 MiB)


def batches(user_rows: np.ndarray, n_items: int) -> list[np.ndarray]:
    """``user_rows`` in batches whose dense score matrices stay within the budget."""
    size = max(1, min(1024, SCORE_BUDGET // max(n_items, 1)))
    return [user_rows[start : start + size] for start in range(0, len(user_rows), size)]


def top_k(
    scores: np.ndarray, k: int, exclude: sp.csr_matrix | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best columns per row, best first (ties by lower column index).

    Entries of ``exclude`` (same shape; e.g. the users' training positives) and non-finite
    scores are never returned; rows with fewer candidates are padded with -1 items and -1
    scores. ``scores`` is modified in place when ``exclude`` is given.

    Returns
    -------
    items : int32 [n_rows, k]; scores : float32 [n_rows, k]

    Examples
    --------
    >>> top_k(np.array([[0.1, 0.9, 0.5]]), 2)[0].tolist()
    [[1, 2]]
    """
    scores = np.asarray(scores, dtype=np.float32)
    if exclude is not None and exclude.nnz:
        rows, cols = exclude.nonzero()
        scores[rows, cols] = -np.inf
    scores[~np.isfinite(scores)] = -np.inf
    n_cols = scores.shape[1]
    width = min(k, n_cols)
    if width < n_cols:
        # argpartition on (-score, column) order: stable ties by column index.
        part = np.argpartition(-scores, width - 1, axis=1)[:, :width]
        threshold = np.take_along_axis(scores, part, axis=1).min(axis=1, keepdims=True)
        part_scores = np.take_along_axis(scores, part, axis=1)
        order = np.lexsort((part, -part_scores), axis=1)
        items = np.take_along_axis(part, order, axis=1).astype(np.int32)
        # Rows with ties across the cut: keep the lower column indices among the tied.
        crowded = np.flatnonzero((scores >= threshold).sum(axis=1) > width)
        for row in crowded:
            cols = np.flatnonzero(scores[row] >= threshold[row, 0])
            items[row] = cols[np.lexsort((cols, -scores[row, cols]))[:width]]
    else:
        order = np.lexsort((np.broadcast_to(np.arange(n_cols), scores.shape), -scores), axis=1)
        items = order[:, :width].astype(np.int32)
    top_scores = np.take_along_axis(scores, np.maximum(items, 0), axis=1)
    invalid = ~np.isfinite(top_scores)
    items[invalid] = PADDING
    top_scores = np.where(invalid, PADDING, top_scores).astype(np.float32)
    if width < k:
        pad = k - width
        items = np.pad(items, ((0, 0), (0, pad)), constant_values=PADDING)
        top_scores = np.pad(top_scores, ((0, 0), (0, pad)), constant_values=PADDING)
    return items, top_scores
