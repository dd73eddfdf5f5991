"""The built site: constructor signatures, offline math and fonts, no build helpers.

Builds the documentation once (needs the `docs` extra; skipped without it).
"""

import html
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("pykatex")

ROOT = Path(__file__).resolve().parents[1]
EXTERNAL = re.compile(r"cdn|googleapis|jsdelivr|unpkg|cdnjs|fonts\.g|gstatic", re.I)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", folder],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    assert build.stderr == "", build.stderr  # no banner, no warning
    return folder


def text_of(page):
    """The page's visible text, one space between words (formulas' TeX dropped)."""
    content = re.sub(r"<annotation[^>]*>.*?</annotation>", "", page, flags=re.S)
    content = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", content, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", content)))


@pytest.mark.parametrize(
    ("page", "signature"),
    [
        (
            "api/optimizer/index.html",
            "Optimizer(objective: Objective, *, step_rule: StepRule[Any],",
        ),
        (
            "api/step_rules/index.html",
            "FixedStep(learning_rate: LearningRate, *, weight_decay: float = 0.0)",
        ),
        (
            "api/step_rules/index.html",
            "Momentum(learning_rate: LearningRate, *, beta: float = 0.9, "
            "weight_decay: float = 0.0, dampening: float = 0.0,)",
        ),
        ("api/gradients/index.html", "CentralDifference("),
        ("api/result/index.html", "Result(*, x: Array, value: float,"),
    ],
)
def test_api_pages_show_constructor_signatures(site, page, signature):
    """Each attrs class shows its constructor, keyword-only marker included."""
    text = text_of((site / page).read_text())

    assert signature.replace(" ", "") in text.replace(" ", "")


def test_array_alias_and_enum_members(site):
    """Arrays are spelled `Array`; enum members are labelled as such."""
    result = (site / "api/result/index.html").read_text()

    assert "ndarray[" not in text_of(result)
    assert "dtype[float64]" not in text_of(result)
    status = result[result.index('id="optim.result.Status.CONVERGED"') :][:2000]
    assert "enum-member" in status
    assert "instance-attribute" not in status


def test_api_pages_have_a_summary_table(site):
    """Every API page starts its modules with a table of what they hold."""
    for page in sorted((site / "api").glob("*/index.html")):
        assert 'class="doc-section-title">Classes' in page.read_text() or (
            "Functions" in page.read_text()
        ), page


def test_formulas_are_mathml_built_offline(site):
    """No raw TeX is left in the pages: formulas are MathML, rendered at build."""
    tutorial = (site / "tutorial/index.html").read_text()

    assert "<math" in tutorial
    for page in site.rglob("*.html"):
        text = text_of(page.read_text())
        assert "\\(" not in text, page
        assert "\\[" not in text, page


def test_no_cdn_and_no_font_service(site):
    """The HTML and CSS name no CDN and no font service: the site works offline."""
    for page in [*site.rglob("*.html"), *site.rglob("*.css")]:
        found = EXTERNAL.search(page.read_text())
        assert found is None, f"{page}: {found and found.group(0)}"


def test_build_helpers_are_not_published(site):
    """The hooks and scripts that build the site are not copied into it."""
    assert not list(site.rglob("*.py"))


def _browser_check():
    """`.ci/browser_check.py`, whose API-table checks need no browser."""
    path = ROOT / ".ci" / "browser_check.py"
    spec = importlib.util.spec_from_file_location("browser_check", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_api_tables_read_right(site):
    """Optimizer, Adam, Bounds, Run, load_checkpoint: the browser check's tables.

    Every field in the Parameters table (Adam's inherited ones too) with its
    default as the signature spells it (`-inf`, not `array(-inf)`), no private
    base shown, and one row per Returns section.
    """
    check = _browser_check()

    def read(page):
        index = site / page / "index.html"
        return index.read_text() if index.is_file() else None

    problems, notes = check.api_problems(read)

    assert problems == []
    assert notes == []  # Run is documented (on the Optimizer's page)
    assert {obj.ids[0] for obj in check.API_OBJECTS} >= {
        "optim.optimizer.Optimizer",
        "optim.step_rules.Adam",
        "optim.projections.Bounds",
        "optim.optimizer.Run",
        "optim.checkpoint.load_checkpoint",
    }


def test_no_private_base_class_is_shown(site):
    """`Bases:` names public classes only (`_AdamMoments` is an implementation)."""
    for page in sorted((site / "api").glob("*/index.html")):
        bases = re.findall(r"Bases: [^<]*(?:<[^>]+>[^<]*){0,12}", page.read_text())
        for line in bases:
            assert re.search(r"Bases:\s*_|,\s*_", text_of(line)) is None, (page, line)


def test_generated_tables_are_included_not_published(site):
    """The estimator tables appear in their page, not as a page of their own."""
    assert not (site / "generated").exists()
    assert "Richardson" in text_of((site / "estimators/index.html").read_text())
