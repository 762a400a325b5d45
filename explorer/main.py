"""Entry point of ``panel serve explorer`` (keep it tiny; see explorer/app.py)."""

import sys

from explorer.app import create_app
from explorer.explore import explore, journal_argument

journal = journal_argument(sys.argv[1:])
create_app(explore(journal=journal) if journal is not None else None).servable()
