"""Analyzers that are sequence classifiers (transformers): FinBERT from a local directory, and the models
trained here (`sentiment.training`), kept in the registry (`SentimentModel`).

Nothing is downloaded: weights come from a directory or from the registry's stored files, and the
libraries run with HF_HUB_OFFLINE. Texts are scored in batches, shortest together (less padding), on
the GPU where there is one (on a CPU with 8-bit linear layers, SENTIMENT_CPU_INT8). A model's labels
are read from its config (`id2label`), so FinBERT's order (positive, negative, neutral) and ours need
no mapping by hand; a model without all three is refused.
"""

import hashlib
import io
import os
import shutil
import warnings
import zipfile
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from sentiment.analyzers import LABELS, Analyzer, Score, vader
from sentiment.models import SentimentModel

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class ModelError(LookupError):
    pass


def label_index(id2label: dict) -> dict[str, int]:
    """Our label -> the model's output index, from its config; every one of ours must be there."""
    found = {str(name).lower(): int(index) for index, name in id2label.items()}
    missing = [label for label in LABELS if label not in found]
    if missing:
        raise ModelError(f"the model's labels {sorted(found)} lack {missing}: it is not a 3-class sentiment model")
    return {label: found[label] for label in LABELS}


class TransformerAnalyzer(Analyzer):
    def __init__(self, model, tokenizer, *, name: str, version: str, batch: int | None = None):
        import torch

        self.torch = torch
        self.name, self.version = name, version
        self.batch = batch or settings.SENTIMENT_BATCH
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.tokenizer = tokenizer
        self.index = label_index(model.config.id2label)
        model = model.to(self.device).eval()
        if self.device == "cpu" and settings.SENTIMENT_CPU_INT8:
            model = int8_linear(model)
            self.version += "+int8"
        self.model = model

    @classmethod
    def from_directory(cls, directory: Path, *, name: str, version: str, batch: int | None = None):
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        if not (Path(directory) / "config.json").is_file():
            raise ModelError(f"{directory} holds no model (config.json is missing)")
        model = AutoModelForSequenceClassification.from_pretrained(directory)
        return cls(model, AutoTokenizer.from_pretrained(directory), name=name, version=version, batch=batch)

    def scores(self, texts: list[str]) -> list[Score]:
        torch = self.torch
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: list[Score | None] = [None] * len(texts)
        with torch.inference_mode():
            for start in range(0, len(order), self.batch):
                chunk = order[start : start + self.batch]
                encoded = self.tokenizer(
                    [texts[i] for i in chunk], padding=True, truncation=True, max_length=128, return_tensors="pt"
                ).to(self.device)
                probabilities = torch.softmax(self.model(**encoded).logits.float(), dim=-1).cpu().tolist()
                for i, p in zip(chunk, probabilities, strict=True):
                    by_label = {label: p[index] for label, index in self.index.items()}
                    label = max(by_label, key=by_label.get)
                    out[i] = Score(label, round(by_label["positive"] - by_label["negative"], 6))
        return out


def int8_linear(model):
    """The model with its linear layers' weights in 8-bit integers (PyTorch's dynamic quantization): on a
    CPU it scores over twice as fast for a fraction of a point of accuracy (see the README's figures)."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the API's deprecation notices: it is what this pinned torch offers
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def directory_version(directory: Path) -> str:
    """A version that changes with the weights: the first 12 hex digits of their files' SHA-256."""
    digest = hashlib.sha256()
    for path in sorted(Path(directory).glob("*")):
        if path.suffix in (".safetensors", ".bin", ".json"):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@lru_cache(maxsize=4)
def finbert(directory: str) -> TransformerAnalyzer:
    if not directory:
        raise ModelError("FINBERT_MODEL_DIR is not set: FinBERT is loaded from a local directory only")
    path = Path(directory)
    return TransformerAnalyzer.from_directory(path, name="finbert", version=f"{path.name}@{directory_version(path)}")


def registry_entry(name: str) -> SentimentModel:
    """A registry entry by name, or with "trained", the newest."""
    entries = SentimentModel.objects.defer("artifact")
    entry = entries.order_by("-created_at", "-pk").first() if name == "trained" else entries.filter(name=name).first()
    if entry is None:
        known = list(SentimentModel.objects.order_by("-created_at").values_list("name", flat=True)[:10])
        raise ModelError(f"no trained model {name!r} in the registry; it holds {known or 'none'}")
    return entry


def registry_directory(entry: SentimentModel) -> Path:
    """The entry's files, unpacked once into SENTIMENT_MODEL_CACHE_DIR under their SHA-256."""
    target = Path(settings.SENTIMENT_MODEL_CACHE_DIR) / entry.artifact_sha256
    if (target / "config.json").is_file():
        return target
    artifact = bytes(SentimentModel.objects.values_list("artifact", flat=True).get(pk=entry.pk))
    if hashlib.sha256(artifact).hexdigest() != entry.artifact_sha256:
        raise ModelError(f"registry entry {entry.name}: its stored files do not match their SHA-256")
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    with zipfile.ZipFile(io.BytesIO(artifact)) as archive:
        archive.extractall(partial)
    try:
        partial.rename(target)
    except OSError:  # another process unpacked it first: theirs is the same
        shutil.rmtree(partial, ignore_errors=True)
    return target


@lru_cache(maxsize=4)
def registry_loaded(name: str, sha256: str) -> TransformerAnalyzer:
    entry = SentimentModel.objects.defer("artifact").get(name=name)
    return TransformerAnalyzer.from_directory(
        registry_directory(entry), name="trained", version=f"{name}@{sha256[:12]}"
    )


def registry_analyzer(name: str) -> TransformerAnalyzer:
    """A registry model as an analyzer: its scores are the "trained" analyzer's, its entry the version."""
    entry = registry_entry(name)
    return registry_loaded(entry.name, entry.artifact_sha256)


def analyzer_for(name: str) -> Analyzer:
    """The analyzer called `name`: "vader", "finbert" (from FINBERT_MODEL_DIR), "trained" (the newest model
    in the registry) or a registry entry's name. Raises ModelError (a LookupError) naming what exists."""
    if name == "vader":
        return vader()
    if name == "finbert":
        return finbert(settings.FINBERT_MODEL_DIR)
    return registry_analyzer(name)
