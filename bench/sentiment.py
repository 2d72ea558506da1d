"""News sentiment throughput. Prints one JSON object:

- `vader_texts_per_second`: VADER (with the finance lexicon) scoring sentences one by one.
- `trained_texts_per_second`: the trained model's design (MiniLM fine-tuned, `sentiment.training`
  defaults) scoring batches of 64 on this machine's CPU. Speed does not depend on the weights, so the
  untrained design is timed unless BENCH_SENTIMENT_MODEL names a registry entry's unpacked directory.
- `end_to_end_articles_per_second`: an RSS document parsed (feedparser), deduplicated (a tenth of its
  items repeat stories already stored), tagged with symbols, scored with VADER and stored in PostgreSQL.

Texts are the Financial PhraseBank training sentences where ../shared/data is present, made-up
headlines otherwise (`texts` says which).
"""

import json
import os
import random
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from _django import bench_run, django_start  # bench/, the script's folder, is on sys.path

django_start("sentiment")

PHRASEBANK = Path(__file__).resolve().parents[2] / "shared" / "data" / "phrasebank" / "train.tsv"
ARTICLES = int(os.environ.get("BENCH_SENTIMENT_ARTICLES", "5000"))
TARGETS = {"vader": 20_000, "trained": 300, "end_to_end": 2_000}


def texts_for_bench() -> tuple[list[str], str]:
    if PHRASEBANK.is_file():
        lines = PHRASEBANK.read_text(encoding="utf-8").splitlines()[1:]
        return [line.split("\t")[1] for line in lines if "\t" in line], "phrasebank train.tsv"
    return headlines(4000, seed=1), "made-up headlines"


COMPANIES = ["Infosys", "TCS", "Wipro", "HDFC Bank", "ICICI Bank", "Reliance Industries", "ITC", "Tata Motors"]
VERBS = ["surges", "plunges", "rises", "falls", "beats estimates", "misses estimates", "is flat", "rallies"]
WHAT = ["after results", "on deal win", "as margins shrink", "on guidance", "amid sell-off", "on buyback news"]


def headlines(count: int, *, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [
        f"{rng.choice(COMPANIES)} {rng.choice(VERBS)} {rng.choice(WHAT)} ({k}, {rng.randint(1, 99)}% move)"
        for k in range(count)
    ]


def rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1)


def vader_rate(texts: list[str]) -> float:
    from sentiment.analyzers import VaderAnalyzer

    analyzer = VaderAnalyzer()
    sample = (texts * (20_000 // len(texts) + 1))[:20_000]
    best = 0.0
    for _ in range(3):
        started = time.perf_counter()
        analyzer.scores(sample)
        best = max(best, rate(len(sample), time.perf_counter() - started))
    return best


def trained_rate(texts: list[str]) -> tuple[float, str]:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from sentiment.analyzers import LABELS
    from sentiment.learned import TransformerAnalyzer
    from sentiment.training import Parameters, base_model_path

    directory = os.environ.get("BENCH_SENTIMENT_MODEL", "")
    if directory:
        analyzer = TransformerAnalyzer.from_directory(Path(directory), name="trained", version="bench", batch=64)
        what = directory
    else:
        layers = Parameters().layers
        model = AutoModelForSequenceClassification.from_pretrained(
            base_model_path(), num_labels=3, id2label=dict(enumerate(LABELS))
        )
        model.bert.encoder.layer = model.bert.encoder.layer[:layers]
        tokenizer = AutoTokenizer.from_pretrained(base_model_path())
        analyzer = TransformerAnalyzer(model, tokenizer, name="trained", version="bench", batch=64)
        what = f"MiniLM, {layers} of 6 layers (untrained head: speed only)"
    sample = texts[:1024]
    analyzer.scores(sample[:64])  # warm up
    started = time.perf_counter()
    analyzer.scores(sample)
    return rate(len(sample), time.perf_counter() - started), f"{what}; torch threads {torch.get_num_threads()}"


def rss_document(titles: list[str], start: datetime) -> bytes:
    items = "".join(
        f"<item><title>{escape(title)}</title><link>https://news.example/{k}</link>"
        f"<guid>bench-{k}</guid><description>{escape(title)} - more in the full story.</description>"
        f"<pubDate>{format_datetime(start + timedelta(seconds=k))}</pubDate></item>"
        for k, title in enumerate(titles)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Bench</title>{items}</channel></rss>'.encode()


def end_to_end_rate() -> dict:
    from sentiment.models import Article, NewsSource
    from sentiment.services import articles_store
    from sentiment.sources import rss_parse
    from sentiment.tagging import tagger_build

    source = NewsSource.objects.create(name="bench", kind=NewsSource.Kind.RSS, url="https://news.example/rss")
    titles = headlines(ARTICLES, seed=2)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # A tenth of the document repeats stories stored before (under other addresses: the same text).
    earlier = rss_parse(rss_document(titles[: ARTICLES // 10], start))
    articles_store(source, [replace(a, url=a.url + "?earlier", guid="") for a in earlier])
    document = rss_document(titles, start)
    tagger = tagger_build()
    started = time.perf_counter()
    stored = articles_store(source, rss_parse(document), tagger=tagger)
    seconds = time.perf_counter() - started
    return {
        "end_to_end_articles_per_second": rate(ARTICLES, seconds),
        "end_to_end_articles": ARTICLES,
        "end_to_end_new": len(stored),
        "stored_total": Article.objects.count(),
    }


def main() -> None:
    texts, where = texts_for_bench()
    result = {"texts": where, "vader_texts_per_second": vader_rate(texts)}
    result["trained_texts_per_second"], result["trained_model"] = trained_rate(texts)
    with bench_run():
        result.update(end_to_end_rate())
    result["targets"] = TARGETS
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
