"""``--time-budget MINUTES``: how many steps, and how wide a generator, fit in the minutes
a run may take, from the step time measured on this machine when the run starts, not
from a table of CPUs.

A run with a budget first trains a throwaway copy of its engine for a few steps (the
same seeded models, the same batches) and evaluates it once: the time of a step and of
an evaluation here, with this precision and these devices. The run then trains the
steps that fit, as if they had been asked for: the run is an ordinary run of N steps,
and its config.json says N and what was measured. ``best`` sets 30 minutes: its 5000
steps where the machine is fast enough (AMX, a GPU), fewer where it is not.

Where not even half of the steps fit (a CPU with neither AMX nor AVX-512, where the wide
G of ``best`` takes ~1.5 s a step of 16 pairs), a narrower generator trained for more
steps does better in the same minutes than the wide one cut short, so the budget narrows
G, every level by one factor, probes again, and trains the widths and steps that fit.

The probe sees the machine at the start only. If it slows down later (another program
takes the cores, the CPU is throttled), ``StopAtDeadline`` ends the run at the step
after which its final scores would no longer fit, and config.json then says so. If it
ran faster than the probe measured (a VM's slow spell at the start), the minutes left at
the end of the planned steps train more of the steps asked, at the pace the run kept.
"""

import dataclasses
import gc
import math
import statistics
import time

import keras

from mouthgan import MouthganError
from mouthgan.training.callbacks import due
from mouthgan.training.engine_factory import make_engine
from mouthgan.evaluation.scores import Evaluator
from mouthgan.models.networks import GENERATOR_FILTERS

WARMUP_STEPS = 2  # tracing, the first allocations: timed apart, paid again by the run
TIMED_STEPS = 6
# Planned to this share of the budget: a VM's speed drifts over half an hour by ~10%,
# and checkpoints, samples and the final save are not timed by the probe.
PLANNED_SHARE = 0.9
# What the deadline keeps back besides the final scores: saving the models.
DEADLINE_SHARE = 0.98
# G is narrowed when fewer than this share of the asked steps fit: in the same minutes
# a narrower G trained for more steps then ends ahead (best's 30 minutes on a 2-core
# AVX2 CPU, seed 0: the 10x G for 447 steps, Validation 0.0250; 0.6x as wide for 1261
# steps, 0.0241; benchmarks/RESULTS.md, "best in 30 minutes on any CPU").
NARROW_BELOW_SHARE = 0.5
MAX_PROBES = 3  # the first at the asked widths, then at most two narrower
# A narrowing by less than this share is not probed: it buys fewer steps than the VM's
# speed drifts by (seed 2 on the AVX2 CPU: 0.59x -> 0.57x as wide, 1.32 -> 1.28 s a
# step, 1115 -> 1111 steps fitting after 40 s more of probing).
MIN_NARROWING = 0.1
# The minutes left after the planned steps train more steps when at least this share of
# the planned steps more fit: fewer would not repay a second fit() call's start, one
# more evaluation and one more checkpoint. (best, seed 0 on a 2-core AMX CPU: the probe
# saw 0.44 s a step, the run then took 0.29 s, and 3547 of 5000 steps ended after 17 of
# its 30 minutes.)
MIN_TOP_UP = 0.05
# The budget's one clock, seconds: tests give it a clock they control, so what they check
# of the plan does not hang on how busy their machine is.
clock = time.perf_counter


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


def narrower_widths(asked, current, fitting, wanted):
    """The generator widths to probe next: ``asked`` scaled by one factor, so that about
    ``wanted`` steps fit where ``current`` fits ``fitting`` (a step's cost taken as the
    square of the width, as a convolution's multiplications grow), and never narrower
    than the handout's G, for which no narrower one was measured better. None when
    nothing narrower is left to try, or only less than ``MIN_NARROWING`` narrower."""
    scale = current[0] / asked[0] * math.sqrt(max(fitting, 1) / wanted)
    scale = max(scale, *(handout / width for handout, width in zip(GENERATOR_FILTERS, asked)))
    widths = tuple(round(width * scale) for width in asked)
    # (the same widths again are less than a tenth narrower too)
    return None if sum(widths) > (1 - MIN_NARROWING) * sum(current) else widths


class StepSeconds(keras.callbacks.Callback):
    """The seconds of each training step, in ``seconds``."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.began = clock()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(clock() - self.began)


def probe(config, dataset, strategy):
    """(seconds until the steps run at pace, seconds a step, seconds an evaluation) of
    this run's engine on this machine."""
    started = clock()
    engine = make_engine(config, dataset.train, strategy)
    # One call, each step timed apart. Timing a second call counted fit()'s own start (a
    # new input pipeline) in its steps: 3.43 s a step, where the run then took 2.84.
    timer = StepSeconds()
    engine.run(WARMUP_STEPS + TIMED_STEPS, [timer])
    paced = timer.seconds[WARMUP_STEPS:]
    warmup = clock() - started - sum(paced)
    # The median: one step slowed by something else on the machine does not set the pace.
    step_seconds = statistics.median(paced)
    evaluation = dataset.validation or dataset.test
    eval_seconds = 0.0
    if evaluation is not None and evaluation.real is not None:
        timing = clock()
        Evaluator(evaluation, config.flip_average)(engine.inference_generator)
        eval_seconds = clock() - timing
    del engine
    gc.collect()
    return warmup, step_seconds, eval_seconds


