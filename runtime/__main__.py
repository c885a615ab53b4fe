"""``python -m gaitgen.runtime --cfgs CONFIG --phase train|test`` (see :mod:`.main`)."""

import sys

from .main import main

if __name__ == "__main__":
    sys.exit(main())
