"""The model variants of the paper's ablation, defined once.

The baseline is FIENet with PFAM, MPIM and IGCL switched off (see docs/design.md); each other
variant switches some of them on. The ablation study, the notebooks and the training benchmark
all read this table.
"""

from __future__ import annotations

from dataclasses import dataclass

from fienet.config import Config, apply_overrides


@dataclass(frozen=True)
class Variant:
    """One row of the ablation table.

    Attributes:
        name: its name in tables (``"+PFAM+MPIM"``).
        pfam, mpim: the modules it has.
        igcl: whether it trains with IGCL (at the config's ``loss.igcl_weight``; off sets it to 0).
    """

    name: str
    pfam: bool
    mpim: bool
    igcl: bool

    @property
    def slug(self) -> str:
        """Folder name: ``"+PFAM+MPIM"`` -> ``"pfam_mpim"``, ``"FIENet"`` -> ``"fienet"``."""
        return self.name.strip("+").replace("+", "_").lower()

    def overrides(self) -> list[str]:
        """The ``section.field=value`` switches that make a config this variant."""
        switches = [f"model.pfam={str(self.pfam).lower()}", f"model.mpim={str(self.mpim).lower()}"]  # YAML spelling
        if not self.igcl:
            switches.append("loss.igcl_weight=0")
        return switches

    def apply(self, base: Config, extra: list[str] | tuple[str, ...] = ()) -> Config:
        """``base`` switched to this variant (a copy), then ``extra`` overrides."""
        if self.igcl and base.loss.igcl_weight <= 0:
            raise ValueError(
                f"variant '{self.name}' uses IGCL but the config has loss.igcl_weight={base.loss.igcl_weight}; "
                "expected a positive weight (e.g. loss.igcl_weight=0.5)"
            )
        return apply_overrides(base, [*self.overrides(), *extra])


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("baseline", pfam=False, mpim=False, igcl=False),
        Variant("+PFAM", pfam=True, mpim=False, igcl=False),
        Variant("+MPIM", pfam=False, mpim=True, igcl=False),
        Variant("+PFAM+MPIM", pfam=True, mpim=True, igcl=False),
        Variant("+IGCL", pfam=False, mpim=False, igcl=True),
        Variant("FIENet", pfam=True, mpim=True, igcl=True),
    )
}
BY_SLUG: dict[str, Variant] = {v.slug: v for v in VARIANTS.values()}
