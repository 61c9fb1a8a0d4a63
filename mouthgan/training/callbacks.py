"""The callbacks of a training run that Keras does not have.

Keras's own do the rest (``training.run_callbacks``): ``CSVLogger`` writes history.csv,
``TensorBoard`` the scalars, ``TerminateOnNaN`` stops a run whose loss diverged. Both
engines run one Keras epoch per training step (the handout's "Epoch"), so each of these
acts once a step; ``epoch`` below is the 0-based index Keras passes, and the step it
ends is ``epoch + 1``.
"""

import math
import sys
import time

import keras

from mouthgan.data.holes import find_holes
from mouthgan.inference.predict import paste, predict
from mouthgan.evaluation.plots import HISTORY_COLUMNS, LOSS_KEYS, VALIDATION_KEYS
from mouthgan.util.atomic import write_text


def due(step, every, total_steps):
    """Whether a once-every-N-steps action falls on ``step`` (and always on the last)."""
    return step % every == 0 or step == total_steps


class ValidationRMSE(keras.callbacks.Callback):
    """Adds ``val_rmse`` and ``val_rmse_pasted`` to the logs every ``every`` steps, for
    the callbacks after it (CSV, TensorBoard, progress bar)."""

    def __init__(self, evaluator, every, total_steps):
        super().__init__()
        self.evaluator, self.every, self.total_steps = evaluator, every, total_steps

    def on_epoch_end(self, epoch, logs=None):
        if due(epoch + 1, self.every, self.total_steps):
            logs.update(self.evaluator(self.model.inference_generator))


class HistoryCSV(keras.callbacks.CSVLogger):
    """Keras's ``CSVLogger`` with its columns fixed up front and steps counted from 1.

    Why the two changes: CSVLogger takes its columns from the first row's logs, and
    validation is measured only every N steps; and its ``epoch`` column would count the
    handout's epochs (our steps) from 0. A step without validation reads ``NA`` there.
    """

    def __init__(self, filename, append=False, columns=HISTORY_COLUMNS):
        super().__init__(filename, append=append)
        self.columns = columns  # HISTORY_COLUMNS, then the run's lever columns

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.keys = list(self.columns[1:])

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch + 1, logs)


class SampleGrids(keras.callbacks.Callback):
    """``samples/step_*.png``: fixed faces restored by the generator that is evaluated,
    before the first step and every ``every`` steps."""

    def __init__(self, split, folder, every, total_steps):
        super().__init__()
        self.split, self.folder = split, folder
        self.every, self.total_steps = every, total_steps
        self.holes = find_holes(split.white)

    def on_train_begin(self, logs=None):
        if self.model.steps_done == 0:  # the untrained generator: the report's "before"
            self.write(0)

    def on_epoch_end(self, epoch, logs=None):
        if due(epoch + 1, self.every, self.total_steps):
            self.write(epoch + 1)

    def write(self, step):
        from mouthgan.evaluation.plots import sample_grid

        raw = predict(self.model.inference_generator, self.split.white)
        pasted = paste(raw, self.split.white / 255.0, self.holes)
        sample_grid(pasted, raw, self.split.real, self.split.white,
                    self.folder / f"step_{step:06d}.png", title=f"step {step}")


class PeriodicCheckpoint(keras.callbacks.Callback):
    """A checkpoint every ``every`` steps and at the last, then loss.png redrawn; never
    one of a state whose losses are not finite (``failure`` then says which)."""

    def __init__(self, checkpoints, every, total_steps, history_path, plot_path):
        super().__init__()
        self.checkpoints, self.every, self.total_steps = checkpoints, every, total_steps
        self.history_path, self.plot_path = history_path, plot_path
        self.failure = None
        self.saved_step = None

    def on_epoch_end(self, epoch, logs=None):
        bad = [k for k in LOSS_KEYS if not math.isfinite(float(logs[k]))]
        if bad:
            self.failure = f"{', '.join(bad)} became NaN/Inf at step {epoch + 1}"
            self.model.stop_training = True
        elif due(epoch + 1, self.every, self.total_steps):
            self.save()

    def save(self):
        from mouthgan.evaluation.plots import plot_losses

        self.saved_step = self.checkpoints.save()
        if self.plot_path is not None:  # None: a worker that writes no run folder
            plot_losses(self.history_path, self.plot_path)


