"""Analyzers behind one interface: a name, a version (stored with every score) and `scores(texts)`,
which returns one `Score` per text, in order, in batches as the analyzer likes them.

VADER is here; the trained model and FinBERT, which need torch and transformers, are in
`sentiment.learned` and load only when asked for (`sentiment.learned.analyzer_for`).
"""

import hashlib
import json
from dataclasses import dataclass
from functools import cache

from vaderSentiment import vaderSentiment

LABELS = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class Score:
    label: str
    score: float  # -1 (negative) .. 1 (positive)


class Analyzer:
    name = ""
    version = ""

    def scores(self, texts: list[str]) -> list[Score]:
        raise NotImplementedError


# Finance words VADER's general lexicon does not know or weighs as everyday English does (valence -4..4).
FINANCE_LEXICON = {
    "beat": 1.5,
    "beats": 1.5,
    "outperform": 1.8,
    "outperforms": 1.8,
    "outperformed": 1.8,
    "upgrade": 1.8,
    "upgrades": 1.8,
    "upgraded": 1.8,
    "downgrade": -1.8,
    "downgrades": -1.8,
    "downgraded": -1.8,
    "surge": 1.8,
    "surges": 1.8,
    "surged": 1.8,
    "soar": 2.0,
    "soars": 2.0,
    "soared": 2.0,
    "jump": 1.2,
    "jumps": 1.2,
    "jumped": 1.2,
    "rally": 1.5,
    "rallies": 1.5,
    "rallied": 1.5,
    "gain": 1.2,
    "gains": 1.2,
    "gained": 1.2,
    "rise": 1.0,
    "rises": 1.0,
    "rose": 1.0,
    "climb": 1.0,
    "climbs": 1.0,
    "climbed": 1.0,
    "record": 0.8,
    "profit": 1.2,
    "profits": 1.2,
    "profitable": 1.5,
    "growth": 1.2,
    "grew": 1.0,
    "increase": 0.8,
    "increased": 0.8,
    "higher": 0.6,
    "dividend": 0.8,
    "buyback": 1.0,
    "bullish": 2.0,
    "bearish": -2.0,
    "miss": -1.5,
    "misses": -1.5,
    "missed": -1.5,
    "underperform": -1.8,
    "underperformed": -1.8,
    "plunge": -2.2,
    "plunges": -2.2,
    "plunged": -2.2,
    "slump": -2.0,
    "slumps": -2.0,
    "slumped": -2.0,
    "tumble": -2.0,
    "tumbles": -2.0,
    "tumbled": -2.0,
    "crash": -2.5,
    "crashes": -2.5,
    "fall": -1.0,
    "falls": -1.0,
    "fell": -1.0,
    "drop": -1.0,
    "drops": -1.0,
    "dropped": -1.0,
    "decline": -1.2,
    "declines": -1.2,
    "declined": -1.2,
    "decrease": -0.8,
    "decreased": -0.8,
    "lower": -0.6,
    "loss": -1.5,
    "losses": -1.5,
    "weak": -1.2,
    "weaker": -1.2,
    "layoffs": -1.8,
    "laid": -0.8,
    "default": -2.0,
    "defaults": -2.0,
    "fraud": -3.0,
    "probe": -1.2,
    "penalty": -1.8,
    "fine": 0.0,  # a fine, not "fine"
    "fined": -1.8,
    "bankruptcy": -3.0,
    "insolvency": -2.5,
    "writedown": -1.8,
    "impairment": -1.5,
    "volatile": -0.8,
    "selloff": -1.8,
    "sell-off": -1.8,
    "headwinds": -1.2,
    "tailwinds": 1.2,
}


class VaderAnalyzer(Analyzer):
    """VADER (rule-based, under a millisecond a text) with a finance lexicon over its own; the compound
    score is the score, positive at 0.05 and above, negative at -0.05 and below, as VADER's authors use."""

    name = "vader"
    version = "3.3.2+fin-" + hashlib.sha256(json.dumps(FINANCE_LEXICON, sort_keys=True).encode()).hexdigest()[:8]

    def __init__(self):
        self.analyzer = vaderSentiment.SentimentIntensityAnalyzer()
        self.analyzer.lexicon.update(FINANCE_LEXICON)

    def scores(self, texts: list[str]) -> list[Score]:
        out = []
        for text in texts:
            compound = self.analyzer.polarity_scores(text)["compound"]
            label = "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"
            out.append(Score(label, compound))
        return out


@cache
def vader() -> VaderAnalyzer:
    return VaderAnalyzer()
