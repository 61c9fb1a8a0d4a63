"""Training, top to bottom: build the engine, restore its checkpoint, run the steps
through Keras callbacks, save the models and scores.

Where each part lives: the engines in ``gan`` (fused, the default) and ``handout_loop``
behind ``engine.Engine``; the batch and its augmentation in ``batches``; losses in
``losses``; optimizers in ``optimizers``; checkpoints in ``checkpoints``; our callbacks
in ``callbacks``; evaluation in ``evaluation``; the run folder in ``run_dir``.
"""

import dataclasses
import time
from contextlib import nullcontext
from pathlib import Path

import keras

from mouthgan import MouthganError
from mouthgan.training import devices
from mouthgan.training.budget import size_to_budget
from mouthgan.training.callbacks import (HistoryCSV, PeriodicCheckpoint, SampleGrids,
                                         StopOnRequest, ValidationRMSE, progress_callback,
                                         truncate_history)
from mouthgan.training.checkpoints import Checkpoints, checkpoint_step
from mouthgan.training.engine_factory import make_engine
from mouthgan.training.pix2pix import lever_log_keys
from mouthgan.evaluation.plots import HISTORY_COLUMNS
from mouthgan.evaluation.scores import Evaluator, final_scores, sample_faces
from mouthgan.util.run_dir import (read_json, run_lock, write_config, write_json,
                                   write_models, writes_run_folder)
from mouthgan.util.signals import Interrupted, stop_requests, unblock_on_stop

# Seconds a multi-worker run has to reach its step boundary after a stop signal before
# its waits for peers are aborted: a step and a checkpoint take less.
STOP_GRACE = 20



def history_columns(config):
    """history.csv's columns: every run's, then those its levers log."""
    return HISTORY_COLUMNS + lever_log_keys(config)

def train(config, dataset, run_dir, resume=False, verbose=1):
    """Train to ``config.steps``; return a summary dict.

    SIGINT and SIGTERM stop the run at the next step boundary: it saves a checkpoint and
    raises ``mouthgan.util.signals.Interrupted`` saying how to resume. One process at a time
    writes a run folder (``run_lock``); in multi-worker training, the chief.
    """
    run_dir = Path(run_dir)
    # Where and how precisely to train is decided on this machine, first: a strategy
    # that splits the CPU must exist before TensorFlow runs anything.
    config = devices.resolve(config)
    if config.distribute != "multi-worker":
        strategy = devices.make_strategy(config)
        with run_lock(run_dir), stop_requests() as stop:
            return _train(config, dataset, run_dir, resume, verbose, stop, strategy, True)
    # A worker waits for its peers inside TensorFlow, where no signal handler runs: a stop
    # signal not taken up at a step boundary within STOP_GRACE seconds aborts the wait.
    stop = strategy = None
    with unblock_on_stop(devices.abort_exchanges, STOP_GRACE):
        try:
            strategy = devices.make_strategy(config)
            chief = writes_run_folder(config)
            with run_lock(run_dir) if chief else nullcontext(), stop_requests() as stop:
                return _train(config, dataset, run_dir, resume, verbose, stop, strategy,
                              chief)
        except devices.PEER_ERRORS as exc:
            step = checkpoint_step(run_dir)
            kept = (f"the last checkpoint (step {step}) is in {run_dir}" if step else
                    "no checkpoint was saved yet")
            again = "continue with the same command on every worker"
            if stop:
                error = Interrupted(stop.signum, f"{stop.name}: stopped while waiting for "
                                                 f"a peer; {kept}; {again}")
            else:
                error = MouthganError(f"a peer stopped answering ({peer_error(exc)}); "
                                      f"{kept}; {again}")
            # TensorFlow's teardown of aborted exchanges can wait on the lost peer: the
            # script leaves without it (mouthgan.util.cli.leave).
            error.skip_teardown = True
            raise error from None
        finally:
            devices.stop_health_check(strategy)


def peer_error(exc):
    """What TensorFlow says of a lost peer, in a line: why the exchanges were aborted
    ("cluster check alive failed, /job:worker/replica:0/task:1 is down"), not the
    "Graph execution error:" its message starts with."""
    lines = [line.strip() for line in (exc.message or str(exc)).splitlines() if line.strip()]
    aborted = [line.split("aborted by: ", 1)[1] for line in lines if "aborted by: " in line]
    told = [line for line in lines if not line.endswith(":") and not line.startswith(
        ("Detected at node", "File ", "[[", "{{"))]
    return (aborted or told or [type(exc).__name__])[0][:200]


