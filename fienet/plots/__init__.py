"""Every figure the notebooks, the demo report and the docs show.

Each function takes plain inputs (arrays, image paths, DataFrames, records), returns a
``matplotlib.figure.Figure`` and never shows or saves it: callers decide. Figures are built
without pyplot, so they work under any backend and are not kept alive by pyplot's registry.
"""

from fienet.plots.cam import cam_grid, cam_overlay
from fienet.plots.data import blend_mask, infrared_mix_grid, modality_statistics, part_mask_overlay, sample_grid
from fienet.plots.distances import distance_histograms, pairwise_distance_groups
from fienet.plots.embedding import embedding_tsne, plot_embedding, tsne_pair, tsne_points
from fienet.plots.results import cmc_curves, metric_table_bar
from fienet.plots.retrieval import protocol_ranked_lists, ranked_list, ranked_lists
from fienet.plots.training import module_readout_bars, training_curves

__all__ = [
    "blend_mask",
    "cam_grid",
    "cam_overlay",
    "cmc_curves",
    "distance_histograms",
    "embedding_tsne",
    "infrared_mix_grid",
    "metric_table_bar",
    "modality_statistics",
    "module_readout_bars",
    "pairwise_distance_groups",
    "part_mask_overlay",
    "plot_embedding",
    "protocol_ranked_lists",
    "ranked_list",
    "ranked_lists",
    "sample_grid",
    "training_curves",
    "tsne_pair",
    "tsne_points",
]
