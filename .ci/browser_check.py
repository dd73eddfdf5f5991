"""Check the built documentation in a real headless browser (Chromium).

Serves SITE on a local port, loads every page in Debian's Chromium through
chromedriver (Selenium from the package index), and fails if a page logs a console
error, has an image that did not load, shows raw TeX, or fetches anything from
another host. Saves screenshots of the home page, the tutorial and the Optimizer's
API page into OUT (default: ci-artifacts/screenshots).

    python .ci/browser_check.py SITE [OUT]

Needs `apt-get install chromium chromium-driver` and `pip install selenium` (in
the `dev` extra); `.ci/run` installs both.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import sys
import tempfile
import threading
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

SCREENSHOTS = {
    "home.png": "",
    "tutorial.png": "tutorial/",
    "api-optimizer.png": "api/optimizer/",
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
                browser.get(base + page)
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
            for name, page in SCREENSHOTS.items():
                browser.get(base + page)
                browser.save_screenshot(str(out / name))
            print(f"checked {len(pages)} pages ({formulas} formulas) in Chromium")
        finally:
            browser.quit()
            server.shutdown()
    return problems


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
