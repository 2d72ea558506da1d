"""Tagging articles with the NSE symbols they are about, from the alias table and the instrument master.

Text and aliases are split into the same word tokens; at each word the longest alias that starts there
wins (so "State Bank of India" is SBIN, and "Reliance Power" is RPOWER, or nothing, never RELIANCE),
and matching goes on after it. A case-sensitive alias matches only as written (the ticker ITC, not the
word "itc"); the others in any case. Possessives match their name ("Infosys's" is Infosys).
"""

import re
from dataclasses import dataclass

from sentiment.models import SymbolAlias
from trading.models import Instrument

WORD = re.compile(r"[A-Za-z0-9]+(?:[&'.\-][A-Za-z0-9]+)*")
POSSESSIVE = re.compile(r"'s$|'$")


def tokens(text: str) -> list[str]:
    text = text.replace("\u2019", "'")
    return [POSSESSIVE.sub("", word) for word in WORD.findall(text)]


@dataclass(frozen=True)
class Tag:
    symbol: str
    matched: str


class Tagger:
    def __init__(self, aliases: list[tuple[str, str, bool]]):
        """`aliases`: (alias, symbol, case_sensitive); an empty symbol blocks the alias's words."""
        self.exact: dict[tuple[str, ...], str] = {}
        self.folded: dict[tuple[str, ...], str] = {}
        self.longest = 1
        for alias, symbol, case_sensitive in aliases:
            words = tuple(tokens(alias))
            if not words:
                continue
            if case_sensitive:
                self.exact[words] = symbol
            else:
                self.folded[tuple(word.lower() for word in words)] = symbol
            self.longest = max(self.longest, len(words))

    def tags(self, text: str) -> list[Tag]:
        words = tokens(text)
        folded = [word.lower() for word in words]
        found: dict[str, Tag] = {}
        i = 0
        while i < len(words):
            for n in range(min(self.longest, len(words) - i), 0, -1):
                key = tuple(words[i : i + n])
                symbol = self.exact.get(key)
                if symbol is None:
                    symbol = self.folded.get(tuple(folded[i : i + n]))
                if symbol is not None:
                    if symbol and symbol not in found:
                        found[symbol] = Tag(symbol, " ".join(key))
                    i += n
                    break
            else:
                i += 1
        return list(found.values())


SMALL_WORDS = {"a", "an", "and", "at", "for", "in", "of", "on", "the", "to"}


def title_cased(name: str) -> str:
    """A master's capitals as a headline writes the name: "STATE BANK OF INDIA" is "State Bank of India"."""
    words = name.split()
    return " ".join(
        word.lower() if k and word.lower() in SMALL_WORDS else word[:1].upper() + word[1:].lower()
        for k, word in enumerate(words)
    )


def tagger_build() -> Tagger:
    """From the instrument master (NSE equities: the ticker as written, and a name of two words or more as
    written or in title case, so that "Indian Bank" is INDIANB and "Indian bank stocks" nothing) with the
    alias table over it: an alias there decides where both name the same words."""
    aliases: list[tuple[str, str, bool]] = []
    for symbol, name in Instrument.objects.filter(exchange="NSE", instrument_type="EQ").values_list(
        "tradingsymbol", "name"
    ):
        aliases.append((symbol, symbol, True))
        if len(tokens(name)) >= 2:  # as the master writes it (capitals) or in title case, not in any case
            aliases += [(name, symbol, True), (title_cased(name), symbol, True)]
    aliases += [(a.alias, a.symbol, a.case_sensitive) for a in SymbolAlias.objects.all()]
    return Tagger(aliases)
