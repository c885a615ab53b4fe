"""``gaitgen port FILE``: bring an OpenGait model file into a project, rewriting only its imports.

OpenGait's model files import from their package (``from ..base_model import BaseModel``,
``from ..modules import SetBlockWrapper``, ``from ..backbones.plain import Plain``,
``from utils import clones``). Each such import becomes the gaitgen one
(``gaitgen.runtime``, ``gaitgen.runtime.modules``, ``gaitgen.runtime.compat``); every other
line of the file is kept byte for byte, but for one exact equivalence: ``t.cuda(x.get_device())``
becomes ``t.to(x.device)`` (the same GPU on a GPU, and it runs on the CPU too; each is noted). A name gaitgen does not have, or a module that is
not installed, is reported as ``file:line: ...`` and nothing is written (``--keep-unmapped``
writes the file anyway, with those imports left as they were, marked for editing).
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
import keyword
import re
from dataclasses import dataclass, field
from pathlib import Path

from gaitgen.runtime.components.scan import builtin_components, project_components
from gaitgen.runtime.errors import GenerateError
from gaitgen.runtime.project import Project

from .plan import PlannedFile

RUNTIME = "gaitgen.runtime"
MODULES = "gaitgen.runtime.modules"
COMPAT = "gaitgen.runtime.compat"

# the first parts of absolute imports that name OpenGait's own packages (it runs with
# opengait/ on sys.path, so ``utils`` and ``modeling`` are top-level there)
_OPENGAIT_ROOTS = {"opengait", "modeling", "utils", "data", "evaluation"}
_MARK = "  # gaitgen port: not mapped, see the port report"


@dataclass
class PortResult:
    """What porting a file gives: the file to write and what the user must know."""

    files: list[PlannedFile]
    models: list[str]
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _runtime_names() -> set[str]:
    import gaitgen.runtime as runtime

    return set(runtime.__all__)


def _modules_names() -> set[str]:
    import gaitgen.runtime.modules as modules

    return set(modules.__all__)


def _compat_names() -> set[str]:
    from gaitgen.runtime import compat

    return set(compat.__all__)


def _opengait_tail(node: ast.ImportFrom) -> str | None:
    """The module path inside OpenGait's ``modeling`` (``modules``, ``backbones.plain``,
    ``utils``, ``base_model``), or None for an import of another library."""
    module = node.module or ""
    parts = module.split(".") if module else []
    if node.level == 0:
        if not parts or parts[0] not in _OPENGAIT_ROOTS:
            return None
        if parts[0] == "opengait":
            parts = parts[1:]
        if parts and parts[0] == "modeling":
            parts = parts[1:]
    return ".".join(parts)


def _target(tail: str, name: str, builtin_models: set[str]) -> str | None:
    """The gaitgen module that provides ``name`` imported from OpenGait's ``tail``."""
    head = tail.split(".")[0] if tail else ""
    if head in {"base_model", "loss_aggregator", "losses"} and name in _runtime_names():
        return RUNTIME
    if head in {"modules", "backbones"} and name in _modules_names():
        return MODULES
    if head == "utils":
        if name in _compat_names():
            return COMPAT
        if name in _modules_names():
            return MODULES
    if name in builtin_models and head not in {"modules", "backbones", "utils"}:
        return RUNTIME  # e.g. ``from .baseline import Baseline`` inside OpenGait's models/
    return None


def _close(name: str) -> str:
    known = sorted(_modules_names() | _runtime_names() | _compat_names())
    matches = difflib.get_close_matches(name, known, n=2)
    return f" (did you mean {' or '.join(repr(m) for m in matches)}?)" if matches else ""


def _alias(alias: ast.alias) -> str:
    return alias.name if alias.asname is None else f"{alias.name} as {alias.asname}"


def _rewrite_import(
    node: ast.ImportFrom, where: str, builtin_models: set[str], problems: list[str]
) -> list[str] | None:
    """New import lines for one OpenGait import, or None to leave it (a problem is recorded)."""
    tail = _opengait_tail(node)
    if tail is None:
        return None
    origin = ("." * node.level) + (node.module or "")
    by_target: dict[str, list[str]] = {}
    for alias in node.names:
        if alias.name == "*":
            problems.append(f"{where}: 'from {origin} import *': list the names it uses")
            return None
        target = _target(tail, alias.name, builtin_models)
        if target is None:
            problems.append(
                f"{where}: 'from {origin} import {alias.name}': gaitgen has no "
                f"{alias.name}{_close(alias.name)}; write it in the project or import it "
                "from elsewhere"
            )
            return None
        by_target.setdefault(target, []).append(_alias(alias))
    return [f"from {target} import {', '.join(names)}" for target, names in by_target.items()]


