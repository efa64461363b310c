"""The Pose2Sim balancing trial's 4-camera reference, as the 12 joints H36M shares exactly with BODY_25B."""

from __future__ import annotations

from bench.shared import pose2sim_reference12

#: The reference ``(100, 12, 3)`` m in the calibration's world frame, joints in ``core.skeleton.SHARED_12``
#: (one definition, in bench/shared.py, which the benchmarks use too).
reference12 = pose2sim_reference12
