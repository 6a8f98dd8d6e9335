"""Bootstrap intervals of the explanation audit: on hand-made audits whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fienet.explain import INTERVAL_COLUMNS, audit_intervals, audit_summary, deletion_auc
from fienet.explain.audit import as_audit, summary_row, summary_values
from fienet.explain.perturbation import mean_curve_auc

SETTING = ("gradient", "input")
RANDOM = ("random", "order")


def _audit(n: int, seed: int = 0, curves: dict | None = None):
    rng = np.random.default_rng(seed)
    per_image = pd.DataFrame({"method": SETTING[0], "layer": SETTING[1], "cells": "8x4", "empty": False,
                              "person": rng.uniform(0.3, 0.7, n), "parts": rng.uniform(0.05, 0.3, n),
                              "person_area": rng.uniform(0.2, 0.3, n), "parts_area": 0.1,
                              "spearman": rng.normal(0.5, 0.2, n)})
    if curves is None:
        falls = rng.uniform(0.1, 0.9, (n, 1))
        curves = {SETTING: np.hstack([np.ones((n, 1)), falls, np.zeros((n, 1))]),
                  RANDOM: np.hstack([np.ones((n, 1)), rng.uniform(0.3, 0.9, (n, 1)), np.zeros((n, 1))])}
    return as_audit([per_image], curves)


def test_interval_of_a_mean_matches_the_normal_approximation():
    audit = _audit(400)
    spearman = audit.per_image["spearman"]
    half = 1.96 * spearman.std(ddof=0) / math.sqrt(len(spearman))
    got = audit_intervals(audit, ["Spearman vs occlusion"], resamples=800).loc[SETTING]
    assert got["Spearman vs occlusion, low"] == pytest.approx(spearman.mean() - half, abs=0.15 * half)
    assert got["Spearman vs occlusion, high"] == pytest.approx(spearman.mean() + half, abs=0.15 * half)
    # more images, a narrower interval; a lower level, a narrower interval
    small = audit_intervals(as_audit([audit.per_image.iloc[:25]], {}), ["Spearman vs occlusion"]).loc[SETTING]
    assert small["Spearman vs occlusion, high"] - small["Spearman vs occlusion, low"] > 3 * half
    narrow = audit_intervals(audit, ["Spearman vs occlusion"], resamples=400, level=0.5).loc[SETTING]
    assert narrow["Spearman vs occlusion, high"] - narrow["Spearman vs occlusion, low"] < half


def test_every_column_brackets_the_summary_value_and_is_reproducible():
    audit = _audit(30)
    summary = audit_summary(audit).loc[SETTING]
    got = audit_intervals(audit, resamples=300, seed=3)
    assert got.index.tolist() == [SETTING]
    for column in INTERVAL_COLUMNS:
        low, high = got.loc[SETTING, f"{column}, low"], got.loc[SETTING, f"{column}, high"]
        assert low < summary[column] < high, column
    assert got.equals(audit_intervals(audit, resamples=300, seed=3))
    assert not got.equals(audit_intervals(audit, resamples=300, seed=4))


def test_deletion_curves_are_drawn_with_their_images():
    # Each image's map-order curve equals its random-order curve: every paired resample gives
    # a ratio of exactly 1, while drawing the two curves independently would not.
    n = 20
    rng = np.random.default_rng(1)
    curves = np.hstack([np.ones((n, 1)), rng.uniform(0.0, 1.0, (n, 3)), np.zeros((n, 1))])
    audit = _audit(n, curves={SETTING: curves, RANDOM: curves.copy()})
    got = audit_intervals(audit, ["deletion AUC / random"], resamples=200).loc[SETTING]
    assert got["deletion AUC / random, low"] == pytest.approx(1.0)
    assert got["deletion AUC / random, high"] == pytest.approx(1.0)
    # and an image whose map is empty stays out of the drawn curves too
    per_image = audit.per_image.copy()
    per_image.loc[0, "empty"] = True
    ours = curves.copy()
    ours[0] = [1.0, 0.0, 0.0, 0.0, 0.0]  # an arbitrary curve behind an empty map: would lower the ratio
    mixed = as_audit([per_image], {SETTING: ours, RANDOM: curves.copy()})
    got = audit_intervals(mixed, ["deletion AUC / random"], resamples=200).loc[SETTING]
    assert got["deletion AUC / random, low"] == pytest.approx(1.0)
    assert deletion_auc(ours) / deletion_auc(curves) < 0.99  # (had it counted)


def test_weights_count_an_image_as_often_as_repeating_its_row():
    # What the bootstrap relies on: weights (2, 0, 1, ...) give the summary of the table with
    # row 0 twice, row 1 dropped, ... computed the plain way, for every column at once.
    audit = _audit(12, seed=5)
    part = audit.per_image.copy()
    part.loc[3, ["person", "parts"]] = np.nan  # an empty map: left out of the lifts
    part.loc[3, "empty"] = True
    weights = np.random.default_rng(2).integers(0, 3, size=(4, 12))  # (draws, images)
    got = summary_values(part, audit.curves, SETTING, weights)
    for r, w in enumerate(weights):
        idx = np.repeat(np.arange(12), w)
        repeated = {key: curve[idx] for key, curve in audit.curves.items()}
        want = summary_row(part.iloc[idx].reset_index(drop=True), repeated, SETTING)
        for column, values in got.items():
            assert values[r] == pytest.approx(want[column], nan_ok=True), column


def test_summary_formulas_by_hand():
    # Two images; the second map is empty (no shares), and its areas must not enter the lift.
    # The randomised copy's lifts divide by its own areas; its Spearman columns are means.
    part = pd.DataFrame({"method": SETTING[0], "layer": SETTING[1], "cells": "8x4", "empty": [False, True],
                         "person": [0.6, np.nan], "parts": [0.3, np.nan], "person_area": [0.2, 0.9],
                         "parts_area": [0.1, 0.9], "spearman": [0.4, 0.2],
                         "random_empty": [False, False], "random_person": [0.3, 0.5],
                         "random_parts": [0.1, 0.3], "random_person_area": [0.25, 0.25],
                         "random_parts_area": [0.1, 0.3], "random_spearman": [0.0, 0.5],
                         "random_spearman_abs": [0.2, 0.4]})
    row = summary_row(part, {}, SETTING)
    assert row["empty maps (%)"] == pytest.approx(50.0)
    assert row["person lift"] == pytest.approx(0.6 / 0.2) and row["parts lift"] == pytest.approx(3.0)
    assert row["Spearman vs occlusion"] == pytest.approx(0.3)
    assert row["person lift, random weights"] == pytest.approx(0.4 / 0.25)
    assert row["parts lift, random weights"] == pytest.approx(0.2 / 0.2)
    assert row["Spearman, trained vs random weights"] == pytest.approx(0.25)
    assert row["Spearman of |map|, trained vs random weights"] == pytest.approx(0.3)
    # every randomised map empty: no random lift, but 100 % empty and the correlations still shown
    part["random_empty"] = True
    part[["random_person", "random_parts"]] = np.nan
    row = summary_row(part, {}, SETTING)
    assert row["empty maps, random weights (%)"] == pytest.approx(100.0)
    assert math.isnan(row["person lift, random weights"]) and math.isnan(row["parts lift, random weights"])
    assert row["Spearman, trained vs random weights"] == pytest.approx(0.25)


def test_a_curve_left_out_cannot_leak_into_the_deletion_ratio():
    audit = _audit(6, seed=4)
    part = audit.per_image.copy()
    part.loc[2, "empty"] = True
    ours = audit.curves[SETTING].copy()
    want = summary_row(part, {**audit.curves, SETTING: ours}, SETTING)["deletion AUC / random"]
    ours[2] = np.nan  # a non-finite curve behind the empty map
    got = summary_row(part, {**audit.curves, SETTING: ours}, SETTING)["deletion AUC / random"]
    assert math.isfinite(got) and got == pytest.approx(want)
    # a non-finite score behind a map that counts is an error, not a silent NaN
    ours[4] = np.nan
    with pytest.raises(ValueError, match=r"deletion curves of \('gradient', 'input'\): non-finite scores .*\[4\]"):
        summary_row(part, {**audit.curves, SETTING: ours}, SETTING)


def test_weights_must_count_every_row():
    audit = _audit(3)
    for shape in [(2, 1), (2, 4), (4,)]:
        with pytest.raises(ValueError, match=r"expected \(\.\.\., 3\), a count per row"):
            summary_values(audit.per_image, audit.curves, SETTING, np.ones(shape))


def test_mean_curve_auc_is_deletion_auc_of_each_mean():
    curves = np.random.default_rng(0).uniform(0.0, 1.0, (3, 5, 6))  # (groups, images, steps + 1)
    curves[2, :, -1] = 2.0  # the score rose at the end: no area
    got = mean_curve_auc(curves.mean(axis=1))
    assert got.shape == (3,)
    for g in range(2):
        assert got[g] == pytest.approx(deletion_auc(curves[g]))
    assert math.isnan(got[2]) and math.isnan(deletion_auc(curves[2]))


def test_columns_without_a_defined_value_get_nan_bounds():
    audit = _audit(10, curves={})  # a contrastive audit: no deletion curves
    got = audit_intervals(audit, resamples=50).loc[SETTING]
    assert math.isnan(got["deletion AUC / random, low"]) and math.isnan(got["deletion AUC / random, high"])
    assert got["person lift, low"] < got["person lift, high"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"level": 1.0}, "strictly between 0 and 1"),
    ({"level": 0.0}, "strictly between 0 and 1"),
    ({"resamples": 1}, "at least 2 bootstrap draws"),
    ({"columns": ["person lyft"]}, r"unknown summary column\(s\) \['person lyft'\]"),
    ({"columns": ["images"]}, r"\['images'\]; expected numeric columns of audit_summary \(not map or images\)"),
])
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        audit_intervals(_audit(5), **kwargs)
