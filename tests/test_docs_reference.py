"""The API reference reads right: docstrings parse as mkdocstrings renders them.

Griffe's Google parser (what mkdocs.yml asks mkdocstrings for) reads each line of a
Returns or Yields section that is not indented under the first as a new entry, and
the page shows one table row per entry: a wrapped sentence whose second line is not
indented renders as two rows, the type repeated. These tests parse every public
docstring the way the site does, without building it.
"""

import importlib.util
import sys
from pathlib import Path

import pytest

griffe = pytest.importorskip("griffe")
yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[1]


def _docs_parser():
    """The docstring style mkdocs.yml configures for the API pages."""
    text = (ROOT / "mkdocs.yml").read_text()
    config = yaml.load(text, Loader=yaml.BaseLoader)  # no tags to resolve here
    for plugin in config["plugins"]:
        if isinstance(plugin, dict) and "mkdocstrings" in plugin:
            python = plugin["mkdocstrings"]["handlers"]["python"]["options"]
            return python["docstring_style"], python.get("docstring_options", {})
    raise AssertionError("mkdocs.yml configures no mkdocstrings handler")


def _public(obj):
    """The objects the API pages show: no underscore in any part of the path."""
    return not any(part.startswith("_") for part in obj.path.split("."))


def _walk(obj):
    for member in obj.members.values():
        if member.is_alias or not _public(member):
            continue
        yield member
        if member.is_class or member.is_module:
            yield from _walk(member)


def _functions():
    """Every public function and method of `optim` with a docstring."""
    style, options = _docs_parser()
    package = griffe.load(
        "optim",
        search_paths=[str(ROOT)],
        docstring_parser=style,
        docstring_options=options or None,
    )
    return [
        obj for obj in _walk(package) if obj.is_function and obj.docstring is not None
    ]


FUNCTIONS = _functions()


def _tuple_length(annotation):
    """`k` for an annotation `tuple[A, B, ...]` of `k` fixed elements, else None."""
    text = str(annotation or "")
    if not text.startswith("tuple[") or "..." in text:
        return None
    inner, depth, count = text[len("tuple[") : -1], 0, 1
    for char in inner:
        depth += char == "["
        depth -= char == "]"
        count += char == "," and depth == 0
    return count


def _result_sections(function):
    return [
        section
        for section in function.docstring.parsed
        if section.kind.value in ("returns", "yields")
    ]


DOCUMENTED = [f for f in FUNCTIONS if _result_sections(f)]


def test_the_walk_finds_the_reference():
    """The check is not vacuous: it sees the functions the issue named."""
    paths = {f.path for f in DOCUMENTED}

    assert len(DOCUMENTED) > 50
    assert {"optim.checkpoint.load_checkpoint", "optim.callbacks.Callback.on_end"} <= (
        paths
    )


@pytest.mark.parametrize("function", DOCUMENTED, ids=[f.path for f in DOCUMENTED])
def test_returns_is_one_entry(function):
    """A Returns/Yields section is one description: a wrapped line is indented.

    The one exception is the Google style's list of named entries for a function
    returning a fixed tuple: one `name: description` entry per element.
    """
    for section in _result_sections(function):
        entries = section.value
        named = all(entry.name for entry in entries)
        per_element = named and len(entries) == _tuple_length(function.returns)

        assert len(entries) == 1 or per_element, (
            f"{function.path} ({function.relative_filepath}:{function.lineno}): "
            f"its {section.kind.value.title()} section renders as {len(entries)} "
            "rows; indent the lines after the first under it: "
            + " | ".join(entry.description for entry in entries)
        )


def _parsed(returns_text):
    """A function's Returns section, written here and parsed as the site does."""
    style, options = _docs_parser()
    function = griffe.Function("example", returns="str | None")
    function.docstring = griffe.Docstring(
        f"Say something.\n\nReturns:\n{returns_text}",
        parent=function,
        parser=style,
        parser_options=options or None,
    )
    return _result_sections(function)[0].value


def test_a_continuation_at_the_same_indent_is_caught():
    """The check fails on the mistake it is for; the indented form is one entry."""
    same_indent = _parsed("    `None`, or a note that is\n    long.\n")
    indented = _parsed("    `None`, or a note that is\n        long.\n")

    assert len(same_indent) == 2
    assert len(indented) == 1
    assert indented[0].description == "`None`, or a note that is\nlong."


def _browser_check():
    """`.ci/browser_check.py`, whose API-table checks need no browser."""
    path = ROOT / ".ci" / "browser_check.py"
    spec = importlib.util.spec_from_file_location("browser_check", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _page(returns_rows, default, bases="Projection"):
    """An API page as mkdocstrings writes it (one function, one class), and as
    Material's script leaves it in the browser (a table wrapped in divs)."""
    rows = "".join(
        f'<tr class="doc-section-item"><td><code>RunState</code></td>'
        f"<td><p>{text}</p></td></tr>"
        for text in returns_rows
    )
    return f"""
    <div class="doc doc-object doc-function">
      <h3 id="m.load" class="doc doc-heading">load</h3>
      <div class="doc doc-contents ">
        <p>Load.</p>
        <p><span class="doc-section-title">Parameters:</span></p>
        <table><tbody>
          <tr class="doc-section-item"><td><code>path</code></td>
            <td><code>str</code></td><td><p>The file.</p></td>
            <td><em>required</em></td></tr>
        </tbody></table>
        <p><span class="doc-section-title">Returns:</span></p>
        <table><tbody>{rows}</tbody></table>
      </div>
    </div>
    <div class="doc doc-object doc-class">
      <h3 id="m.Box" class="doc doc-heading">Box</h3>
      <div class="doc doc-contents ">
        <p>Bases: <code>{bases}</code></p>
        <p><span class="doc-section-title">Parameters:</span></p>
        <div class="md-typeset__scrollwrap"><div class="md-typeset__table">
        <table><tbody>
          <tr class="doc-section-item"><td><code>lower</code></td>
            <td><code>Array</code></td><td><p>Lower.</p></td>
            <td><code>{default}</code></td></tr>
        </tbody></table>
        </div></div>
        <div class="doc doc-children">
          <p><span class="doc-section-title">Returns:</span></p>
          <table><tbody>{rows}{rows}</tbody></table>
        </div>
      </div>
    </div>
    """


def test_browser_check_reads_the_tables():
    """The browser check's parser catches split Returns, array defaults, `_Bases`."""
    check = _browser_check()
    objects = (
        check.ApiObject(("api/m/",), ("m.load",), parameters=("path",), returns=True),
        check.ApiObject(("api/m/",), ("m.Box",), defaults=(("lower", "-inf"),)),
        check.ApiObject(("api/m/", "api/n/"), ("m.Run", "n.Run"), optional=True),
    )

    def problems(page):
        return check.api_problems(lambda path: page, objects)

    right = problems(_page(["The saved state."], "-inf"))
    wrong = problems(_page(["The saved state, ready", "for resuming."], "array(-inf)"))
    private = problems(_page(["The saved state."], "-inf", bases="_Moments"))

    assert right == (
        [],
        ["/api/m/ or /api/n/: not documented (looked for m.Run, n.Run)"],
    )
    assert wrong[0] == [
        "/api/m/#m.load: Returns table has 2 rows, not 1: "
        "[['RunState', 'The saved state, ready'], ['RunState', 'for resuming.']]",
        "/api/m/#m.Box: default of 'lower' shows as 'array(-inf)', not '-inf'",
    ]
    assert private[0] == ["/api/m/#m.Box: shows a private base class (Bases: _Moments)"]
