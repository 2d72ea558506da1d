"""Argument types the management commands share: days (YYYY-MM-DD, IST) and JSON objects, each
refused with a message that names what was wrong."""

import json
from datetime import date

from django.core.management.base import CommandError


def day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def json_object(text: str, option: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{option} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise CommandError(f"{option} must be a JSON object, not {text}")
    return value


def strategy_and_dates(parser) -> None:
    """The strategy, --from, --to and --params arguments of the backtest-like commands."""
    parser.add_argument("strategy", help="sma_crossover, rsi_reversion or breakout")
    parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD (IST)")
    parser.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD (IST), included")
    parser.add_argument("--params", default="{}", help="the strategy's parameters as a JSON object")
