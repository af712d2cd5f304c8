"""MusiCNN-MSD's output vocabulary and sizes, without torch: the genre inference and the torch-free runtime need
them, and core.features.musicnn (torch) re-exports them."""

from __future__ import annotations

# The 50 Last.fm tags of the MSD tagging benchmark, in the network's output order (spelling as published).
MSD_TAGS: tuple[str, ...] = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s", "alternative rock",
    "jazz", "beautiful", "metal", "chillout", "male vocalists", "classic rock", "soul", "indie rock", "Mellow",
    "electronica", "80s", "folk", "90s", "chill", "instrumental", "punk", "oldies", "blues", "hard rock", "ambient",
    "acoustic", "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country", "easy listening",
    "sexy", "catchy", "funk", "electro", "heavy metal", "Progressive rock", "60s", "rnb", "indie pop", "sad",
    "House", "happy",
)
N_TAGS = len(MSD_TAGS)
EMBED_DIM = 200
