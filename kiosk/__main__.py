"""``python -m kiosk`` runs the command line."""

import sys

from kiosk.cli import main

sys.exit(main())
