"""Print the packaged defaults with their meaning: ``python -m gaitgen.runtime.config``.

This is how ``defaults.yaml`` is generated from the schema:
``python -m gaitgen.runtime.config > runtime/config/defaults.yaml``.
"""

from .schema import defaults_yaml

print(defaults_yaml(), end="")
