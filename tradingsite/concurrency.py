"""Serving sync API views concurrently under ASGI.

Django runs sync views on one thread per process (`thread_sensitive=True`), so requests queue behind
each other's database round trips. `in_thread_pool` runs a view in the event loop's thread pool
instead: each pool thread keeps its own database connection, recycled here at the start and end of
every request as Django does for its own thread (CONN_MAX_AGE, CONN_HEALTH_CHECKS). Only for views
with no thread affinity: DRF API views that read and write through the services qualify.
"""

import functools

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections


def in_thread_pool(view):
    def run(request, *args, **kwargs):
        close_old_connections()
        try:
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and callable(response.render):
                response = response.render()
            return response
        finally:
            close_old_connections()

    @functools.wraps(view)
    async def pooled(request, *args, **kwargs):
        if not settings.API_THREAD_POOL:
            return await sync_to_async(view, thread_sensitive=True)(request, *args, **kwargs)
        return await sync_to_async(run, thread_sensitive=False)(request, *args, **kwargs)

    return pooled
