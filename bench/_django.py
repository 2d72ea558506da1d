"""What every bench does first: make the project importable, give the bench its own cache and
channel-layer key prefix (so it never meets a running system's keys, nor another bench's), set up Django."""

import os
import sys
import uuid
from pathlib import Path


def django_start(name: str, **environ: str) -> str:
    """Django set up for the bench `name`, with `environ` added to the environment; returns the key prefix."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    prefix = f"bench-{name}-{uuid.uuid4().hex[:6]}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradingsite.settings")
    os.environ["CACHE_KEY_PREFIX"] = prefix
    os.environ["CHANNEL_LAYER_PREFIX"] = prefix
    os.environ.update(environ)
    import django

    django.setup()
    return prefix
