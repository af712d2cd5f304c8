"""QuadFusion Explorer: library indexing, exploration analysis and the desktop app. Uses `core`, never the reverse."""