def start_from(engine, run):
    """Fine-tuning: the engine's generator (and its weight average) and discriminator
    take the weights of a trained run's (``generator.keras``, the one it evaluated, and
    ``discriminator.keras``) or a bundled model's. Same settings, same layers: weights
    map one to one."""
    from mouthgan.inference.bundled import discriminator_file
    from mouthgan.inference.generators import load_model, model_file

    generator = load_model(model_file(run))
    discriminator = discriminator_file(model_file(run))
    if not discriminator.is_file():
        raise MouthganError(f"{run}: no {discriminator.name} beside its generator to "
                            "fine-tune from")
    pairs = [(engine.generator, generator), (engine.discriminator, load_model(discriminator))]
    if engine.ema_generator is not None:
        pairs.append((engine.ema_generator, generator))
    for model, trained in pairs:
        if [w.shape for w in model.weights] != [w.shape for w in trained.weights]:
            raise MouthganError(f"{run}: its {model.name} has other layers than this "
                                "run's; fine-tune with the run's own model settings")
        model.set_weights(trained.get_weights())


def _train(config, dataset, run_dir, resume, verbose, stop, strategy, chief):
    config.validate(len(dataset.train))
    budget = deadline = None
    if config.time_budget and not resume:  # a resumed run keeps the steps it was given
        # Said even with --quiet, as "Resuming" is: the run trains other steps than asked.
        config, budget, deadline = size_to_budget(config, dataset, strategy)
    elif resume and chief:
        budget = read_json(run_dir / "config.json").get("time_budget")
    engine = make_engine(config, dataset.train, strategy)
    checkpoints = Checkpoints(engine, run_dir, chief)
    if config.init and not resume:
        start_from(engine, config.init)
    if resume:
        restored = checkpoints.restore()
        if chief:
            # History after the checkpoint belongs to steps that will be run again.
            truncate_history(run_dir / "history.csv", restored, history_columns(config))
            print(f"Resuming {run_dir} at step {restored}")
    run_facts = {"engine_class": type(engine).__name__,
                 "replicas": strategy.num_replicas_in_sync if strategy else 1,
                 "input_source": type(engine.source).__name__}
    if chief:
        write_config(run_dir, config, {**run_facts,
                                       **({"time_budget": budget} if budget else {})})
        saver, callbacks = chief_callbacks(config, dataset, run_dir, checkpoints, stop,
                                           deadline, append=resume, verbose=verbose)
    else:  # a worker beside the chief: it takes part in every save, writes nothing
        saver = PeriodicCheckpoint(checkpoints, config.checkpoint_every, config.steps,
                                   None, None)
        callbacks = [keras.callbacks.TerminateOnNaN(), saver, StopOnRequest(stop)]
    start, started = engine.steps_done, time.time()
    if start < config.steps and not stop:
        run_steps(engine, config, callbacks, run_dir)
    # Steps that went faster than the probe measured leave minutes at the end: they
    # train more of the steps asked. The run's batches are a function of the step and
    # its learning rate constant, so this is the run the plan would have been had the
    # probe seen this pace. Not with a schedule that ends at the planned step. (A budget
    # is refused to multi-worker runs: here the chief is the only process.)
    more = (deadline.steps_that_still_fit(budget["steps_asked"] - config.steps)
            if deadline is not None and not (stop or saver.failure or deadline.stopped_at)
            and engine.steps_done == config.steps and config.lr_decay == "none" else 0)
    if more:
        planned, config = config.steps, dataclasses.replace(config, steps=config.steps + more)
        print(f"Time budget {config.time_budget:g} min: steps went faster than the probe "
              f"measured; {more} more fit, {config.steps} of {budget['steps_asked']} steps")
        budget = {**budget, "steps": config.steps, "steps_planned": planned,
                  "steps_added": more}
        write_config(run_dir, config, {**run_facts, "time_budget": budget})
        deadline.total_steps = config.steps
        saver, callbacks = chief_callbacks(config, dataset, run_dir, checkpoints, stop,
                                           deadline, append=True, verbose=verbose)
        run_steps(engine, config, callbacks, run_dir)
    if saver.failure:
        raise MouthganError(f"{saver.failure}; stopped. The last good checkpoint is in "
                            f"{run_dir}/checkpoint (step {checkpoint_step(run_dir)})")
    if stop:
        done = engine.steps_done
        if done == start:
            raise Interrupted(stop.signum, f"{stop.name}: stopped before step {start + 1}; "
                                           "nothing new to save")
        if saver.saved_step != done:
            saver.save()
        raise Interrupted(stop.signum, f"{stop.name}: stopped at step {done}; checkpoint "
                                       "saved. Continue with: python scripts/train.py "
                                       f"--resume {run_dir}")
    seconds = time.time() - started
    if deadline is not None and deadline.stopped_at:
        # The machine slowed down after the probe: the run is one of the steps it
        # trained, as recorded (a resume then has nothing left to do).
        done = engine.steps_done
        print(f"Time budget {config.time_budget:g} min: steps took longer than the probe "
              f"measured; stopped at step {done} of {config.steps} to finish in time")
        budget = {**budget, "steps": done, "stopped_at_deadline": True,
                  "steps_planned": budget.get("steps_planned", config.steps)}
        config = dataclasses.replace(config, steps=done)
        if saver.saved_step != done:
            saver.save()
        write_config(run_dir, config, {**run_facts, "time_budget": budget})
    if not chief:
        return {"run_dir": str(run_dir), "steps": engine.steps_done, "seconds": seconds,
                "engine": engine, "scores": {}}
    write_models(run_dir, engine.inference_generator, engine.discriminator)
    scores = final_scores(engine.inference_generator, dataset, config.flip_average)
    write_json(run_dir / "scores.json", scores)
    write_json(run_dir / "summary.json", {
        "steps": engine.steps_done,
        # of the process that finished the run: a resumed run counts its last part only
        "train_seconds": round(seconds, 1), "resumed": bool(resume),
        "generator_parameters": engine.generator.count_params(),
        "discriminator_parameters": engine.discriminator.count_params()})
    return {"run_dir": str(run_dir), "steps": engine.steps_done, "seconds": seconds,
            "engine": engine, "scores": scores}


