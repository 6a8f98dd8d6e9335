"""What the numbered notebooks share: their parameters, their data and the models they pass on.

Every notebook starts with the same parameters cell (DATASET, DATA_ROOT, CONFIG, DEVICE, SMOKE,
RUN_DIR) and hands it to :func:`setup`, which resolves it into a :class:`NotebookContext`: the
config to train with, the device, absolute paths and, on the synthetic data, a dataset generated
on first use. Notebooks run with the ``notebooks`` folder as working directory, so every
repo-relative path is resolved from the repository root, never from the working directory.

Smoke mode (``FIENET_SMOKE=1``, what ``make test`` sets) swaps in a tiny synthetic dataset and a
tiny model and training so that each notebook runs top to bottom in a minute or two on a CPU.

Notebook 02 trains the model that 03 and 04 read; :func:`load_or_train` finds it and, when it
is missing, says so and trains it. On the synthetic data the notebooks train the notebooks' short
schedule (the config's recipe cut to ``QUICK_EPOCHS`` epochs) unless asked for the whole one.

The pieces live by concept: :mod:`~fienet.notebook.repo` (finding the checkout),
:mod:`~fienet.notebook.smoke` (smoke mode), :mod:`~fienet.notebook.context` (``setup``),
:mod:`~fienet.notebook.models` (finding or training the models) and
:mod:`~fienet.notebook.views` (a dataset's folders and images).
"""

from fienet.notebook import smoke
from fienet.notebook.context import DEFAULT_CONFIGS, QUICK_EPOCHS, NotebookContext, setup
from fienet.notebook.models import (
    DEMO_CPU_IMAGES_PER_S,
    MissingModelError,
    TrainedModel,
    find_checkpoint,
    load_or_train,
    schedule_differences,
    train_command,
    training_plan,
)
from fienet.notebook.repo import find_repo_root, resolve_path
from fienet.notebook.smoke import SMOKE_DATA, SMOKE_ENV, SMOKE_OVERRIDES, smoke_config, smoke_requested
from fienet.notebook.views import folder_tree, load_images

__all__ = [
    "DEFAULT_CONFIGS",
    "DEMO_CPU_IMAGES_PER_S",
    "QUICK_EPOCHS",
    "SMOKE_DATA",
    "SMOKE_ENV",
    "SMOKE_OVERRIDES",
    "MissingModelError",
    "NotebookContext",
    "TrainedModel",
    "find_checkpoint",
    "find_repo_root",
    "folder_tree",
    "load_images",
    "load_or_train",
    "resolve_path",
    "schedule_differences",
    "setup",
    "smoke",
    "smoke_config",
    "smoke_requested",
    "train_command",
    "training_plan",
]
