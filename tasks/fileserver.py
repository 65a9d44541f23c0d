"""The report and the Data Docs over HTTP on loopback, for links from the Prefect UI.

A browser does not follow a file:// link from an http:// page such as the Prefect UI, so `newsflow
serve` runs this small server beside the Prefect server: it serves one warehouse's report and Data Docs
folder (`report.html` and `data_docs/` for news.duckdb; tasks.report.report_path) from the warehouse's
folder, under their own names, on 127.0.0.1 only, and nothing else there (the DuckDB files and other
warehouses' reports stay unreachable). `/` redirects to the report.
"""

from __future__ import annotations

import posixpath
import threading
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tasks.report import DATA_DOCS, REPORT_FILE, data_docs_path, report_path

NO_REPORT = ("No report yet. The first ingest run that changes something writes it, or run `newsflow report` "
             "(it writes it beside the warehouse file).\n")


def allowed(path: str, report: str = REPORT_FILE, docs: str = DATA_DOCS) -> bool:
    """Whether a request path may be served: /`report` and files under /`docs`/."""
    clean = posixpath.normpath(unquote(urlsplit(path).path))
    if "\x00" in clean:  # no file has it; open() would raise on it
        return False
    if clean == f"/{report}":
        return True
    parts = [p for p in clean.split("/") if p]
    return len(parts) >= 2 and parts[0] == docs and ".." not in parts and not any(p.startswith(".") for p in parts)


class _Handler(SimpleHTTPRequestHandler):
    server_version = "newsflow-files"

    def __init__(self, *args, report: str, docs: str, **kwargs) -> None:
        self.report, self.docs = report, docs
        super().__init__(*args, **kwargs)

    def servable(self) -> bool:
        """`allowed`, and the file it names is the report or lies in the Data Docs folder once links are
        followed: a link planted in the folder (to /etc/passwd) is not served."""
        if not allowed(self.path, self.report, self.docs):
            return False
        real, base = Path(self.translate_path(self.path)).resolve(), Path(self.directory).resolve()
        return real == (base / self.report).resolve() or real.is_relative_to((base / self.docs).resolve())

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if urlsplit(self.path).path in ("", "/"):
            self.send_response(HTTPStatus.FOUND)
            self.send_header("Location", f"/{self.report}")
            self.end_headers()
            return
        if not self.servable():
            self.send_error(HTTPStatus.NOT_FOUND, "Only the report and the Data Docs are served here")
            return
        if unquote(urlsplit(self.path).path) == f"/{self.report}" and not (Path(self.directory) / self.report).exists():
            body = NO_REPORT.encode()
            self.send_response(HTTPStatus.NOT_FOUND)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def do_HEAD(self) -> None:  # noqa: N802
        if not self.servable():
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
    """Serves the report and Data Docs of the warehouse file `db` on http://127.0.0.1:<port> from a
    daemon thread, at `report_url` and `docs_url`.

    Use as a context manager, or start()/stop(). Port 0 picks a free port (see `url`).
    """

    def __init__(self, db: Path, port: int, host: str = "127.0.0.1") -> None:
        self.folder = Path(db).parent
        self.report, self.docs = report_path(Path(db)).name, data_docs_path(Path(db)).name
        self.httpd = ThreadingHTTPServer((host, port), partial(_Handler, directory=str(self.folder),
                                                               report=self.report, docs=self.docs))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="newsflow-files", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def report_url(self) -> str:
        return f"{self.url}/{self.report}"

    @property
    def docs_url(self) -> str:
        return f"{self.url}/{self.docs}/index.html"

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
