"""An S3-compatible server on 127.0.0.1 for tests: moto's, with one fix so pyarrow can write.

moto 5.2 answers CompleteMultipartUpload with a root element ``CompleteMultipartUploadResponse``
where S3 says ``CompleteMultipartUploadResult``; the AWS C++ SDK inside pyarrow then reports
"error embedded in a 200 OK response" and every pyarrow write (which ends with that call) fails.
A WSGI wrapper renames the element. Nothing else is changed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

WRONG, RIGHT = b"CompleteMultipartUploadResponse", b"CompleteMultipartUploadResult"


def fix_multipart(app: Callable[..., Iterable[bytes]]) -> Callable[..., list[bytes]]:
    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            captured.update(status=status, headers=headers)
            return lambda data: None

        body = b"".join(app(environ, capture))
        headers = captured["headers"]
        if WRONG in body:  # only that answer: HEAD's Content-Length is the object's size, keep it
            body = body.replace(WRONG, RIGHT)
            headers = [(k, str(len(body)) if k.lower() == "content-length" else v) for k, v in headers]
        start_response(captured["status"], headers)
        return [body]

    return wrapped


class LocalS3:
    """``with LocalS3() as s3: s3.endpoint`` → ``http://127.0.0.1:<free port>``."""

    def __init__(self) -> None:
        from moto.server import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        app = fix_multipart(DomainDispatcherApplication(create_backend_app))
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.endpoint = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="local-s3", daemon=True)

    def __enter__(self) -> LocalS3:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.thread.join(10)
