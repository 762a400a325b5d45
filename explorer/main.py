"""Entry point of ``panel serve explorer`` (keep it tiny; see explorer/app.py).

``panel serve explorer --args --journal FILE`` replays a journal and ``--args --study
sqlite:///runs.db [--study-name NAME]`` shows an optuna study (``explore.serve_arguments``).
"""

import sys

from explorer.app import create_app
from explorer.explore import explore, serve_arguments

shown = serve_arguments(sys.argv[1:])
create_app(explore(**shown) if shown else None).servable()
