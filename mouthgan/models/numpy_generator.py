"""A saved generator's forward pass in NumPy alone: the export without TensorFlow.

Why: turning 10 test faces into the Kaggle CSV needs ~0.1 s of arithmetic, but
importing TensorFlow and Keras takes 3-4 s of a ~5 s export on a 2-core laptop. A
``.keras`` file is a zip of ``config.json`` (the layer graph) and ``model.weights.h5``
(the weights), both readable without Keras; the generator uses a handful of layer
types, each a few lines of NumPy. ``scripts/image_to_csv.py`` uses this path and falls
back to Keras for a model with a layer it does not know.

Keras stays the reference: ``tests/test_numpy_generator.py`` checks this forward pass
against ``keras.Model(..., training=False)`` for each generator this package builds.
The file layout read here is Keras 3's (``keras.src.saving.saving_lib``): weights live
under ``layers/<snake_case class name>[_<n>]/vars/<i>``, numbered per class in the order
of the model's layers. A layout that does not fit raises ``UnsupportedModel``.
"""

import io
import json
import re
import zipfile

import numpy as np

from mouthgan.models.phases import phase_kernels


class UnsupportedModel(Exception):
    """The file holds a model this module cannot run; use Keras instead."""


# --- layer mathematics (NHWC float32 arrays) ---

def _same_padding(size, kernel, stride):
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2  # TensorFlow's split: the extra zero after


def conv2d(x, kernel, bias=None, stride=1, padding="same"):
    """Convolution as k*k matrix products, one per kernel tap (no im2col copy)."""
    kh, kw = kernel.shape[:2]
    if padding == "same":
        x = np.pad(x, ((0, 0), _same_padding(x.shape[1], kh, stride),
                       _same_padding(x.shape[2], kw, stride), (0, 0)))
    out_h = (x.shape[1] - kh) // stride + 1
    out_w = (x.shape[2] - kw) // stride + 1
    y = np.zeros((x.shape[0], out_h, out_w, kernel.shape[3]), np.float32)
    for i in range(kh):
        for j in range(kw):
            y += x[:, i:i + stride * (out_h - 1) + 1:stride,
                   j:j + stride * (out_w - 1) + 1:stride] @ kernel[i, j]
    return y if bias is None else y + bias


def depth_to_space(x, block):
    n, h, w, c = x.shape
    c //= block * block
    return (x.reshape(n, h, w, block, block, c).transpose(0, 1, 3, 2, 4, 5)
            .reshape(n, h * block, w * block, c))


def upsample_conv2d(x, kernel, bias):
    """UpSampling2D(2) then Conv2D(k x k, same), by phases (``models.UpSampleConv2D``)."""
    y = conv2d(x, phase_kernels(kernel), np.tile(bias, 4))
    return depth_to_space(y, 2)


ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "tanh": np.tanh,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
}


def _activation(config):
    name = config.get("activation", "linear")
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise UnsupportedModel(f"activation {name!r}")
    return ACTIVATIONS[name]


