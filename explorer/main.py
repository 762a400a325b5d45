"""Entry point of ``panel serve explorer`` (keep it tiny; see explorer/app.py)."""

import sys

from explorer.app import create_app
from explorer.explore import journal_argument

create_app(journal=journal_argument(sys.argv[1:])).servable()
