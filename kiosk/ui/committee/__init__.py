"""The election committee's Qt view (``uketsuke committee``): live station state and turnout from the tally server."""

from __future__ import annotations

from kiosk.ui.committee.app import run_committee_view, save_screens
from kiosk.ui.committee.window import CommitteeWindow

__all__ = ["CommitteeWindow", "run_committee_view", "save_screens"]
