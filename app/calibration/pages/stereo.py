"""Page 5 of the calibration wizard: pairs in which both cameras see the board at the same instant, with a
live epipolar error estimate. Qt only."""

from __future__ import annotations

from PySide6 import QtWidgets

from app.calibration.pages.intrinsics import CapturePage, corner_colour, decision_text
from app.calibration.presenter import CalibrationPresenter
from app.calibration.widgets import FrameView, StatTile, fmt, user_text
from calibration.engine import SessionState
from calibration.live import PreviewPacket


class StereoPage(CapturePage):
    """Page 5: pairs in which both cameras see the board at the same instant."""

    mode = "pairs"

    def __init__(self, presenter: CalibrationPresenter) -> None:
        super().__init__(
            presenter,
            "5 · Both cameras together",
            "Hold the board STILL where both cameras see it, at several places and angles across the space you "
            "will use. Pairs are kept when they add information; the epipolar error says how well they agree.",
        )
        lay = self.page_layout()
        views = QtWidgets.QHBoxLayout()
        views.setSpacing(10)
        self.views = [FrameView("Camera 1"), FrameView("Camera 2")]
        for v in self.views:
            v.set_message("Starting…")
            views.addWidget(v, 1)
            self.heat_box.toggled.connect(v.set_heat_visible)
        lay.addLayout(views, 1)
        bottom = QtWidgets.QHBoxLayout()
        bottom.setSpacing(8)
        self.tile_pairs = StatTile("Pairs kept")
        self.tile_cov = StatTile("Coverage cam 1 / 2")
        self.tile_epi = StatTile("Epipolar error (estimate)")
        self.tile_rms = StatTile("Stereo RMS (estimate)")
        self.tile_base = StatTile("Baseline (estimate)")
        for t in (self.tile_pairs, self.tile_cov, self.tile_epi, self.tile_rms, self.tile_base):
            t.setMinimumWidth(150)
            bottom.addWidget(t)
        bottom.addWidget(self.advice_panel(), 1)
        lay.addLayout(bottom)
        lay.addLayout(self.controls())
        self.setButtonText(QtWidgets.QWizard.WizardButton.NextButton, "Calibrate")

    def compute_complete(self) -> bool:
        run = self.run()
        if run is None:
            return False
        st = run.session.state()
        return st.pairs is not None and st.pairs.ready and self.worker_idle_or_live()

    def shortfall(self) -> str:
        run = self.run()
        if run is None or self.compute_complete():
            return ""
        st = run.session.state().pairs
        kept = 0 if st is None else st.views_kept
        need = run.options.get("min_pairs", 6) if st is None else st.min_views
        return (
            f"Only {kept} stereo pair(s) with the board seen by BOTH cameras at the same instant; at least {need} "
            "are needed (10-20 recommended). Record again holding the board where both cameras see all of it, at "
            "several places and angles."
        )

    def worker_idle_or_live(self) -> bool:
        """Recordings: the pairs are final once the recording (and its sync check) finished."""
        run = self.run()
        if run is None or run.recordings is None:
            return True
        return not self.capturing()

    def show_packet(self, pkt: PreviewPacket) -> None:
        if pkt.images:
            for k, v in enumerate(self.views):
                det = pkt.detections[k]
                v.set_image(pkt.images[k], pkt.scales[k])
                v.set_corners(det.corners if det.found else None, corner_colour(pkt.kept))
                dec = pkt.pair_decision
                if not det.found:
                    text, level = decision_text(None, False, det.reasons)
                elif dec is None:
                    text, level = ("Board found", "info")
                else:
                    text, level = decision_text(dec, True, ())
                v.set_status(text, level)
                if k == 0:
                    v.set_caption(pkt.label)
                if pkt.kept:
                    v.flash()
            if pkt.pair_decision is not None:
                self.decision_label.setText(decision_text(pkt.pair_decision, True, ())[0])
        self.show_state(pkt.state, pkt)

    def show_state(self, state: SessionState, pkt: PreviewPacket | None = None) -> None:
        st = state.pairs
        if st is not None:
            ok = st.views_kept >= st.min_views
            self.tile_pairs.set(
                f"{st.views_kept} / {st.max_views}", "good" if ok else None, f"At least {st.min_views} pairs."
            )
        if state.pair_heatmaps is not None:
            for v, h in zip(self.views, state.pair_heatmaps):
                v.set_heatmap(h)
            cov = [float((h > 0).mean()) for h in state.pair_heatmaps]
            self.tile_cov.set(f"{cov[0]:.0%} / {cov[1]:.0%}")
        est = pkt.estimate if pkt is not None else (self.last_packet.estimate if self.last_packet else None)
        if est is not None:
            if est.error:
                self.tile_epi.set("—", None, est.error)
                self.tile_rms.set("—")
                self.tile_base.set("—")
            else:
                e = est.epipolar_px
                self.tile_epi.set(
                    fmt(e, 2, " px"),
                    "good" if e < 0.5 else "usable" if e < 1.5 else "poor",
                    "Mean distance of the corners to their epipolar lines"
                    + (" on held-out pairs" if est.heldout else " (all pairs)"),
                )
                rms_level = "good" if est.rms < 0.5 else "usable" if est.rms < 1 else "poor"
                self.tile_rms.set(fmt(est.rms, 2, " px"), rms_level)
                self.tile_base.set(fmt(est.baseline_m, 3, " m"))
        advice = state.advice
        if st is not None and not (st.last is not None and st.last.code == "moving"):
            advice = st.advice or advice
        if st is not None and st.ready and (self.stream_ended or self.run() is None or self.run().recordings is None):
            advice = advice or "Enough pairs: press Calibrate."
        self.advice_label.setText(user_text(advice))

    def clear(self) -> None:
        run = self.run()
        if run is None:
            return
        self.stop_capture()
        self.presenter.reset_pairs()
        for v in self.views:
            v.set_heatmap(None)
        self.info_banner.set_message("")
        self.show_state(run.session.state())
        self._refresh_complete()
        self.start_capture()
