"""How face networks see restored faces: the realism measures of face restoration.

RMSE rewards the mean of every plausible mouth, a blur. The face-restoration field
reports beside it what a face network makes of the result, and so does this module,
with dlib's networks (offline: ``dlib-bin`` and the weights in
``face_recognition_models``, the ``realism`` extra):

- **FFD**, a Fréchet distance (FID's formula) between the 128-d face-recognition
  embeddings of the restored faces and those of a reference set (the training faces):
  do the restorations look like faces of that kind, as a set;
- **identity**, the mean L2 distance between each restored face's embedding and its
  real face's (dlib calls two faces one person below 0.6);
- **mouth LMD**, the mean distance in pixels between the 20 mouth points (48-67) of the
  68-point landmark model on the restored face and on the real face.

Every face is described inside one box: the frontal face detector's on the *real* face
(the largest it finds, upsampled once), else ``FALLBACK_BOX``, so that the restored
and the real face are read in the same frame. Gray faces are given as three equal
channels. The functions of the measure are NumPy; dlib is imported by ``FaceNetworks``.
"""

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from mouthgan import MouthganError

FALLBACK_BOX = (8, 8, 120, 120)  # left, top, right, bottom: the frame of an aligned face
MOUTH_POINTS = slice(48, 68)  # the 68-point model's outer and inner lips
DETECTOR_UPSAMPLING = 1  # a 128-pixel face is near the detector's smallest: it misses 8
#                          of the 282 Validation faces at 0, 5 at 1


@dataclass
class FaceReadings:
    """What the networks read off n faces: embeddings (n, 128), landmarks (n, 68, 2)."""

    embeddings: np.ndarray
    landmarks: np.ndarray


class FaceNetworks:
    """dlib's frontal face detector, 68-point landmark model and face-recognition
    ResNet, loaded once."""

    def __init__(self):
        try:
            import dlib
            import face_recognition_models as weights
        except ImportError as error:
            raise MouthganError(f"the realism measures need dlib and its models ({error.name} "
                                "is missing): pip install -e '.[realism]'") from None
        self._rectangle = dlib.rectangle
        self.detector = dlib.get_frontal_face_detector()
        self.landmarks = dlib.shape_predictor(weights.pose_predictor_model_location())
        self.recognition = dlib.face_recognition_model_v1(
            weights.face_recognition_model_location())

    def face_boxes(self, faces):
        """(n, 4) boxes (left, top, right, bottom): the largest face the detector finds
        in each uint8 face, else ``FALLBACK_BOX``."""
        boxes = []
        for face in faces:
            found = self.detector(_rgb(face), DETECTOR_UPSAMPLING)
            best = max(found, key=lambda r: r.area(), default=None)
            boxes.append((best.left(), best.top(), best.right(), best.bottom())
                         if best is not None else FALLBACK_BOX)
        return np.array(boxes, np.int64).reshape(-1, 4)

    def read(self, faces, boxes):
        """Embeddings and landmarks of uint8 faces (n, H, W), each inside its box."""
        embeddings, landmarks = [], []
        for face, box in zip(faces, boxes):
            rgb = _rgb(face)
            shape = self.landmarks(rgb, self._rectangle(*map(int, box)))
            embeddings.append(np.array(self.recognition.compute_face_descriptor(rgb, shape)))
            landmarks.append([(p.x, p.y) for p in shape.parts()])
        return FaceReadings(np.array(embeddings, np.float64).reshape(-1, 128),
                            np.array(landmarks, np.float64).reshape(-1, 68, 2))


def _rgb(face):
    """A gray uint8 face as the three equal channels dlib's networks take."""
    face = np.asarray(face)
    if face.dtype != np.uint8:
        raise ValueError(f"faces must be uint8, got {face.dtype}")
    return np.ascontiguousarray(np.repeat(face[..., None], 3, axis=2))


def to_uint8(faces01):
    """Faces in 0..1 (as the restorers give them) -> uint8, rounded."""
    return np.clip(np.rint(np.asarray(faces01) * 255.0), 0, 255).astype(np.uint8)


