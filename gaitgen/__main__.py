"""``python -m gaitgen``: the same as the ``gaitgen`` console script."""

from gaitgen.cli.app import main

if __name__ == "__main__":
    main()
