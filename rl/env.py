"""A Gymnasium environment that is the backtester's execution model, stepped one bar at a time.

The agent sees, at bar t, features of the bars up to t (`rl.features`) and its own holdings, and answers
with an action per instrument from -1 to 1, the target weight (a + 1) / 2 of an equal share of its
equity (none to all of it: long only, as delivery is). The targets are whole lots at bar t's close;
each change fills at the instrument's next bar's open with the backtester's slippage and the dated
Zerodha charges (`strategies.engine`'s functions, the same rates), and an order a later decision
replaces before it fills is replaced. So the actions an agent took, replayed as targets through
`strategies.engine.simulate`, give the same fills, charges and equity (tests/rl/test_env.py checks it).

Reward: the change in equity (net of charges) over the step as a fraction of the starting capital,
less `drawdown_penalty` times the step's growth of the drawdown from the peak. With `band`, a change of
a target worth less than that share of the instrument's budget is not made (selling out always is): the
agent does not pay charges for every small wobble of its action.
"""

from decimal import Decimal

import gymnasium
import numpy as np

from rl.features import features_build
from strategies.engine import Costs, Market, charge_periods, close_carried, next_present, no_rate
from trading.market import execution
from trading.models import Order
from trading.orders.charges import charges_paise
from tradingsite.exceptions import ValidationError


class TradingEnv(gymnasium.Env):
    metadata = {"render_modes": []}

    def __init__(
        self,
        market: Market,
        *,
        capital: Decimal = Decimal("1000000"),
        costs: Costs | None = None,
        window: int = 20,
        drawdown_penalty: float = 0.0,
        band: float = 0.0,
        start: int | None = None,
        end: int | None = None,
    ):
        costs = costs or Costs()
        if costs.participation:
            raise ValidationError("the environment fills whole orders: a volume participation limit is not modelled")
        if costs.product != Order.Product.CNC:
            raise ValidationError(f"the environment trades delivery (CNC), not {costs.product}")
        self.market, self.costs = market, costs
        self.capital = int(capital * 100)  # paise
        self.window = window
        self.drawdown_penalty = float(drawdown_penalty)
        self.band = float(band)
        self.instruments = len(market.symbols)
        self.start = max(window, start or 0)
        self.end = min(market.count, end or market.count)  # bars [start, end) are stepped through
        if self.end - self.start < 2:
            raise ValidationError(f"{self.end - self.start} bars after the {window}-bar window: too few to step")
        self.features = features_build(market, window)  # (bars, instruments, features), float32
        self.close = close_carried(market)  # paise, (instruments, bars)
        self.following = next_present(market.present)
        self.rates, self.period = charge_periods(market, costs.product) if costs.charges else ([], None)
        self.slippage_units = execution.slippage_units(costs.slippage_bps)
        self.lot = market.lot.astype(np.int64)
        # Plain Python numbers for the per-fill arithmetic (numpy scalars cost more, and int64 can overflow).
        self.open = market.open.tolist()
        self.tick = market.tick_paise.tolist()
        self.present = market.present
        # The observation: each instrument's features, then each one's weight in the equity, then cash's.
        self.features_flat = self.features.reshape(market.count, -1)
        self.feature_size = self.features_flat.shape[1]
        self.buffer = np.zeros(self.feature_size + self.instruments + 1, dtype=np.float32)
        per_instrument = self.features.shape[2] + 1  # its features and its weight in the portfolio
        self.observation_space = gymnasium.spaces.Box(
            -np.inf, np.inf, shape=(self.instruments * per_instrument + 1,), dtype=np.float32
        )
        # -1 (none) to 1 (the full share): centred on zero, as the algorithms' Gaussian policies start.
        self.action_space = gymnasium.spaces.Box(-1.0, 1.0, shape=(self.instruments,), dtype=np.float32)

    # ---- the episode ----
    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = self.start
        self.position = np.zeros(self.instruments, dtype=np.int64)
        self.pending = np.zeros(self.instruments, dtype=np.int64)  # the latest decided targets
        self.decided_at = np.full(self.instruments, -1, dtype=np.int64)
        self.cash = self.capital
        self.equity = self.capital
        self.peak = self.capital
        self.fills: list[tuple[int, int, int, int, int, int]] = []  # instrument, bar, decided, qty, price, charges
        self.targets: list[np.ndarray] = []  # decided at start, start + 1, ...
        return self.observation(), {"equity": self.equity}

    def step(self, action):
        t = self.t
        targets = self.targets_of(np.asarray(action, dtype=np.float64), t)
        changed = targets != self.pending
        self.decided_at[changed] = t
        self.pending = targets
        self.targets.append(targets)
        t1 = t + 1
        charges = self.fill(t1)
        equity = self.cash + int((self.position * self.close[:, t1]).sum())
        drawdown_before = 1.0 - self.equity / self.peak
        self.peak = max(self.peak, equity)
        drawdown = 1.0 - equity / self.peak
        reward = (equity - self.equity) / self.capital - self.drawdown_penalty * max(drawdown - drawdown_before, 0.0)
        self.equity, self.t = equity, t1
        terminated = t1 >= self.end - 1
        info = {"equity": equity, "charges": charges, "bar": t1}
        return self.observation(), float(reward), terminated, False, info

    def targets_of(self, action: np.ndarray, t: int) -> np.ndarray:
        return targets_sized(weights_of(action), self.close[:, t], self.equity, self.lot, self.pending, self.band)

    def fill(self, bar: int) -> int:
        """Fill, at `bar`'s open, every pending change of an instrument that has a bar there; the charges.
        Instrument by instrument in plain integers: the same functions as the backtester's arrays, and on
        the few fills of one step much faster than numpy's per-call cost."""
        due = np.flatnonzero((self.pending != self.position) & self.present[:, bar])
        if not len(due):
            return 0
        terms = None
        if self.costs.charges:
            k = int(self.period[bar])
            if k < 0:
                raise no_rate(self.market, self.costs.product, bar)
            terms = self.rates[k]
        total_charges = 0
        for i in due.tolist():
            quantity = int(self.pending[i] - self.position[i])
            buying = quantity > 0
            price = execution.slipped_paise_units(
                self.open[i][bar], buying=buying, units=self.slippage_units, tick_paise=self.tick[i]
            )
            charges = sum(charges_paise(terms, buying=buying, turnover_paise=abs(quantity) * price)) if terms else 0
            self.position[i] += quantity
            self.cash -= quantity * price + charges
            total_charges += charges
            self.fills.append((i, bar, int(self.decided_at[i]), quantity, price, charges))
        return total_charges

    def observation(self) -> np.ndarray:
        t = self.t
        return observation_fill(
            self.buffer, self.features_flat[t], self.position, self.close[:, t], self.cash, self.equity
        ).copy()

    def targets_array(self) -> np.ndarray:
        """The decisions so far as the backtester's targets: column t what was decided at bar t."""
        out = np.zeros((self.instruments, self.market.count), dtype=np.int64)
        if self.targets:
            decided = np.stack(self.targets, axis=1)
            out[:, self.start : self.start + decided.shape[1]] = decided
            out[:, self.start + decided.shape[1] :] = decided[:, -1:]
        return out


