"""Reading photos safely: a photo too large to decode is refused from its header in one
line naming it, before any pixel is decoded."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT
from mouthgan import MouthganError
from mouthgan.inference.photos import images


def test_a_photo_over_the_pixel_limit_is_refused_from_its_header(tmp_path, monkeypatch):
    path = tmp_path / "wide.png"
    Image.new("1", (4000, 3000)).save(path)  # 12 MP, a few KB on disk
    monkeypatch.setattr(images, "MAX_PIXELS", 10_000_000)
    decoded = []
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(1))
    with pytest.raises(MouthganError) as caught:
        images.read_photo(path)
    assert str(caught.value) == (f"{path}: too large (4000x3000 pixels, more than 10 "
                                 "megapixels); shrink it first")
    assert not decoded


@pytest.mark.slow
def test_a_decompression_bomb_is_one_line_and_the_other_photos_go_on(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.new("1", (14000, 14000)).save(folder / "bomb.png")  # 196 MP: PIL's bomb
    Image.fromarray(np.full((60, 80), 120, np.uint8)).save(folder / "plain.png")
    with pytest.raises(MouthganError) as caught:
        images.read_photo(folder / "bomb.png")
    assert str(caught.value) == (f"{folder / 'bomb.png'}: too large (more than 50 "
                                 "megapixels); shrink it first")
    pytest.importorskip("mtcnn")
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "restore.py"), str(folder),
                             "--model", "bundled:default", "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {folder / 'bomb.png'}: too large (more than 50 megapixels); "
                      "shrink it first", f"error: {folder / 'plain.png'}: no face found"]


class FailingRestorer:
    """Stands in for the page's Restorer: each upload raises what it is told."""

    def __init__(self, error):
        self.error = error

    def restore(self, name, data, model):
        raise self.error


@pytest.mark.parametrize("error, status, message", [
    ("busy", 503, "me.png: the page is busy with 5 photos; send it again in a moment"),
    (RuntimeError("out of memory"), 200,
     "me.png: could not restore it (RuntimeError: out of memory)")])
def test_the_page_answers_a_busy_or_failed_restoration_in_one_line(error, status, message):
    import json
    import threading
    import urllib.error
    import urllib.request

    from mouthgan.inference import webapp

    if error == "busy":
        restorer = object.__new__(webapp.Restorer)  # no detector: the slots are all taken
        restorer.choices = {"m": None}
        restorer.slots = threading.BoundedSemaphore(1)
        restorer.slots.acquire()
        with pytest.raises(webapp.Busy):
            restorer.restore("me.png", b"", "m")
        error = webapp.Busy(message)
    server = webapp.make_server(FailingRestorer(error), [("m", "m")], port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/restore?name=me.png&model=m"
        request = urllib.request.Request(url, data=b"x", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                code, body = answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            code, body = exc.code, json.loads(exc.read())
        assert code == status
        assert body == {"name": "me.png", "ok": False, "error": message}
        assert thread.is_alive()
    finally:
        server.shutdown()
        server.server_close()
