"""mkdocs hook: render the formulas to MathML at build time, with KaTeX.

`pymdownx.arithmatex` (generic mode) wraps each formula in
`<span class="arithmatex">\\(...\\)</span>` or in
`<div class="arithmatex">\\[...\\]</div>`.
This hook replaces each by KaTeX's MathML (PyKaTeX runs KaTeX in-process, from the
`docs` extra), which browsers draw with their own fonts: the site needs no script,
no CDN and no web font to show its formulas, and works offline. A formula KaTeX
cannot parse fails the build, naming the page.
"""

import html
import re

import pykatex

_MATH = re.compile(
    r'<(?P<tag>span|div) class="arithmatex">'
    r"(?:\\\((?P<inline>.*?)\\\)|\\\[(?P<display>.*?)\\\])"
    r"</(?P=tag)>",
    re.DOTALL,
)


def render(tex, *, display):
    """Return the MathML of one formula (KaTeX's `output="mathml"`)."""
    return pykatex.renderToString(
        html.unescape(tex).strip(), displayMode=display, output="mathml"
    )


def on_page_content(content, page, **kwargs):
    """Replace every arithmatex formula of the page by its MathML."""

    def replace(match):
        display = match["display"] is not None
        tex = match["display"] if display else match["inline"]
        try:
            mathml = render(tex, display=display)
        except Exception as error:
            raise ValueError(
                f"{page.file.src_path}: cannot render formula {tex!r}: {error}"
            ) from error
        tag = "div" if display else "span"
        return f'<{tag} class="arithmatex">{mathml}</{tag}>'

    return _MATH.sub(replace, content)
