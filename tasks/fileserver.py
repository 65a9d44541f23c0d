"""The report and the Data Docs over HTTP on loopback, for links from the Prefect UI.

A browser does not follow a file:// link from an http:// page such as the Prefect UI, so `newsflow
serve` runs this small server beside the Prefect server: it serves `report.html` and the `data_docs/`
folder from the warehouse's folder, on 127.0.0.1 only, and nothing else there (the DuckDB files
stay unreachable). `/` redirects to the report.
"""

from __future__ import annotations

import posixpath
import threading
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tasks.report import DATA_DOCS, REPORT_FILE
NO_REPORT = ("No report yet. The first ingest run that changes something writes it, or run `newsflow report` "
             "(it writes report.html beside the warehouse file).\n")


def allowed(path: str) -> bool:
    """Whether a request path may be served: /report.html and files under /data_docs/."""
    clean = posixpath.normpath(unquote(urlsplit(path).path))
    if clean == f"/{REPORT_FILE}":
        return True
    parts = [p for p in clean.split("/") if p]
    return len(parts) >= 2 and parts[0] == DATA_DOCS and ".." not in parts and not any(p.startswith(".") for p in parts)


class _Handler(SimpleHTTPRequestHandler):
    server_version = "newsflow-files"

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if urlsplit(self.path).path in ("", "/"):
            self.send_response(HTTPStatus.FOUND)
            self.send_header("Location", f"/{REPORT_FILE}")
            self.end_headers()
            return
        if not allowed(self.path):
            self.send_error(HTTPStatus.NOT_FOUND, "Only the report and the Data Docs are served here")
            return
        if urlsplit(self.path).path == f"/{REPORT_FILE}" and not (Path(self.directory) / REPORT_FILE).exists():
            body = NO_REPORT.encode()
            self.send_response(HTTPStatus.NOT_FOUND)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def do_HEAD(self) -> None:  # noqa: N802
        if not allowed(self.path):
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        super().do_HEAD()

    def list_directory(self, path):  # no folder listings
        self.send_error(HTTPStatus.NOT_FOUND)
        return None

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")  # a run rewrites the report in place
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet: the serve terminal is for runs
        pass


class FileServer:
    """Serves `folder`'s report.html and data_docs/ on http://127.0.0.1:<port> from a daemon thread.

    Use as a context manager, or start()/stop(). Port 0 picks a free port (see `url`).
    """

    def __init__(self, folder: Path, port: int, host: str = "127.0.0.1") -> None:
        self.folder = Path(folder)
        self.httpd = ThreadingHTTPServer((host, port), partial(_Handler, directory=str(self.folder)))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="newsflow-files", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FileServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FileServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
