"""The strategy interface: one piece of code that a backtest and the live runner both call.

A strategy sees bars (`Bars`: aligned OHLCV of its instruments up to the current bar, never beyond)
and says, for every bar it was shown, the position it wants in each instrument (`targets`). The live
runner calls it on the bars up to now and turns the last column, less what the strategy holds, into
order intents; the backtester calls it once on the whole history and fills each change at the next
bar. Both are the same function, so a strategy means the same thing in both, provided the value at
bar t depends only on bars up to t: the backtester checks that on every run (`lookahead.py`), and a
strategy that reads ahead fails the run loudly.

Parameters are declared as `Param`s and validated before anything runs; `parameters_validate`
returns the stored form (defaults filled in) or raises a ValidationError naming each bad one.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from tradingsite.exceptions import ApplicationError, ValidationError


class LookAheadError(ApplicationError):
    """A strategy's decision at some bar changed when later bars were removed: it reads the future."""

    code = "look_ahead"
    status = 422


class StrategyFailed(ApplicationError):
    """A strategy raised, or returned something that is not a target per instrument and bar."""

    code = "strategy_failed"
    status = 422


class Bars:
    """Aligned bars: row i is `symbols[i]`, column t is `ts[t]` (UTC). Prices are rupees as floats
    for indicators (NaN where an instrument has no bar), made from the exact paise the backtester keeps
    when a strategy first reads them. Arrays are read-only: a strategy cannot change what it is shown."""

    FIELDS = ("open", "high", "low", "close", "volume")

    def __init__(
        self,
        symbols,
        ts: np.ndarray,
        paise: dict[str, np.ndarray],
        present: np.ndarray,
        signals: dict[str, np.ndarray] | None = None,
    ):
        self.symbols = tuple(symbols)
        self.ts = ts  # datetime64[us], UTC
        self._paise = paise  # open, high, low, close in paise, volume in shares: (instruments, bars)
        self._present = present
        self._made: dict[str, np.ndarray] = {}
        # Other inputs per instrument and bar, each value known by the bar's end (the sentiment store's
        # point-in-time values, see strategies.data.signals_attach): read-only, cut with the bars.
        self._signals = signals or {}
        for array in self._signals.values():
            array.flags.writeable = False
        ts.flags.writeable = False

    def signal(self, name: str) -> np.ndarray:
        """An input other than prices, shape (instruments, bars), NaN where it has no value."""
        try:
            return self._signals[name]
        except KeyError:
            raise StrategyFailed(
                f"no {name!r} input for these bars (it has {', '.join(self._signals) or 'none'})"
            ) from None

    def _field(self, name: str) -> np.ndarray:
        made = self._made.get(name)
        if made is None:
            values = self._paise[name]
            made = values.astype(float) if name == "volume" else values / 100.0
            if not self._present.all():
                made[~self._present] = np.nan
            made.flags.writeable = False
            self._made[name] = made
        return made

    open = property(lambda self: self._field("open"))
    high = property(lambda self: self._field("high"))
    low = property(lambda self: self._field("low"))
    close = property(lambda self: self._field("close"))
    volume = property(lambda self: self._field("volume"))

    @property
    def count(self) -> int:
        return len(self.ts)

    def upto(self, end: int) -> "Bars":
        """The bars before column `end`: what a strategy may see when deciding at bar end - 1."""
        return Bars(
            self.symbols,
            self.ts[:end],
            {name: array[:, :end] for name, array in self._paise.items()},
            self._present[:, :end],
            {name: array[:, :end] for name, array in self._signals.items()},
        )


@dataclass(frozen=True)
class Param:
    kind: type  # int or float
    default: int | float
    minimum: int | float
    maximum: int | float
    help: str = ""

    def describe(self) -> dict:
        return {
            "type": "integer" if self.kind is int else "number",
            "default": self.default,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "description": self.help,
        }


@dataclass
class Strategy:
    """Subclasses set `name`, `params` and implement `targets`."""

    name: str = ""
    description: str = ""
    params: dict[str, Param] = field(default_factory=dict)
    signals: tuple[str, ...] = ()  # inputs besides prices it reads (`Bars.signal`), attached before it runs

    def targets(self, bars: Bars, p: dict) -> np.ndarray:
        """Wanted position in shares, shape (instruments, bars); column t uses bars up to t only."""
        raise NotImplementedError

    def checks(self, p: dict) -> list[str]:
        """Problems that involve more than one parameter (each param's own range is checked already)."""
        return []

    def schema(self) -> dict:
        return {
            "type": "object",
            "additionalProperties": False,
            "properties": {name: param.describe() for name, param in self.params.items()},
        }

    def warmup(self, p: dict) -> int:
        """Bars the strategy needs before its first decision (the look-ahead analysis cuts after it)."""
        return 0


def parameters_validate(strategy: Strategy, given: dict | None) -> dict:
    given = {} if given is None else given
    if not isinstance(given, dict):
        raise ValidationError(f"{strategy.name} parameters must be an object, not {type(given).__name__}")
    errors = {}
    for name in sorted(set(given) - set(strategy.params)):
        errors[name] = f"{strategy.name} has no parameter {name!r} (it takes {', '.join(strategy.params) or 'none'})"
    cleaned = {}
    for name, param in strategy.params.items():
        value = given.get(name, param.default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            errors[name] = f"{name} must be a number, not {value!r}"
            continue
        if param.kind is int and value != int(value):
            errors[name] = f"{name} must be a whole number, not {value}"
            continue
        value = param.kind(value)
        if not param.minimum <= value <= param.maximum:
            errors[name] = f"{name} must be between {param.minimum} and {param.maximum}, not {value}"
            continue
        cleaned[name] = value
    if not errors:
        for problem in strategy.checks(cleaned):
            errors.setdefault("parameters", problem)
    if errors:
        raise ValidationError(
            f"invalid parameters for {strategy.name}: " + "; ".join(errors.values()), details={"fields": errors}
        )
    return cleaned


def targets_checked(strategy: Strategy, bars: Bars, p: dict) -> np.ndarray:
    """The strategy's targets as whole shares, shape checked; a strategy that raises is reported with
    what it raised."""
    try:
        wanted = strategy.targets(bars, p)
    except ApplicationError:
        raise
    except Exception as exc:
        raise StrategyFailed(f"strategy {strategy.name} raised {type(exc).__name__}: {exc}") from exc
    wanted = np.asarray(wanted)
    shape = (len(bars.symbols), bars.count)
    if wanted.shape != shape:
        raise StrategyFailed(f"strategy {strategy.name} returned targets of shape {wanted.shape}, expected {shape}")
    if wanted.dtype.kind in "iub":  # whole numbers already: nothing to round, no NaN possible
        return wanted.astype(np.int64, copy=False)
    try:
        whole = np.rint(np.asarray(wanted, dtype=float))
    except (TypeError, ValueError) as exc:
        raise StrategyFailed(f"strategy {strategy.name} returned targets that are not numbers: {exc}") from exc
    whole[~np.isfinite(whole)] = 0.0
    return whole.astype(np.int64)
