"""Tests of fienet.plots on tiny inputs: figure structure, frame colours, exact numbers."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from fienet.data.records import Record  # noqa: E402
from fienet.modalities import INFRARED, VISIBLE  # noqa: E402
from fienet.plots import (  # noqa: E402
    blend_mask,
    cam_grid,
    cam_overlay,
    cmc_curves,
    distance_histograms,
    embedding_tsne,
    metric_table_bar,
    modality_statistics,
    pairwise_distance_groups,
    part_mask_overlay,
    plot_embedding,
    protocol_ranked_lists,
    ranked_list,
    ranked_lists,
    sample_grid,
    training_curves,
    tsne_pair,
    tsne_points,
)
from fienet.plots.distances import DIFF_ACROSS, DIFF_WITHIN, SAME_ACROSS, SAME_WITHIN  # noqa: E402
from fienet.plots.images import MATCH_RGB, MISMATCH_RGB, QUERY_RGB, framed, to_rgb  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def n_images(fig) -> int:
    return sum(len(ax.images) for ax in fig.axes)


def solid(value: int, h: int = 16, w: int = 8) -> np.ndarray:
    return np.full((h, w, 3), value, dtype=np.uint8)


def write(path, value: int, mode: str = "RGB") -> str:
    Image.fromarray(solid(value)).convert(mode).save(path)
    return str(path)


# ---------------------------------------------------------------------------- images
def test_to_rgb_repeats_grey_and_reads_files(tmp_path):
    grey = np.arange(6, dtype=np.uint8).reshape(2, 3)
    rgb = to_rgb(grey)
    assert rgb.shape == (2, 3, 3) and (rgb[..., 2] == grey).all()
    assert (to_rgb(write(tmp_path / "ir.png", 77, "L")) == 77).all()


def test_to_rgb_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.jpg: image file missing"):
        to_rgb(tmp_path / "nope.jpg")
    (tmp_path / "bad.jpg").write_text("not an image")
    with pytest.raises(ValueError, match="bad.jpg: cannot decode image"):
        to_rgb(tmp_path / "bad.jpg")
    with pytest.raises(ValueError, match="dtype float64; expected uint8"):
        to_rgb(np.zeros((2, 2, 3)))


def test_framed_border_and_interior():
    out = framed(solid(9, 4, 3), (1, 2, 3), width=2)
    assert out.shape == (8, 7, 3)
    assert (out[2:-2, 2:-2] == 9).all()
    border = np.ones(out.shape[:2], bool)
    border[2:-2, 2:-2] = False
    assert (out[border] == (1, 2, 3)).all()


# ---------------------------------------------------------------------------- sample grid
@pytest.fixture
def records(tmp_path):
    # SYSU-like numbering: visible cam 4 comes after infrared cam 3 numerically.
    spec = [(1, 1, VISIBLE), (1, 3, INFRARED), (2, 1, VISIBLE), (2, 4, VISIBLE),
            (2, 3, INFRARED), (2, 3, INFRARED)]
    return [Record(write(tmp_path / f"{i}.png", 20 * i), pid, cam, mod)
            for i, (pid, cam, mod) in enumerate(spec)]


def test_sample_grid_layout_and_blank_cells(records):
    fig = sample_grid(records, n_ids=6, per_cell=1)
    assert len(fig.axes) == 2 * 3  # 2 identities x (2 visible + 1 infrared cameras)
    assert n_images(fig) == 5  # pid 1 was never seen by cam 4
    assert [ax.get_title() for ax in fig.axes[:3]] == ["cam 1\nvisible", "cam 4\nvisible",
                                                       "cam 3\ninfrared"]
    assert [fig.axes[0].get_ylabel(), fig.axes[3].get_ylabel()] == ["pid 1", "pid 2"]

    fig = sample_grid(records, per_cell=2, pids=[2])
    assert len(fig.axes) == 6 and n_images(fig) == 4


def test_sample_grid_rejects_unknown_pid(records):
    with pytest.raises(ValueError, match=r"pids \[99\] are not in records"):
        sample_grid(records, pids=[99])


# ---------------------------------------------------------------------------- ranked lists
def test_ranked_list_frames_follow_matches():
    gallery = [solid(10 * (r + 1)) for r in range(5)]
    matches = np.array([True, False, True, False, False])
    fig = ranked_list(solid(200), gallery, matches, k=4, titles=list("abcd"))
    assert len(fig.axes) == 5 and n_images(fig) == 5
    query = fig.axes[0].images[0].get_array()
    assert tuple(query[0, 0]) == QUERY_RGB
    for rank, ax in enumerate(fig.axes[1:]):
        shown = np.asarray(ax.images[0].get_array())
        expected = MATCH_RGB if matches[rank] else MISMATCH_RGB
        assert tuple(shown[0, 0]) == expected and tuple(shown[-1, -1]) == expected
        assert (shown[shown.shape[0] // 2, shown.shape[1] // 2] == 10 * (rank + 1)).all()
        assert ax.get_title() == f"rank {rank + 1}" and ax.get_xlabel() == "abcd"[rank]


def test_protocol_ranked_lists_drop_what_the_protocol_removes(tmp_path):
    paths = []
    for i in range(4):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(solid(40 * i + 20)).save(paths[-1])
    query = [Record(paths[0], 7, 3, INFRARED), Record(paths[0], 7, 6, INFRARED)]
    gallery = [Record(paths[1], 7, 2, VISIBLE), Record(paths[2], 5, 1, VISIBLE), Record(paths[3], 7, 4, VISIBLE)]
    distmat = np.array([[0.1, 0.2, 0.3], [0.1, 0.2, 0.3]])  # camera 2 is nearest for both queries
    fig = protocol_ranked_lists(distmat, query, gallery, rows=[0, 1], protocol="sysu", k=3)
    axes = np.array(fig.get_axes()).reshape(2, 4)
    # The camera-3 query never sees the camera-2 image; the camera-6 query does, at rank 1.
    assert [ax.get_xlabel() for ax in axes[0, 1:3]] == ["id 5 cam 1", "id 7 cam 4"]
    assert not axes[0, 3].images and "1 left out by protocol" in axes[0, 0].get_title()
    assert [ax.get_xlabel() for ax in axes[1, 1:]] == ["id 7 cam 2", "id 5 cam 1", "id 7 cam 4"]
    assert "left out" not in axes[1, 0].get_title()
    assert tuple(axes[0, 1].images[0].get_array()[0, 0]) == MISMATCH_RGB  # id 5: framed red
    assert tuple(axes[0, 2].images[0].get_array()[0, 0]) == MATCH_RGB
    assert axes[1, 1].get_title() == "rank 1"


def test_ranked_list_checks_matches():
    with pytest.raises(ValueError, match=r"expected bool of shape \(2,\)"):
        ranked_list(solid(1), [solid(2), solid(3)], np.array([1, 0]))
    with pytest.raises(ValueError, match=r"expected bool of shape \(2,\)"):
        ranked_list(solid(1), [solid(2), solid(3)], np.array([True]))


def test_ranked_lists_pads_short_galleries():
    fig = ranked_lists([solid(1), solid(2)], [[solid(3)] * 3, [solid(4)] * 2],
                       [np.array([True, False, False]), np.array([False, True])], k=5)
    assert len(fig.axes) == 2 * 4 and n_images(fig) == 7
    assert fig.axes[4].get_title() == "query 2"
    with pytest.raises(ValueError, match="one entry per query"):
        ranked_lists([solid(1)], [], [])


# ---------------------------------------------------------------------------- results
def test_cmc_curves_plots_percent_up_to_max_rank():
    a, b = np.array([0.5, 0.75, 1.0]), np.array([0.25, 0.5, 0.5])
    fig = cmc_curves({"a": a, "b": b}, max_rank=2)
    (ax,) = fig.axes
    assert [line.get_label() for line in ax.lines] == ["a (R1 50.0%)", "b (R1 25.0%)"]
    np.testing.assert_allclose(ax.lines[0].get_xydata(), [[1, 50.0], [2, 75.0]])
    with pytest.raises(ValueError, match="'p' spans .*not percentages"):
        cmc_curves({"p": 100 * a})
    with pytest.raises(ValueError, match="'d' decreases"):
        cmc_curves({"d": a[::-1]})


def test_metric_table_bar_one_bar_per_method_and_metric():
    df = pd.DataFrame({"method": ["baseline", "FIENet"], "rank1": [40.0, 50.0],
                       "mAP": [38.0, 47.0], "mINP": [20.0, 30.0]})
    fig = metric_table_bar(df)
    heights = sorted(p.get_height() for c in fig.axes[0].containers for p in c)
    assert heights == sorted(df[["rank1", "mAP", "mINP"]].to_numpy().ravel().tolist())
    with pytest.raises(KeyError, match=r"\['R1'\] not in the table"):
        metric_table_bar(df, metrics=["R1"])


def test_training_curves_panels_and_nan_validation():
    history = [{"epoch": e, "loss": 3.0 - e, "id": 2.0 - e, "triplet": 0.5, "igcl": 0.5,
                "lr": 0.01 * (e + 1), "rank1": 0.3 if e == 2 else float("nan"),
                "mAP": 0.2 if e == 2 else float("nan")} for e in range(3)]
    fig = training_curves(history)
    assert len(fig.axes) == 3
    assert [line.get_label() for line in fig.axes[0].lines] == ["loss", "id", "triplet", "igcl"]
    np.testing.assert_allclose(fig.axes[2].lines[0].get_xydata(), [[2, 0.3]])
    assert len(training_curves(pd.DataFrame(history)[["epoch", "loss"]]).axes) == 1
    with pytest.raises(KeyError, match="epoch column 'epoch' not in history"):
        training_curves([{"loss": 1.0}])


# ---------------------------------------------------------------------------- embeddings
@pytest.fixture
def embedded():
    rng = np.random.default_rng(0)
    pids = np.repeat([0, 1, 2], 4)  # 3 identities x (2 visible + 2 infrared)
    modalities = np.tile([VISIBLE, VISIBLE, INFRARED, INFRARED], 3)
    features = rng.normal(size=(12, 5)) + 3 * np.eye(5)[pids]
    return features, pids, modalities


def test_tsne_points_is_deterministic_for_a_seed(embedded):
    features, _, _ = embedded
    a, b = tsne_points(features, seed=3), tsne_points(features, seed=3)
    assert a.shape == (12, 2)
    np.testing.assert_array_equal(a, b)


def test_embedding_markers_by_modality(embedded):
    features, pids, modalities = embedded
    fig = plot_embedding(np.arange(24.0).reshape(12, 2), pids, modalities, title="t")
    visible, infrared = fig.axes[0].collections
    assert len(visible.get_offsets()) == len(infrared.get_offsets()) == 6
    np.testing.assert_array_equal(visible.get_offsets()[0], [0.0, 1.0])
    assert len(embedding_tsne(features, pids, modalities).axes) == 1
    assert len(tsne_pair(features, features[:, :3], pids, modalities).axes) == 2
    with pytest.raises(ValueError, match=r"unknown modalities \['rgb'\]"):
        plot_embedding(np.zeros((12, 2)), pids, ["rgb"] * 12)


# ---------------------------------------------------------------------------- distances
def test_pairwise_distance_groups_equals_double_loop(embedded):
    features, pids, modalities = embedded
    groups = pairwise_distance_groups(features, pids, modalities)
    expected = {SAME_WITHIN: [], DIFF_WITHIN: [], SAME_ACROSS: [], DIFF_ACROSS: []}
    for i in range(len(pids)):
        for j in range(i + 1, len(pids)):
            cos = features[i] @ features[j] / (np.linalg.norm(features[i])
                                               * np.linalg.norm(features[j]))
            same = pids[i] == pids[j]
            if modalities[i] == modalities[j]:
                expected[SAME_WITHIN if same else DIFF_WITHIN].append(1 - cos)
            else:
                expected[SAME_ACROSS if same else DIFF_ACROSS].append(1 - cos)
    assert set(groups) == set(expected)
    for name, values in expected.items():
        np.testing.assert_allclose(groups[name], values, atol=1e-12)
    assert [len(groups[g]) for g in (SAME_WITHIN, SAME_ACROSS)] == [3 * 2, 3 * 4]


def test_distance_histograms_two_panels_and_zero_rows(embedded):
    features, pids, modalities = embedded
    fig = distance_histograms(features, pids, modalities)
    assert [ax.get_title() for ax in fig.axes] == ["within modality", "across modalities"]
    features = features.copy()
    features[4] = 0
    with pytest.raises(ValueError, match=r"rows \[4\] are all zero"):
        pairwise_distance_groups(features, pids, modalities)


# ---------------------------------------------------------------------------- CAMs and masks
def test_cam_overlay_values():
    image = np.zeros((4, 2, 3), np.uint8)
    image[0, 0] = 255
    np.testing.assert_array_equal(cam_overlay(image, np.zeros((4, 2)), alpha=0.0), image)
    # alpha 1: pure jet heat map; jet(0) is dark blue, brightened to pure blue, in RGB order.
    heat = cam_overlay(image, np.zeros((4, 2)), alpha=1.0)
    assert heat.dtype == np.uint8 and (heat == (0, 0, 255)).all()
    assert cam_overlay(solid(5, 4, 2), np.ones((8, 4))).shape == (8, 4, 3)
    with pytest.raises(ValueError, match=r"cam spans \[2, 2\]; expected values in \[0, 1\]"):
        cam_overlay(image, np.full((4, 2), 2.0))


def test_cam_grid_rows_are_input_then_methods():
    images = [solid(50), solid(90)]
    cams = {"baseline": [np.zeros((16, 8))] * 2, "FIENet": [np.ones((16, 8))] * 2}
    fig = cam_grid(images, cams, col_titles=["visible", "infrared"])
    assert len(fig.axes) == 6 and n_images(fig) == 6
    assert [fig.axes[i].get_ylabel() for i in (0, 2, 4)] == ["input", "baseline", "FIENet"]
    with pytest.raises(ValueError, match=r"CAM counts \{'b': 1\}"):
        cam_grid(images, {"b": [np.zeros((16, 8))]})


def test_cam_grid_by_image_is_wide_labels_empty_maps_and_outlines_parts():
    images = [solid(50), solid(90)]
    layers = {name: [np.zeros((16, 8)), np.eye(16, 8)] for name in ("layer3", "layer4", "mpim")}
    region = np.zeros((16, 8), bool)
    region[4:8, 2:6] = True
    fig = cam_grid(images, layers, row_titles=["query", "match"], by_image=True, outlines=[region, None])
    axes = np.array(fig.axes).reshape(2, 4)  # one row per image, input + 3 layers
    assert [ax.get_title() for ax in axes[0]] == ["input", "layer3", "layer4", "mpim"]
    assert [axes[r, 0].get_ylabel() for r in (0, 1)] == ["query", "match"]
    assert all("empty map" in [t.get_text() for t in ax.texts] for ax in axes[0, 1:])  # zero maps say so
    assert not any(ax.texts for ax in axes[1, 1:])
    assert all(ax.collections for ax in axes[0, 1:]) and not any(ax.collections for ax in axes[1])  # contours
    with pytest.raises(ValueError, match="got 1 outlines"):
        cam_grid(images, layers, outlines=[region])


def test_blend_mask_hand_computed():
    image = np.full((2, 2, 3), 100, np.uint8)
    out = blend_mask(image, np.array([[0, 1], [2, 0]]), {1: (200, 0, 0), 2: (0, 0, 0)}, 0.5)
    assert out.tolist() == [[[100, 100, 100], [150, 50, 50]], [[50, 50, 50], [100, 100, 100]]]


def test_part_mask_overlay_legend_and_unnamed_values():
    mask = np.zeros((16, 8), int)
    mask[:5], mask[5:10] = 1, 2
    fig = part_mask_overlay(solid(120), mask, {1: "head", 2: "torso"})
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert texts == ["head", "torso"] and n_images(fig) == 1
    with pytest.raises(ValueError, match=r"mask values \[2\] have no name"):
        part_mask_overlay(solid(120), mask, {1: "head"})


def test_modality_statistics_densities_and_mean_images():
    rng = np.random.default_rng(0)
    pixels = {"visible": rng.integers(0, 256, (3, 8, 4, 3), dtype=np.uint8),
              "infrared": np.full((2, 8, 4, 3), 200, dtype=np.uint8)}
    fig = modality_statistics(pixels, bins=16)
    hist_ax, *image_axes = fig.axes
    assert [ax.get_title() for ax in image_axes] == ["mean visible image", "mean infrared image"]
    for patch in hist_ax.patches:  # one step outline per modality, each a density over 0..255
        xy = patch.get_xy()
        heights = xy[1:-1:2, 1]  # the top edge of every bin
        assert heights.sum() * (255 / 16) == pytest.approx(1.0)
    shown = image_axes[0].get_images()[0].get_array()
    np.testing.assert_array_equal(shown, pixels["visible"].astype(np.float32).mean(axis=0).astype(np.uint8))
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        modality_statistics({"visible": np.zeros((8, 4, 3))})


def test_module_readout_bars_split_shares_from_contributions():
    from fienet.plots import module_readout_bars

    table = pd.DataFrame([
        ("PFAM", "gate 2->3", "visible", 0.5), ("PFAM", "contribution 2->3", "visible", 0.1),
        ("PFAM", "gate 2->3", "infrared", 0.6), ("PFAM", "contribution 2->3", "infrared", 0.2),
    ], columns=["module", "part", "modality", "value"])
    fig = module_readout_bars(table)
    left, right = fig.axes[:2]
    assert [p.get_height() for p in left.patches] == [0.5, 0.6]
    assert [p.get_height() for p in right.patches] == [0.1, 0.2]
