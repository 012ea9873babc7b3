"""Every script in examples/ runs to the end (exit 0) and writes its PNG.

Each runs in a subprocess from a temporary folder with small sizes, so the
file stays within a minute or two; the scripts' defaults are the real sizes.
A new example is picked up automatically and run without arguments; give it
small-size arguments in SMALL below.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

SMALL = {  # script -> arguments for a quick run ({out} is a PNG path in tmp_path)
    "quickstart.py": ["--max-iter", "20"],
    "grid_search.py": ["--max-iter", "10", "--cv", "2"],
    "multilabel.py": ["--max-iter", "20"],
    "learning_curves.py": ["--max-iter", "30", "--out", "{out}"],
    "benchmark_chart.py": ["--no-torch", "--out", "{out}"],
    "tabular_study.py": "--folds 2 --max-iter 5 --problems wine,noisy --out {out}".split(),
    "beyond_mlp.py": ["--max-iter", "20"],
}
WRITES_PNG = {"learning_curves.py", "benchmark_chart.py", "tabular_study.py"}


def has_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def run_example(name, folder, env=None):
    png = folder / (Path(name).stem + ".png")
    arguments = [argument.format(out=png) for argument in SMALL.get(name, [])]
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *arguments],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    return result, png


@pytest.mark.parametrize("name", sorted(path.name for path in EXAMPLES.glob("*.py")))
def test_example_runs(name, tmp_path):
    result, png = run_example(name, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    if name in WRITES_PNG:
        if has_matplotlib():
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        else:
            assert "matplotlib is not installed" in result.stdout


def test_small_sizes_name_existing_examples():
    assert set(SMALL) <= {path.name for path in EXAMPLES.glob("*.py")}


def test_learning_curves_without_matplotlib(tmp_path):
    """matplotlib is optional: a package that fails to import stands in for it."""
    blocker = tmp_path / "blocker" / "matplotlib"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('matplotlib is blocked')\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(blocker.parent), os.environ.get("PYTHONPATH")])
    )
    result, png = run_example("learning_curves.py", tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "matplotlib is not installed" in result.stdout
    assert not png.exists()
