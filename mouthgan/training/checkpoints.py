"""Checkpoints: TensorFlow's ``tf.train.Checkpoint`` and ``CheckpointManager`` in
``RUN_DIR/checkpoint/``.

The engine's ``checkpoint()`` names what a resumed run needs (both models, both
optimizers with their step counts, the weight average); the
manager writes it atomically as ``ckpt-<step>`` and keeps the last two, so a
``kill -9`` in the middle of a save leaves the previous checkpoint whole. Beside it the
inference generator and the discriminator are saved as ``.keras`` files: what the export
(``mouthgan.inference.generators.model_file``) and the report read from a run that has not finished.
"""

import re
import shutil
import tempfile
from pathlib import Path

import tensorflow as tf

from mouthgan import MouthganError
from mouthgan.util.run_dir import CHECKPOINT_FOLDER as FOLDER
from mouthgan.util.run_dir import write_models

KEEP = 2


def find_checkpoint(run_dir):
    """The newest complete checkpoint of a run (its path prefix), or None."""
    folder = Path(run_dir) / FOLDER
    return tf.train.latest_checkpoint(str(folder)) if folder.is_dir() else None


def checkpoint_step(run_dir):
    """The step of the newest checkpoint; 0 when there is none."""
    path = find_checkpoint(run_dir)
    return int(re.search(r"ckpt-(\d+)$", path).group(1)) if path else 0


class Checkpoints:
    """Save and restore one engine's state in one run folder."""

    def __init__(self, engine, run_dir, chief=True):
        self.engine, self.folder, self.chief = engine, Path(run_dir) / FOLDER, chief
        self.checkpoint = engine.checkpoint()
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.folder),
                                                  max_to_keep=KEEP)

    def save(self):
        step = self.engine.steps_done
        if self.chief:
            self.manager.save(checkpoint_number=step)
            write_models(self.folder, self.engine.inference_generator,
                         self.engine.discriminator)
        else:
            # Multi-worker training: every worker takes part in a save (TensorFlow's
            # rule, as a save may read variables across workers), the chief's is kept.
            scratch = tempfile.mkdtemp(prefix="mouthgan-worker-ckpt-")
            try:
                self.checkpoint.write(str(Path(scratch) / "ckpt"))
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
        return step

    def restore(self):
        """Load the newest checkpoint into the engine; return its step."""
        if self.manager.latest_checkpoint is None:
            if (self.folder / "step.json").exists():
                raise MouthganError(f"{self.folder}: a checkpoint of mouthgan 0.1.0 (before "
                                    "2026-12), which this version cannot resume; its "
                                    "generator.keras still exports")
            raise MouthganError(f"{self.folder.parent}: no checkpoint to resume from")
        try:
            status = self.checkpoint.restore(self.manager.latest_checkpoint)
            # Every variable the engine has must come from the file: a checkpoint of
            # another network (other widths, levers) is refused, not half-loaded.
            status.assert_existing_objects_matched()
        except (tf.errors.OpError, AssertionError, ValueError) as exc:
            message = str(exc).splitlines()[0][:200]
            raise MouthganError(f"{self.manager.latest_checkpoint}: broken checkpoint, or "
                                f"one of other settings ({message})")
        return self.engine.steps_done
