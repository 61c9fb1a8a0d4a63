"""Evaluation: validation RMSE during training, every score at the end, and the fixed
faces of the sample grids."""

import numpy as np

from mouthgan.evaluation import metrics
from mouthgan.data.holes import find_holes
from mouthgan.inference.predict import paste, predict
from mouthgan.evaluation.metrics import rmse


class Evaluator:
    """Validation RMSE of the generator, raw and pasted into the hole.

    The holes are found once, up front: they depend only on the white images.
    """

    def __init__(self, split, flip_average=False):
        self.white, self.flip_average = split.white, flip_average
        self.real01 = split.real.astype(np.float32) / 255.0
        self.holes = find_holes(split.white)

    def predictions(self, generator):
        raw = predict(generator, self.white, flip_average=self.flip_average)
        return raw, paste(raw, self.white.astype(np.float32) / 255.0, self.holes)

    def __call__(self, generator):
        raw, pasted = self.predictions(generator)
        return {"val_rmse": rmse(raw, self.real01), "val_rmse_pasted": rmse(pasted, self.real01)}

    def scores(self, generator):
        """Every metric for the raw output, the pasted output, and the white image."""
        raw, pasted = self.predictions(generator)
        return {
            "identity": metrics.report(self.white / 255.0, self.real01, self.holes),
            "raw": metrics.report(raw, self.real01, self.holes),
            "pasted": metrics.report(pasted, self.real01, self.holes),
        }


def final_scores(generator, dataset, flip_average=False):
    """{split: {identity|raw|pasted: metrics}} for Test and Validation where answers exist."""
    return {name: Evaluator(split, flip_average).scores(generator)
            for name, split in (("test", dataset.test), ("validation", dataset.validation))
            if split is not None and split.real is not None}


def sample_faces(dataset, n=4):
    """Fixed faces for the sample grids: validation if there is one, else training."""
    from mouthgan import MouthganError
    from mouthgan.data.faces import FilePairs, RecordShards, Split

    split = dataset.validation if dataset.validation is not None else dataset.train
    if isinstance(split, FilePairs):  # streamed training data: read just these
        return split.read(n)
    if isinstance(split, RecordShards):
        raise MouthganError(f"{dataset.root}: training from TFRecords needs a Validation "
                            "folder beside them (make_tfrecords.py copies it)")
    return Split(split.white[:n], split.real[:n], split.names[:n])
