"""The labeler's web server: the standard library's http.server, bound to 127.0.0.1 only.

Every request must carry the session token (the `token` query parameter, the
`X-Photosieve-Token` header, or the cookie set by the first page load); anything else gets 403.
The Host header must name the loopback interface, which stops DNS-rebinding pages from talking
to us. A request that changes state (POST) must also be exactly `application/json`, carry the
token itself rather than only the cookie (a page on another port of 127.0.0.1 is same-site, so
the browser would send the cookie for it), and, when the browser names an Origin, come from this
page's own: such a request cannot be made cross-origin without a CORS preflight, which we never
answer. Connections are served by a fixed pool of threads; more waiting connections than the
pool holds are closed at once, so a flood cannot start threads without bound. Pictures are
asked for by content hash and looked up in the session's photo set: a client never supplies a
path. Routes:

    GET  /                 the page            GET  /api/photos    the listing (JSON)
    GET  /static/<file>    its JS and CSS      POST /api/label     {"id", "label"}
    GET  /thumb/<id>       grid thumbnail      POST /api/undo      take back the last mark
    GET  /photo/<id>       large view          POST /api/apply     {"dry_run"} (review)
"""

from __future__ import annotations

import contextlib
import functools
import importlib.resources
import json
import logging
import secrets
import socket
import threading
import webbrowser
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from photosieve.errors import BadInput, PhotosieveError
from photosieve.labeler.app import LabelerApp, NotFound

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
TOKEN_HEADER = "X-Photosieve-Token"
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})
MAX_BODY = 64 * 1024
MAX_JSON_DEPTH = 16  # our bodies are flat objects; deeper nesting is refused
POOL_THREADS = 24  # a browser opens up to six connections to one host, per tab
POOL_WAITING = 32  # connections accepted beyond the pool's threads; more are closed at once
JSON_TYPE = "application/json"
STATIC = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token is in the page's URL
    "X-Frame-Options": "DENY",
}


def _static(name: str) -> bytes:
    return importlib.resources.files("photosieve.labeler").joinpath("static", name).read_bytes()


