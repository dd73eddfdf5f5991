"""Check the built documentation in a real headless browser (Chromium).

Serves SITE on a local port, loads every page in Debian's Chromium through
chromedriver (Selenium from the package index), and fails if a page logs a console
error, has an image that did not load, shows raw TeX, or fetches anything from
another host. It then opens the API reference of `Optimizer`, `Adam`, `Bounds`,
`Run` and `load_checkpoint` (see `API_OBJECTS`) and checks their Parameters and
Returns tables: every field or argument listed with its default, no private base
class shown, one row per Returns section. Saves screenshots of the home page, the
tutorial and the Optimizer's API page into OUT (default: ci-artifacts/screenshots).

    python .ci/browser_check.py SITE [OUT]

Needs `apt-get install chromium chromium-driver` and `pip install selenium` (in
the `dev` extra); `.ci/run` installs both. The table checks read the page's HTML
with the standard library only (`api_problems`), so the tests run them on a
built site without a browser too.
"""

from __future__ import annotations

import dataclasses
import functools
import html.parser
import http.server
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from selenium import webdriver

SCREENSHOTS = {
    "home.png": "",
    "tutorial.png": "tutorial/",
    "api-optimizer.png": "api/optimizer/",
    "api-adam.png": "api/step_rules/#optim.step_rules.Adam",
}
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1400",
)

# Visible text outside code blocks, formulas' TeX source (MathML <annotation>)
# left out; raw TeX in it means a formula was not rendered.
_PAGE_REPORT = """
const clone = document.body.cloneNode(true);
clone.querySelectorAll("pre, code, annotation, script, style").forEach(e => e.remove());
const text = clone.textContent;
const tex = text.match(/\\\\[(\\[]|\\$\\$|\\\\(frac|nabla|sum|mathbb)\\b/);
const images = [...document.images].filter(i => !(i.complete && i.naturalWidth > 0));
const maths = [...document.querySelectorAll("math")];
const flat = maths.filter(m => m.getBoundingClientRect().width === 0
    && m.closest("details:not([open])") === null && m.offsetParent !== null);
const origin = location.origin;
const external = performance.getEntriesByType("resource")
    .map(r => r.name).filter(n => !n.startsWith(origin) && !n.startsWith("data:"));
return {
  tex: tex ? text.slice(Math.max(0, tex.index - 40), tex.index + 40) : null,
  broken_images: images.map(i => i.src),
  formulas: maths.length,
  unrendered_formulas: flat.length,
  external: external,
};
"""


@dataclasses.dataclass(frozen=True)
class ApiObject:
    """What the API reference must show of one object."""

    pages: tuple[str, ...]
    """Its page, relative to the site's root (`api/step_rules/`): the first of
    these that documents it (an object may move)."""
    ids: tuple[str, ...]
    """Its anchor: the first of these found (an object may move)."""
    parameters: tuple[str, ...] = ()
    """Names its Parameters table lists, in this order (others may come between)."""
    defaults: tuple[tuple[str, str], ...] = ()
    """(name, default) pairs, as the Default column shows them."""
    returns: bool = False
    """Whether it has a Returns table, which must have exactly one row."""
    methods: tuple[str, ...] = ()
    """Its methods whose Returns table must have exactly one row."""
    optional: bool = False
    """Skipped, with a note, while no page documents it yet."""


API_OBJECTS = (
    ApiObject(
        ("api/optimizer/",),
        ("optim.optimizer.Optimizer",),
        parameters=("objective", "step_rule", "estimator", "mode", "callbacks"),
        defaults=(("mode", "Mode.DESCENT"),),
        methods=("run",),
    ),
    ApiObject(
        ("api/step_rules/",),
        ("optim.step_rules.Adam",),
        parameters=("learning_rate", "beta1", "beta2", "eps", "amsgrad"),
        defaults=(("beta1", "0.9"), ("beta2", "0.999"), ("eps", "1e-08")),
    ),
    ApiObject(
        ("api/projections/",),
        ("optim.projections.Bounds",),
        parameters=("lower", "upper"),
        defaults=(("lower", "-inf"), ("upper", "inf")),
    ),
    ApiObject(
        ("api/optimizer/", "api/engine/", "api/run/"),
        ("optim.optimizer.Run", "optim.engine.Run", "optim.run.Run"),
        methods=("step", "result"),
        optional=True,
    ),
    ApiObject(
        ("api/checkpoint/",),
        ("optim.checkpoint.load_checkpoint",),
        parameters=("path", "optimizer", "max_bytes"),
        returns=True,
    ),
)
"""The API objects whose tables are checked, on the page that documents them."""


