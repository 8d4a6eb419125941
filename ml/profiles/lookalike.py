"""Lookalikes: the customers nearest a seed audience in the recommender's embedding space.

The seed is summarised by the mean of its members' unit vectors (its centroid direction),
and everyone else is ranked by cosine similarity to it: one matrix-vector product, so a
million profiles take well under a second. Ranking by the nearest seed member instead
would cost seed size x customers products and favour customers close to one outlier.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

CUSTOMER = "customer_id"
EMBEDDING = "embedding"
SIMILARITY = "similarity"


def embedding_matrix(profiles: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row positions of the profiles that have a non-zero embedding, their vectors as a
    float32 matrix, its rows' norms). Embeddings may be numpy arrays or lists (as DuckDB
    returns FLOAT[]), or an Arrow list column (``pd.ArrowDtype``), read without a Python
    object per row and without copying the matrix when no row is null or zero."""
    column = profiles[EMBEDDING]
    if isinstance(column.dtype, pd.ArrowDtype) and len(column):
        embeddings = pa.array(column.array)  # the column's own Arrow data
        if isinstance(embeddings, pa.ChunkedArray):
            embeddings = embeddings.combine_chunks()
        present, matrix = _arrow_matrix(embeddings)
    else:
        values = column.to_numpy()
        present = np.flatnonzero(pd.notna(column).to_numpy())
        matrix = np.array(values[present].tolist(), dtype=np.float32)
    if len(present) == 0:
        return present, np.zeros((0, 0), dtype=np.float32), np.zeros(0, dtype=np.float32)
    norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix))
    keep = norms > 0
    if keep.all():
        return present, matrix, norms
    return present[keep], matrix[keep], norms[keep]


def _arrow_matrix(embeddings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The rows of a list array that are not null, stacked (they share one length)."""
    if embeddings.null_count == 0:
        present, lists = np.arange(len(embeddings)), embeddings
    else:
        present = np.flatnonzero(embeddings.is_valid().to_numpy(zero_copy_only=False))
        lists = embeddings.filter(embeddings.is_valid())
    if len(lists) == 0:
        return present, np.zeros((0, 0), dtype=np.float32)
    lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False)
    if (lengths != lengths[0]).any():
        raise ValueError("embeddings of different lengths")
    values = lists.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    return present, values.reshape(len(lists), int(lengths[0]))


def lookalikes(profiles: pd.DataFrame, seed_ids: Sequence[str], size: int) -> pd.DataFrame:
    """The ``size`` customers most similar to the seed (``customer_id``, ``similarity``,
    best first; ties by ``customer_id``). Seed members are excluded, customers without an
    embedding (unknown to the model, or a zero vector) are skipped, and an empty frame
    comes back when no seed member has an embedding."""
    empty = pd.DataFrame({CUSTOMER: pd.Series(dtype=object), SIMILARITY: pd.Series(dtype=float)})
    if size <= 0:
        return empty
    rows, matrix, norms = embedding_matrix(profiles)
    seeds = pd.unique(np.asarray(list(seed_ids), dtype=object))
    in_seed = profiles[CUSTOMER].isin(seeds).to_numpy()[rows]
    if not in_seed.any():
        return empty
    direction = (matrix[in_seed] / norms[in_seed, None]).mean(axis=0)
    norm = float(np.linalg.norm(direction))
    if norm == 0:
        return empty
    # cosines as one product over the raw vectors, divided by their norms (no unit copy)
    cosine = (matrix @ (direction / norm)) / norms
    candidates = rows[~in_seed]  # row positions: ids are looked up for the chosen only
    similarity = cosine[~in_seed]
    if len(candidates) > size:
        # the size-th best score; everyone at least that good, then an exact sort
        threshold = np.partition(similarity, len(similarity) - size)[len(similarity) - size]
        keep = similarity >= threshold
        similarity, candidates = similarity[keep], candidates[keep]
    ids = profiles[CUSTOMER].iloc[candidates].to_numpy(dtype=object)
    order = np.lexsort((ids.astype(str), -similarity))[:size]
    return pd.DataFrame(
        {CUSTOMER: ids[order], SIMILARITY: similarity[order].astype(float)}
    ).reset_index(drop=True)
