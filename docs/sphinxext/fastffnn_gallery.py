"""How the gallery runs examples/: small sizes, and the PNG files they write.

The scripts take their sizes from the command line (their defaults are the
real sizes, minutes for some); the gallery runs each with the arguments
below, so the whole gallery builds in about a minute. The scripts that plot
write a PNG file (``--out``) and close the figure, so matplotlib's scraper
finds nothing: :func:`saved_png_scraper` embeds the written file instead.
"""

import shutil
from pathlib import Path

#: Script -> its arguments in the gallery; ``{out}`` is the PNG the script writes.
ARGUMENTS = {
    "quickstart.py": [],
    "grid_search.py": ["--max-iter", "30", "--cv", "3"],
    "multilabel.py": ["--max-iter", "50"],
    "learning_curves.py": ["--out", "{out}"],
    "benchmark_chart.py": ["--no-torch", "--out", "{out}"],
    "tabular_study.py": ["--folds", "3", "--max-iter", "40", "--out", "{out}"],
    "accumulation_modes.py": [],
    "beyond_mlp.py": ["--max-iter", "60"],
}


def _written_png(script_vars):
    """Where the example being run writes its figure (beside its generated page)."""
    target = Path(script_vars["target_file"])
    return target.parent / "images" / f"written_{target.stem}.png"


def reset_argv(gallery_conf, script_vars):
    """sys.argv[1:] for an example (sphinx-gallery's ``reset_argv``)."""
    name = Path(script_vars["src_file"]).name
    if name not in ARGUMENTS:
        raise KeyError(f"{name}: add its gallery arguments to ARGUMENTS in {__file__}")
    out = _written_png(script_vars)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    return [argument.format(out=out) for argument in ARGUMENTS[name]]


def saved_png_scraper(block, block_vars, gallery_conf):
    """Embed the PNG file the example wrote, if any (sphinx-gallery image scraper)."""
    from sphinx_gallery.scrapers import figure_rst

    written = _written_png(block_vars)
    if not written.exists():
        return ""
    image_path = next(block_vars["image_path_iterator"])
    shutil.move(written, image_path)
    return figure_rst([image_path], gallery_conf["src_dir"])
