"""The trading app's models, one module per area; every model is importable from `trading.models`."""

from trading.models.accounts import ApprovalRequest, Strategy, TradingAccount
from trading.models.kite import BrokerUpdate, KiteLink
from trading.models.market import BarFields, DayBar, HourBar, Instrument, MinuteBar
from trading.models.numbers import MONEY, PRICE, RATE
from trading.models.orders import (
    ChargeRate,
    IdempotencyKey,
    LedgerCross,
    Order,
    OutboxEntry,
    PaperExchangeOrder,
    Position,
    StrategyPosition,
    Trade,
)

__all__ = [
    "PRICE",
    "MONEY",
    "RATE",
    "Instrument",
    "BarFields",
    "MinuteBar",
    "HourBar",
    "DayBar",
    "TradingAccount",
    "Strategy",
    "ApprovalRequest",
    "Order",
    "Trade",
    "Position",
    "LedgerCross",
    "StrategyPosition",
    "OutboxEntry",
    "IdempotencyKey",
    "ChargeRate",
    "PaperExchangeOrder",
    "KiteLink",
    "BrokerUpdate",
]
