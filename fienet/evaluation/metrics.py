"""CMC, mAP and mINP under the SYSU-MM01, RegDB and LLCM evaluation protocols.

The numbers are those of the evaluation code every VI-ReID paper reports with (the
``eval_sysu`` / ``eval_regdb`` / ``eval_llcm`` functions of AGW and its descendants):

* the gallery is ranked by ascending distance with ``np.argsort`` (its tie order included);
* protocol filtering removes some gallery images per query:
  SYSU-MM01 drops every camera-2 image for a camera-3 query (the two cameras share a room),
  LLCM drops images of the query's identity seen by the query's camera, RegDB (and the
  ``"unfiltered"`` rule that validation uses) drops nothing;
* SYSU-MM01 and LLCM take the CMC on the identity-deduplicated ranking (each gallery identity
  kept at its first position), RegDB and ``"unfiltered"`` on the plain ranking; AP and INP always use the
  full filtered ranking;
* a query counts only if a true match survives filtering.

Everything is vectorised over queries; chunks of query rows run on a few threads.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from fienet.arrays import as_vector
from fienet.evaluation.distance import map_chunks, row_chunks
from fienet.protocols import PLAIN_RANKING, PROTOCOLS
SYSU_IR_QUERY_CAM = 3  # SYSU-MM01 infrared camera placed in the same room as ...
SYSU_SAME_ROOM_CAM = 2  # ... this visible camera, whose images are excluded for its queries.


class QueryStats(NamedTuple):
    """Per-query results of one chunk of queries, each of shape (C,)."""

    valid: np.ndarray  # bool: a true match survived filtering
    ap: np.ndarray  # float64 average precision (0 for invalid queries)
    inp: np.ndarray  # float64 inverse negative penalty (0 for invalid queries)
    rank: np.ndarray  # int64 1-based CMC rank of the first true match; > max_rank means "beyond"


def identity_codes(q_pids: np.ndarray, g_pids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Contiguous int32 identity codes ``(q_codes, g_codes)``; a query identity absent from the gallery is -1.

    Codes make the per-row identity comparisons integer work; -1 never matches.
    """
    g_ids, g_codes = np.unique(g_pids, return_inverse=True)
    at = np.minimum(np.searchsorted(g_ids, q_pids), g_ids.size - 1)
    q_codes = np.where(g_ids[at] == q_pids, at, -1).astype(np.int32)
    return q_codes, g_codes.astype(np.int32)


