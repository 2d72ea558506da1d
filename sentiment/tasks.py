"""News sentiment's Celery jobs (scheduled by beat: tradingsite/management/commands/setup_periodic_tasks.py).

Fetching fans out one task per source, so a slow or failing source holds up no other; each run expires
before the next is due. Scoring by a model other than VADER (which scores as articles arrive) runs in
batches on its own queue (SENTIMENT_MODEL_QUEUE), which GPU workers can take alone.
"""

from celery import shared_task
from django.conf import settings

from sentiment.learned import analyzer_for
from sentiment.models import NewsSource
from sentiment.services import aggregates_record, articles_score_pending, source_fetch, sources_due

FETCH_EXPIRES_SECONDS = 240


@shared_task(ignore_result=True)
def news_fetch() -> None:
    for source in sources_due():
        news_fetch_source.apply_async((source.pk,), expires=FETCH_EXPIRES_SECONDS)


@shared_task(ignore_result=True, acks_late=True)
def news_fetch_source(source_id: int) -> None:
    source = NewsSource.objects.filter(pk=source_id, enabled=True).first()
    if source is not None:
        source_fetch(source)


@shared_task(ignore_result=True, acks_late=True)
def news_score(analyzer: str) -> None:
    articles_score_pending(analyzer_for(analyzer))


@shared_task(ignore_result=True)
def news_score_models() -> None:
    """Queue batch scoring for each model analyzer configured (SENTIMENT_MODEL_ANALYZERS)."""
    for name in settings.SENTIMENT_MODEL_ANALYZERS:
        news_score.apply_async((name,), queue=settings.SENTIMENT_MODEL_QUEUE, expires=FETCH_EXPIRES_SECONDS)


@shared_task(ignore_result=True)
def sentiment_aggregate() -> None:
    aggregates_record()
