"""Logs as JSON lines: the web process, run as in production, writes one JSON object per record with
the request's id, the user and the status, so the log pipeline can follow a request."""

import json

import pytest
import requests

from tests.conftest import RUN_PREFIX
from tests.threads import wait_for
from tradingsite.processes import Processes, shared_env
from tradingsite.tokens import api_token_create


@pytest.mark.django_db(transaction=True)
def test_the_web_process_logs_json_lines_with_the_request_id_and_user(alice, tmp_path):
    key = api_token_create(user=alice, name="logs-test", scope="read", days=1).key
    processes = Processes(shared_env(f"{RUN_PREFIX}-logs", LOG_FORMAT="json"), tmp_path / "logs")
    try:
        processes.web()
        missing = requests.get(
            f"{processes.base_url}/api/v1/orders/999999",
            headers={"Authorization": f"Bearer {key}", "X-Request-ID": "trace-me-42"},
            timeout=10,
        )
        assert missing.status_code == 404

        def logged():
            for line in (tmp_path / "logs" / "web.log").read_text().splitlines():
                if line.startswith("{") and "trace-me-42" in line:
                    return json.loads(line)
            return None

        entry = wait_for(logged, timeout=10, what="the request's log line", every=0.1)
    finally:
        processes.close()
    assert entry["request_id"] == "trace-me-42" and entry["client_ip"] == "127.0.0.1"
    assert entry["level"] == "WARNING" and entry["logger"] == "django.request" and entry["status"] == 404
    assert entry["user"] == "alice"
    assert "Not Found: /api/v1/orders/999999" in entry["message"] and entry["ts"].endswith("+00:00")
