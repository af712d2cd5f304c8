"""Data files the app needs at run time, installed as the package `qfx_resources` (see core/resources.py)."""
