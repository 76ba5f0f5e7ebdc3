"""robustbench_dm: corruption-robustness evaluation and robust training.

Sub-packages: ``metrics`` (pure metric functions), ``suites`` (where images come from),
``models`` (architectures, checkpoints, normalisation), ``methods`` (training methods),
``training`` (the training loop), ``scoring`` (model x suite -> Results).
"""

__version__ = "0.1.0"
