"""The documentation: the README's docs command builds it with no warnings, the
API reference documents every public name and the gallery runs the examples.

The build (Sphinx, minutes) is marked slow and needs the docs extra
(``pip install -e ".[docs]"``); without it the test is skipped with that
reason. .ci/run installs the extra and runs it. The checks without a build
(the command in the README and in .ci/run, the names listed in docs/api.rst)
run everywhere.
"""

import importlib
import inspect
import re
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

import fastffnn

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
DOCS_COMMAND = (
    'pip install -e ".[docs]" && python -m sphinx -W --keep-going -b html docs docs/_build/html'
)

#: What the docs extra installs (import names).
DOCS_EXTRA = ("sphinx", "numpydoc", "sphinx_gallery", "myst_parser", "pydata_sphinx_theme",
              "matplotlib", "sphinx-mathjax-offline")  # fmt: skip
NO_DOCS_EXTRA = 'the docs extra is not installed: pip install -e ".[docs]"'

#: Modules whose public, documented functions and classes the reference must show.
PUBLIC_MODULES = (
    "fastffnn.gradcheck",
    "fastffnn.jacobian",
    "fastffnn.threads",
    "fastffnn.onnx_export",
    "fastffnn.precompile",
    "fastffnn.tables",
    "fastffnn.bench",
)
#: Modules documented whole by automodule (docs/api_bench.rst), not listed in docs/api.rst.
DOCUMENTED_WHOLE = ("fastffnn.bench",)
#: Public names in modules that are otherwise internal.
ALSO_PUBLIC = ("fastffnn.estimator.FastffnnVersionWarning", "fastffnn.__main__.main")
#: Examples the gallery shows without running them (see docs/conf.py).
NOT_RUN = {"distributed_grid_search.py"}
#: Examples whose page must show a figure.
WITH_FIGURE = {"learning_curves.py", "benchmark_chart.py", "tabular_study.py"}


def public_names():
    """Full names: fastffnn.__all__ and the documented functions and classes
    defined in PUBLIC_MODULES (numba-compiled functions included)."""
    names = {f"fastffnn.{name}" for name in fastffnn.__all__}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            function = getattr(value, "py_func", value)  # a numba dispatcher's function
            if name.startswith("_") or not (
                inspect.isfunction(function) or inspect.isclass(function)
            ):
                continue
            if function.__module__ != module_name or not function.__doc__:
                continue
            if getattr(fastffnn, name, None) is value:  # documented as fastffnn.<name>
                continue
            names.add(f"{module_name}.{name}")
    return names | set(ALSO_PUBLIC)


def commands():
    from fastffnn.__main__ import build_parser

    parser = build_parser()
    (subparsers,) = [a for a in parser._actions if hasattr(a, "choices") and a.choices]
    return sorted(subparsers.choices)


def examples():
    return sorted(path.name for path in (ROOT / "examples").glob("*.py"))


# ------------------------------------------------------------------ no build


def test_readme_docs_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    assert f"```bash\n{DOCS_COMMAND}\n```" in readme
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert DOCS_COMMAND in ci
    # the slow tests (this file's build) run after the docs extra is installed
    (slow,) = [i for i, line in enumerate(ci) if line.endswith("python -m pytest -m slow")]
    assert ci.index(DOCS_COMMAND) < slow


def test_api_page_lists_every_public_name():
    entries = set()
    for line in (DOCS / "api.rst").read_text().splitlines():
        match = re.fullmatch(r"\s*(?:\.\. data:: )?~?([\w.]+)", line)
        if match:
            entries.add("fastffnn." + match.group(1).removeprefix("fastffnn."))
    listed = {name for name in public_names() if name.rpartition(".")[0] not in DOCUMENTED_WHOLE}
    missing = sorted(listed - entries)
    assert not missing, f"add to docs/api.rst: {missing}"


def test_gallery_arguments_cover_every_example():
    sys.path.insert(0, str(DOCS / "sphinxext"))
    try:
        gallery = importlib.import_module("fastffnn_gallery")
    finally:
        sys.path.remove(str(DOCS / "sphinxext"))
    assert set(gallery.ARGUMENTS) == set(examples()) - NOT_RUN
    for name in WITH_FIGURE:
        assert "{out}" in gallery.ARGUMENTS[name]


