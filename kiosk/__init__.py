"""The application: composition root, reception workflow, configuration, command line and the Qt UI (kiosk.ui)."""
