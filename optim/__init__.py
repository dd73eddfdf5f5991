"""Pluggable gradient-method optimizers for numpy."""

from importlib import metadata as _metadata

from optim.adaptive import LAMB, Adadelta, Adafactor, Adamax, Lion, NAdam, RAdam
from optim.bfgs import BFGS
from optim.callbacks import Callback, CallbackLike, LogProgress, StopOnZeroGradient
from optim.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from optim.convenience import maximize, minimize
from optim.errors import DISTRIBUTION as _DISTRIBUTION
from optim.errors import CheckpointError, OptimizationError
from optim.evaluation import TrialEvaluator
from optim.evaluator import Evaluator
from optim.gradient_check import GradientCheck, check_gradient
from optim.gradients import (
    SPSA,
    AnalyticGradient,
    BackwardDifference,
    CentralDifference,
    ComplexStep,
    ForwardDifference,
    GradientEstimator,
    Richardson,
)
from optim.history import History
from optim.line_search import Backtracking, StrongWolfe
from optim.line_search_rules import (
    LBFGS,
    BarzilaiBorwein,
    ConjugateGradient,
    LineSearchRule,
)
from optim.lr_finder import LearningRateFinderResult, find_learning_rate
from optim.mode import Mode
from optim.more_thuente import MoreThuente
from optim.multistart import multistart
from optim.objective import FunctionObjective, Objective
from optim.optimizer import Optimizer, Run
from optim.progress import ProgressBar
from optim.projections import Ball, Bounds, Projection, Simplex
from optim.result import Result, Status, StepInfo, Stop
from optim.schedules import Schedule
from optim.step_rules import (
    AdaGrad,
    Adam,
    AdamW,
    FixedStep,
    Momentum,
    Nesterov,
    RMSProp,
    StepRule,
)
from optim.sweep import SweepRun, format_sweep, sweep_learning_rates
from optim.textbook import gradient_descent, numerical_gradient
from optim.transforms import (
    AddDecayedWeights,
    Chain,
    ClipByNorm,
    ClipByValue,
    Groups,
    ReduceOnPlateau,
    chain,
    leaf_segments,
)

try:
    __version__ = _metadata.version(_DISTRIBUTION)
    """The installed version of the `optim-gradient` distribution."""
except _metadata.PackageNotFoundError:  # a source tree on sys.path, not installed
    __version__ = "0+unknown"

__all__ = [
    "BFGS",
    "LAMB",
    "LBFGS",
    "SPSA",
    "AdaGrad",
    "Adadelta",
    "Adafactor",
    "Adam",
    "AdamW",
    "Adamax",
    "AddDecayedWeights",
    "AnalyticGradient",
    "Backtracking",
    "BackwardDifference",
    "Ball",
    "BarzilaiBorwein",
    "Bounds",
    "Callback",
    "CallbackLike",
    "CentralDifference",
    "Chain",
    "Checkpoint",
    "CheckpointError",
    "ClipByNorm",
    "ClipByValue",
    "ComplexStep",
    "ConjugateGradient",
    "Evaluator",
    "FixedStep",
    "ForwardDifference",
    "FunctionObjective",
    "GradientCheck",
    "GradientEstimator",
    "Groups",
    "History",
    "LearningRateFinderResult",
    "LineSearchRule",
    "Lion",
    "LogProgress",
    "Mode",
    "Momentum",
    "MoreThuente",
    "NAdam",
    "Nesterov",
    "Objective",
    "OptimizationError",
    "Optimizer",
    "ProgressBar",
    "Projection",
    "RAdam",
    "RMSProp",
    "ReduceOnPlateau",
    "Result",
    "Richardson",
    "Run",
    "Schedule",
    "Simplex",
    "Status",
    "StepInfo",
    "StepRule",
    "Stop",
    "StopOnZeroGradient",
    "StrongWolfe",
    "SweepRun",
    "TrialEvaluator",
    "chain",
    "check_gradient",
    "find_learning_rate",
    "format_sweep",
    "gradient_descent",
    "leaf_segments",
    "load_checkpoint",
    "maximize",
    "minimize",
    "multistart",
    "numerical_gradient",
    "save_checkpoint",
    "sweep_learning_rates",
]