class _Node:
    """An element of a parsed page: tag, attributes, children (text as str)."""

    def __init__(self, tag: str, attrs: dict[str, str], parent: _Node | None):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[_Node | str] = []

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def elements(self) -> list[_Node]:
        return [child for child in self.children if isinstance(child, _Node)]

    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text() for c in self.children]
        return " ".join(" ".join(parts).split())

    def find(self, match: Callable[[_Node], bool]) -> _Node | None:
        for child in self.elements():
            if match(child):
                return child
            found = child.find(match)
            if found is not None:
                return found
        return None

    def find_all(self, match: Callable[[_Node], bool]) -> list[_Node]:
        found = []
        for child in self.elements():
            if match(child):
                found.append(child)
            found += child.find_all(match)
        return found


_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link"}
_VOID |= {"meta", "source", "track", "wbr"}


class _Tree(html.parser.HTMLParser):
    """A page as a tree of `_Node`s (the standard library's parser)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = self.current = _Node("document", {}, None)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = _Node(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in _VOID:
            self.current = node

    def handle_endtag(self, tag: str) -> None:
        node: _Node | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def _sections(heading: _Node) -> tuple[dict[str, list[list[str]]], str]:
    """The tables of the object whose heading this is, by title; its Bases line.

    Only the object's own sections: its members' (in its `doc-children`) are
    left out.
    """
    obj = heading.parent
    contents = None
    if obj is not None:
        for child in obj.elements():
            if "doc-contents" in child.classes():
                contents = child
                break
    tables: dict[str, list[list[str]]] = {}
    bases = ""
    if contents is None:
        return tables, bases
    title = None
    for child in contents.elements():
        titled = child.find(lambda n: "doc-section-title" in n.classes())
        if child.tag == "p" and titled is not None:
            title = titled.text().rstrip(":")
        elif child.tag == "p" and child.text().startswith("Bases:"):
            bases = child.text()
        elif (table := _table(child)) is not None and title is not None:
            rows = table.find_all(lambda n: "doc-section-item" in n.classes())
            tables[title] = [
                [cell.text() for cell in row.elements() if cell.tag == "td"]
                for row in rows
            ]
            title = None
    return tables, bases


def _table(node: _Node) -> _Node | None:
    """The table `node` is, or wraps (Material wraps tables in scrolling divs)."""
    if node.tag == "table":
        return node
    if node.classes() & {"md-typeset__scrollwrap", "md-typeset__table"}:
        return node.find(lambda n: n.tag == "table")
    return None


def api_problems(
    read: Callable[[str], str | None], objects: tuple[ApiObject, ...] = API_OBJECTS
) -> tuple[list[str], list[str]]:
    """Check the API tables of `objects`; return the problems and the notes.

    Args:
        read: Returns the HTML of a page (a path relative to the site's root,
            such as `api/step_rules/`), or `None` if there is no such page.
        objects: What to check.

    Returns:
        The problems found, and notes on the optional objects skipped.
    """
    problems: list[str] = []
    notes: list[str] = []
    trees: dict[str, _Node | None] = {}

    def tree_of(page: str) -> _Node | None:
        if page not in trees:
            html_text = read(page)
            trees[page] = None
            if html_text is not None:
                tree = _Tree()
                tree.feed(html_text)
                trees[page] = tree.root
        return trees[page]

    for expected in objects:
        found = None
        for page in expected.pages:
            for anchor in expected.ids:
                heading = _by_id(tree_of(page), anchor)
                if heading is not None and found is None:
                    found = page, heading
        if found is None:
            message = (
                f"{' or '.join('/' + p for p in expected.pages)}: "
                f"not documented (looked for {', '.join(expected.ids)})"
            )
            (notes if expected.optional else problems).append(message)
            continue
        page, heading = found
        where = f"/{page}#{heading.attrs['id']}"
        problems += _object_problems(tree_of(page), heading, expected, where)
    return problems, notes


def _by_id(root: _Node | None, anchor: str) -> _Node | None:
    if root is None:
        return None
    return root.find(lambda node: node.attrs.get("id") == anchor)


def _object_problems(
    root: _Node | None, heading: _Node, expected: ApiObject, where: str
) -> list[str]:
    problems = []
    tables, bases = _sections(heading)
    if "Bases: _" in bases or ", _" in bases:
        problems.append(f"{where}: shows a private base class ({bases})")
    parameters = tables.get("Parameters", [])
    names = [row[0] for row in parameters if row]
    position = 0
    for name in expected.parameters:
        if name not in names[position:]:
            problems.append(
                f"{where}: Parameters table lacks {name!r} (after its earlier "
                f"ones); it lists {names}"
            )
            continue
        position = names.index(name, position) + 1
    for name, default in expected.defaults:
        row = next((row for row in parameters if row and row[0] == name), None)
        if row is not None and row[-1] != default:
            problems.append(
                f"{where}: default of {name!r} shows as {row[-1]!r}, not {default!r}"
            )
    if expected.returns:
        problems += _one_return(tables, where)
    for method in expected.methods:
        anchor = f"{heading.attrs['id']}.{method}"
        member = _by_id(root, anchor)
        if member is None:
            problems.append(f"{where}: has no method {method!r}")
        else:
            problems += _one_return(_sections(member)[0], f"{where}.{method}")
    return problems


def _one_return(tables: dict[str, list[list[str]]], where: str) -> list[str]:
    rows = tables.get("Returns")
    if rows is None:
        return [f"{where}: has no Returns table"]
    if len(rows) != 1:
        return [f"{where}: Returns table has {len(rows)} rows, not 1: {rows}"]
    return []


def _pages(site: Path) -> list[str]:
    """Every page of the site, as paths relative to its root (`""` for home)."""
    pages = []
    for index in sorted(site.rglob("index.html")):
        relative = index.parent.relative_to(site).as_posix()
        pages.append("" if relative == "." else f"{relative}/")
    return pages


def _serve(site: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _browser(profile: str) -> webdriver.Chrome:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    return webdriver.Chrome(options=options, service=Service(executable_path=driver))


def check(site: Path, out: Path) -> list[str]:
    """Load every page; return the problems found, and save the screenshots."""
    problems: list[str] = []
    out.mkdir(parents=True, exist_ok=True)
    server, base = _serve(site)
    with tempfile.TemporaryDirectory() as profile:
        browser = _browser(profile)
        try:
            pages = _pages(site)
            formulas = 0
            for page in pages:
                _open(browser, base + page)
                report = browser.execute_script(_PAGE_REPORT)
                errors = [
                    entry["message"]
                    for entry in browser.get_log("browser")
                    if entry["level"] == "SEVERE"
                ]
                formulas += report["formulas"]
                for error in errors:
                    problems.append(f"/{page}: console error: {error}")
                for image in report["broken_images"]:
                    problems.append(f"/{page}: image did not load: {image}")
                if report["tex"]:
                    problems.append(f"/{page}: raw TeX: ...{report['tex']}...")
                if report["unrendered_formulas"]:
                    n = report["unrendered_formulas"]
                    problems.append(f"/{page}: {n} formulas not laid out")
                for url in report["external"]:
                    problems.append(f"/{page}: fetched from another host: {url}")
            if formulas == 0:
                problems.append("no formula found on any page")
            api, notes = api_problems(functools.partial(_load, browser, base, site))
            problems += api
            for note in notes:
                print(f"skipped: {note}")
            for name, page in SCREENSHOTS.items():
                _open(browser, base + page)
                browser.save_screenshot(str(out / name))
            print(f"checked {len(pages)} pages ({formulas} formulas) in Chromium")
        finally:
            browser.quit()
            server.shutdown()
    return problems


def _load(browser: webdriver.Chrome, base: str, site: Path, page: str) -> str | None:
    """The HTML of `page` as the browser has it, or None if the site has no page."""
    if not (site / page / "index.html").is_file():
        return None
    _open(browser, base + page)
    source: str = browser.page_source
    return source


_LOADED = """
return document.readyState === "complete"
    && document.querySelector("footer.md-footer") !== null;
"""


def _open(browser: webdriver.Chrome, url: str, timeout: float = 20.0) -> None:
    """Load `url` and wait until the whole page is parsed (its footer is there).

    `get` can return while a long page is still being parsed; a check that
    reads the page then sees part of it.
    """
    browser.get(url)
    deadline = time.monotonic() + timeout
    while not browser.execute_script(_LOADED):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not finish loading in {timeout:g} s")
        time.sleep(0.05)


def main(argv: list[str]) -> int:
    """Check SITE, save the screenshots in OUT; 1 if a page has a problem."""
    if not argv or len(argv) > 2:
        print(__doc__, file=sys.stderr)
        return 2
    site = Path(argv[0])
    out = Path(argv[1] if len(argv) > 1 else "ci-artifacts/screenshots")
    problems = check(site, out)
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"screenshots in {out}/: {', '.join(SCREENSHOTS)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