def _snake_case(name):
    """Keras's ``naming.to_snake_case``: how the weights file names a layer class."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _layer_function(class_name, config, weights):
    """The forward function of one inference-mode layer, given its weight arrays."""
    def expect(count):
        if len(weights) != count:
            raise UnsupportedModel(f"{config.get('name')}: {len(weights)} weights, "
                                   f"expected {count}")

    if class_name == "Conv2D":
        if (config.get("data_format", "channels_last") != "channels_last"
                or tuple(config.get("dilation_rate", (1, 1))) != (1, 1)
                or config.get("groups", 1) != 1
                or len(set(config["strides"])) != 1):
            raise UnsupportedModel(f"{config['name']}: a Conv2D option")
        expect(2 if config.get("use_bias", True) else 1)
        kernel, bias = weights[0], (weights[1] if len(weights) > 1 else None)
        stride, padding, act = config["strides"][0], config["padding"], _activation(config)
        return lambda x: act(conv2d(x, kernel, bias, stride, padding))
    if class_name == "UpSampleConv2D":
        expect(2)
        kernel, bias = weights
        act = _activation(config)
        return lambda x: act(upsample_conv2d(x, kernel, bias))
    if class_name == "UpSampling2D":
        if config.get("interpolation", "nearest") != "nearest":
            raise UnsupportedModel(f"{config['name']}: interpolation")
        rows, cols = config["size"]
        return lambda x: x.repeat(rows, axis=1).repeat(cols, axis=2)
    if class_name in ("BatchNormalization", "FusedBatchNormalization"):
        if config.get("axis") not in (-1, 3, [-1], [3]):
            raise UnsupportedModel(f"{config['name']}: axis {config.get('axis')}")
        center, scale = config.get("center", True), config.get("scale", True)
        expect(2 + center + scale)
        gamma = weights[0] if scale else 1.0
        beta = weights[int(scale)] if center else 0.0
        mean, var = weights[-2], weights[-1]
        # Inference mode: the moving statistics, folded into one multiply-add.
        factor = gamma / np.sqrt(var + config["epsilon"])
        shift = beta - mean * factor
        return lambda x: x * factor + shift
    if class_name == "GroupNormalization":
        center, scale = config.get("center", True), config.get("scale", True)
        expect(center + scale)
        gamma = weights[0] if scale else 1.0
        beta = weights[int(scale)] if center else 0.0
        eps = config["epsilon"]

        def group_norm(x):
            n, h, w, c = x.shape
            groups = c if config["groups"] == -1 else config["groups"]
            g = x.reshape(n, h, w, groups, c // groups)
            mean = g.mean(axis=(1, 2, 4), keepdims=True)
            var = g.var(axis=(1, 2, 4), keepdims=True)
            return ((g - mean) / np.sqrt(var + eps)).reshape(x.shape) * gamma + beta
        return group_norm
    if class_name == "LeakyReLU":
        slope = config.get("negative_slope", 0.3)
        return lambda x: np.where(x >= 0, x, slope * x)
    if class_name == "ReLU":
        if config.get("max_value") is not None or config.get("negative_slope", 0) or \
                config.get("threshold", 0):
            raise UnsupportedModel(f"{config['name']}: a ReLU option")
        return lambda x: np.maximum(x, 0)
    if class_name == "Activation":
        return _activation(config)
    if class_name == "Dropout":
        return lambda x: x  # inference
    if class_name == "Concatenate":
        if config.get("axis", -1) not in (-1, 3):
            raise UnsupportedModel(f"{config['name']}: axis {config.get('axis')}")
        return lambda xs: np.concatenate(xs, axis=-1)
    if class_name == "Flatten":
        return lambda x: x.reshape(len(x), -1)  # row-major NHWC, as Keras's channels_last
    if class_name == "Dense":
        expect(2 if config.get("use_bias", True) else 1)
        kernel, bias = weights[0], (weights[1] if len(weights) > 1 else 0.0)
        act = _activation(config)
        return lambda x: act(x @ kernel + bias)
    if class_name == "Reshape":
        shape = tuple(config["target_shape"])
        return lambda x: x.reshape((len(x),) + shape)
    raise UnsupportedModel(f"layer type {class_name}")


def _inbound(layer):
    """Names of the layers feeding this one (a functional layer called once)."""
    nodes = layer.get("inbound_nodes", [])
    if len(nodes) > 1:
        raise UnsupportedModel(f"{layer['name']}: a layer called more than once")
    if not nodes:
        return None
    args = nodes[0]["args"]
    tensors = args[0] if len(args) == 1 and isinstance(args[0], list) else args
    names = []
    for tensor in tensors:
        history = tensor.get("config", {}).get("keras_history")
        if not history or history[1:] != [0, 0]:
            raise UnsupportedModel(f"{layer['name']}: an input this module cannot follow")
        names.append(history[0])
    return names if len(args) == 1 and isinstance(args[0], list) else names[0]


class NumpyGenerator:
    """A single-input functional Keras model, run in NumPy in inference mode.

    Called like the Keras model (``generator(x, training=False)``) so that
    ``mouthgan.inference.predict.predict`` takes either.
    """

    def __init__(self, model_config, weights):
        if model_config.get("class_name") != "Functional":
            raise UnsupportedModel(f"a {model_config.get('class_name')} model, not Functional")
        config = model_config["config"]
        inputs, outputs = config["input_layers"], config["output_layers"]
        # Keras writes one input/output as a bare [name, 0, 0], several as a list of them.
        inputs = [inputs] if isinstance(inputs[0], str) else inputs
        outputs = [outputs] if isinstance(outputs[0], str) else outputs
        if len(inputs) != 1 or len(outputs) != 1:
            raise UnsupportedModel("a model with several inputs or outputs")
        self.name = config.get("name", "generator")
        self.input_name, self.output_name = inputs[0][0], outputs[0][0]
        self.steps = []  # (layer name, function, inbound names) in graph order
        counts, used = {}, set()
        for layer in config["layers"]:
            class_name = layer["class_name"]
            key = _snake_case(class_name)
            counts[key] = counts.get(key, -1) + 1
            if class_name == "InputLayer":
                self.input_shape = tuple(layer["config"]["batch_shape"])
                continue
            prefix = key if counts[key] == 0 else f"{key}_{counts[key]}"
            layer_weights = weights.get(prefix, [])
            used.add(prefix)
            self.steps.append((layer["name"],
                               _layer_function(class_name, layer["config"], layer_weights),
                               _inbound(layer)))

        if set(weights) - used:
            raise UnsupportedModel("weights that match no layer: "
                                   + ", ".join(sorted(set(weights) - used)))

    @classmethod
    def load(cls, path):
        """Read a ``.keras`` file; ``UnsupportedModel`` if it is not one this runs."""
        try:
            with zipfile.ZipFile(path) as archive:
                model_config = json.loads(archive.read("config.json"))
                weights_file = archive.read("model.weights.h5")
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise UnsupportedModel(f"not a readable .keras file ({exc.__class__.__name__})")
        import h5py  # comes with Keras; imported here so that a failure is an UnsupportedModel

        weights = {}
        with h5py.File(io.BytesIO(weights_file), "r") as h5:
            layers_group = h5.get("layers")
            for name in (layers_group or {}):
                variables = layers_group[name].get("vars")
                if variables is not None and len(variables):
                    weights[name] = [np.asarray(variables[str(i)], np.float32)
                                     for i in range(len(variables))]
        try:
            model = cls(model_config, weights)
            # One image through the graph: a weight of the wrong shape fails here, as
            # UnsupportedModel, rather than halfway through an export.
            shape = model.input_shape[1:]
            if len(shape) != 3 or None in shape:
                raise UnsupportedModel(f"input shape {model.input_shape}")
            model(np.zeros((1, *shape), np.float32))
        except (KeyError, TypeError, IndexError, ValueError, AttributeError) as exc:
            raise UnsupportedModel(f"an unexpected model layout ({exc.__class__.__name__}: "
                                   f"{exc})")
        return model

    def __call__(self, x, training=False):
        values = {self.input_name: np.asarray(x, np.float32)}
        for name, function, inbound in self.steps:
            inputs = ([values[i] for i in inbound] if isinstance(inbound, list)
                      else values[inbound])
            values[name] = function(inputs)
        return values[self.output_name]