def weights_of(action: np.ndarray) -> np.ndarray:
    """An action (-1 to 1 per instrument) as the weight it asks for: 0 (none) to 1 (the full share)."""
    return (np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0) + 1.0) / 2.0


def targets_sized(
    weights: np.ndarray, close: np.ndarray, equity: int, lot: np.ndarray, pending: np.ndarray, band: float = 0.0
) -> np.ndarray:
    """Whole lots of each instrument worth `weights` (0 to 1) of an equal share of `equity` (paise) at
    `close` (paise); with `band`, a change from `pending` worth less than that share of the instrument's
    budget is not made (selling out always is). Training and the live runner size targets with this."""
    weights = np.minimum(np.maximum(np.asarray(weights, dtype=np.float64), 0.0), 1.0)
    if np.isnan(weights).any():
        weights = np.nan_to_num(weights, nan=0.0)
    budget = equity / len(close)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = np.where(close > 0, np.floor(weights * budget / close), 0.0).astype(np.int64)
    targets = shares // lot * lot
    if band:
        small = np.abs(targets - pending) * close < band * budget
        targets = np.where(small & (targets != 0), pending, targets)
    return targets


def observation_fill(
    out: np.ndarray, features: np.ndarray, position: np.ndarray, close: np.ndarray, cash: int, equity: int
) -> np.ndarray:
    """The observation into `out`: the instruments' features at the bar, each holding's weight in the
    equity, then cash's. Training and the live runner observe with this."""
    equity = max(equity, 1)
    size = len(features)
    out[:size] = features
    out[size:-1] = position * close / equity
    out[-1] = cash / equity
    return out
