"""CrossView entry point: ``python main.py`` starts the app; ``python main.py --help`` lists the commands."""

from __future__ import annotations

import sys

from cli import main

if __name__ == "__main__":
    sys.exit(main())
