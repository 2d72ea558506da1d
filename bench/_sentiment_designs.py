"""The sentiment model's candidate designs compared by 5-fold cross-validation on a labelled file (the
Financial PhraseBank training file by default), with their CPU speed. Not part of `make bench` (the
fine-tuning folds take a long while on two cores); run it by hand:

    python bench/_sentiment_designs.py [FILE.tsv] [--skip-finetune]

Prints one JSON object: per design, mean accuracy and macro-F1 over the folds (and their spread), and
texts per second scoring on this machine's CPU.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
from _django import django_start  # bench/, the script's folder, is on sys.path

django_start("sentiment-designs")

from sentiment.analyzers import VaderAnalyzer  # noqa: E402
from sentiment.training import Parameters, cross_validate, figures_of, folds_of, labelled_read  # noqa: E402

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "phrasebank" / "train.tsv"


def embed(texts: list[str]) -> tuple[np.ndarray, float]:
    """Mean-pooled, normalised MiniLM sentence embeddings (all six layers), and texts per second."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from sentiment.training import base_model_path

    tokenizer, model = AutoTokenizer.from_pretrained(base_model_path()), AutoModel.from_pretrained(base_model_path())
    model.eval()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    started = time.perf_counter()
    with torch.inference_mode():
        for start in range(0, len(order), 64):
            chunk = order[start : start + 64]
            encoded = tokenizer([texts[i] for i in chunk], padding=True, truncation=True, return_tensors="pt")
            hidden = model(**encoded).last_hidden_state
            mask = encoded["attention_mask"].unsqueeze(-1).float()
            pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=1)
            out[chunk] = pooled.numpy()
    return out, len(texts) / (time.perf_counter() - started)


def linear_designs(data) -> dict:
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    labels = np.array(data.labels)
    embeddings, embed_rate = embed(data.texts)

    def features(design: str, rows: np.ndarray, vectorizer):
        if design == "minilm-embeddings-logistic":
            return embeddings[rows]
        words = [data.texts[i] for i in rows]
        tfidf = vectorizer.transform(words) if hasattr(vectorizer, "vocabulary_") else vectorizer.fit_transform(words)
        if design == "tfidf-logistic":
            return tfidf
        return hstack([tfidf, csr_matrix(embeddings[rows] * 2)]).tocsr()

    strength = {"tfidf-logistic": 10, "minilm-embeddings-logistic": 1, "tfidf+minilm-embeddings-logistic": 10}
    results = {}
    for design, c in strength.items():
        figures = []
        for held in folds_of(data.labels, 5, Parameters().seed):
            train = np.setdiff1d(np.arange(len(labels)), held)
            vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
            model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
            model.fit(features(design, train, vectorizer), labels[train])
            predicted = list(model.predict(features(design, held, vectorizer)))
            figures.append(figures_of([data.labels[i] for i in held], predicted, seconds=0).as_dict())
        results[design] = summary(figures)
        if "minilm" in design:
            results[design]["texts_per_second"] = round(embed_rate, 1)
    return results


def summary(figures: list[dict]) -> dict:
    return {
        "accuracy": round(float(np.mean([f["accuracy"] for f in figures])), 4),
        "macro_f1": round(float(np.mean([f["macro_f1"] for f in figures])), 4),
        "macro_f1_std": round(float(np.std([f["macro_f1"] for f in figures])), 4),
    }


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    data = labelled_read(Path(args[0]) if args else DEFAULT)
    started = time.perf_counter()
    vader = figures_of(data.labels, [s.label for s in VaderAnalyzer().scores(data.texts)], seconds=0).as_dict()
    results = {
        "file_sha256": data.sha256,
        "rows": len(data.labels),
        "vader (no training: the whole file)": {
            "accuracy": vader["accuracy"],
            "macro_f1": vader["macro_f1"],
            "texts_per_second": round(len(data.texts) / (time.perf_counter() - started), 1),
        },
    }
    results.update(linear_designs(data))
    if "--skip-finetune" not in sys.argv:
        parameters = Parameters()
        cv = cross_validate(data, parameters, folds=5)
        results[f"minilm-finetune ({parameters.layers} layers, {parameters.epochs} epochs)"] = {
            "accuracy": cv["accuracy"],
            "macro_f1": cv["macro_f1"],
            "macro_f1_std": cv["macro_f1_std"],
            "texts_per_second": round(float(np.mean([f["texts_per_second"] for f in cv["folds"]])), 1),
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
