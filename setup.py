"""The wheel's build steps beyond pyproject.toml: machine code in the wheel.

A wheel built from a checkout (``python -m build --wheel``, ``pip wheel .``,
``pip install .``) runs ``fastffnn._shipped.main()`` on the build's copy
of the package: the workload of ``python -m fastffnn compile``, compiled for
a portable CPU level into ``fastffnn/_machine_code/`` (see
``fastffnn/_shipped.py``). Such a wheel is tagged for this CPython and
platform. No machine code is built:

* for editable installs (they compile on first use, as a checkout does);
* from an sdist (a ``PKG-INFO`` beside this file), whose isolated build
  environment may hold another numba than the one installed beside the
  package; such wheels are pure Python and compile on first use;
* with ``FASTFFNN_MACHINE_CODE=0``.
"""

import os
import subprocess
import sys

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


def machine_code_wanted():
    if os.environ.get("FASTFFNN_MACHINE_CODE", "1") == "0":
        return False
    return not os.path.exists(os.path.join(HERE, "PKG-INFO"))  # not from an sdist


class BuildPyWithMachineCode(build_py):
    def run(self):
        super().run()
        if self.editable_mode or not machine_code_wanted():
            return
        # from the build's copy: the code is keyed by the sources it ships with
        env = dict(os.environ, PYTHONPATH=os.path.abspath(self.build_lib),
                   PYTHONDONTWRITEBYTECODE="1")  # fmt: skip
        build = "from fastffnn._shipped import main; main()"
        subprocess.run([sys.executable, "-c", build], cwd=self.build_lib, env=env, check=True)


class DistributionWithMachineCode(Distribution):
    """Platform-specific where it carries machine code: the wheel is tagged
    ``cpXY-cpXY-<platform>`` and installs into platlib."""

    def has_ext_modules(self):
        return machine_code_wanted()


setup(cmdclass={"build_py": BuildPyWithMachineCode}, distclass=DistributionWithMachineCode)