class LabelerServer(HTTPServer):
    """The HTTP server of one session; `app` does the work, a bounded pool serves connections."""

    def __init__(self, app: LabelerApp, port: int = 0, *, join_requests: bool = False) -> None:
        self.app = app
        # Joining the pool at close suits tests; the command closes open keep-alive connections
        # instead, so a browser's idle connection does not hold up Ctrl+C.
        self.join_requests = join_requests
        self.pool = ThreadPoolExecutor(POOL_THREADS, thread_name_prefix="labeler-conn")
        self.slots = threading.BoundedSemaphore(POOL_THREADS + POOL_WAITING)
        self.open: set[socket.socket] = set()
        self.open_lock = threading.Lock()
        super().__init__((HOST, port), Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            log.warning("labeler: too many connections; closing one from %s", client_address)
            self.shutdown_request(request)
            return
        with self.open_lock:
            self.open.add(request)
        self.pool.submit(self._serve_connection, request, client_address)

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            with self.open_lock:
                self.open.discard(request)
            self.shutdown_request(request)
            self.slots.release()

    def server_close(self) -> None:
        super().server_close()
        if not self.join_requests:
            with self.open_lock:
                for conn in list(self.open):
                    with contextlib.suppress(OSError):
                        conn.shutdown(socket.SHUT_RDWR)  # an idle keep-alive read returns now
        self.pool.shutdown(wait=True, cancel_futures=not self.join_requests)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/?token={self.app.token}"

    @property
    def cookie_name(self) -> str:
        # Cookies ignore ports: two sessions at once (label and review) must not clash.
        return f"photosieve_{self.port}"


class Handler(BaseHTTPRequestHandler):
    server: LabelerServer
    protocol_version = "HTTP/1.1"  # keep-alive: a grid asks for many thumbnails
    timeout = 60  # an idle keep-alive connection is closed after this many seconds

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    # --- the gate ------------------------------------------------------------------------

    def _host_ok(self) -> bool:
        host = (self.headers.get("Host") or "").strip().lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return name in LOOPBACK_NAMES

    def _token_ok(self, query: dict[str, list[str]], *, cookie: bool) -> bool:
        expected = self.server.app.token
        offered = [*query.get("token", []), self.headers.get(TOKEN_HEADER) or ""]
        try:
            morsel = SimpleCookie(self.headers.get("Cookie") or "").get(self.server.cookie_name)
        except CookieError:
            morsel = None
        if cookie and morsel is not None:
            offered.append(morsel.value)
        return any(secrets.compare_digest(o.encode(), expected.encode()) for o in offered if o)

    def _same_origin(self) -> bool:
        """A POST is plain JSON and, when the browser names its Origin, comes from our page."""
        ctype = (self.headers.get("Content-Type") or "").strip().lower()
        if ctype not in (JSON_TYPE, JSON_TYPE + "; charset=utf-8"):
            return False
        origin = self.headers.get("Origin")
        if origin is None:
            return True  # not a browser's cross-origin request: browsers always send it on POST
        port = self.server.port
        ours = {f"http://{name}:{port}" for name in LOOPBACK_NAMES}
        return origin.strip().lower() in ours

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        changes = method == "POST"
        if not self._host_ok() or not self._token_ok(query, cookie=not changes):
            self._drain()
            return self._error(HTTPStatus.FORBIDDEN, "forbidden: open the URL photosieve printed")
        if changes and not self._same_origin():
            self._drain()
            return self._error(HTTPStatus.FORBIDDEN, "forbidden: send JSON from the labeler page")
        route = ROUTES.get((method, url.path))
        if route is None and method == "GET":
            route = _picture_route(url.path)
        if route is None:
            self._drain()
            return self._error(HTTPStatus.NOT_FOUND, "not found")
        try:
            route(self)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the browser gave up on it (scrolled past a thumbnail)
        except NotFound as exc:
            self._error(HTTPStatus.NOT_FOUND, str(exc))
        except BadInput as exc:
            self._error(HTTPStatus.UNPROCESSABLE_ENTITY, f"cannot show this photo: {exc.reason}")
        except (ValueError, PhotosieveError) as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc))
        except Exception:  # one bad request must not take the page down
            log.exception("labeler request %s %s failed", method, url.path)
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error (see the terminal)")
        return None

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")  # no HEAD routes: 403 without the token, else 404

    # --- replies -------------------------------------------------------------------------

    def _send(
        self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        for key, value in {**SECURITY_HEADERS, **(headers or {})}.items():
            self.send_header(key, value)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, data: Any, status: int = HTTPStatus.OK) -> None:
        body = json.dumps(data).encode()
        self._send(status, body, "application/json", {"Cache-Control": "no-store"})

    def _error(self, status: int, message: str) -> None:
        self._json({"error": message}, status)

    def _length(self) -> int:
        """The body's length; a nonsense header closes the connection after this reply."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
        return length

    def _drain(self) -> None:
        """Read a refused request's body so the connection stays in step (keep-alive)."""
        length = self._length()
        if 0 < length <= MAX_BODY:
            self.rfile.read(length)

    def _body(self) -> dict[str, Any]:
        length = self._length()
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            raise ValueError("bad or too large request body")
        raw = self.rfile.read(length) if length else b"{}"
        return _parse_body(raw or b"{}")

    # --- routes --------------------------------------------------------------------------

    def page(self) -> None:
        cookie = (
            f"{self.server.cookie_name}={self.server.app.token}; Path=/; HttpOnly; SameSite=Strict"
        )
        self._send(
            HTTPStatus.OK,
            _static("index.html"),
            STATIC["index.html"],
            {"Set-Cookie": cookie, "Cache-Control": "no-store"},
        )

    def static(self) -> None:
        name = urlsplit(self.path).path.rsplit("/", 1)[-1]
        self._send(HTTPStatus.OK, _static(name), STATIC[name], {"Cache-Control": "no-cache"})

    def photos(self) -> None:
        self._json(self.server.app.listing())

    def label(self) -> None:
        body = self._body()
        self._json(self.server.app.label(str(body.get("id", "")), str(body.get("label", ""))))

    def undo(self) -> None:
        self._body()
        self._json(self.server.app.undo())

    def apply(self) -> None:
        body = self._body()
        self._json(self.server.app.apply(dry_run=bool(body.get("dry_run", False))))

    def thumb(self, photo_id: str) -> None:
        app = self.server.app
        _, path = app.photo(photo_id)
        self._image(app.thumbs.get(photo_id, path))

    def large(self, photo_id: str) -> None:
        app = self.server.app
        _, path = app.photo(photo_id)
        self._image(app.thumbs.large(path))

    def _image(self, data: bytes) -> None:
        # The id is the content hash, so the picture never changes under its URL.
        self._send(
            HTTPStatus.OK,
            data,
            "image/jpeg",
            {"Cache-Control": "private, max-age=86400, immutable"},
        )


