"""`python -m plg_report`: the same command as `plg-report`."""

import sys

from plg_report.cli import main

sys.exit(main())