def _missing_library(node: ast.stmt, where: str) -> str | None:
    """A problem line when an absolute import names a library that is not installed."""
    if isinstance(node, ast.Import):
        roots = [alias.name.split(".")[0] for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        roots = [node.module.split(".")[0]]
    else:
        return None
    for root in roots:
        if root in _OPENGAIT_ROOTS:
            return f"{where}: 'import {root}': OpenGait's own package; import the names it uses"
        if importlib.util.find_spec(root) is None:
            return f"{where}: module {root!r} is not installed here (pip install {root})"
    return None


def _model_classes(tree: ast.Module, known_models: set[str]) -> list[str]:
    """Top-level classes that derive from BaseModel or from a known model."""
    accepted = set(known_models) | {"BaseModel"}
    found: list[str] = []
    changed = True
    while changed:
        changed = False
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name not in found:
                bases = {
                    b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "")
                    for b in node.bases
                }
                if accepted & bases:
                    found.append(node.name)
                    accepted.add(node.name)
                    changed = True
    return found


def _read(source: Path) -> tuple[str, ast.Module]:
    if not source.is_file():
        raise GenerateError(f"{source}: no such file")
    try:
        text = source.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise GenerateError(
            f"{source}: not UTF-8 text (byte {exc.start}); is it a Python file?"
        ) from None
    try:
        return text, ast.parse(text, filename=str(source))
    except SyntaxError as exc:
        raise GenerateError(f"{source}:{exc.lineno}: not valid Python: {exc.msg}") from None


def _rename(text: str, old: str, new: str) -> str:
    """Rename a class everywhere it is named as a whole identifier (definition, super calls)."""
    return re.sub(rf"\b{re.escape(old)}\b", new, text)


def _offset(lines: list[str], line: int, column: int) -> int:
    """The character offset in the text of ``line`` (1-based) at UTF-8 byte ``column``."""
    before = sum(len(text) for text in lines[: line - 1])
    return before + len(lines[line - 1].encode()[:column].decode())


def _span(lines: list[str], node: ast.stmt) -> tuple[int, int]:
    """Where a statement's own text is: only its tokens, not the line it shares (``;``)."""
    return (
        _offset(lines, node.lineno, node.col_offset),
        _offset(lines, node.end_lineno or node.lineno, node.end_col_offset or 0),
    )


def _joined(lines: list[str], node: ast.stmt, imports: list[str]) -> str:
    """The new import statements in the place of ``node``: one per line at its indent when it
    had its lines to itself, else joined with ``; `` so the statements beside it stay."""
    first, last = lines[node.lineno - 1], lines[(node.end_lineno or node.lineno) - 1]
    head = first.encode()[: node.col_offset].decode()
    tail = last.encode()[node.end_col_offset or 0 :].decode()
    alone = not head.strip() and (not tail.strip() or tail.lstrip().startswith("#"))
    return ("\n" + head).join(imports) if alone else "; ".join(imports)


def _same_device_calls(tree: ast.Module) -> list[ast.Call]:
    """``t.cuda(x.get_device())`` calls: "to the GPU ``x`` is on", which ``t.to(x.device)``
    says exactly on a GPU and which also runs on the CPU (where ``get_device()`` is -1 and
    ``.cuda(-1)`` fails). GaitTR moves its incidence matrix so."""
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "cuda"
        and len(node.args) == 1
        and not node.keywords
        and isinstance(node.args[0], ast.Call)
        and isinstance(node.args[0].func, ast.Attribute)
        and node.args[0].func.attr == "get_device"
        and not node.args[0].args
        and not node.args[0].keywords
    ]


def _device_edits(
    tree: ast.Module, lines: list[str], text: str, source: Path
) -> tuple[dict[tuple[int, int], str], list[str]]:
    """The edits making ``t.cuda(x.get_device())`` ``t.to(x.device)``, and a note for each
    of them and for every other ``.cuda()`` (kept: its device cannot be known here)."""
    edits: dict[tuple[int, int], str] = {}
    notes: list[str] = []
    rewritten = _same_device_calls(tree)
    for call in rewritten:
        start, end = _span(lines, call)
        tensor = text[slice(*_span(lines, call.func.value))]
        device_of = text[slice(*_span(lines, call.args[0].func.value))]
        edits[(start, end)] = f"{tensor}.to({device_of}.device)"
        notes.append(
            f"{source}:{call.lineno}: {text[start:end]} became {edits[(start, end)]}: the same "
            "GPU on a GPU, and it also runs on the CPU"
        )
    done = {id(call) for call in rewritten}
    kept = sorted(
        {
            node.lineno
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "cuda"
            and id(node) not in done
        }
    )
    unbound = _assigned_on_gpu_only(tree)
    for line in kept:
        note = (
            f"{source}:{line}: .cuda() runs on a GPU only (kept as OpenGait wrote it); to train "
            "on the CPU too, move the tensor with .to(x.device) instead, x an input tensor"
        )
        if line in unbound:
            name, test_line = unbound[line]
            note += (
                f"; on the CPU {name!r} is never assigned (the 'if' at line {test_line} has no "
                "else), so the model fails there"
            )
        notes.append(note)
    return edits, notes


