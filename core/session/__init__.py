"""The one definition of the CrossView session folder: format, reading, writing, recovery and the jobs on it.

A session is a folder (format version :data:`core.session.layout.FORMAT_VERSION`, documented in
``docs/session-format.md``)::

    session.json          metadata (atomic tmp + rename): format, version, cameras, fps, counts, status
    calibration.toml      the calibration used (core.calibration_io layout, metres)
    <camera>.avi          one video per camera: MJPEG in AVI (recorded), or the imported file as is
    timestamps.csv        camera,frame_index,t_ns          capture time of every frame in the videos (ns)
    pairs.csv             pair_index,frame_index_<A>,frame_index_<B>,skew_ms   synchronised frame pairs
    keypoints2d.npz       (P, 17, 3) [x_px, y_px, conf] per camera name, time_s (P,), units = "px"
    poses3d.npz           joint_names, time_s (P,), coarse (P, 17, 3) m, refined, reprojection_error_px, ...
    live_results.bin      while recording: append-only journal of the live pipeline's per-pair results
    .recording.lock       while recording: held (flock) by the live writer; absent or unlocked otherwise

``frame_index`` is the position of a frame in its camera's video file (0, 1, 2, ... without gaps);
``t_ns`` the capture time in the recording machine's ``time.monotonic_ns()`` clock (imports: the file's
timeline). Every append-only file is written line by line (or record by record) straight to the OS, so a
killed recording stays readable up to the last frame written; :func:`core.session.recovery.recover` finalises it.

Units: nanoseconds (t_ns), milliseconds (skew_ms), seconds (time_s), pixels (2D), metres (3D).

The modules, by job (import each name from the module that defines it; this package re-exports nothing):

- :mod:`~core.session.layout`: file names, statuses, ``session.json`` (``SessionMeta``, ``CameraInfo``,
  ``read_meta``, ``write_json_atomic``), ``new_session_path``, ``safe_file_stem``;
- :mod:`~core.session.tables`: ``timestamps.csv`` and ``pairs.csv`` (``PairTable``), other tools' capture-time CSVs;
- :mod:`~core.session.avi`: the MJPEG/AVI writer, counting a video's frames, rewriting its index;
- :mod:`~core.session.journal`: the live-results journal, ``Poses`` and the result npz files;
- :mod:`~core.session.lock`: the recorder's folder lock, ``is_recording_live``;
- :mod:`~core.session.session`: ``Session``, a folder opened for reading;
- :mod:`~core.session.recorder`: ``SessionRecorder``, recording from running cameras;
- :mod:`~core.session.recovery`: ``finalize_files``, ``find_unfinished``, ``recover``, ``recover_all``;
- :mod:`~core.session.sources`: a session replayed as live camera sources (``session_sources``);
- :mod:`~core.session.importing`, :mod:`~core.session.processing`, :mod:`~core.session.exporting`: the jobs
  ``import_videos``, ``process_session``, ``export_session`` (each returns a frozen summary);
- :mod:`~core.session.manage`: renaming and deleting session folders;
- :mod:`~core.session.listing`: the rows of the sessions list; :mod:`~core.session.replay`: what the replay
  shows and its frame decoder.
"""
