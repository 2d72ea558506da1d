"""The transformer analyzers: FinBERT loaded from a directory (a tiny randomly initialised BERT built
here, since weights cannot be downloaded), its labels read from its config and its texts batched; the
trained model through `sentiment_train`, the registry and `sentiment_evaluate`."""

import json
import random
from io import StringIO

import pytest
import torch
from django.core.management import CommandError, call_command
from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

from sentiment.learned import ModelError, TransformerAnalyzer, analyzer_for, finbert, registry_loaded
from sentiment.models import SentimentEvaluation, SentimentModel
from sentiment.training import Labelled, Parameters, fine_tune, registry_save
from tests.conftest import metrics_scrape

pytestmark = pytest.mark.django_db
WORDS = "profit loss rises falls shares company quarter record weak strong the a of in".split()


def tiny_bert(directory, *, id2label, bias=None):
    (directory / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]))
    tokenizer = BertTokenizerFast(vocab_file=str(directory / "vocab.txt"))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=5 + len(WORDS),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    )
    model = BertForSequenceClassification(config)
    if bias is not None:
        with torch.no_grad():
            model.classifier.weight.zero_()
            model.classifier.bias.copy_(torch.tensor(bias))
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


FINBERT_LABELS = {0: "positive", 1: "negative", 2: "neutral"}  # ProsusAI/finbert's order


def test_finbert_loads_from_a_directory_and_reads_its_labels_from_the_config(tmp_path, settings):
    # a model whose head says "negative" (its output 1) whatever it reads
    settings.FINBERT_MODEL_DIR = str(tiny_bert(tmp_path, id2label=FINBERT_LABELS, bias=[0.0, 4.0, 0.0]))
    finbert.cache_clear()

    analyzer = analyzer_for("finbert")
    scores = analyzer.scores(["company profit rises", "weak quarter", "the"])

    assert [s.label for s in scores] == ["negative"] * 3
    negative = torch.softmax(torch.tensor([0.0, 4.0, 0.0]), 0)
    assert scores[0].score == pytest.approx(float(negative[0] - negative[1]), abs=1e-5)
    assert analyzer.name == "finbert" and analyzer.version.startswith(tmp_path.name + "@")
    assert analyzer.version.endswith("+int8")  # on a CPU, 8-bit linear layers


def test_batches_score_each_text_as_alone_and_in_the_order_given(tmp_path, settings):
    # full precision: 8-bit scoring measures each batch's range, so its last digits depend on the batch
    settings.SENTIMENT_CPU_INT8 = False
    directory = tiny_bert(tmp_path, id2label=FINBERT_LABELS)
    rng = random.Random(3)
    texts = [" ".join(rng.choices(WORDS, k=rng.randint(1, 12))) for _ in range(9)]

    batched = TransformerAnalyzer.from_directory(directory, name="finbert", version="t", batch=4).scores(texts)
    alone = TransformerAnalyzer.from_directory(directory, name="finbert", version="t", batch=1).scores(texts)

    assert [s.label for s in batched] == [s.label for s in alone]
    assert [s.score for s in batched] == pytest.approx([s.score for s in alone], abs=1e-5)
    assert len({s.score for s in alone}) > 1  # the texts do score differently


def test_a_model_that_is_not_a_three_class_sentiment_model_is_refused(tmp_path, settings):
    directory = tiny_bert(tmp_path, id2label={0: "LABEL_0", 1: "LABEL_1"})
    with pytest.raises(ModelError, match=r"lack \['negative', 'neutral', 'positive'\]"):
        TransformerAnalyzer.from_directory(directory, name="finbert", version="t")
    settings.FINBERT_MODEL_DIR = ""
    with pytest.raises(ModelError, match="FINBERT_MODEL_DIR is not set"):
        analyzer_for("finbert")


SENTENCES = {
    "positive": [
        "Operating profit rose strongly",
        "Net sales increased by 20 percent",
        "The company won a record order",
    ],
    "negative": ["Operating loss widened", "Sales fell sharply in the quarter", "The company cut 500 jobs"],
    "neutral": ["The company is based in Helsinki", "The report was published on Monday", "It has 40 employees"],
}