class ProgressBar(keras.callbacks.Callback):
    """Keras's ``Progbar`` over the whole run, one tick a step (``ProgbarLogger`` draws
    one bar per epoch, and each of our epochs is one step)."""

    def __init__(self, total_steps, verbose=1):
        super().__init__()
        self.progbar = keras.utils.Progbar(total_steps, verbose=verbose, unit_name="step",
                                           stateful_metrics=LOSS_KEYS + VALIDATION_KEYS,
                                           interval=0.5)

    def on_train_begin(self, logs=None):
        if self.model.steps_done:
            self.progbar.update(self.model.steps_done)

    def on_epoch_end(self, epoch, logs=None):
        self.progbar.update(epoch + 1, [(k, float(logs[k])) for k in LOSS_KEYS + VALIDATION_KEYS
                                        if k in logs])


class ProgressLines(keras.callbacks.Callback):
    """Progress where standard output is no terminal (``nohup``, a CI runner, a batch
    scheduler's log file): one plain line every ``every`` steps and at each evaluation,
    with no carriage returns or escape codes. Keras's ``Progbar`` redraws in place
    whenever Python runs on a POSIX system, which in a file is one line growing for the
    whole run."""

    def __init__(self, total_steps, every, print_line=print):
        super().__init__()
        self.total_steps, self.every, self.print_line = total_steps, every, print_line

    def on_train_begin(self, logs=None):
        self.started, self.first_step = time.monotonic(), self.model.steps_done

    def on_epoch_end(self, epoch, logs=None):
        step = epoch + 1
        evaluated = any(k in logs for k in VALIDATION_KEYS)
        if not (due(step, self.every, self.total_steps) or evaluated):
            return
        seconds = time.monotonic() - self.started
        left = seconds / (step - self.first_step) * (self.total_steps - step)
        values = "  ".join(f"{k} {float(logs[k]):.4g}" for k in LOSS_KEYS + VALIDATION_KEYS
                           if k in logs)
        self.print_line(f"step {step}/{self.total_steps}  {values}  "
                        f"{seconds / 60:.1f} min, ~{left / 60:.1f} min left", flush=True)


def progress_callback(total_steps, verbose, interactive=None):
    """A progress bar on a terminal, plain lines (20 a run) elsewhere; ``verbose=0``:
    none."""
    if interactive is None:
        interactive = sys.stdout.isatty()
    if interactive or not verbose:
        return ProgressBar(total_steps, verbose=verbose)
    return ProgressLines(total_steps, every=max(1, total_steps // 20))


class StopOnRequest(keras.callbacks.Callback):
    """Ends training at the step boundary after SIGINT or SIGTERM (``mouthgan.util.signals``).
    Listed last, so the step that was running is logged and checkpointed as usual."""

    def __init__(self, request):
        super().__init__()
        self.request = request

    def on_epoch_end(self, epoch, logs=None):
        if self.request:
            self.model.stop_training = True
            self.request.taken = True


def truncate_history(path, step, columns=HISTORY_COLUMNS):
    """Keep the rows of steps 1..``step`` of history.csv: a resumed run takes the later
    steps again. The checkpoint is the truth: a damaged file (a bad header, rows that
    are no step's numbers, a step twice) keeps the readable rows of the checkpoint's
    steps under the right header, and one line says what was dropped; the lost steps'
    losses stay lost (the loss plot leaves a gap)."""
    if not path.exists():
        return
    lines = path.read_text(errors="replace").splitlines()
    header = ",".join(columns)
    rows, unreadable = {}, 0
    for line in lines[1:] if lines and lines[0] == header else lines:
        fields = line.split(",")
        try:
            row_step = int(fields[0])
            [float(v) for v in fields[1:] if v != "NA"]  # NA: a step not evaluated
        except ValueError:
            unreadable += 1
            continue
        if len(fields) != len(columns) or row_step in rows:
            unreadable += 1
        elif row_step <= step:
            rows[row_step] = line
    damaged = unreadable or not lines or lines[0] != header
    if damaged:
        print(f"note: {path}: damaged ({unreadable} unreadable rows"
              f"{'' if lines and lines[0] == header else ', no header'}); kept the "
              f"{len(rows)} readable rows of steps 1-{step}")
    write_text(path, "".join(f"{line}\n" for line in [header] + [rows[k] for k in sorted(rows)]))
