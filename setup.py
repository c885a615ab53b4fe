"""Package discovery for the three source folders mapped in pyproject.toml.

setuptools cannot rename folders through ``packages.find``, so the sub-packages of
``gaitgen/`` and ``runtime/`` are listed here; every other setting lives in pyproject.toml.
"""

from setuptools import find_packages, setup


def _under(prefix: str, folder: str) -> list[str]:
    return [prefix] + [f"{prefix}.{name}" for name in find_packages(folder)]


setup(
    packages=_under("gaitgen", "gaitgen")
    + _under("gaitgen.runtime", "runtime")
    + ["gaitgen.templates"],
)
