"""Exploration analysis on numpy arrays (no Qt, no SQL): filter, PCA map, subcategories, axis meaning, recommend."""

from explorer.analysis.axes import AxisLabel, interpret_axes, pearson_matrix, visible_mask
from explorer.analysis.errors import AnalysisError
from explorer.analysis.filtering import FacetCounts, TrackFilter, facet_counts, filter_mask, filter_tracks
from explorer.analysis.playlists import PlaylistEntry, SavedPlaylist, read_m3u8, save_m3u8, write_m3u8  # noqa: F401
from explorer.analysis.profiles import ClusterProfile, cluster_profiles
from explorer.analysis.projection import Projection, project_pca
from explorer.analysis.recommend import Recommendation, liked_rows, recommend
from explorer.analysis.scene import PALETTE, MapScene, build_map_scene, refresh_axes
from explorer.analysis.subcategories import KScore, Subcategories, find_subcategories

__all__ = [
    "AnalysisError",
    "AxisLabel",
    "ClusterProfile",
    "FacetCounts",
    "KScore",
    "MapScene",
    "PALETTE",
    "PlaylistEntry",
    "Projection",
    "Recommendation",
    "Subcategories",
    "TrackFilter",
    "build_map_scene",
    "cluster_profiles",
    "facet_counts",
    "filter_mask",
    "filter_tracks",
    "find_subcategories",
    "interpret_axes",
    "liked_rows",
    "pearson_matrix",
    "project_pca",
    "read_m3u8",
    "recommend",
    "refresh_axes",
    "visible_mask",
    "write_m3u8",
]
