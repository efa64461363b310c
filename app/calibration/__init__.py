"""The Calibration feature of the app (Qt only): the Calibration tab and the stereo calibration wizard.

- :mod:`~app.calibration.tab`: :class:`CalibrationTab`, the app's calibration and "Open…" / "Calibrate…";
- :mod:`~app.calibration.wizard`: :class:`CalibrationWizard`, the shell (pages, side steps, navigation);
- :mod:`~app.calibration.pages`: one module per page (inputs, board, intrinsics with the shared capture-page
  base, stereo, results), each a view of the presenter;
- :mod:`~app.calibration.presenter`: :class:`CalibrationPresenter`, a QObject without widgets that owns the
  calibration run, the cameras, the capture and solve tasks, and a computed :class:`CalibrationState`;
- :mod:`~app.calibration.tasks`: the capture and solve :class:`app.tasks.Task` builders;
- :mod:`~app.calibration.widgets`: Banner, StatTile, FrameView, panels and text helpers;
- :mod:`~app.calibration.board_dialog`: the "Print board…" dialog.

The work is Qt-free, in :mod:`calibration` (``calibration.run``, ``calibration.live``, ``calibration.feeds``,
``calibration.rectify``); the look is ``app/theme/calibration.qss``.
"""