def _assigned_on_gpu_only(tree: ast.Module) -> dict[int, tuple[str, int]]:
    """Lines ``name = x.cuda()`` that are the only assignment in an ``if`` without ``else``
    (OpenGait's ParsingGait: ``if is_cuda: adj = adj_np.cuda()``): line -> (name, if line)."""
    found = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.If) or node.orelse:
            continue
        for statement in node.body:
            if (
                isinstance(statement, ast.Assign)
                and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)
                and isinstance(statement.value, ast.Call)
                and isinstance(statement.value.func, ast.Attribute)
                and statement.value.func.attr == "cuda"
            ):
                found[statement.lineno] = (statement.targets[0].id, node.lineno)
    return found


def _module_file(source: Path, name: str | None) -> str:
    from .names import module_name

    stem = module_name(name) if name else source.stem.replace("-", "_").replace("+", "p")
    # the component scanner skips files named _*: such a model could never be named
    stem = stem.lstrip("_")
    if not stem.isidentifier() or keyword.iskeyword(stem):
        raise GenerateError(
            f"{source.name}: {stem!r} cannot be a Python module name; pass --name NewName"
        )
    return f"{stem}.py"


def port_file(
    project: Project, source: Path, *, name: str | None = None, config: Path | None = None
) -> PortResult:
    """Port one OpenGait model file into ``project`` (nothing is written here).

    Args:
        project: the project whose ``<package>/models/`` receives the file.
        source: the OpenGait model file.
        name: a new class name for its (single) model class: keeps gaitgen's built-in of the
            same name usable beside it.
        config: an OpenGait config of the model, for the config written beside it
            (:mod:`gaitgen.generate.port_config`).

    Returns:
        The planned files (the model file, then its config and test), the model classes, the imports that could not be mapped (one
        ``file:line: ...`` each) and notes (shadowed built-ins, GPU-only lines).

    Raises:
        GenerateError: the file is missing, not Python, holds no model, or --name is invalid.
    """
    from .names import validate_class_name

    text, tree = _read(source)
    builtin = {c.name: c.path for c in builtin_components("model")}
    models = _model_classes(tree, set(builtin))
    if not models:
        raise GenerateError(
            f"{source}: no model class in it (a class deriving from BaseModel); "
            "gaitgen port takes an OpenGait model file such as modeling/models/gaitset.py"
        )
    lines = text.splitlines(keepends=True)
    problems: list[str] = []
    edits: dict[tuple[int, int], str] = {}  # (start, end) character offsets -> new text
    marked: set[int] = set()  # lines of OpenGait imports kept as they were, marked for the user
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        where = f"{source}:{node.lineno}"
        new = (
            _rewrite_import(node, where, set(builtin), problems)
            if isinstance(node, ast.ImportFrom)
            else None
        )
        if new is not None:
            edits[_span(lines, node)] = _joined(lines, node, new)
            continue
        if isinstance(node, ast.ImportFrom) and _opengait_tail(node) is not None:
            marked.add(node.end_lineno or node.lineno)
            continue
        problem = _missing_library(node, where)
        if problem:
            problems.append(problem)
    device_edits, notes = _device_edits(tree, lines, text, source)
    edits.update(device_edits)
    for line in marked:  # the mark ends the line, after anything else on it
        end = _offset(lines, line, len(lines[line - 1].rstrip("\r\n").encode()))
        edits[(end, end)] = _MARK
    ported = text
    for (start, end), new_text in sorted(edits.items(), reverse=True):
        ported = ported[:start] + new_text + ported[end:]

    opengait_name = models[0]
    if name is not None:
        class_name = validate_class_name(name, "model")
        if len(models) != 1:
            raise GenerateError(
                f"{source}: --name renames the model class, but it defines {len(models)} "
                f"({', '.join(models)}); rename them in the file instead"
            )
        ported = _rename(ported, models[0], class_name)
        models = [class_name]
    target = project.models_dir / _module_file(source, name)
    for model in models:
        if model in builtin:
            notes.append(
                f"{model} shadows gaitgen's built-in {model} ({builtin[model].name}): configs of "
                f"this project naming {model} use {target.name}; port with --name to keep both"
            )
    for other in project_components(project, "model"):
        if other.name in models and other.path.resolve() != target.resolve():
            raise GenerateError(
                f"model {other.name!r} is already defined in {other.path}; port with "
                "--name NewName or remove the other file"
            )
    header = f"# Ported from OpenGait by `gaitgen port {source.name}`: imports rewritten only"
    header += ", and .cuda(x.get_device()) as .to(x.device).\n" if device_edits else ".\n"
    if not ported.startswith("#"):
        ported = header + ported
    from .port_config import port_config_files

    if len(models) > 1:
        notes.append(f"configs/{target.stem}.yaml and its test are {models[0]}'s")
    files = [PlannedFile(target, ported)]
    files += port_config_files(project, opengait_name, models[0], target.stem, config)
    return PortResult(files, models, problems, notes)