Route = Callable[[Handler], None]
ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/"): Handler.page,
    ("GET", "/api/photos"): Handler.photos,
    ("POST", "/api/label"): Handler.label,
    ("POST", "/api/undo"): Handler.undo,
    ("POST", "/api/apply"): Handler.apply,
    **{("GET", f"/static/{name}"): Handler.static for name in STATIC if name != "index.html"},
}


def _too_deep(value: Any, room: int = MAX_JSON_DEPTH) -> bool:
    """Nested deeper than `room` containers (the walk stops there, so it is bounded)."""
    if not isinstance(value, dict | list):
        return False
    if room == 0:
        return True
    items = value.values() if isinstance(value, dict) else value
    return any(_too_deep(item, room - 1) for item in items)


def _parse_body(raw: bytes) -> dict[str, Any]:
    """A JSON object of bounded depth; what is wrong is said plainly, never as exception text."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise ValueError("the request body is nested too deeply") from None
    except ValueError:
        raise ValueError("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    if _too_deep(data):
        raise ValueError("the request body is nested too deeply")
    return data


def _picture_route(path: str) -> Route | None:
    """/thumb/<id> and /photo/<id>; the id is checked against the photo set by the app."""
    kind, _, photo_id = path.lstrip("/").partition("/")
    if kind == "thumb":
        return lambda handler: handler.thumb(photo_id)
    if kind == "photo":
        return lambda handler: handler.large(photo_id)
    return None


def start_server(app: LabelerApp, port: int = 0) -> tuple[LabelerServer, threading.Thread]:
    """Start the session and serve it on a thread (tests); stop with `stop_server`."""
    server = LabelerServer(app, port, join_requests=True)
    app.start()
    serve_loop = functools.partial(server.serve_forever, poll_interval=0.05)
    thread = threading.Thread(target=serve_loop, name="labeler-http", daemon=True)
    thread.start()
    return server, thread


def stop_server(server: LabelerServer, thread: threading.Thread) -> None:
    server.shutdown()
    thread.join()
    server.server_close()
    server.app.close()


def serve(
    app: LabelerApp,
    port: int = 0,
    *,
    open_browser: bool = True,
    echo: Callable[[str], None] = print,
) -> None:
    """Serve until Ctrl+C: print the URL (for SSH users too) and open the browser."""
    server = LabelerServer(app, port)
    app.start()
    echo(f"photosieve {app.mode}: {server.url}")
    echo(
        f"(over SSH: ssh -L {server.port}:127.0.0.1:{server.port} <this host>, then open "
        "the URL on your machine; Ctrl+C here stops)"
    )
    if open_browser:
        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        echo(
            "stopped; every label is saved"
            if app.mode == "label"
            else "stopped; marks not applied were not saved"
        )
    finally:
        server.server_close()
        app.close()
