import assert from "node:assert/strict";
import { test } from "node:test";
import { LOGGED_OUT, backoff, socketUrl, stream } from "../../trading/static/trading/js/stream.js";

class FakeSocket {
  static made = [];
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    FakeSocket.made.push(this);
  }
  send(text) {
    this.sent.push(JSON.parse(text));
  }
  open() {
    this.readyState = 1;
    this.onopen();
  }
}

test("the stream reconnects by itself with backoff, and stops when the session ended", () => {
  FakeSocket.made = [];
  const scheduled = [];
  const indicator = { dataset: {}, textContent: "" };
  const seen = [];
  let opens = 0;
  const s = stream("ws://h/ws/market/", indicator, { open: () => opens++, message: (m) => seen.push(m) }, {
    WebSocketImpl: FakeSocket,
    schedule: (fn, ms) => scheduled.push([fn, ms]),
  });
  assert.equal(indicator.dataset.state, "connecting");
  FakeSocket.made[0].open();
  assert.equal(indicator.dataset.state, "live");
  s.send({ action: "subscribe", instruments: [1] });
  assert.deepEqual(FakeSocket.made[0].sent, [{ action: "subscribe", instruments: [1] }]);
  FakeSocket.made[0].onmessage({ data: '{"type":"ticks"}' });
  assert.deepEqual(seen, [{ type: "ticks" }]);
  FakeSocket.made[0].onclose({ code: 1006 });
  assert.equal(indicator.dataset.state, "reconnecting");
  assert.equal(scheduled[0][1], 500);
  scheduled[0][0]();
  FakeSocket.made[1].onclose({ code: 1006 });
  assert.equal(scheduled[1][1], 1000);
  scheduled[1][0]();
  FakeSocket.made[2].open();
  assert.equal(opens, 2);
  assert.equal(indicator.dataset.connects, "2");
  FakeSocket.made[2].onclose({ code: LOGGED_OUT });
  assert.equal(indicator.dataset.state, "logged out");
  assert.equal(scheduled.length, 2);
  assert.equal(backoff(4000), 5000);
  assert.equal(socketUrl({ protocol: "https:", host: "x" }, "/ws/a/"), "wss://x/ws/a/");
});
