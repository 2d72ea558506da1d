"""A market-stream client that behaves as the trade page's does: logged in with the session cookie,
subscribed to instruments, and reconnecting a second after its socket closes. It records when each
tick arrived, so a scenario can tell how long prices stopped and when they came back."""

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


class MarketWatcher:
    def __init__(self, base_url: str, tokens: list[int]):
        self.base_url, self.tokens = base_url, tokens
        self.cookie = session_cookie(base_url)
        self.ticks: list[float] = []  # monotonic arrival time of each frame carrying prices
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        url = self.base_url.replace("http://", "ws://") + "/ws/market/"
        while not self.stop.is_set():
            try:
                with connect(
                    url, additional_headers={"Cookie": self.cookie, "Origin": self.base_url}, open_timeout=5
                ) as socket:
                    self.connections += 1
                    socket.send(json.dumps({"action": "subscribe", "instruments": self.tokens}))
                    while not self.stop.is_set():
                        try:
                            message = json.loads(socket.recv(timeout=1))
                        except TimeoutError:
                            continue
                        if message.get("type") == "ticks":
                            self.ticks.append(time.monotonic())
            except (OSError, WebSocketException, TimeoutError):
                pass
            self.stop.wait(1)

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
