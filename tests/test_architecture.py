"""The package's seams: import graph, function size, who may import what."""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "optim"
MODULES = {path.stem: path for path in sorted(PACKAGE.glob("*.py"))}


def _module_name(stem):
    return "optim" if stem == "__init__" else f"optim.{stem}"


def _imports(path):
    """Every optim module `path` imports: top-level, lazy and type-only alike."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("optim"))
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "optim":
                for alias in node.names:
                    submodule = f"optim.{alias.name}"
                    found.add(submodule if alias.name in MODULES else "optim")
            elif node.module.startswith("optim."):
                found.add(node.module)
    return found


GRAPH = {_module_name(stem): _imports(path) for stem, path in MODULES.items()}


def _cycle():
    """A cycle in the import graph, as a list of modules, or None."""
    state = {}
    stack = []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(GRAPH.get(node, ())):
            if state.get(target) == "open":
                return [*stack[stack.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(GRAPH):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycles():
    """No module imports itself back, counting lazy and TYPE_CHECKING imports."""
    assert _cycle() is None, " -> ".join(_cycle())


def _functions():
    for stem, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                yield f"optim/{stem}.py:{node.lineno} {node.name}", node


def _code_lines(function):
    """Lines from the first statement after the docstring to the last one."""
    body = function.body
    first = body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
        and len(body) > 1
    ):
        body = body[1:]
    return body[-1].end_lineno - body[0].lineno + 1


def test_no_function_longer_than_80_lines():
    """Every function's code (its docstring aside) fits in 80 lines."""
    long = {name: _code_lines(f) for name, f in _functions() if _code_lines(f) > 80}

    assert not long, long


DRIVERS = [
    "optimizer.py Optimizer.run",
    "optimizer.py Optimizer.iterate",
    "optimizer.py Optimizer.start",
    "optimizer.py Optimizer.resume_from",
    "optimizer.py Optimizer.resume",
    "optimizer.py Run.step",
    "engine.py run_to_end",
    "engine.py steps",
]


def _methods():
    for stem, path in MODULES.items():
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef):
                        yield f"{stem}.py {node.name}.{item.name}", item
            elif isinstance(node, ast.FunctionDef):
                yield f"{stem}.py {node.name}", node


@pytest.mark.parametrize("driver", DRIVERS)
def test_the_drivers_are_thin(driver):
    """Every driver fits in 15 lines of code: the phases live in the engine."""
    (function,) = [f for name, f in _methods() if name == driver]

    assert _code_lines(function) <= 15


def test_the_optimizer_module_holds_configuration_and_entry_points():
    """optimizer.py defines no phase of a run: only Optimizer, Run and converters."""
    tree = ast.parse(MODULES["optimizer"].read_text())
    classes = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}

    assert classes == {"Optimizer", "Run"}
    assert functions <= {"_to_objective", "_to_callbacks", "_instance_of"}
    assert "optim.engine" in GRAPH["optim.optimizer"]


def test_records_sit_below_the_engine():
    """result.py and run.py import no plug-in family or engine module at run time."""
    for module in ("result", "run"):
        runtime = set()
        for node in ast.parse(MODULES[module].read_text()).body:
            if isinstance(node, ast.ImportFrom) and node.module:
                runtime.add(node.module)
        assert not runtime & {
            "optim.run",
            "optim.gradients",
            "optim.objective",
            "optim.step_rules",
            "optim.engine",
            "optim.evaluator",
        }, module


@pytest.mark.parametrize("module", ["step_rules", "line_search"])
def test_plug_ins_see_only_the_evaluation_protocol(module):
    """Step rules and line searches import the protocol, not the estimation stack."""
    imported = GRAPH[f"optim.{module}"]

    assert "optim.evaluation" in imported
    assert not imported & {"optim.evaluator", "optim.gradients", "optim.objective"}


def test_the_cycle_finder_finds_cycles():
    """The cycle test could fail: a graph with a cycle is reported."""
    saved = dict(GRAPH)
    try:
        GRAPH["optim.mode"] = {"optim.result"}
        GRAPH["optim.result"] = GRAPH["optim.result"] | {"optim.mode"}
        assert _cycle() is not None
    finally:
        GRAPH.clear()
        GRAPH.update(saved)
