// A websocket that comes back by itself: reconnects with backoff (0.5 s doubling to 5 s), shows its state
// on an indicator element, and stops only when the server says the session ended (close code 4401).

export const LOGGED_OUT = 4401;

export function backoff(previous) {
  return Math.min(previous * 2, 5000);
}

export function stream(url, indicator, handlers, { WebSocketImpl = globalThis.WebSocket, schedule = setTimeout } = {}) {
  let socket = null;
  let delay = 500;
  let opened = false;
  function setState(state) {
    if (!indicator) return;
    indicator.dataset.state = state;
    indicator.textContent = state;
  }
  function connect() {
    setState(opened ? "reconnecting" : "connecting");
    socket = new WebSocketImpl(url);
    socket.onopen = () => {
      opened = true;
      delay = 500;
      setState("live");
      if (indicator) indicator.dataset.connects = String(Number(indicator.dataset.connects || 0) + 1);
      handlers.open?.();
    };
    socket.onmessage = (event) => handlers.message(JSON.parse(event.data));
    socket.onclose = (event) => {
      if (event.code === LOGGED_OUT) {
        setState("logged out");
        handlers.loggedOut?.();
        return; // the session ended: reconnecting would not help
      }
      setState("reconnecting");
      schedule(connect, delay);
      delay = backoff(delay);
    };
  }
  connect();
  return {
    send(message) {
      if (socket && socket.readyState === 1) socket.send(JSON.stringify(message));
    },
  };
}

// The page's own origin as a websocket URL: wss:// behind TLS.
export function socketUrl(location, path) {
  return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
}