def protocol_kept(
    protocol: str,
    q_pids: np.ndarray,
    q_camids: np.ndarray,
    g_pids: np.ndarray,
    g_camids: np.ndarray,
) -> np.ndarray | None:
    """Which gallery images a protocol lets each query see: the one filter of the package.

    ``evaluate`` scores rankings with these images removed, and every ranked list, browser or
    "best match" that shows a query's neighbours must drop the same ones, or a picture shows
    images that the metric never counted.

    Args:
        protocol: one of ``PROTOCOLS``.
        q_pids: (Q,) query identities (any integer codes; only equality matters).
        q_camids: (Q,) query cameras.
        g_pids: (G,) gallery identities.
        g_camids: (G,) gallery cameras.

    Returns:
        (Q, G) bool, True where gallery image j stays in query i's ranking; None when the
        protocol removes nothing for these queries.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; expected one of {PROTOCOLS}")
    q_pids, q_camids = np.asarray(q_pids), np.asarray(q_camids)
    g_pids, g_camids = np.asarray(g_pids), np.asarray(g_camids)
    is_cam3 = q_camids == SYSU_IR_QUERY_CAM  # (Q,)
    if protocol in PLAIN_RANKING or (protocol == "sysu" and not is_cam3.any()):
        return None
    if protocol == "sysu":
        # Cameras 2 and 3 film the same room: a camera-3 query never sees camera 2.
        return ~(is_cam3[:, None] & (g_camids == SYSU_SAME_ROOM_CAM)[None, :])  # (Q, G)
    # LLCM: the query's own identity seen by the query's own camera is not a cross-view match.
    return ~((q_pids[:, None] == g_pids[None, :]) & (q_camids[:, None] == g_camids[None, :]))  # (Q, G)


def protocol_ranking(
    distmat: np.ndarray,
    q_pids: np.ndarray,
    g_pids: np.ndarray,
    q_camids: np.ndarray,
    g_camids: np.ndarray,
    protocol: str,
    k: int | None = None,
) -> list[np.ndarray]:
    """Each query's gallery ranking as ``evaluate`` scores it: by distance, protocol-filtered.

    Ties are broken as ``evaluate`` breaks them (``np.argsort``'s default order), so a picture
    of the ranking shows exactly the images, in the order, that the metric counted.

    Args:
        distmat: (Q, G) distances, smaller is more similar.
        q_pids: (Q,) query identities; g_pids: (G,) gallery identities.
        q_camids: (Q,) query cameras; g_camids: (G,) gallery cameras.
        protocol: one of ``PROTOCOLS``.
        k: keep only the first k of each ranking (None: all kept images).

    Returns:
        Q arrays of gallery column indices, best first; lengths differ when the filter removes
        a different number of images per query.
    """
    distmat = np.asarray(distmat)
    kept = protocol_kept(protocol, q_pids, q_camids, g_pids, g_camids)
    order = np.argsort(distmat, axis=1)  # (Q, G), the tie order of evaluate
    rows = []
    for i, ranked in enumerate(order):
        if kept is not None:
            ranked = ranked[kept[i, ranked]]
        rows.append(ranked if k is None else ranked[:k])
    return rows


def _count_distinct_before(
    ranked_codes: np.ndarray,
    kept: np.ndarray | None,
    q_codes: np.ndarray,
    first: np.ndarray,
    queries: np.ndarray,
    max_rank: int,
) -> np.ndarray:
    """Number of distinct gallery identities ranked before some queries' first true match.

    That count plus one is the first match's position in the identity-deduplicated ranking.
    Only counts below ``max_rank`` matter for the CMC, so each query is examined on a prefix
    of its ranking that grows (x4) only while it can neither reach the first match nor rule
    out a CMC hit; a well-separated gallery needs a single short prefix.

    Args:
        ranked_codes: (C, G) identity codes of the ranked gallery.
        kept: (C, G) bool entries surviving the protocol filter, or None for all.
        q_codes: (C,) identity code of each query.
        first: (C,) raw position of each query's first kept true match.
        queries: (V,) indices of the queries to count for (those with a true match).
        max_rank: longest CMC rank of interest.

    Returns:
        (C,) int64 counts, filled in for ``queries`` only; exact when below ``max_rank``,
        otherwise some value >= ``max_rank``.
    """
    num_q, num_g = ranked_codes.shape
    counts = np.zeros(num_q, dtype=np.int64)
    todo = queries
    width = 2 * max_rank
    while todo.size:
        w = min(width, num_g)
        codes = ranked_codes[todo, :w]  # (T, w)
        # Entries before the first match, kept by the protocol; the query's own identity can
        # only appear there as removed entries, which the deduplicated ranking never sees.
        counted = np.arange(w) < first[todo, None]
        counted &= codes != q_codes[todo, None]
        if kept is not None:
            counted &= kept[todo, :w]
        codes = np.sort(np.where(counted, codes, -1), axis=1)  # (T, w), uncounted = -1 first
        new_id = codes >= 0
        new_id[:, 1:] &= codes[:, 1:] != codes[:, :-1]
        distinct = new_id.sum(axis=1)
        done = (first[todo] < w) | (distinct >= max_rank)
        counts[todo[done]] = distinct[done]
        todo = todo[~done]
        width *= 4
    return counts


def query_stats(
    distmat: np.ndarray,
    q_codes: np.ndarray,
    g_codes: np.ndarray,
    q_camids: np.ndarray,
    g_camids: np.ndarray,
    protocol: str,
    max_rank: int,
) -> QueryStats:
    """AP, INP and CMC rank of each query of one chunk.

    Args:
        distmat: (C, G) distances of the chunk's queries.
        q_codes: (C,) query identity codes (-1 for identities absent from the gallery).
        g_codes: (G,) gallery identity codes.
        q_camids: (C,) query cameras; g_camids: (G,) gallery cameras.
        protocol: one of ``PROTOCOLS``.
        max_rank: longest CMC rank of interest.
    """
    num_q = distmat.shape[0]
    order = np.argsort(distmat, axis=1)  # (C, G), numpy's default kind fixes the tie order
    ranked_codes = g_codes[order]  # (C, G)
    pid_match = ranked_codes == q_codes[:, None]  # (C, G)
    kept = protocol_kept(protocol, q_codes, q_camids, g_codes, g_camids)  # (C, G) in gallery order
    if kept is not None:
        kept = np.take_along_axis(kept, order, axis=1)  # (C, G) in ranked order
    matches = pid_match if kept is None else pid_match & kept

    rows, cols = np.nonzero(matches)  # row-major, so each row's matches come in rank order
    num_rel = np.bincount(rows, minlength=num_q)  # (C,)
    valid = num_rel > 0
    ends = np.cumsum(num_rel)  # one past each row's last match in rows/cols
    starts = ends - num_rel
    # 1-based position of each true match in the filtered ranking.
    if kept is None:
        position = cols + 1
    else:
        position = np.cumsum(kept, axis=1, dtype=np.int32)[rows, cols]
    hits = np.arange(rows.size) - starts[rows] + 1  # true matches up to and including this one

    ap = np.zeros(num_q)
    inp = np.zeros(num_q)
    rank = np.full(num_q, max_rank + 1, dtype=np.int64)
    ap[valid] = np.bincount(rows, weights=hits / position, minlength=num_q)[valid] / num_rel[valid]
    inp[valid] = num_rel[valid] / position[ends[valid] - 1]

    if protocol in PLAIN_RANKING:
        rank[valid] = position[starts[valid]]
    else:
        first = np.zeros(num_q, dtype=np.int64)
        first[valid] = cols[starts[valid]]
        counts = _count_distinct_before(
            ranked_codes, kept, q_codes, first, np.flatnonzero(valid), max_rank
        )
        rank[valid] = 1 + counts[valid]
    return QueryStats(valid, ap, inp, rank)


def check_protocol(protocol: str, max_rank: int) -> None:
    """One clear error for an unknown protocol or a CMC length that is not a positive int."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; expected one of {PROTOCOLS}")
    if not isinstance(max_rank, (int, np.integer)) or max_rank < 1:
        raise ValueError(f"max_rank must be a positive int, got {max_rank!r}")


