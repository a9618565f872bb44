"""Serve a static folder on 127.0.0.1 only (the web demo's site), with WebAssembly's MIME type.

Example:
    >>> with SiteServer("out/web", port=0) as server:   # port 0: any free port
    ...     print(server.url)
"""

import functools
import http.server
import pathlib
import threading

from keras_seq.arguments import integer

HOST = "127.0.0.1"
TYPES = {".wasm": "application/wasm", ".js": "text/javascript", ".json": "application/json",
         ".tflite": "application/octet-stream", ".html": "text/html", ".css": "text/css"}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **TYPES}

    def log_message(self, format, *args):  # noqa: A002  (the base class's name)
        pass


class SiteServer:
    """An HTTP server for ``folder`` on 127.0.0.1, in a background thread.

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
        handler = functools.partial(_QuietHandler, directory=str(self.folder))
        self._server = http.server.ThreadingHTTPServer((HOST, self.port), handler)
        self._server.daemon_threads = True
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
