"""Widgets shared by several tabs: the 3D skeleton view, the camera view, plots, message boxes, formatting."""
