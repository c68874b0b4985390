"""Report pages from Jinja2 templates: one environment, one style sheet, one way to embed images.

Run, comparison and sweep pages are templates in ``hybridsim/report/templates/`` (package data,
read through :mod:`importlib.resources`, so an installed wheel or a zip import finds them too):
``page.html.j2`` is the skeleton every page extends, ``macros.html.j2`` draws tables
(:class:`~hybridsim.report.tables.Table`), images and figures, and ``style.css`` is the one style
sheet, inlined into each page.

Safe by construction: the environment autoescapes every value a template prints (a scenario named
``<script>`` is text, and quotes cannot end an attribute), and undefined names are errors rather
than empty strings. Self-contained: the style sheet is inline and images are ``data:`` URIs, so a
page can be mailed or attached to a paper's supplement; links made with
:func:`hybridsim.report.files.local_href` point only to sibling files.

Markdown pages (the study's ``docs/study/index.md``) come from templates kept beside the script
that renders them: :func:`render_markdown` uses an environment without HTML autoescaping (the
output is Markdown, and its values are a study's own numbers) but with the same
``StrictUndefined`` and block rules, and with the prose formatters of
:mod:`hybridsim.report.formats` as filters.

Deterministic: a page is a pure function of its context (no timestamps, no absolute paths), so
``hybridsim report DIR`` rebuilds the very bytes ``hybridsim run`` wrote. Jinja2 is imported on
first use.
"""

from __future__ import annotations

import base64
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import jinja2

__all__ = [
    "TEMPLATES",
    "template_text",
    "environment",
    "render",
    "data_uri",
    "markdown_environment",
    "render_markdown",
]

#: The template files of the report, in ``hybridsim/report/templates/`` (package data).
TEMPLATES = (
    "page.html.j2",
    "macros.html.j2",
    "run.html.j2",
    "comparison.html.j2",
    "sweep.html.j2",
    "style.css",
)


def template_text(name: str) -> str:
    """The text of one of :data:`TEMPLATES`, read as package data."""
    if name not in TEMPLATES:
        raise KeyError(f"no report template {name!r} (templates: {', '.join(TEMPLATES)})")
    return resources.files(__package__).joinpath("templates", name).read_text(encoding="utf-8")


def data_uri(png: bytes) -> str:
    """A PNG as a ``data:`` URI, so the page carries the image itself."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


@cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of report pages (built once; Jinja2 environments are thread-safe).

    Autoescaping is on for every template; ``StrictUndefined`` makes a misspelt name an error;
    block tags on lines of their own leave no blank lines (``trim_blocks``, ``lstrip_blocks``).
    """
    import jinja2
    from markupsafe import Markup

    def load(name: str) -> tuple[str, str, Any]:
        # Package data never changes under a running process: always up to date.
        return template_text(name), f"hybridsim/report/templates/{name}", lambda: True

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(load),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["data_uri"] = data_uri
    # The style sheet is package data, not a value: inlined as it is.
    env.globals["css"] = Markup(template_text("style.css"))
    return env


def render(template: str, /, **context: Any) -> str:
    """Render the page ``template`` (one of :data:`TEMPLATES`) with ``context``."""
    return environment().get_template(template).render(**context)


def markdown_environment(directory: str | Path) -> jinja2.Environment:
    """A Jinja2 environment for Markdown templates in ``directory``.

    No autoescaping (Markdown, not HTML); ``StrictUndefined``; ``trim_blocks`` and
    ``lstrip_blocks``. Filters: ``num`` (:func:`~hybridsim.report.formats.number_text`),
    ``pct`` (``percent_text``), ``chg`` (``change_text``), ``dur`` (``duration_text``),
    ``spread`` (``spread_text``) and ``md_table`` (:func:`~hybridsim.report.tables.markdown`);
    ``num``, ``pct``, ``chg`` and ``dur`` are also globals, to pass to ``spread``
    (``{{ s | spread(dur, digits=2) }}``).
    """
    import jinja2

    from hybridsim.report import formats, tables

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory)),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    functions = dict(
        num=formats.number_text,
        pct=formats.percent_text,
        chg=formats.change_text,
        dur=formats.duration_text,
    )
    env.filters.update(functions, spread=formats.spread_text, md_table=tables.markdown)
    env.globals.update(functions)  # so a template can hand one to ``spread``: x | spread(dur)
    return env


def render_markdown(path: str | Path, /, **context: Any) -> str:
    """Render the Markdown template file ``path`` with ``context`` (:func:`markdown_environment`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "t.md.j2").write_text("{{ x | num(2) }} took {{ t | dur }}\\n")
    >>> render_markdown(d / "t.md.j2", x=0.12345, t=2e-6)
    '0.12 took 2 µs\\n'
    """
    path = Path(path)
    return markdown_environment(path.parent).get_template(path.name).render(**context)
