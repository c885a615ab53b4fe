"""Components: every named thing a config or a command can mention, found and built one way.

A *component* is a class of a *kind* (model, loss, backbone, sampler, transform, optimizer,
scheduler, evaluation, protocol, dataset generator). :mod:`.kinds` is the table of kinds;
:mod:`.scan` finds the classes of a kind by reading source files (no import, no torch);
:mod:`.lookup` turns a name into a class (:func:`get`) or a config block into an object
(:func:`build`); :mod:`.arguments` checks a component's arguments against its signature, at
config load (with ``file:line``) and at build. A built-in of any class-backed kind is one
file under the folders its kind names: the scanner finds it, no list to edit.
"""

from .arguments import Ignored, accepted_parameters, check_arguments
from .kinds import KINDS, Kind, kind_of
from .lookup import (
    available,
    build,
    building,
    get,
    import_dotted,
    unknown_name_error,
    using_project,
)
from .scan import Component, builtin_components, project_components, unreadable_files

__all__ = [
    "KINDS",
    "Component",
    "Ignored",
    "Kind",
    "accepted_parameters",
    "available",
    "build",
    "building",
    "builtin_components",
    "check_arguments",
    "get",
    "import_dotted",
    "kind_of",
    "project_components",
    "unknown_name_error",
    "unreadable_files",
    "using_project",
]
