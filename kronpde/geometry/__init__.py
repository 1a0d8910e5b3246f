"""Axes, grids, the face conditions and the checks and evaluation of their data."""
