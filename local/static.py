"""The cabinet's files as CloudFront serves them from S3: index.html for folders, nothing outside."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from werkzeug.exceptions import NotFound
from werkzeug.utils import send_from_directory
from werkzeug.wrappers import Request, Response

# Types the cabinet uses, fixed here so the answer does not depend on the machine's /etc/mime.types.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
    ".map": "application/json",
}


def _not_found() -> Response:
    return Response(b"Not Found\n", 404, content_type="text/plain; charset=utf-8")


def serve_static(static_dir: Path | None, request: Request, path: str) -> Response:
    """The file at the raw request `path` under `static_dir` (index.html for folders), or 404/405."""
    if request.method not in ("GET", "HEAD"):
        return Response(b"", 405, headers={"Allow": "GET, HEAD"}, content_type="text/plain; charset=utf-8")
    if static_dir is None:
        return _not_found()
    relative = unquote(path)
    if relative.endswith("/"):
        relative += "index.html"
    parts = [part for part in relative.split("/") if part]
    # Hidden files, NUL and backslashes are refused outright; werkzeug's safe_join refuses `..`.
    if not parts or any(part.startswith(".") or "\x00" in part or "\\" in part for part in parts):
        return _not_found()
    root = static_dir.resolve()
    # A symlink inside the folder must not lead outside it.
    if not root.joinpath(*parts).resolve().is_relative_to(root):
        return _not_found()
    try:
        # Conditional GETs (ETag, Last-Modified) and ranges come with werkzeug's send_file.
        response = send_from_directory(root, "/".join(parts), request.environ)
    except NotFound:
        return _not_found()
    content_type = CONTENT_TYPES.get(Path(parts[-1]).suffix.lower())
    if content_type:
        response.headers["Content-Type"] = content_type  # as given, without werkzeug's added charset
    # CloudFront's caching policy stands in front in AWS; locally, always revalidate.
    response.headers["Cache-Control"] = "no-cache"
    del response.headers["Content-Disposition"]  # send_file's; S3 sends none for the cabinet's files
    return response
