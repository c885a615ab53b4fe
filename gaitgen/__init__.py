"""gaitgen: a code generator and runtime for gait-recognition research.

The CLI lives in :mod:`gaitgen.cli`; the training/evaluation runtime in :mod:`gaitgen.runtime`.
Importing this package imports neither torch nor copier.
"""

__version__ = "0.1.0"
