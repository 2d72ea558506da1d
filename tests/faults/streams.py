"""Stream clients that behave as the trade page's do: logged in with the session cookie, subscribed
(the market stream) and reconnecting a second after their socket closes. Each records when each event
it counts arrived, so a scenario can tell how long prices or order updates stopped and when they came
back."""

import json
import re
import threading
import time

import requests
from websockets.exceptions import WebSocketException
from websockets.sync.client import connect

from tests.faults.site_setup import TRADER_PASSWORD, TRADER_USERNAME


def session_cookie(base_url: str) -> str:
    session = requests.Session()
    page = session.get(f"{base_url}/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(
        f"{base_url}/accounts/login/",
        data={"username": TRADER_USERNAME, "password": TRADER_PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base_url}/accounts/login/"},
        timeout=10,
        allow_redirects=False,
    )
    assert answer.status_code == 302, f"login failed: {answer.status_code} {answer.text[:300]}"
    return "; ".join(f"{name}={value}" for name, value in session.cookies.items())


class StreamWatcher:
    path = ""
    counted = ""  # the event type whose arrivals are recorded

    def __init__(self, base_url: str, cookie: str | None = None):
        self.base_url = base_url
        self.cookie = cookie or session_cookie(base_url)
        self.ticks: list[float] = []  # monotonic arrival time of each counted event
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        url = self.base_url.replace("http://", "ws://") + self.path
        while not self.stop.is_set():
            try:
                with connect(
                    url, additional_headers={"Cookie": self.cookie, "Origin": self.base_url}, open_timeout=5
                ) as socket:
                    self.connections += 1
                    self.opened(socket)
                    while not self.stop.is_set():
                        try:
                            message = json.loads(socket.recv(timeout=1))
                        except TimeoutError:
                            continue
                        if message.get("type") == self.counted:
                            self.ticks.append(time.monotonic())
            except (OSError, WebSocketException, TimeoutError):
                pass
            self.stop.wait(1)

    def opened(self, socket) -> None:
        pass

    def first_tick_after(self, moment: float, timeout: float = 60) -> float | None:
        """Seconds from `moment` (monotonic) to the first tick received after it; None if none came."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            later = [t for t in list(self.ticks) if t > moment]
            if later:
                return later[0] - moment
            time.sleep(0.1)
        return None

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)


class MarketWatcher(StreamWatcher):
    path, counted = "/ws/market/", "ticks"

    def __init__(self, base_url: str, tokens: list[int], cookie: str | None = None):
        self.tokens = tokens
        super().__init__(base_url, cookie)

    def opened(self, socket) -> None:
        socket.send(json.dumps({"action": "subscribe", "instruments": self.tokens}))


class AccountWatcher(StreamWatcher):
    """The user's own order events."""

    path, counted = "/ws/account/", "order"
