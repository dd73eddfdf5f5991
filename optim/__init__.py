"""Pluggable gradient-method optimizers for numpy."""

from optim.callbacks import (
    Callback,
    CallbackLike,
    History,
    LogProgress,
    StopOnZeroGradient,
)
from optim.convenience import maximize, minimize
from optim.evaluator import Evaluator
from optim.gradients import (
    AnalyticGradient,
    CentralDifference,
    ForwardDifference,
    GradientEstimator,
)
from optim.mode import Mode
from optim.objective import FunctionObjective, Objective
from optim.optimizer import Optimizer
from optim.result import Result, Status, StepInfo, Stop
from optim.step_rules import FixedStep, StepRule
from optim.textbook import gradient_descent, numerical_gradient

__all__ = [
    "AnalyticGradient",
    "Callback",
    "CallbackLike",
    "CentralDifference",
    "Evaluator",
    "FixedStep",
    "ForwardDifference",
    "FunctionObjective",
    "GradientEstimator",
    "History",
    "LogProgress",
    "Mode",
    "Objective",
    "Optimizer",
    "Result",
    "Status",
    "StepInfo",
    "StepRule",
    "Stop",
    "StopOnZeroGradient",
    "gradient_descent",
    "maximize",
    "minimize",
    "numerical_gradient",
]
