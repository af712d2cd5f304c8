"""Descriptor metadata (label and pole words) for the descriptor columns a LibraryArrays carries.

The table lives in resources/descriptors.json behind core.features.interpretive.descriptor_table(); a column the
table does not know (e.g. an old cache) still gets a readable fallback instead of breaking the map.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.features.interpretive import descriptor_table


@dataclass(frozen=True)
class PoleSpec:
    name: str
    label: str
    low_pole: str
    high_pole: str


def _from_table() -> dict[str, Any]:
    """The shipped table by name. A broken resources/descriptors.json is a packaging bug and fails loudly."""
    return {spec.name: spec for spec in descriptor_table()}


def fallback_spec(name: str) -> PoleSpec:
    label = name.replace("_", " ")
    return PoleSpec(name, label, f"low {label}", f"high {label}")


def pole_specs(names: Sequence[str], specs: Sequence[Any] | None = None) -> list[PoleSpec]:
    """One PoleSpec per descriptor column, from `specs` (objects with name/label/low_pole/high_pole) when given,
    else from the resources table."""
    table = {s.name: s for s in specs} if specs is not None else _from_table()
    out = []
    for name in names:
        s = table.get(name)
        if s is None:
            out.append(fallback_spec(name))
        else:
            out.append(PoleSpec(name, str(getattr(s, "label", name)), str(s.low_pole), str(s.high_pole)))
    return out