def run_steps(engine, config, callbacks, run_dir):
    """``engine.run``; a streamed image that cannot be read stops the run in one line
    (the decoder names no file: the folder and TensorFlow's reason are what is known)."""
    import tensorflow as tf

    from mouthgan.data.batches import FacesInMemory

    reason = None
    try:
        engine.run(config.steps, callbacks)
    except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError,
            tf.errors.DataLossError) as exc:
        if isinstance(engine.source, FacesInMemory):
            raise
        lines = [l.strip() for l in str(exc.message or exc).splitlines()]
        reason = next((l for l in reversed(lines) if l and not l.startswith(("[[", "{{"))
                       and "Op:" not in l), "unknown reason")
        reason = reason.split("Iterator::")[-1].split(": ", 1)[-1][:200]  # after tf.data's path
    # Raised here, after the handler has let go of the failed call's frames: they hold
    # the input iterator, whose threads must stop before the interpreter exits.
    if reason is not None:
        raise MouthganError(f"{config.data}: a training image could not be read while "
                            f"streaming ({reason}); the last checkpoint is in "
                            f"{run_dir}/checkpoint")


def chief_callbacks(config, dataset, run_dir, checkpoints, stop, deadline, append, verbose):
    """(the checkpoint saver, every callback) of the process that writes the run folder:
    ``run_callbacks`` with the budget's deadline, if any, before ``StopOnRequest``,
    which stays last."""
    saver = PeriodicCheckpoint(checkpoints, config.checkpoint_every, config.steps,
                               run_dir / "history.csv", run_dir / "loss.png")
    callbacks = run_callbacks(config, dataset, run_dir, saver, stop, append=append,
                              verbose=verbose)
    if deadline is not None:
        callbacks.insert(-1, deadline)
    return saver, callbacks


def run_callbacks(config, dataset, run_dir, saver, stop, append, verbose):
    """The callbacks of a run, in the order they act at the end of each step: measure,
    stop on NaN, log (CSV, TensorBoard), draw samples, checkpoint, show progress, and
    last, stop if a signal asked to."""
    evaluation = dataset.validation or dataset.test
    callbacks = []
    if evaluation is not None and evaluation.real is not None:
        callbacks.append(ValidationRMSE(Evaluator(evaluation, config.flip_average),
                                        config.eval_every, config.steps))
    callbacks += [
        keras.callbacks.TerminateOnNaN(),
        HistoryCSV(str(run_dir / "history.csv"), append=append,
                   columns=history_columns(config)),
        keras.callbacks.TensorBoard(str(run_dir / "tensorboard"), write_graph=False,
                                    profile_batch=0),
        SampleGrids(sample_faces(dataset), run_dir / "samples", config.sample_every,
                    config.steps),
        saver,
        progress_callback(config.steps, verbose),
        StopOnRequest(stop),
    ]
    return callbacks
