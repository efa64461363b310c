"""The calibration wizard's pages, one module each: inputs, board, intrinsics (with :class:`CapturePage`, what
the capture pages share), stereo, results; :mod:`~app.calibration.pages.base` holds the page base and ids."""
