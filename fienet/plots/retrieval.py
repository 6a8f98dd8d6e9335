"""Ranked lists: a query next to its top-k gallery images, framed by whether they match."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from fienet.data.records import Record
from fienet.evaluation.metrics import protocol_ranking
from fienet.plots.images import (
    MATCH_RGB,
    MISMATCH_RGB,
    QUERY_RGB,
    RGB,
    ImageLike,
    bare,
    blank,
    framed,
    image_figure,
    to_rgb,
)


def _hex(rgb: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _check_row(gallery: Sequence[ImageLike], matches: np.ndarray, titles: Sequence[str] | None,
               k: int, where: str) -> np.ndarray:
    """Validate one ranked list and return ``matches`` as a bool array of shape (G,)."""
    if k < 1:
        raise ValueError(f"k={k}; expected k >= 1")
    if len(gallery) == 0:
        raise ValueError(f"{where}: gallery is empty; expected at least one ranked image")
    matches = np.asarray(matches)
    if matches.dtype != bool or matches.shape != (len(gallery),):
        raise ValueError(f"{where}: matches has dtype {matches.dtype} and shape {matches.shape}; "
                         f"expected bool of shape ({len(gallery)},), one flag per gallery image")
    if titles is not None and len(titles) < min(k, len(gallery)):
        raise ValueError(f"{where}: {len(titles)} titles for {min(k, len(gallery))} shown "
                         "gallery images; expected one title per shown image")
    return matches


def _draw_row(axes: Sequence[Axes], query: ImageLike, gallery: Sequence[ImageLike],
              matches: np.ndarray, titles: Sequence[str] | None, query_title: str) -> None:
    """Fill ``axes`` with the framed query then one framed gallery image per remaining axes."""
    axes[0].imshow(framed(to_rgb(query), QUERY_RGB))
    bare(axes[0])
    axes[0].set_title(query_title, color=_hex(QUERY_RGB), fontsize=9)
    for rank, ax in enumerate(axes[1:]):
        if rank >= len(gallery):
            blank(ax, "")
            continue
        color = MATCH_RGB if matches[rank] else MISMATCH_RGB
        ax.imshow(framed(to_rgb(gallery[rank]), color))
        bare(ax)
        ax.set_title(f"rank {rank + 1}", color=_hex(color), fontsize=9)
        if titles is not None:
            ax.set_xlabel(titles[rank], fontsize=9)


def ranked_list(
    query: ImageLike,
    gallery: Sequence[ImageLike],
    matches: np.ndarray,
    k: int = 10,
    titles: Sequence[str] | None = None,
    query_title: str = "query",
    axes: Sequence[Axes] | None = None,
) -> Figure:
    """Show a query and its top-k retrieved gallery images.

    Each gallery image gets a thick frame drawn in its pixels: green when it shows the query's
    identity, red otherwise; the query is framed blue. Titles give the rank.

    Args:
        query: path or uint8 array of the query image.
        gallery: gallery images sorted by rank (best first), length G.
        matches: bool array of shape (G,), True where ``gallery[i]`` is a true match.
        k: number of gallery images to show (all G if fewer).
        titles: optional caption under each shown gallery image (e.g. "pid 3 cam 2").
        query_title: title above the query.
        axes: ``min(k, G) + 1`` axes to draw into; a new one-row Figure by default.

    Returns:
        The Figure holding the row.

    Raises:
        ValueError: empty gallery, ``matches`` not bool of shape (G,), too few titles or axes.
    """
    matches = _check_row(gallery, matches, titles, k, "ranked_list")
    shown = min(k, len(gallery))
    if axes is None:
        fig = image_figure(1, shown + 1)
        axes = fig.subplots(1, shown + 1, squeeze=False)[0]
    elif len(axes) != shown + 1:
        raise ValueError(f"got {len(axes)} axes; expected {shown + 1} (query + {shown} ranks)")
    _draw_row(axes, query, gallery[:shown], matches, titles, query_title)
    return axes[0].figure


def ranked_lists(
    queries: Sequence[ImageLike],
    galleries: Sequence[Sequence[ImageLike]],
    matches: Sequence[np.ndarray],
    k: int = 10,
    titles: Sequence[Sequence[str]] | None = None,
    query_titles: Sequence[str] | None = None,
) -> Figure:
    """Stack several ranked lists, one query per row (see :func:`ranked_list`).

    Args:
        queries: Q query images.
        galleries: per query, its gallery images sorted by rank (lengths may differ).
        matches: per query, a bool array with one flag per gallery image.
        k: gallery images per row; rows with a shorter gallery end with empty cells.
        titles: per query, captions of its shown gallery images.
        query_titles: per query, the title above it (default "query 1", "query 2", ...).

    Returns:
        A Figure with ``Q * (min(k, longest gallery) + 1)`` axes.

    Raises:
        ValueError: the per-query sequences differ in length, or any row is invalid.
    """
    n = len(queries)
    lengths = {"galleries": len(galleries), "matches": len(matches)}
    if titles is not None:
        lengths["titles"] = len(titles)
    if query_titles is not None:
        lengths["query_titles"] = len(query_titles)
    wrong = {name: size for name, size in lengths.items() if size != n}
    if n == 0 or wrong:
        raise ValueError(f"got {n} queries and lengths {lengths}; expected one entry per query "
                         "and at least one query")
    rows = [_check_row(g, m, None if titles is None else titles[q], k, f"query {q}")
            for q, (g, m) in enumerate(zip(galleries, matches))]
    shown = min(k, max(len(g) for g in galleries))
    fig = image_figure(n, shown + 1)
    axes = fig.subplots(n, shown + 1, squeeze=False)
    for q in range(n):
        _draw_row(axes[q], queries[q], galleries[q][:shown], rows[q],
                  None if titles is None else titles[q],
                  f"query {q + 1}" if query_titles is None else query_titles[q])
    return fig


def protocol_ranked_lists(
    distmat: np.ndarray,
    query: Sequence[Record],
    gallery: Sequence[Record],
    rows: Sequence[int],
    protocol: str,
    k: int = 10,
) -> Figure:
    """Ranked lists of some queries of one split, as the protocol's metric sees them.

    The gallery images the protocol removes for a query (SYSU-MM01: camera 2 for a camera-3
    query; LLCM: the query's identity in the query's camera) are dropped before ranking, exactly
    as :func:`~fienet.evaluation.metrics.evaluate` drops them; the query's title says when.

    Args:
        distmat: (Q, G) distances of the split.
        query: the Q query records; gallery: the G gallery records.
        rows: indices of the queries to show.
        protocol: one of ``fienet.protocols.PROTOCOLS``.
        k: gallery images per row.
    """
    rows = list(rows)
    distmat = np.asarray(distmat)
    q_pids = np.array([query[i].pid for i in rows])
    q_cams = np.array([query[i].camid for i in rows])
    g_pids = np.array([r.pid for r in gallery])
    g_cams = np.array([r.camid for r in gallery])
    ranked = protocol_ranking(distmat[rows], q_pids, g_pids, q_cams, g_cams, protocol)
    query_titles = []
    for i, order in zip(rows, ranked):
        removed = len(gallery) - len(order)
        note = f"\n{removed} left out by protocol" if removed else ""
        query_titles.append(f"query id {query[i].pid}\ncam {query[i].camid}{note}")
    return ranked_lists(
        [query[i].path for i in rows],
        [[gallery[j].path for j in order] for order in ranked],
        [g_pids[order] == query[i].pid for i, order in zip(rows, ranked)],
        k=k,
        titles=[[f"id {gallery[j].pid} cam {gallery[j].camid}" for j in order[:k]] for order in ranked],
        query_titles=query_titles,
    )
