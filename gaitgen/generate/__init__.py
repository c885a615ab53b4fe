"""The code generator behind ``gaitgen init``, ``new-model`` and ``new-loss``.

Modules, each with one job:

- :mod:`.names`: is a name a valid, free class name; which file does it go to.
- :mod:`.render`: the Jinja templates (shipped in ``gaitgen.templates``) and black.
- :mod:`.plan`: compare the rendered files with the disk, print a status line per file,
  then write all of them or none.
- :mod:`.settings`: what a project says about itself (package, default config, black line
  length) and the data defaults a new config copies.
- :mod:`.yaml_edit`: careful text edits of a YAML config that keep its comments.
- :mod:`.model`, :mod:`.loss`: the files of ``new-model`` and ``new-loss``.
- :mod:`.project`: ``gaitgen init`` through copier.

Nothing here imports torch; copier is imported by :mod:`.project` only when it runs.
"""
