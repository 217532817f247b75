"""The Qt reception app (PySide6). The only package that imports Qt (besides kiosk/ui/qt_printer.py's printer backend).

Screens render the states of the headless reception core (kiosk.workflow / kiosk.reception); slow work (card, network,
printer) runs through :class:`kiosk.ui.ops.BackgroundOps` and comes back through signals, so the UI thread never waits.
"""
