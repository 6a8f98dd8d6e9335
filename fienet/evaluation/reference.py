"""A plain per-query evaluation loop, written to be read rather than to be fast.

It follows the protocol text step by step, one query at a time, and is the yardstick the
tests and ``bench/bench_eval.py`` hold the vectorised :func:`fienet.evaluation.evaluate`
against. Use ``evaluate`` everywhere else.
"""

from __future__ import annotations

import numpy as np


def evaluate_loop(
    distmat: np.ndarray,
    q_pids: np.ndarray,
    g_pids: np.ndarray,
    q_camids: np.ndarray,
    g_camids: np.ndarray,
    protocol: str,
    max_rank: int = 20,
) -> dict:
    """Same contract as :func:`fienet.evaluation.evaluate`, computed with a loop over queries.

    Args:
        distmat: (Q, G) distances.
        q_pids, q_camids: (Q,) query identities and cameras.
        g_pids, g_camids: (G,) gallery identities and cameras.
        protocol: ``"sysu"``, ``"regdb"``, ``"llcm"`` or ``"unfiltered"``.
        max_rank: length of the CMC curve.

    Returns:
        ``{"cmc", "mAP", "mINP", "num_valid"}`` as ``evaluate`` returns them.
    """
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)
    order_all = np.argsort(distmat, axis=1)
    cmc_sum = np.zeros(max_rank)
    aps, inps = [], []
    for i in range(distmat.shape[0]):
        order = order_all[i]
        ranked_pids = g_pids[order]
        ranked_cams = g_camids[order]

        if protocol == "sysu":
            remove = (q_camids[i] == 3) & (ranked_cams == 2)
        elif protocol == "llcm":
            remove = (ranked_pids == q_pids[i]) & (ranked_cams == q_camids[i])
        elif protocol in ("regdb", "unfiltered"):
            remove = np.zeros(len(order), dtype=bool)
        else:
            raise ValueError(f"unknown protocol {protocol!r}")
        ranked_pids = ranked_pids[~remove]

        is_match = ranked_pids == q_pids[i]
        if not is_match.any():
            continue  # no true match left: the query does not count

        # AP: mean precision at the position of every true match.
        positions = np.flatnonzero(is_match) + 1  # 1-based
        precisions = np.arange(1, len(positions) + 1) / positions
        aps.append(precisions.mean())
        # INP: true matches divided by the position of the hardest (last) one.
        inps.append(len(positions) / positions[-1])

        # CMC: where the first true match sits, in the deduplicated list for sysu/llcm.
        if protocol in ("sysu", "llcm"):
            _, first_index = np.unique(ranked_pids, return_index=True)
            cmc_list = ranked_pids[np.sort(first_index)]
        else:
            cmc_list = ranked_pids
        first_hit = int(np.flatnonzero(cmc_list == q_pids[i])[0])  # 0-based
        if first_hit < max_rank:
            cmc_sum[first_hit:] += 1

    if not aps:
        raise ValueError("no valid query")
    return {
        "cmc": cmc_sum / len(aps),
        "mAP": float(np.mean(aps)),
        "mINP": float(np.mean(inps)),
        "num_valid": len(aps),
    }