def evaluate(
    distmat: np.ndarray | torch.Tensor,
    q_pids: np.ndarray,
    g_pids: np.ndarray,
    q_camids: np.ndarray,
    g_camids: np.ndarray,
    protocol: str,
    max_rank: int = 20,
) -> dict:
    """CMC, mAP and mINP of a query-to-gallery distance matrix under a dataset protocol.

    Args:
        distmat: (Q, G) distances, smaller is more similar (numpy array or CPU tensor).
        q_pids: (Q,) query identities; g_pids: (G,) gallery identities.
        q_camids: (Q,) query cameras; g_camids: (G,) gallery cameras (as the dataset numbers
            them; SYSU-MM01 uses 1..6).
        protocol: one of ``PROTOCOLS`` (see the module docstring).
        max_rank: length of the returned CMC curve.

    Returns:
        ``{"cmc": (max_rank,) float64 array, cmc[r-1] = fraction of valid queries whose first
        true match is within rank r; "mAP": float; "mINP": float; "num_valid": int}``, all
        fractions in [0, 1] averaged over the valid queries.

    Raises:
        ValueError: on malformed inputs, or when no query has a true match after filtering.
    """
    check_protocol(protocol, max_rank)
    if isinstance(distmat, torch.Tensor):
        distmat = distmat.detach().cpu().numpy()
    distmat = np.asarray(distmat)
    if distmat.ndim != 2 or 0 in distmat.shape:
        raise ValueError(
            f"distmat must be a non-empty 2-D (queries, gallery) matrix, got shape {distmat.shape}"
        )
    if not np.issubdtype(distmat.dtype, np.number) or np.iscomplexobj(distmat):
        raise ValueError(f"distmat must hold real numbers, got dtype {distmat.dtype}")
    if np.isnan(distmat).any():
        raise ValueError("distmat contains NaN; expected finite distances (check the features)")
    num_q, num_g = distmat.shape
    q_pids = as_vector(q_pids, "q_pids", num_q, f" but distmat has {num_q} query rows")
    g_pids = as_vector(g_pids, "g_pids", num_g, f" but distmat has {num_g} gallery columns")
    q_camids = as_vector(q_camids, "q_camids", num_q, f" but distmat has {num_q} query rows")
    g_camids = as_vector(g_camids, "g_camids", num_g, f" but distmat has {num_g} gallery columns")

    q_codes, g_codes = identity_codes(q_pids, g_pids)

    def one(rows: slice) -> QueryStats:
        return query_stats(
            distmat[rows], q_codes[rows], g_codes, q_camids[rows], g_camids, protocol, max_rank
        )

    parts = map_chunks(one, row_chunks(num_q, num_g))
    return summarize_stats(parts, num_q, protocol, max_rank)


def summarize_stats(parts: list[QueryStats], num_q: int, protocol: str, max_rank: int) -> dict:
    """CMC, mAP and mINP over the valid queries of per-chunk statistics (in query order)."""
    stats = QueryStats(*(np.concatenate(field) for field in zip(*parts)))
    num_valid = int(stats.valid.sum())
    if num_valid == 0:
        raise ValueError(
            f"no valid query: none of the {num_q} queries keeps a true match in the gallery "
            f"under the {protocol!r} protocol; check that query and gallery identities overlap"
        )
    ranks = stats.rank[stats.valid]
    # cmc[r-1] counts first matches at rank <= r; ranks past the end of a short gallery
    # simply never occur, which keeps the curve flat at its last value.
    cmc = np.bincount(np.minimum(ranks, max_rank + 1), minlength=max_rank + 2)[1 : max_rank + 1]
    return {
        "cmc": np.cumsum(cmc) / num_valid,
        "mAP": float(stats.ap[stats.valid].mean()),
        "mINP": float(stats.inp[stats.valid].mean()),
        "num_valid": num_valid,
    }
