import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from sentiment.training import Parameters, TrainingDataError, cross_validate, fine_tune, labelled_read, registry_save


class Command(BaseCommand):
    help = (
        "Fine-tune the sentiment model on labelled sentences (label<TAB>sentence; labels positive, neutral, "
        "negative), cross-validate it, train it on the whole file and save it in the model registry with the "
        "file's hash and the cross-validated figures, which are printed as JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument("--data", required=True, help="the labelled file (TSV)")
        parser.add_argument("--name", help="the registry entry's name (default: minilm-<date and time>)")
        parser.add_argument("--folds", type=int, default=5, help="cross-validation folds (0: none)")
        defaults = Parameters()
        parser.add_argument("--layers", type=int, default=defaults.layers, help="encoder layers kept, 1 to 6")
        parser.add_argument("--epochs", type=int, default=defaults.epochs)
        parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
        parser.add_argument("--seed", type=int, default=defaults.seed)

    def progress(self, phase: str):
        shown = [-1]

        def show(fraction: float) -> None:
            percent = int(fraction * 100)
            if percent != shown[0]:  # once per percent
                shown[0] = percent
                self.stderr.write(f"\r{phase}: {percent:3d}%", ending="\n" if fraction >= 1 else "")
                self.stderr.flush()

        return show

    def handle(self, data, name, folds, layers, epochs, learning_rate, seed, **options):
        from sentiment.models import SentimentModel

        if not 1 <= layers <= 6:
            raise CommandError(f"--layers {layers}: the encoder has 6 layers; keep 1 to 6")
        if folds == 1 or folds < 0:
            raise CommandError(f"--folds {folds}: give 0 (no cross-validation) or 2 or more")
        name = name or f"minilm-{timezone.now():%Y%m%d-%H%M%S}"
        if SentimentModel.objects.filter(name=name).exists():
            raise CommandError(f"the registry already holds a model named {name!r}")
        try:
            labelled = labelled_read(Path(data))
        except TrainingDataError as exc:
            raise CommandError(str(exc)) from None
        parameters = Parameters(layers=layers, epochs=epochs, learning_rate=learning_rate, seed=seed)
        cv = (
            cross_validate(labelled, parameters, folds=folds, progress=self.progress("cross-validation"))
            if folds
            else {}
        )
        model, tokenizer = fine_tune(labelled.texts, labelled.labels, parameters, progress=self.progress("training"))
        entry = registry_save(name, model, tokenizer, data=labelled, parameters=parameters, cv=cv)
        summary = {
            "name": entry.name,
            "design": entry.design,
            "rows": entry.data_rows,
            "data_sha256": entry.data_sha256,
            "cross_validation": {k: v for k, v in cv.items() if k != "folds"},
        }
        self.stdout.write(json.dumps(summary, indent=2))
