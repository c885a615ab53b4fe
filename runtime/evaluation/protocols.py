"""Evaluation protocols as data: which sequences are probes, which are gallery, what is reported.

Two kinds of protocol exist in the gait literature:

- ``view``: indoor multi-view datasets (CASIA-B, OU-MVLP, CASIA-E, SUSTech1K). Rank-1 is
  computed per probe view; with OpenGait's default *single-view gallery* each (probe view,
  gallery view) pair is a separate ranking problem and identical-view pairs are left out of
  the mean; with the *cross-view gallery* every gallery sequence is searched at once and only
  the gallery sequences of the probe's own subject *and* view are removed.
- ``real_scene``: one probe set against one gallery (GREW, Gait3D, HID, ...): rank-1/5/10,
  mAP and mINP.

The probe and gallery type lists are OpenGait's (``opengait/evaluation/evaluator.py``), so
numbers are comparable with published ones. A custom protocol is a dict (see
:func:`protocol_from_dict`), given in the config as ``evaluator_cfg.protocol``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from gaitgen.runtime.errors import ConfigError, did_you_mean

VIEW = "view"
REAL_SCENE = "real_scene"


@dataclass(frozen=True)
class Protocol:
    """One evaluation protocol.

    Attributes:
        name: the name reported in results (``"CASIA-B"``).
        kind: ``"view"`` or ``"real_scene"``.
        conditions: condition name -> probe types, used with the single-view gallery (and by
            real-scene protocols, usually with one condition).
        gallery_types: gallery types for the single-view gallery (or the real-scene gallery).
        cross_view_conditions: probe types per condition for the cross-view gallery; ``None``
            reuses ``conditions``.
        cross_view_gallery_types: gallery types for the cross-view gallery; ``None`` reuses
            ``gallery_types``.
        exclude_identical_view: leave identical-view pairs out of per-view means.
        type_match: ``"exact"`` (type equals a listed type) or ``"substring"`` (type contains
            a listed string, as OpenGait does for SUSTech1K).
        ignored_views: views left out entirely (CASIA-E's 270).
        ranks: rank-k values reported for view protocols (rank-1 first).
        probe_set: real-scene probes are the sequences named in the partition's ``PROBE_SET``
            (``label-type-view``), and the gallery is every other sequence (Gait3D).
        remove_no_gallery: probes whose subject has no gallery sequence are left out of the
            rank-k denominators instead of counting as misses.
        round_to_hundredths: round each accuracy to 2 decimals before averaging, as OpenGait
            prints and averages them.
    """

    name: str
    kind: str
    conditions: Mapping[str, tuple[str, ...]]
    gallery_types: tuple[str, ...] = ()
    cross_view_conditions: Mapping[str, tuple[str, ...]] | None = None
    cross_view_gallery_types: tuple[str, ...] | None = None
    exclude_identical_view: bool = True
    type_match: str = "exact"
    ignored_views: tuple[str, ...] = ()
    ranks: tuple[int, ...] = (1,)
    probe_set: bool = False
    remove_no_gallery: bool = False
    round_to_hundredths: bool = True
    aliases: tuple[str, ...] = field(default=(), compare=False)

    def probe_conditions(self, cross_view: bool) -> Mapping[str, tuple[str, ...]]:
        """Probe types per condition for the chosen gallery mode."""
        if cross_view and self.cross_view_conditions is not None:
            return self.cross_view_conditions
        return self.conditions

    def gallery(self, cross_view: bool) -> tuple[str, ...]:
        """Gallery types for the chosen gallery mode."""
        if cross_view and self.cross_view_gallery_types is not None:
            return self.cross_view_gallery_types
        return self.gallery_types


def _casia_e_types(scenes: tuple[str, ...], condition: str) -> tuple[str, ...]:
    return tuple(
        f"{height}-{scene}-{condition}-{number}"
        for scene in scenes
        for height in ("H", "L")
        for number in (1, 2)
    )


def _partition_protocol(name: str) -> Protocol:
    """A protocol whose probes (or gallery) the dataset's partition file names (Gait3D,
    FreeGait, CCGR-MINI): rank-k, mAP and mINP over probes with a gallery, unrounded."""
    return Protocol(
        name=name,
        kind=REAL_SCENE,
        conditions={"overall": ()},
        probe_set=True,
        remove_no_gallery=True,
        round_to_hundredths=False,
    )


_CASIA_E_PROBE_SCENES = ("scene2", "scene3", "scene3_s")

PROTOCOLS: dict[str, Protocol] = {
    p.name: p
    for p in (
        Protocol(
            name="CASIA-B",
            kind=VIEW,
            conditions={
                "NM": ("nm-05", "nm-06"),
                "BG": ("bg-01", "bg-02"),
                "CL": ("cl-01", "cl-02"),
            },
            gallery_types=("nm-01", "nm-02", "nm-03", "nm-04"),
            cross_view_conditions={"NM": ("nm-01",), "BG": ("bg-01",), "CL": ("cl-01",)},
            cross_view_gallery_types=("nm-02", "bg-02", "cl-02"),
            aliases=("SynthGait", "CASIA-B*"),
        ),
        Protocol(
            name="OU-MVLP",
            kind=VIEW,
            conditions={"NM": ("00",)},
            gallery_types=("01",),
            aliases=("OUMVLP",),
        ),
        Protocol(
            name="CASIA-E",
            kind=VIEW,
            conditions={
                "NM": _casia_e_types(_CASIA_E_PROBE_SCENES, "nm"),
                "BG": _casia_e_types(_CASIA_E_PROBE_SCENES, "bg"),
                "CL": _casia_e_types(_CASIA_E_PROBE_SCENES, "cl"),
            },
            gallery_types=_casia_e_types(("scene1",), "nm"),
            ignored_views=("270",),
        ),
        Protocol(
            name="SUSTech1K",
            kind=VIEW,
            conditions={
                "Normal": ("01-nm",),
                "Bag": ("bg",),
                "Clothing": ("cl",),
                "Carrying": ("cr",),
                "Umbrella": ("ub",),
                "Uniform": ("uf",),
                "Occlusion": ("oc",),
                "Night": ("nt",),
                "Overall": ("01", "02", "03", "04"),
            },
            gallery_types=("00-nm",),
            type_match="substring",
            ranks=(1, 5),
        ),
        Protocol(
            name="GREW", kind=REAL_SCENE, conditions={"overall": ("02",)}, gallery_types=("01",)
        ),
        *(_partition_protocol(name) for name in ("Gait3D", "FreeGait", "CCGR-MINI")),
        Protocol(
            name="HID2021", kind=REAL_SCENE, conditions={"overall": ("1",)}, gallery_types=("0",)
        ),
        Protocol(
            name="0001-1000",
            kind=REAL_SCENE,
            conditions={"overall": ("3", "4", "5", "6")},
            gallery_types=("1", "2"),
        ),
        Protocol(
            name="0001-1000-test",
            kind=REAL_SCENE,
            conditions={"overall": ("1",)},
            gallery_types=("0",),
        ),
        Protocol(
            name="TTG-200",
            kind=REAL_SCENE,
            conditions={"overall": ("2", "3", "4", "5", "6")},
            gallery_types=("1",),
        ),
    )
}

# every other name a dataset or the user may use for a preset -> the preset's name
ALIASES: dict[str, str] = {
    alias: protocol.name for protocol in PROTOCOLS.values() for alias in protocol.aliases
}


def get_protocol(name: str, where: str = "protocol") -> Protocol:
    """Return the preset called ``name`` (or one of its aliases, case-insensitive).

    Raises:
        RegistryError: no preset has that name; the message lists the close matches.
    """
    from ..components import get

    return get("protocol", name, where=where)


def _type_list(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and value and all(isinstance(v, str | int) for v in value):
        return tuple(str(v) for v in value)
    raise ConfigError(f"{where}: expected a non-empty list of sequence types, got {value!r}")


def _conditions(value: Any, where: str) -> dict[str, tuple[str, ...]]:
    if isinstance(value, Mapping) and value:
        return {str(k): _type_list(v, f"{where}.{k}") for k, v in value.items()}
    return {"probe": _type_list(value, where)}


_CUSTOM_KEYS = (
    "name",
    "kind",
    "probe_types",
    "gallery_types",
    "cross_view_probe_types",
    "cross_view_gallery_types",
    "exclude_identical_view",
    "type_match",
    "ignored_views",
    "ranks",
    "remove_no_gallery",
    "probe_set",
    "round_to_hundredths",
)


def protocol_from_dict(spec: Mapping[str, Any], where: str = "evaluator_cfg.protocol") -> Protocol:
    """Build a custom protocol from a mapping.

    Keys: ``probe_types`` (a list of types, or a mapping condition -> list of types),
    ``gallery_types`` (list), optional ``name`` (default ``"custom"``), ``kind``
    (``view``, the default, or ``real_scene``), ``exclude_identical_view`` (default true),
    ``cross_view_probe_types``/``cross_view_gallery_types`` (default: the same lists),
    ``type_match`` (``exact``/``substring``), ``ignored_views``, ``ranks`` (e.g. ``[1, 5]``),
    ``remove_no_gallery``, ``probe_set`` and ``round_to_hundredths``.

    Raises:
        ConfigError: an unknown key or a value of the wrong shape, naming the key.
    """
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: expected a preset name or a mapping, got {spec!r}")
    for key in spec:
        if key not in _CUSTOM_KEYS:
            raise ConfigError(
                f"{where}.{key}: unknown key{did_you_mean(str(key), _CUSTOM_KEYS)}; "
                f"known keys: {', '.join(_CUSTOM_KEYS)}"
            )
    kind = spec.get("kind", VIEW)
    if kind not in (VIEW, REAL_SCENE):
        raise ConfigError(f"{where}.kind: expected 'view' or 'real_scene', got {kind!r}")
    probe_set = bool(spec.get("probe_set", False))
    if "probe_types" not in spec and not probe_set:
        raise ConfigError(f"{where}.probe_types: missing; list the probe sequence types")
    if "gallery_types" not in spec and not probe_set:
        raise ConfigError(f"{where}.gallery_types: missing; list the gallery sequence types")
    conditions = (
        _conditions(spec["probe_types"], f"{where}.probe_types")
        if "probe_types" in spec
        else {"overall": ()}
    )
    type_match = spec.get("type_match", "exact")
    if type_match not in ("exact", "substring"):
        raise ConfigError(
            f"{where}.type_match: expected 'exact' or 'substring', got {type_match!r}"
        )
    ranks = spec.get("ranks", [1])
    if (
        not isinstance(ranks, list | tuple)
        or not ranks
        or not all(isinstance(r, int) and r >= 1 for r in ranks)
    ):
        raise ConfigError(f"{where}.ranks: expected a list of positive integers, got {ranks!r}")
    protocol = Protocol(
        name=str(spec.get("name", "custom")),
        kind=kind,
        conditions=conditions,
        gallery_types=(
            _type_list(spec["gallery_types"], f"{where}.gallery_types")
            if "gallery_types" in spec
            else ()
        ),
        exclude_identical_view=bool(spec.get("exclude_identical_view", True)),
        type_match=type_match,
        ignored_views=tuple(str(v) for v in spec.get("ignored_views", ())),
        ranks=tuple(sorted(set(ranks) | {1})),
        probe_set=probe_set,
        remove_no_gallery=bool(spec.get("remove_no_gallery", False)),
        round_to_hundredths=bool(spec.get("round_to_hundredths", True)),
    )
    if "cross_view_probe_types" in spec:
        protocol = replace(
            protocol,
            cross_view_conditions=_conditions(
                spec["cross_view_probe_types"], f"{where}.cross_view_probe_types"
            ),
        )
    if "cross_view_gallery_types" in spec:
        protocol = replace(
            protocol,
            cross_view_gallery_types=_type_list(
                spec["cross_view_gallery_types"], f"{where}.cross_view_gallery_types"
            ),
        )
    return protocol


def resolve_protocol(
    protocol: str | Mapping[str, Any] | Protocol | None,
    dataset_name: str | None,
    where: str = "protocol",
    dataset_where: str = "dataset name",
) -> Protocol:
    """Pick the protocol: an explicit preset name or mapping, else the dataset's preset.

    ``where`` and ``dataset_where`` name, in messages, where the protocol and the dataset
    name came from.

    Raises:
        ConfigError: neither is given, or a name matches no preset.
    """
    if isinstance(protocol, Protocol):
        return protocol
    if isinstance(protocol, Mapping):
        return protocol_from_dict(protocol, where)
    if protocol is not None:
        return get_protocol(str(protocol), where)
    if dataset_name is None:
        raise ConfigError(
            f"{where}: no protocol given and no dataset name to choose one from; "
            f"name one of {', '.join(PROTOCOLS)}"
        )
    return get_protocol(str(dataset_name), dataset_where)
