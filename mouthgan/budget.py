"""``--time-budget MINUTES``: how many steps fit in the minutes a run may take, from the
step time measured on this machine when the run starts, not from a table of CPUs.

A run with a budget first trains a throwaway copy of its engine for a few steps (the
same seeded models, the same batches) and evaluates it once: the time of a step and of
an evaluation here, with this precision and these devices. The run then trains the
steps that fit, as if they had been asked for: the run is an ordinary run of N steps,
and its config.json says N and what was measured. ``best`` sets 30 minutes: its 2500
steps where the machine is fast enough (AMX, a GPU), fewer where it is not.

The probe sees the machine at the start only. If it slows down later (another program
takes the cores, the CPU is throttled), ``StopAtDeadline`` ends the run at the step
after which its final scores would no longer fit, and config.json then says so.
"""

import dataclasses
import gc
import time

import keras

from mouthgan.callbacks import due
from mouthgan.engine import make_engine
from mouthgan.evaluation import Evaluator

WARMUP_STEPS = 2  # tracing, the first allocations: timed apart, paid again by the run
TIMED_STEPS = 6
# Planned to this share of the budget: a VM's speed drifts over half an hour by ~10%,
# and checkpoints, samples and the final save are not timed by the probe.
PLANNED_SHARE = 0.9
# What the deadline keeps back besides the final scores: saving the models.
DEADLINE_SHARE = 0.98


def steps_that_fit(seconds_left, step_seconds, eval_seconds, eval_every, steps):
    """The most steps (at most ``steps``) whose training and evaluations (one every
    ``eval_every`` steps) take at most ``seconds_left``; 0 when none does."""
    fitting = 0
    low, high = 0, steps
    while low <= high:  # the cost grows with the steps: the largest that fits, by halves
        middle = (low + high) // 2
        cost = middle * step_seconds + (middle // eval_every) * eval_seconds
        if cost <= seconds_left:
            fitting, low = middle, middle + 1
        else:
            high = middle - 1
    return fitting


def size_to_budget(config, dataset, strategy, notes=print):
    """The config with its steps sized to ``config.time_budget`` minutes (unchanged when
    they fit), what was measured (for config.json), and the run's ``StopAtDeadline``."""
    started = time.perf_counter()
    engine = make_engine(config, dataset.train, strategy)
    engine.run(WARMUP_STEPS, [])
    warmup = time.perf_counter() - started
    timing = time.perf_counter()
    engine.run(WARMUP_STEPS + TIMED_STEPS, [])
    step_seconds = (time.perf_counter() - timing) / TIMED_STEPS
    evaluation = dataset.validation or dataset.test
    eval_seconds = 0.0
    if evaluation is not None and evaluation.real is not None:
        timing = time.perf_counter()
        Evaluator(evaluation, config.flip_average)(engine.inference_generator)
        eval_seconds = time.perf_counter() - timing
    del engine
    gc.collect()
    probe = time.perf_counter() - started
    # Left for the run: what the probe spent, the run's own warm-up and its final
    # scores (validation and test, ~two evaluations) come off the planned share.
    left = config.time_budget * 60 * PLANNED_SHARE - probe - warmup - 2 * eval_seconds
    steps = steps_that_fit(left, step_seconds, eval_seconds, config.eval_every, config.steps)
    measured = {"minutes": config.time_budget, "step_seconds": round(step_seconds, 3),
                "eval_seconds": round(eval_seconds, 1), "probe_seconds": round(probe, 1),
                "steps_asked": config.steps, "steps": steps}
    if steps == 0:
        from mouthgan import MouthganError

        raise MouthganError(
            f"--time-budget {config.time_budget:g}: a step takes {step_seconds:.2f} s here "
            "and no step fits; give more minutes, or --time-budget 0 for no budget")
    if steps < config.steps:
        notes(f"Time budget {config.time_budget:g} min: a step takes {step_seconds:.2f} s "
              f"here, so {steps} of {config.steps} steps")
    else:
        notes(f"Time budget {config.time_budget:g} min: a step takes {step_seconds:.2f} s "
              f"here; all {config.steps} steps fit")
    deadline = started + config.time_budget * 60 * DEADLINE_SHARE - 2 * eval_seconds
    guard = StopAtDeadline(deadline, eval_seconds, config.eval_every, steps)
    return dataclasses.replace(config, steps=steps), measured, guard


class StopAtDeadline(keras.callbacks.Callback):
    """Ends training when the next step (and its evaluation, if one is due) would end
    past ``deadline`` (a ``time.perf_counter()`` value that leaves room for the final
    scores); ``stopped_at`` is then the last step trained. The next step is assumed to
    take as long as the last one without an evaluation: a machine that slowed down is
    believed at once."""

    def __init__(self, deadline, eval_seconds, eval_every, total_steps):
        super().__init__()
        self.deadline, self.eval_seconds = deadline, eval_seconds
        self.eval_every, self.total_steps = eval_every, total_steps
        self.step_seconds = 0.0
        self.stopped_at = None

    def on_epoch_begin(self, epoch, logs=None):
        self.began = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        step = epoch + 1
        if not due(step, self.eval_every, self.total_steps):
            self.step_seconds = now - self.began
        upcoming = self.step_seconds + (
            self.eval_seconds if due(step + 1, self.eval_every, self.total_steps) else 0.0)
        if step < self.total_steps and now + upcoming > self.deadline:
            self.stopped_at = step
            self.model.stop_training = True