def test_the_trained_model_round_trips_through_the_registry(tmp_path, settings, client_for, root_admin):
    settings.SENTIMENT_MODEL_CACHE_DIR = str(tmp_path / "models")
    data = tmp_path / "train.tsv"
    lines = ["label\tsentence"] + [f"{label}\t{text}" for label, texts in SENTENCES.items() for text in texts * 3]
    data.write_text("\n".join(lines) + "\n")
    held_out = tmp_path / "test.tsv"
    held_out.write_text("".join(f"{label}\t{texts[0]}\n" for label, texts in SENTENCES.items()))

    out = StringIO()
    call_command(
        "sentiment_train", data=str(data), name="tiny", folds=2, layers=1, epochs=1, stdout=out, stderr=StringIO()
    )

    summary = json.loads(out.getvalue())
    entry = SentimentModel.objects.get(name="tiny")
    assert (summary["rows"], entry.data_rows, entry.design, entry.parameters["layers"]) == (
        27,
        27,
        "minilm-finetune",
        1,
    )
    assert entry.data_sha256 == summary["data_sha256"] and len(entry.cross_validation["folds"]) == 2
    assert 0 <= entry.cross_validation["macro_f1"] <= 1
    # loaded back from the registry's stored files, it scores as the model it saved
    registry_loaded.cache_clear()
    trained = analyzer_for("trained")
    assert (trained.name, trained.version) == ("trained", f"tiny@{entry.artifact_sha256[:12]}+int8")
    assert analyzer_for("tiny").version == trained.version

    out = StringIO()
    call_command("sentiment_evaluate", str(held_out), analyzer="tiny", stdout=out)

    figures = json.loads(out.getvalue())
    assert figures["count"] == 3 and set(figures["precision"]) == {"negative", "neutral", "positive"}
    evaluation = SentimentEvaluation.objects.get(model=entry)
    assert evaluation.macro_f1 == figures["macro_f1"]
    metrics = metrics_scrape(client_for(root_admin))
    assert f'sentiment_model_evaluation{{analyzer="tiny",metric="macro_f1",version="{trained.version}"}}' in metrics


def test_bad_training_input_is_refused_with_the_line_named(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("positive\tGood\nbullish\tShares up\n")
    with pytest.raises(
        CommandError, match=r"bad.tsv line 2: label 'bullish' is not one of negative, neutral, positive"
    ):
        call_command("sentiment_train", data=str(bad), folds=0)
    with pytest.raises(CommandError, match="no trained model 'nope' in the registry"):
        call_command("sentiment_evaluate", str(bad), analyzer="nope")
    assert not SentimentModel.objects.exists()


def test_a_model_loaded_back_from_the_registry_scores_as_the_one_that_was_saved(tmp_path, settings):
    settings.SENTIMENT_MODEL_CACHE_DIR = str(tmp_path / "models")
    labels = [label for label, texts in SENTENCES.items() for _ in texts]
    texts = [text for texts in SENTENCES.values() for text in texts]
    parameters = Parameters(layers=1, epochs=1)
    model, tokenizer = fine_tune(texts, labels, parameters)
    probe = ["Profit rose in the quarter", "The plant was closed and jobs were cut", "The meeting is on Monday"]
    saved = TransformerAnalyzer(model, tokenizer, name="trained", version="in memory").scores(probe)

    registry_save("round-trip", model, tokenizer, data=Labelled(labels, texts, "0" * 64), parameters=parameters, cv={})
    registry_loaded.cache_clear()
    loaded = analyzer_for("round-trip").scores(probe)

    assert [s.label for s in loaded] == [s.label for s in saved]
    assert [s.score for s in loaded] == pytest.approx([s.score for s in saved], abs=1e-6)
    assert len({s.score for s in saved}) == 3  # three different answers: the comparison means something
