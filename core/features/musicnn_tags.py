"""MusiCNN-MSD's output vocabulary and sizes, without torch: the genre inference and the torch-free runtime need
them, and core.features.musicnn (torch) re-exports them."""

from __future__ import annotations

# The 50 Last.fm tags of the MSD tagging benchmark, in the network's output order (spelling as published).
MSD_TAGS: tuple[str, ...] = (
    "rock",
    "pop",
    "alternative",
    "indie",
    "electronic",
    "female vocalists",
    "dance",
    "00s",
    "alternative rock",
    "jazz",
    "beautiful",
    "metal",
    "chillout",
    "male vocalists",
    "classic rock",
    "soul",
    "indie rock",
    "Mellow",
    "electronica",
    "80s",
    "folk",
    "90s",
    "chill",
    "instrumental",
    "punk",
    "oldies",
    "blues",
    "hard rock",
    "ambient",
    "acoustic",
    "experimental",
    "female vocalist",
    "guitar",
    "Hip-Hop",
    "70s",
    "party",
    "country",
    "easy listening",
    "sexy",
    "catchy",
    "funk",
    "electro",
    "heavy metal",
    "Progressive rock",
    "60s",
    "rnb",
    "indie pop",
    "sad",
    "House",
    "happy",
)
N_TAGS = len(MSD_TAGS)
EMBED_DIM = 200

# How many 3 s patches of an excerpt the app's analysis runs through MusiCNN: 3 evenly spaced ones of a 30 s
# excerpt's 10. Chosen by 5-fold cross-validation on 4Q split=train (a logistic probe on the mean features, 3
# seeds): all 10 patches 74.3 % macro-F1, 3 patches 74.0 %, 2 patches 70.3 %, 1 patch 69.1 %. It cuts the
# network's cost (the app's largest CPU cost per track) by 70 %. The default model is trained on this setting, so
# changing it changes the features: bump EXTRACTOR_VERSION with it.
ANALYSIS_PATCHES = 3


def check_max_patches(keep: int | None) -> int | None:
    """`keep` itself when it is a patch budget (None: every patch); ValueError for keep < 1."""
    if keep is not None and keep < 1:
        raise ValueError("max_patches must be at least 1")
    return keep


def patch_picks(count: int, keep: int | None) -> list[int] | None:
    """Indices of `keep` evenly spaced patches out of `count`, each the centre pick of its equal share (3 of 10 ->
    1, 5, 8); None when all are kept (`keep` None, or not fewer than `count`). Raises ValueError for keep < 1."""
    if check_max_patches(keep) is None or count <= keep:
        return None
    return [int((i + 0.5) * count / keep) for i in range(keep)]
