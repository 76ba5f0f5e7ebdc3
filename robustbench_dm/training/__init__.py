"""The training loop (optimiser, schedule, AMP, checkpoints, resume) and its data.

``resolve_config(...)`` fills the paper's recipe into a :class:`TrainConfig`;
``train(config)`` runs it with a ``robustbench_dm.methods`` method.
"""

from robustbench_dm.training.config import DATASETS, TrainConfig, resolve_config
from robustbench_dm.training.evaluate import evaluate
from robustbench_dm.training.loop import build_training, train, train_step

__all__ = ["DATASETS", "TrainConfig", "build_training", "evaluate", "resolve_config", "train",
           "train_step"]
