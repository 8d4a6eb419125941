"""Customer profiles, segments and lookalikes (see ``ml/README.md``, "Profiles")."""

from ml.profiles.build import ProfileBuild, build_profiles
from ml.profiles.lookalike import lookalikes
from ml.profiles.segments import SegmentRun, segment

__all__ = ["ProfileBuild", "SegmentRun", "build_profiles", "lookalikes", "segment"]
