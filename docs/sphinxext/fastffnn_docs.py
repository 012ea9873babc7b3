"""Sphinx extension for fastffnn's documentation.

The command line's ``--help``, generated from its parser: in a page,
``{fastffnn-help}`` (MyST) or ``.. fastffnn-help::`` (reST) gives the help of
``python -m fastffnn``; with a command name as argument, that command's
(``fastffnn-help train``). The text is what ``--help`` prints, from
``fastffnn.__main__.build_parser``, so the page cannot drift from the
code (tests/test_docs.py checks that the page shows every command).

The registry's tables (``fastffnn-registry``): every activation, cost and
solver with its code and properties, from ``fastffnn.registry``.

The docstrings the estimators inherit from scikit-learn (``set_fit_request``
and the like) cross-reference scikit-learn's own user guide and glossary,
which this documentation does not have: :func:`sklearn_links` turns those
references into links to scikit-learn's pages.
"""

import argparse
import re

from docutils import nodes
from docutils.parsers.rst import Directive


def _commands(parser):
    """The parser's sub-commands, name -> parser."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


class FastffnnHelp(Directive):
    optional_arguments = 1

    def run(self):
        from fastffnn.__main__ import build_parser

        parser = build_parser()
        if self.arguments:
            name = self.arguments[0]
            commands = _commands(parser)
            if name not in commands:
                raise self.error(f"fastffnn has no command {name!r} (it has {sorted(commands)})")
            parser = commands[name]
        text = parser.format_help()
        block = nodes.literal_block(text, text, language="text")
        return [block]


SKLEARN = "https://scikit-learn.org/stable/"
#: Labels of scikit-learn's documentation used in its docstrings -> page.
SKLEARN_LABELS = {
    "metadata_routing": "metadata_routing.html",
    "accuracy_score": "modules/model_evaluation.html#accuracy-score",
    "r2_score": "modules/model_evaluation.html#r2-score",
}
_TERM = re.compile(r":term:`(?:([^`<]*?)\s*<)?([^`<>]+)>?`")
_REF = re.compile(r":ref:`(?:([^`<]*?)\s*<)?([^`<>]+)>?`")


def sklearn_links(app, what, name, obj, options, lines):
    """autodoc-process-docstring: scikit-learn's ``:term:`` and ``:ref:`` as links."""
    module = getattr(obj, "__module__", None) or ""
    if not module.startswith("sklearn"):
        return

    def term(match):
        text, term = match.group(1) or match.group(2), match.group(2)
        anchor = "term-" + re.sub(r"[^a-z0-9]+", "-", term.lower()).strip("-")
        return f"`{text} <{SKLEARN}glossary.html#{anchor}>`__"

    def ref(match):
        text, label = match.group(1) or match.group(2), match.group(2)
        if label not in SKLEARN_LABELS:
            return match.group(0)  # left as is: the build warns, add the label above
        return f"`{text} <{SKLEARN}{SKLEARN_LABELS[label]}>`__"

    lines[:] = [_REF.sub(ref, _TERM.sub(term, line)) for line in lines]


def _table(header, rows):
    """A docutils table of strings."""
    table = nodes.table()
    group = nodes.tgroup(cols=len(header))
    table += group
    group.extend(nodes.colspec(colwidth=1) for _ in header)

    def row(cells):
        line = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += nodes.paragraph(text=str(cell))
            line += entry
        return line

    head, body = nodes.thead(), nodes.tbody()
    head += row(header)
    body.extend(row(cells) for cells in rows)
    group += head
    group += body
    return table


class FastffnnRegistry(Directive):
    """The registry of activations, costs and solvers (``fastffnn.registry``),
    as tables: the page is generated from the same entries the code reads."""

    def run(self):
        from fastffnn import registry

        activations = _table(
            ["activation", "code", "MATH.md", "B1 reads", "initialization", "hidden", "ONNX"],
            [[a.name, a.code, a.equation, a.reads, a.init, "yes" if a.hidden else "no",
              a.onnx or "(none)"] for a in registry.ACTIVATIONS.values()],
        )  # fmt: skip
        costs = _table(
            ["cost", "code", "MATH.md", "output activation", "parameter", "task"],
            [[c.name, c.code, c.equation, c.output, c.parameter or "", c.task]
             for c in registry.COSTS.values()],
        )  # fmt: skip
        solvers = _table(
            ["solver", "code", "mini-batches"],
            [[s.name, "" if s.code is None else s.code, "yes" if s.stochastic else "no"]
             for s in registry.SOLVERS.values()],
        )  # fmt: skip
        return [activations, costs, solvers]


def setup(app):
    app.add_directive("fastffnn-help", FastffnnHelp)
    app.add_directive("fastffnn-registry", FastffnnRegistry)
    app.connect("autodoc-process-docstring", sklearn_links)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
