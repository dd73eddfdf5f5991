"""Pluggable gradient-method optimizers for numpy."""

from optim.callbacks import (
    Callback,
    CallbackLike,
    History,
    LogProgress,
    StopOnZeroGradient,
)
from optim.checkpoint import (
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from optim.convenience import maximize, minimize
from optim.errors import OptimizationError
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
from optim.mode import Mode
from optim.objective import FunctionObjective, Objective
from optim.optimizer import Optimizer
from optim.progress import ProgressBar
from optim.result import Result, Status, StepInfo, Stop
from optim.step_rules import FixedStep, StepRule
from optim.sweep import SweepRun, format_sweep, sweep_learning_rates
from optim.textbook import gradient_descent, numerical_gradient

__all__ = [
    "SPSA",
    "AnalyticGradient",
    "BackwardDifference",
    "Callback",
    "CallbackLike",
    "CentralDifference",
    "Checkpoint",
    "CheckpointError",
    "ComplexStep",
    "Evaluator",
    "FixedStep",
    "ForwardDifference",
    "FunctionObjective",
    "GradientCheck",
    "GradientEstimator",
    "History",
    "LogProgress",
    "Mode",
    "Objective",
    "OptimizationError",
    "Optimizer",
    "ProgressBar",
    "Result",
    "Richardson",
    "Status",
    "StepInfo",
    "StepRule",
    "Stop",
    "StopOnZeroGradient",
    "SweepRun",
    "check_gradient",
    "format_sweep",
    "gradient_descent",
    "load_checkpoint",
    "maximize",
    "minimize",
    "numerical_gradient",
    "save_checkpoint",
    "sweep_learning_rates",
]
