"""A fake news site on loopback: RSS 2.0 and Atom feeds and NewsAPI's `/v2/everything`, in their
documented formats, written here from the items a test gives it."""

import contextlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from tests.fakes.http import json_answer


@dataclass
class Item:
    title: str
    summary: str = ""
    link: str = ""
    guid: str = ""
    published: datetime | None = None


@dataclass
class NewsSite:
    feeds: dict[str, list[Item]] = field(default_factory=dict)  # path -> items
    atom: set[str] = field(default_factory=set)  # paths served as Atom
    broken: dict[str, int] = field(default_factory=dict)  # path -> HTTP status to answer with
    api_key: str = "test-key"
    api_items: list[Item] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    url: str = ""

    def rss(self, items: list[Item]) -> bytes:
        entries = "".join(
            "<item>"
            f"<title>{escape(i.title)}</title>"
            + (f"<link>{escape(i.link)}</link>" if i.link else "")
            + (f'<guid isPermaLink="false">{escape(i.guid)}</guid>' if i.guid else "")
            + (f"<description>{escape(i.summary)}</description>" if i.summary else "")
            + (f"<pubDate>{format_datetime(i.published)}</pubDate>" if i.published else "")
            + "</item>"
            for i in items
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>Markets</title><link>{self.url}</link><description>News</description>{entries}"
            "</channel></rss>"
        ).encode()

    def atom_feed(self, items: list[Item]) -> bytes:
        entries = "".join(
            "<entry>"
            f"<title>{escape(i.title)}</title>"
            f'<link href="{escape(i.link)}"/>'
            f"<id>{escape(i.guid or i.link)}</id>"
            f"<updated>{(i.published or datetime(2026, 1, 1, tzinfo=UTC)).isoformat()}</updated>"
            f"<summary>{escape(i.summary)}</summary>"
            "</entry>"
            for i in items
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>Markets</title><id>{self.url}/atom</id><updated>2026-01-01T00:00:00Z</updated>{entries}</feed>"
        ).encode()


def handler_for(site: NewsSite):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802 - http.server's name
            parts = urlsplit(self.path)
            site.requests.append(parts.path)
            if parts.path in site.broken:
                self.send_response(site.broken[parts.path])
                self.end_headers()
                return
            if parts.path == "/v2/everything":
                self.everything(parse_qs(parts.query))
                return
            items = site.feeds.get(parts.path)
            if items is None:
                self.send_response(404)
                self.end_headers()
                return
            atom = parts.path in site.atom
            body = site.atom_feed(items) if atom else site.rss(items)
            self.send_response(200)
            self.send_header("Content-Type", "application/atom+xml" if atom else "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def everything(self, query):
            if self.headers.get("X-Api-Key") != site.api_key:
                json_answer(
                    self,
                    401,
                    {"status": "error", "code": "apiKeyInvalid", "message": "Your API key is invalid or incorrect."},
                )
                return
            if not query.get("q"):
                json_answer(self, 400, {"status": "error", "code": "parametersMissing", "message": "Required q."})
                return
            articles = [
                {
                    "source": {"id": None, "name": "Fake Wire"},
                    "author": None,
                    "title": i.title,
                    "description": i.summary or None,
                    "url": i.link,
                    "urlToImage": None,
                    "publishedAt": i.published.strftime("%Y-%m-%dT%H:%M:%SZ") if i.published else None,
                    "content": None,
                }
                for i in site.api_items
            ]
            json_answer(self, 200, {"status": "ok", "totalResults": len(articles), "articles": articles})

    return Handler


@contextlib.contextmanager
def news_site_running():
    site = NewsSite()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(site))
    site.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
