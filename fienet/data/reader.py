"""What every dataset reader offers: the one interface training and evaluation use.

A reader knows its evaluation protocol, the settings a paper table reports for it, its training
records and how to draw the query and gallery of a setting and trial. Nothing outside a
reader's own file asks which dataset it is; a new dataset is a new subclass and one line in
:data:`fienet.data.datasets.READERS`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from fienet.data.records import Record
from fienet.protocols import Setting

if TYPE_CHECKING:
    from fienet.config import DataConfig

Split = tuple[list[Record], list[Record]]  # (query, gallery)


class Reader(ABC):
    """A dataset on disk.

    Attributes:
        protocol: the filtering rule of its evaluation, one of :data:`fienet.protocols.PROTOCOLS`.
        root: dataset folder.
    """

    protocol: ClassVar[str]
    root: Path

    @classmethod
    def from_config(cls, data: DataConfig) -> Reader:
        """The reader a config's ``data`` section describes (default: just ``data.root``)."""
        return cls(data.root)  # type: ignore[call-arg]

    @abstractmethod
    def settings(self) -> list[Setting]:
        """The settings a paper table reports for this dataset, in table order."""

    @abstractmethod
    def train_records(self) -> list[Record]:
        """Every training image: visible records first, then infrared."""

    @abstractmethod
    def test_records(self) -> list[Record]:
        """Every image of the test identities, visible first (the rows of a feature dump)."""

    @abstractmethod
    def test_split(self, **kwargs: Any) -> Split:
        """Query and gallery of one trial, called as ``test_split(trial=t, **setting.split_kwargs)``."""

    def split(self, setting: Setting, trial: int) -> Split:
        """Query and gallery of ``setting`` at ``trial``."""
        return self.test_split(trial=trial, **setting.split_kwargs)

    @abstractmethod
    def validate(self) -> int:
        """Open the header of every image; returns how many were checked."""