# ------------------------------------------------------------------- build


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Build the docs as the README's command does, into a temporary folder,
    with every gallery example run again (not skipped as unchanged)."""
    for module in DOCS_EXTRA:
        pytest.importorskip(module, reason=NO_DOCS_EXTRA)
    out = tmp_path_factory.mktemp("docs")
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html",
               "-d", str(out / "doctrees"), "-D", "sphinx_gallery_conf.run_stale_examples=1",
               "docs", str(out / "html")]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    return result, out / "html"


def inventory(html):
    """Names of the documented Python objects (Sphinx's objects.inv)."""
    raw = (html / "objects.inv").read_bytes()
    header_end = 0
    for _ in range(4):  # four header lines, then the zlib-compressed entries
        header_end = raw.index(b"\n", header_end) + 1
    names = set()
    for line in zlib.decompress(raw[header_end:]).decode().splitlines():
        name, role = line.split(" ", 2)[:2]
        if role.startswith("py:"):
            names.add(name)
    return names


@pytest.mark.slow
def test_docs_build_without_warnings(built):
    result, html = built
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert "WARNING" not in result.stderr, result.stderr[-5000:]
    assert "build succeeded" in result.stdout
    assert (html / "index.html").exists()


@pytest.mark.slow
def test_every_public_name_in_the_reference(built):
    result, html = built
    assert result.returncode == 0
    missing = sorted(public_names() - inventory(html))
    assert not missing, f"not in the API reference: {missing}"
    estimator_page = (html / "generated" / "fastffnn.FFNNClassifier.html").read_text()
    for method in ("fit", "partial_fit", "predict", "predict_proba", "score", "jacobian"):
        assert f'id="fastffnn.FFNNClassifier.{method}"' in estimator_page


@pytest.mark.slow
def test_command_line_page_shows_every_command(built):
    result, html = built
    assert result.returncode == 0
    page = (html / "cli.html").read_text()
    assert "usage: fastffnn [-h]" in page
    for command in commands():
        assert f"usage: fastffnn {command} " in page, command


@pytest.mark.slow
def test_gallery_examples_ran_during_the_build(built):
    result, html = built
    assert result.returncode == 0
    ran = examples()
    ran = [name for name in ran if name not in NOT_RUN]
    assert f"Sphinx-Gallery successfully executed {len(ran)} out of {len(ran)} files" in (
        result.stdout
    )
    for name in ran:
        page = (html / "auto_examples" / name.replace(".py", ".html")).read_text()
        assert "sphx-glr-script-out" in page, f"{name}: no output on its page"
        if name in WITH_FIGURE:
            image = f"sphx_glr_{name[:-3]}_001.png"
            assert image in page, f"{name}: no figure on its page"
            assert (html / "_images" / image).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_math_renders(built):
    result, html = built
    assert result.returncode == 0
    page = (html / "math.html").read_text()
    assert page.count('class="math') > 50  # MathJax's input, not code spans
    for label in ("F1", "B2", "C4", "T1", "T2", "D1", "S1"):
        assert f"\\tag{{{label}}}" in page, label


@pytest.mark.slow
def test_math_renderer_is_served_by_the_site_itself(built):
    """MathJax is loaded from the built site, not from a CDN, so the math pages
    render without network access (a local or air-gapped copy)."""
    result, html = built
    assert result.returncode == 0
    page = (html / "math.html").read_text()
    scripts = re.findall(r'<script[^>]*src="([^"]*mathjax[^"]*)"', page, flags=re.I)
    assert scripts and all(not src.startswith(("http:", "https:", "//")) for src in scripts)
    for src in scripts:
        served = (html / src.split("?")[0]).resolve()
        assert served.is_file() and served.stat().st_size > 100_000, src


@pytest.mark.slow
def test_no_page_loads_a_script_or_stylesheet_from_the_network(built):
    """Every page works offline: scripts, stylesheets, fonts and images come
    from the built site (links to other sites are only links)."""
    result, html = built
    assert result.returncode == 0
    loads = re.compile(r'<(?:script|img|link|iframe|source)\b[^>]*?\b(?:src|href)="([^"]*)"', re.I)
    tags = re.compile(r"<(?:script|img|iframe|source)\b[^>]*>|<link\b[^>]*>", re.I)
    remote = []
    for page in html.rglob("*.html"):
        for tag in tags.finditer(page.read_text()):
            text = tag.group(0)
            if text.lower().startswith("<link") and not re.search(
                r'rel="[^"]*(stylesheet|preload|icon|modulepreload)', text, re.I
            ):
                continue  # rel="canonical", "next", ...: not loaded
            match = loads.search(text)
            if match and match.group(1).startswith(("http:", "https:", "//")):
                remote.append((page.name, match.group(1)))
    for sheet in html.rglob("*.css"):
        for url in re.findall(r"url\(\s*['\"]?((?:https?:)?//[^)'\"]+)", sheet.read_text()):
            remote.append((sheet.name, url))
    assert not remote, remote[:10]


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
@pytest.mark.skipif(_chromium() is None, reason="needs Chromium (Debian's chromium; .ci/run "
                    "installs it)")  # fmt: skip
def test_math_page_renders_in_a_headless_browser_without_network(built, tmp_path):
    """Chromium opens the built math page from disk, with no network; once
    MathJax has run, no equation is left as raw TeX."""
    result, html = built
    assert result.returncode == 0
    command = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
               "--proxy-server=127.0.0.1:9", "--virtual-time-budget=20000", "--dump-dom",
               (html / "math.html").as_uri()]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    dom = out.stdout
    assert dom.count("<mjx-container") > 50, dom[:2000]
    text = re.sub(r"<(script|style)\b.*?</\1>", "", dom, flags=re.S | re.I)
    text = re.sub(r"<[^>]+>", "", text)
    assert "\\[" not in text and "\\(" not in text and "\\tag{" not in text
