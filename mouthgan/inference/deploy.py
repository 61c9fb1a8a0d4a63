"""The restorer as one graph, exported for other runtimes: TensorFlow SavedModel, LiteRT
(TFLite) and ONNX, through Keras's own ``Model.export``.

The exported model takes what a caller has, gray faces framed as the training faces
with the mouth box painted white, float32 in 0..1, shape (n, 128, 128, 1), and returns
the restored faces in 0..1: the generator's output pasted into the handout's box
(``HOLE_BOX``, where ``make_dataset.py`` and the photo path paint it), in inference mode
(BatchNormalization's moving statistics, no dropout). The Python path finds each hole
in the image instead (``mouthgan.data.holes.find_hole``); on the 292 Validation and Test
faces the two holes differ on 3, by a ring of near-white pixels ``find_hole`` grows into.
"""

import keras
import numpy as np
from keras import ops

from mouthgan.data.faces import HOLE_BOX

FORMATS = {"saved_model": "tf_saved_model", "litert": "litert", "onnx": "onnx"}


class Restorer(keras.Model):
    """(n, 128, 128, 1) white faces in 0..1 -> restored faces in 0..1, pasted into the
    box: ``mouthgan.inference.predict.restore`` as a Keras model, in inference mode.

    A subclassed model, not a functional one: in a functional graph the constants (the
    0.5 of the flip average, the box) are captured tensors, which the ONNX converter
    turns into extra inputs."""

    def __init__(self, generator, flip_average=False, **kwargs):
        super().__init__(name="restorer", **kwargs)
        self.generator, self.flip_average = generator, flip_average
        self.size = generator.input_shape[1]

    def call(self, white):
        x = white * 2.0 - 1.0  # the generator's range, -1..1
        y = self.generator(x, training=False)
        if self.flip_average:  # the mirrored face restored, mirrored back, averaged
            y = 0.5 * (y + ops.flip(self.generator(ops.flip(x, 2), training=False), 2))
        restored = ops.clip((y + 1.0) / 2.0, 0.0, 1.0)
        top, bottom, left, right = HOLE_BOX
        index = ops.arange(self.size)
        rows = ops.cast((index >= top) & (index < bottom), "float32")
        cols = ops.cast((index >= left) & (index < right), "float32")
        hole = ops.reshape(rows[:, None] * cols[None, :], (1, self.size, self.size, 1))
        return hole * restored + (1.0 - hole) * white


def build_restorer(generator, flip_average=False):
    """A built ``Restorer`` of ``generator``."""
    restorer = Restorer(generator, flip_average)
    restorer(np.zeros((1, restorer.size, restorer.size, 1), np.float32))
    return restorer


def export(restorer, format, path):
    """Write ``restorer`` in ``format`` (a key of ``FORMATS``) to ``path``."""
    restorer.export(str(path), format=FORMATS[format], verbose=False)


def load_runtime(format, path):
    """The exported file run by its own runtime: a function faces -> restored faces."""
    if format == "saved_model":
        import tensorflow as tf

        loaded = tf.saved_model.load(str(path))  # kept: its functions use its variables
        return lambda faces: np.asarray(loaded.serve(faces))
    if format == "litert":
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(str(path))

        def run_litert(faces):
            inputs = interpreter.get_input_details()[0]
            interpreter.resize_tensor_input(inputs["index"], faces.shape)
            interpreter.allocate_tensors()
            interpreter.set_tensor(inputs["index"], faces)
            interpreter.invoke()
            return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])

        return run_litert
    import onnxruntime

    model = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = model.get_inputs()[0].name
    return lambda faces: model.run(None, {name: faces})[0]


def check_faces(count=16, seed=0):
    """Faces to compare an export with Keras on when no data set is at hand: the
    package's average training face, mouth box painted, mirrored, shifted a few pixels,
    brighter, darker, lower and higher in contrast, with sensor-like noise (uint8 (count,
    128, 128)). They exercise every layer as faces do; they are not faces to score."""
    from PIL import Image

    from mouthgan.data.faces import HOLE_BOX
    from mouthgan.inference.photos.framing import AVERAGE_FACE_FILE

    with Image.open(AVERAGE_FACE_FILE) as image:
        average = np.asarray(image.convert("L"), np.float32)
    rng = np.random.default_rng(seed)
    top, bottom, left, right = HOLE_BOX
    faces = []
    for i in range(count):
        face = average[:, ::-1] if i % 2 else average
        face = np.roll(face, tuple(rng.integers(-3, 4, 2)), axis=(0, 1))
        face = (face - 128) * rng.uniform(0.7, 1.3) + 128 + rng.uniform(-30, 30)
        face = face + rng.normal(0, 4, face.shape)
        face = np.clip(np.round(face), 0, 254).astype(np.uint8)
        face[top:bottom, left:right] = 255
        faces.append(face)
    return np.stack(faces)
