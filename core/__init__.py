"""QuadFusion core: audio decoding, features, the QuadFusionNet model, training and evaluation (no Qt)."""

__version__ = "0.1.0"
