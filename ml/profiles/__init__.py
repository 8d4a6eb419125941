"""Customer profiles, segments and lookalikes (see ``ml/README.md``, "Profiles").

Names are imported on first use: the audiences' lookalike needs NumPy only, not the
scikit-learn the build and the segments load."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ml.profiles.build import ProfileBuild, build_profiles
    from ml.profiles.lookalike import lookalikes
    from ml.profiles.segments import SegmentRun, segment

_MODULES = {
    "ProfileBuild": "build",
    "build_profiles": "build",
    "lookalikes": "lookalike",
    "SegmentRun": "segments",
    "segment": "segments",
}

__all__ = ["ProfileBuild", "SegmentRun", "build_profiles", "lookalikes", "segment"]


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"ml.profiles.{_MODULES[name]}"), name)
