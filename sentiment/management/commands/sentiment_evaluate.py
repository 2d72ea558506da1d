import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sentiment.learned import ModelError, analyzer_for, registry_entry
from sentiment.models import SentimentEvaluation
from sentiment.training import TrainingDataError, evaluate, labelled_read


class Command(BaseCommand):
    help = (
        "Score labelled sentences (label<TAB>sentence) with an analyzer and print JSON: accuracy, macro_f1, "
        "per-class precision and recall, texts per second. NAME is vader, finbert (FINBERT_MODEL_DIR), "
        "trained (the registry's newest) or a registry entry's name. Each run is kept (SentimentEvaluation) "
        "and exported as a metric."
    )

    def add_arguments(self, parser):
        parser.add_argument("--analyzer", required=True, metavar="NAME")
        parser.add_argument("file", help="held-out labelled sentences (TSV)")

    def handle(self, analyzer, file, **options):
        try:
            scorer = analyzer_for(analyzer)
            data = labelled_read(Path(file))
        except (TrainingDataError, ModelError) as exc:
            raise CommandError(str(exc)) from None
        figures = evaluate(scorer, data).as_dict()
        result = {"analyzer": analyzer, "version": scorer.version, "file_sha256": data.sha256, **figures}
        SentimentEvaluation.objects.create(
            analyzer=analyzer,
            version=scorer.version,
            model=None if analyzer in ("vader", "finbert") else registry_entry(analyzer),
            file_sha256=data.sha256,
            accuracy=figures["accuracy"],
            macro_f1=figures["macro_f1"],
            texts_per_second=figures["texts_per_second"],
            figures=result,
        )
        self.stdout.write(json.dumps(result, indent=2))
