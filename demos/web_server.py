"""Serve a static folder on 127.0.0.1 only (the web demo's site), with WebAssembly's MIME type.

The standard library's :class:`http.server.SimpleHTTPRequestHandler` serves
the files; on top of it, every ``GET`` and ``HEAD`` is checked, in order:

1. the ``Host`` header (exactly one) must name this server: ``127.0.0.1``,
   ``localhost`` or ``[::1]`` with the port it listens on (the port may be
   left out only when it is 80). Anything else gets 403, so a page on
   another site cannot read this one through DNS rebinding (its name made to
   resolve to 127.0.0.1: the browser then sends that name as ``Host``);
2. the path, once percent-decoded, must be a file name the system can open:
   a NUL byte (``%00``) or an unpaired surrogate (``%ED%A0%80``) gets 400;
3. the path, once symbolic links are resolved, must lie inside the site's
   folder: a link that leads out of it gets 404, as a missing file does.

A client that drops the connection mid-answer (a closed tab, a reload)
ends its request quietly: no traceback. Other errors are reported as
:class:`socketserver.BaseServer` reports them.

Example:
    >>> with SiteServer("out/web", port=0) as server:   # port 0: any free port
    ...     print(server.url)
"""

import functools
import http
import http.server
import os
import pathlib
import sys
import threading

from keras_seq.arguments import integer

HOST = "127.0.0.1"
HOST_NAMES = ("127.0.0.1", "localhost", "[::1]")
TYPES = {".wasm": "application/wasm", ".js": "text/javascript", ".json": "application/json",
         ".tflite": "application/octet-stream", ".html": "text/html", ".css": "text/css"}


def allowed_hosts(port):
    """The ``Host`` header values (lower case) a request to this machine's ``port`` may carry."""
    hosts = {f"{name}:{port}" for name in HOST_NAMES}
    return hosts | set(HOST_NAMES) if port == 80 else hosts


class _SiteHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **TYPES}

    def log_message(self, format, *args):  # noqa: A002  (the base class's name)
        pass

    def send_head(self):
        """The checks of the module docstring, then the base class's answer (``None`` after an error)."""
        hosts = self.headers.get_all("Host") or []
        if len(hosts) != 1 or hosts[0].strip().lower() not in allowed_hosts(self.server.server_port):
            self.send_error(http.HTTPStatus.FORBIDDEN, "This server answers to 127.0.0.1 and localhost only")
            return None
        try:
            path = self.translate_path(self.path)
            if "\0" in path:
                raise ValueError("a NUL byte in the path")
            os.fsencode(path)  # an unpaired surrogate cannot be a file name: UnicodeEncodeError
        except ValueError:
            self.send_error(http.HTTPStatus.BAD_REQUEST, "The path is not a file name")
            return None
        root = os.path.realpath(self.directory)
        if os.path.commonpath([root, os.path.realpath(path)]) != root:
            self.send_error(http.HTTPStatus.NOT_FOUND, "File not found")
            return None
        return super().send_head()


class _SiteHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A client that went away (``BrokenPipeError``, ``ConnectionResetError``, ...) is no error here."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class SiteServer:
    """An HTTP server for ``folder`` on 127.0.0.1, in a background thread (see the module docstring).

    Args:
        folder: an existing folder with an ``index.html``.
        port: TCP port in [0, 65535]; 0 picks a free one.

    Attributes:
        url: ``http://127.0.0.1:PORT/`` once started.
    """

    def __init__(self, folder, port=0):
        folder = pathlib.Path(folder)
        if not (folder / "index.html").is_file():
            raise ValueError(f"folder={str(folder)!r} is not allowed; expected a built site with an index.html")
        self.folder = folder
        self.port = integer(port, "port", minimum=0, maximum=65535)
        self._server = None
        self._thread = None

    def start(self):
        handler = functools.partial(_SiteHandler, directory=str(self.folder))
        self._server = _SiteHTTPServer((HOST, self.port), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def url(self):
        return f"http://{HOST}:{self._server.server_port}/"

    def wait(self):
        """Block until the server stops (Ctrl-C raises ``KeyboardInterrupt`` here)."""
        while self._thread.is_alive():
            self._thread.join(timeout=0.5)

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()
