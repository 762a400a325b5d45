"""Entry point of ``panel serve explorer`` (keep it tiny; see explorer/app.py)."""

from explorer.app import create_app

create_app().servable()