def frechet_distance(a, b):
    """The Fréchet distance between Gaussians fitted to the rows of ``a`` and ``b``:
    |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)). The trace of the root is taken
    from the eigenvalues of S_a^(1/2) S_b S_a^(1/2), which is symmetric: no complex
    round-off to discard, as scipy's sqrtm of S_a S_b leaves."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cov_b @ root_a), 0, None)).sum()
    mean_gap = np.sum((a.mean(axis=0) - b.mean(axis=0)) ** 2)
    return float(mean_gap + np.trace(cov_a) + np.trace(cov_b) - 2.0 * cross)


def identity_distance(restored, real):
    """Mean L2 distance between each restored face's embedding and its real face's."""
    return float(np.linalg.norm(restored.embeddings - real.embeddings, axis=1).mean())


def mouth_landmark_distance(restored, real):
    """Mean distance in pixels between the mouth points of restored and real faces."""
    gap = restored.landmarks[:, MOUTH_POINTS] - real.landmarks[:, MOUTH_POINTS]
    return float(np.linalg.norm(gap, axis=2).mean())


class RealismJudge:
    """Scores restorations of a fixed set of faces against their real faces and a
    reference set (the training faces): RMSE, FFD, identity, mouth LMD.

    The real faces' boxes and readings, and the reference set's embeddings, are taken
    once. With a ``cache_dir``, the reference's embeddings and each set of restorations'
    scores are kept there by content (reading 282 faces takes about half a minute on 2
    cores, the 700 training faces more than a minute): a benchmark run again scores
    only what changed.
    """

    def __init__(self, real_faces, reference_faces, networks=None, cache_dir=None):
        self.networks = networks or FaceNetworks()
        self.real_faces = np.asarray(real_faces)
        self.cache_dir = cache_dir
        self.boxes = self.networks.face_boxes(self.real_faces)
        self.real = self._cached(
            f"realism-real-{content_key(self.real_faces, self.boxes)}.npz",
            lambda path: FaceReadings(**np.load(path)),
            lambda path, readings: np.savez(path, **vars(readings)),
            lambda: self.networks.read(self.real_faces, self.boxes))
        reference_faces = np.asarray(reference_faces)
        self.reference = self._cached(
            f"realism-reference-{content_key(reference_faces)}.npy", np.load, np.save,
            lambda: self.networks.read(reference_faces,
                                       self.networks.face_boxes(reference_faces)).embeddings)
        self.key = content_key(self.real_faces, self.reference)

    def _cached(self, name, load, save, compute):
        """``compute()``, kept in the cache folder under ``name`` (written whole or not
        at all)."""
        path = self.cache_dir / name if self.cache_dir else None
        if path is not None and path.is_file():
            return load(path)
        value = compute()
        if path is not None:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f"{path.stem}.partial{path.suffix}")
            save(partial, value)
            partial.replace(path)
        return value

    def __call__(self, restored):
        """{rmse, ffd, identity, mouth_lmd} of uint8 restorations of the real faces."""
        restored = np.asarray(restored)
        if restored.shape != self.real_faces.shape or restored.dtype != np.uint8:
            raise ValueError(f"restorations must be uint8 {self.real_faces.shape}, got "
                             f"{restored.dtype} {restored.shape}")
        return self._cached(f"realism-scores-{self.key}-{content_key(restored)}.json",
                            lambda path: json.loads(path.read_text()),
                            lambda path, scores: path.write_text(json.dumps(scores)),
                            lambda: self._scores(restored))

    def _scores(self, restored):
        readings = self.networks.read(restored, self.boxes)
        error = (restored.astype(np.float64) - self.real_faces) / 255.0
        return {"rmse": float(np.sqrt(np.mean(error ** 2))),
                "ffd": frechet_distance(readings.embeddings, self.reference),
                "identity": identity_distance(readings, self.real),
                "mouth_lmd": mouth_landmark_distance(readings, self.real)}


def content_key(*arrays):
    """A short hash of arrays' values and shapes: the name of what was computed from
    them."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(str(array.shape).encode() + np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]
