"""Sphinx configuration of fastffnn's documentation.

Build it from the repository root (the README's command)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The API reference is generated from the docstrings (autodoc, autosummary,
numpydoc), the user guide is Markdown (MyST): the math pages in docs/ and
sections of the README included where they stand, and the gallery runs the
scripts in examples/ during the build (sphinx-gallery), with the small sizes
set in ``sphinxext/fastffnn_gallery.py``.
"""

import os
import re
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# Document (and run the examples against) this checkout, whatever else is installed.
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "sphinxext"))
# Argparse wraps the command line's help to the terminal width: fix it for the page.
os.environ["COLUMNS"] = "90"

import fastffnn  # noqa: E402

project = "fastffnn"
author = "fastffnn developers"
copyright = "fastffnn developers"
version = release = fastffnn.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    # MathJax 3 served from the built site (_static/mathjax/), not a CDN: the math
    # pages render in a local or air-gapped copy of the documentation
    "sphinx-mathjax-offline",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "fastffnn_docs",  # sphinxext/: the command line's help, generated from its parser
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
templates_path = ["_templates"]

# -- MyST (Markdown) ---------------------------------------------------------
# dollarmath: $...$ and $$...$$ in docs/math.md and docs/jacobians.md, which
# GitHub renders the same way.
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3  # GitHub's heading slugs, for the README's #links

# -- API reference -----------------------------------------------------------
# autosummary writes a page per name into generated/ and never deletes one:
# start from an empty folder, so a name dropped from api.rst (or from the code)
# leaves no stale page behind to break the next build.
shutil.rmtree(DOCS / "generated", ignore_errors=True)
autosummary_generate = True
autodoc_default_options = {"members": True}
autodoc_typehints = "none"  # numpydoc's Parameters sections say the types
autodoc_preserve_defaults = True  # signatures show defaults as written (configs=CONFIGS)
numpydoc_show_class_members = False  # the class template lists the methods
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# -- Gallery -----------------------------------------------------------------
# Every example runs during the build, with small sizes (fastffnn_gallery.reset_argv),
# except distributed_grid_search.py: it starts a Dask cluster of worker
# processes, which needs the "distributed" extra and minutes of start-up;
# tests/test_examples.py runs it instead. The scripts write their figures to
# PNG files and close them, so fastffnn_gallery.saved_png_scraper picks the files up.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": re.escape(os.sep) + r"(?!distributed_grid_search\.py)[^\\/]+\.py$",
    "ignore_pattern": r"__init__\.py",
    "reset_argv": "fastffnn_gallery.reset_argv",
    "image_scrapers": ("fastffnn_gallery.saved_png_scraper",),
    "within_subsection_order": "FileNameSortKey",
    # "Examples using ..." at the end of each API page (the templates' minigallery)
    "backreferences_dir": "_backreferences",
    "doc_module": ("fastffnn",),
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    # its timing pages load jQuery and DataTables from CDNs: the site must work offline
    "write_computation_times": False,
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
}

# -- HTML --------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"fastffnn {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path = []
html_show_sourcelink = False
