"""The Sessions tab: the sessions list, import, processing, export, replay and recovery (view, presenter, tasks)."""
