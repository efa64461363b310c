"""CrossView core: capture, detection, skeleton, cameras, triangulation, sessions, export. No Qt here."""

__version__ = "0.1.0"
