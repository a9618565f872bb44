"""Build the ``tf.distribute`` strategy a training run works under (``--strategy``).

- ``default``: one device, no distribution.
- ``mirrored``: ``tf.distribute.MirroredStrategy``, one replica per local
  GPU (or the CPU): synchronous data parallelism on one machine.
- ``multiworker``: ``tf.distribute.MultiWorkerMirroredStrategy``, the same
  across machines. Every worker runs the same command; the cluster and this
  worker's place in it come from the ``TF_CONFIG`` environment variable, e.g.
  ``{"cluster": {"worker": ["host1:12345", "host2:12345"]},
  "task": {"type": "worker", "index": 0}}``. Worker 0 (or the task of type
  ``chief``) is the chief. The strategy must be created before TensorFlow
  runs anything else in the process.
"""

import json
import os
import pathlib

import tensorflow as tf

from keras_seq import arguments

STRATEGIES = ("default", "mirrored", "multiworker")


def make_strategy(name):
    """Return the strategy called ``name`` (one of ``STRATEGIES``)."""
    arguments.choice(name, "strategy", STRATEGIES)
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    check_tf_config(os.environ.get("TF_CONFIG"))
    return tf.distribute.MultiWorkerMirroredStrategy()


def check_tf_config(text):
    """Raise ``ValueError`` unless ``text`` is a usable ``TF_CONFIG`` for a worker."""
    if not text:
        raise ValueError(
            "strategy='multiworker' needs the TF_CONFIG environment variable, e.g. "
            '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}'
        )
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON ({error}): {text!r}") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise ValueError(f"TF_CONFIG needs 'cluster' and 'task' objects, got {text!r}")
    members = cluster.get(task.get("type"))
    index = task.get("index")
    if not isinstance(members, list) or not isinstance(index, int) or not 0 <= index < len(members):
        raise ValueError(
            f"TF_CONFIG task {task!r} is not in its cluster {cluster!r} "
            "(task.type must name a job of the cluster and task.index a place in it)"
        )


def task_of(strategy):
    """Return ``(task_type, task_id)`` of this process; ``(None, None)`` off a cluster."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return None, None
    return resolver.task_type, resolver.task_id


def is_chief(strategy):
    """True for the one process that writes the run's outputs."""
    task_type, task_id = task_of(strategy)
    if task_type is None:
        return True
    has_chief_job = "chief" in strategy.cluster_resolver.cluster_spec().as_dict()
    return task_type == "chief" or (task_type == "worker" and task_id == 0 and not has_chief_job)


def worker_dir(out_dir, strategy):
    """The folder this process writes to: ``out_dir`` for the chief, ``out_dir/workers/<type>-<id>`` otherwise.

    Every worker saves its checkpoints (they hold the same weights), but only
    the chief's land where users look, so workers sharing a file system never
    write the same file.
    """
    out_dir = pathlib.Path(out_dir)
    if is_chief(strategy):
        return out_dir
    task_type, task_id = task_of(strategy)
    return out_dir / "workers" / f"{task_type}-{task_id}"
