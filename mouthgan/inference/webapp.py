"""A local web page that restores photos: drop photos in, get each face before and
after, and the restored photo to download. The same photo path as ``restore.py``
(``mouthgan.inference.photos.restore_photo``), the same one-line reasons for a photo it cannot
restore, and a choice of model: the bundled ones and the runs in ``runs/``.

Why the standard library's HTTP server and not Gradio: one page, one endpoint, no
dependency of hundreds of megabytes; it binds to localhost and serves one user.
"""

import base64
import html
import io
import json
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from mouthgan import MouthganError

MAX_UPLOAD = 25 * 1024 * 1024  # bytes of one photo
# Photos restore one at a time (the models are shared); at most this many more wait,
# each holding its upload, and any further one is told the page is busy: with the
# photo's pixel limit (photos.images.MAX_PIXELS) that bounds the page's memory.
MAX_WAITING = 4


def model_choices(runs_root="runs", extra=()):
    """(value, label) of every model the page offers: ``extra`` (the command line's)
    first, the newest runs, every run in ``runs_root`` with a generator, then the bundled
    models."""
    from mouthgan.inference.bundled import PREFIX, bundled_names, card
    from mouthgan.util.run_dir import saved_model

    runs = Path(runs_root)
    choices = [(str(m), str(m)) for m in extra]
    for link, what in (("latest-photo", "the newest run of --preset photo"),
                       ("latest", "the newest run")):
        if (runs / link).exists():
            choices.append((str(runs / link), f"{runs / link} ({what})"))
    if runs.is_dir():
        choices += [(str(d), str(d)) for d in sorted(runs.iterdir())
                    if not d.is_symlink() and d.is_dir() and saved_model(d) is not None]
    choices += [(PREFIX + name, f"{PREFIX}{name} ({card(PREFIX + name)['summary']})")
                for name in bundled_names()]
    seen, unique = set(), []
    for value, label in choices:
        if value not in seen:
            seen.add(value)
            unique.append((value, label))
    return unique


class Busy(MouthganError):
    """Too many photos are waiting: the answer is 503, try again."""


class Restorer:
    """The face detector, and each chosen generator loaded once. One restoration at a
    time: the models are shared by the server's threads."""

    def __init__(self, choices, hole="auto"):
        from mouthgan.inference.photos.detect import FaceDetector

        self.choices, self.hole = dict(choices), hole
        self.detector = FaceDetector()
        self.generators = {}
        self.lock = threading.Lock()
        self.slots = threading.BoundedSemaphore(MAX_WAITING + 1)

    def restore(self, name, data, model):
        """One uploaded photo -> the JSON answer the page shows."""
        if model not in self.choices:
            raise MouthganError(f"{model}: not a model this page offers")
        safe = Path(name).name or "photo"
        if not self.slots.acquire(blocking=False):
            raise Busy(f"{safe}: the page is busy with {MAX_WAITING + 1} photos; "
                       "send it again in a moment")
        try:
            return self._restore(safe, data, model)
        finally:
            self.slots.release()

    def _restore(self, safe, data, model):
        from mouthgan.inference.generators import load_generators, run_flip_average
        from mouthgan.inference.photos.pictures import before_after, side_by_side
        from mouthgan.inference.photos.pipeline import restore_photo

        with self.lock, tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / safe
            path.write_bytes(data)
            if model not in self.generators:
                self.generators[model] = (load_generators([model], runtime="auto"),
                                          run_flip_average(model))
            generator, flip_average = self.generators[model]
            try:
                result = restore_photo(path, self.detector, generator, self.hole, flip_average)
            except MouthganError as exc:
                # the message names the temporary copy; the user knows the upload's name
                raise MouthganError(str(exc).replace(str(path), safe)) from None
        stem = Path(safe).stem
        return {"name": safe, "ok": True, "download": f"{stem}_restored.png",
                "restored": data_url(result.restored),
                "before_after": data_url(before_after(result)),
                "faces": [data_url(side_by_side(face)) for face in result.faces],
                "notes": list(result.notes) + list(result.skipped)}


def data_url(array):
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


# The page itself (HTML, CSS and JavaScript) is a file of its own beside this one.
PAGE_FILE = Path(__file__).with_name("webpage.html")


def page(choices):
    options = "\n".join(f'<option value="{html.escape(v)}">{html.escape(label)}</option>'
                        for v, label in choices)
    return PAGE_FILE.read_text(encoding="utf-8").replace("{options}", options)


def make_server(restorer, choices, host="127.0.0.1", port=7860):
    """A ``ThreadingHTTPServer`` serving the page (GET /) and the restorations
    (POST /restore?name=FILE&model=MODEL, the photo's bytes as the body)."""
    body = page(choices).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if urlparse(self.path).path != "/":
                return self._send(404, b"not found", "text/plain")
            self._send(200, body, "text/html; charset=utf-8")

        def do_POST(self):
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            name = query.get("name", "photo")
            if url.path != "/restore":
                return self._send(404, b"not found", "text/plain")
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_UPLOAD:
                return self._json(413, {"name": name, "ok": False, "error":
                                        f"{name}: larger than {MAX_UPLOAD >> 20} MB"})
            data = self.rfile.read(length)
            try:
                answer = restorer.restore(name, data, query.get("model", ""))
            except Busy as exc:
                return self._json(503, {"name": name, "ok": False, "error": str(exc)})
            except Exception as exc:  # noqa: BLE001  one line to the browser, not a dead thread
                if not isinstance(exc, MouthganError):
                    exc = MouthganError(f"could not restore it ({exc.__class__.__name__}: {exc})")
                message = str(exc)
                if not message.startswith(Path(name).name):
                    message = f"{Path(name).name}: {message}"
                print(f"error: {message}", file=sys.stderr, flush=True)
                return self._json(200, {"name": name, "ok": False, "error": message})
            faces = len(answer["faces"])
            print(f"{answer['name']}: {faces} face{'s' if faces > 1 else ''} restored",
                  flush=True)
            self._json(200, answer)

        def _json(self, status, payload):
            self._send(status, json.dumps(payload).encode(), "application/json")

        def _send(self, status, payload, kind):
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format, *args):  # one line per restoration is printed instead
            pass

    return ThreadingHTTPServer((host, port), Handler)