def size_to_budget(config, dataset, strategy, notes=print):
    """The config with its steps (and, where too few fit, its generator's widths) sized
    to ``config.time_budget`` minutes (unchanged when all fit), what was measured (for
    config.json), and the run's ``StopAtDeadline``."""
    started = clock()
    asked, probes = config, []
    while True:
        warmup, step_seconds, eval_seconds = probe(config, dataset, strategy)
        # Left for the run: what the probes spent, the run's own warm-up and its final
        # scores (validation and test, ~two evaluations) come off the planned share.
        left = (config.time_budget * 60 * PLANNED_SHARE - (clock() - started)
                - warmup - 2 * eval_seconds)
        steps = steps_that_fit(left, step_seconds, eval_seconds, config.eval_every,
                               asked.steps)
        probes.append({"generator_filters": list(config.generator_filters),
                       "step_seconds": round(step_seconds, 3), "steps": steps})
        wanted = math.ceil(NARROW_BELOW_SHARE * asked.steps)
        # A fine-tuned run keeps the widths of the generator it starts from.
        widths = (narrower_widths(asked.generator_filters, config.generator_filters, steps,
                                  wanted)
                  if steps < wanted and len(probes) < MAX_PROBES and not config.init
                  else None)
        if widths is None:
            break
        config = dataclasses.replace(config, generator_filters=widths)
    probe_seconds = clock() - started
    measured = {"minutes": config.time_budget, "step_seconds": round(step_seconds, 3),
                "eval_seconds": round(eval_seconds, 1), "probe_seconds": round(probe_seconds, 1),
                "steps_asked": asked.steps, "steps": steps}
    if len(probes) > 1:
        measured["probes"] = probes
    if steps == 0:
        raise MouthganError(
            f"--time-budget {config.time_budget:g}: a step takes {step_seconds:.2f} s here "
            "and no step fits; give more minutes, or --time-budget 0 for no budget")
    # Said as config.json records it (to the millisecond), so the two never disagree in
    # their last digit.
    step_seconds = measured["step_seconds"]
    said = f"Time budget {config.time_budget:g} min: a step takes {step_seconds:.2f} s here"
    if len(probes) > 1:
        first, dashed = probes[0], lambda widths: "-".join(map(str, widths))
        said = (f"Time budget {config.time_budget:g} min: G {dashed(asked.generator_filters)} "
                f"would train {first['steps']} of {asked.steps} steps here "
                f"({first['step_seconds']:.2f} s a step); G "
                f"{dashed(config.generator_filters)} instead: a step takes "
                f"{step_seconds:.2f} s")
    notes(f"{said}, so {steps} of {asked.steps} steps" if steps < asked.steps
          else f"{said}; all {asked.steps} steps fit")
    deadline = started + config.time_budget * 60 * DEADLINE_SHARE - 2 * eval_seconds
    guard = StopAtDeadline(deadline, eval_seconds, config.eval_every, steps)
    return dataclasses.replace(config, steps=steps), measured, guard


class StopAtDeadline(StepSeconds):
    """Ends training when the next step (and its evaluation, if one is due) would end
    past ``deadline`` (a ``clock()`` value that leaves room for the final
    scores); ``stopped_at`` is then the last step trained. The next step is assumed to
    take as long as the last one without an evaluation: a machine that slowed down is
    believed at once."""

    def __init__(self, deadline, eval_seconds, eval_every, total_steps):
        super().__init__()
        self.deadline, self.eval_seconds = deadline, eval_seconds
        self.eval_every, self.total_steps = eval_every, total_steps
        self.step_seconds = 0.0
        self.stopped_at = None

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        now = clock()
        step = epoch + 1
        if not due(step, self.eval_every, self.total_steps):
            self.step_seconds = self.seconds[-1]
        upcoming = self.step_seconds + (
            self.eval_seconds if due(step + 1, self.eval_every, self.total_steps) else 0.0)
        if step < self.total_steps and now + upcoming > self.deadline:
            self.stopped_at = step
            self.model.stop_training = True

    def steps_that_still_fit(self, at_most):
        """How many more steps (at most ``at_most``) fit before the deadline at this run's
        own pace (its median step), with their evaluations and the one at their end;
        0 when fewer than ``MIN_TOP_UP`` of the steps trained would."""
        if not self.seconds:
            return 0
        seconds_left = self.deadline - clock() - self.eval_seconds
        more = steps_that_fit(seconds_left, statistics.median(self.seconds),
                              self.eval_seconds, self.eval_every, at_most)
        return more if more >= MIN_TOP_UP * self.total_steps else 0
