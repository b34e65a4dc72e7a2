import os
import secrets

pytest_plugins = ["kundonline_devstack.pytest_plugin"]

# Services refuse to start without a strong internal secret; tests make one per run, which
# every settings object and service process started by a test inherits.
os.environ.setdefault("KUNDONLINE_INTERNAL_TOKEN_SECRET", secrets.token_urlsafe(48))
