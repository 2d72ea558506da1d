from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sentiment.services import file_import
from sentiment.sources import SourceError


class Command(BaseCommand):
    help = (
        "Import news articles from a CSV file (a header naming title, and optionally summary, url, guid, "
        "published_at in ISO 8601 with an offset) or JSON Lines (.jsonl: one object per line, the same "
        "fields). Articles already stored are skipped; the new ones are tagged and scored."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--source", default="file import", help="the source name the articles are kept under")
        parser.add_argument(
            "--as-published",
            action="store_true",
            help="make each article available from its published_at (an archive whose dates you trust, for "
            "backtests over the past); without it, articles are available from now",
        )

    def handle(self, file, source, as_published, **options):
        try:
            new = file_import(Path(file), source_name=source, as_published=as_published)
        except SourceError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{len(new)} new articles from {file}")
