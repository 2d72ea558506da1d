"""What the fake servers on loopback (Kite, an OpenID provider) share: a JSON answer."""

import json
from http.server import BaseHTTPRequestHandler


def json_answer(handler: BaseHTTPRequestHandler, status: int, body) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    try:
        handler.end_headers()
        handler.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        handler.close_connection = True  # the client gave up waiting (a timeout under test): nobody to tell
