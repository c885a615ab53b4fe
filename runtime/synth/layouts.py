"""SynthGait's layouts: each evaluation's type/view naming and partition, in one table.

A layout says, for a training and a test subject, which sequences (``<id>/<type>/<view>``)
are written, which walking condition of the walker (``nm`` normal, ``bg`` carrying a bag,
``cl`` wearing a coat) each one shows, which walks are one walk seen from several cameras,
and which partition keys the protocol reads (``PROBE_SET``, ``GALLERY_SET``). The dataset
name a config gives (``data_cfg.dataset_name`` and ``test_dataset_name``) and the
evaluation function it runs (``evaluator_cfg.eval_func``) are in the same row, so
``gaitgen synth --layout ccpg`` writes data that ``evaluate_CCPG`` evaluates as written.

This module imports nothing heavy: the CLI reads it for ``--help`` and its checks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import DataError, did_you_mean
from .spec import CONDITIONS, DEFAULT_VIEWS

PROBE_LABEL = "probe"  # GREW and HID hide a probe's identity under this id folder
DEFAULT_LAYOUT = "casia-b"


@dataclass(frozen=True)
class Recording:
    """One sequence of a subject.

    Attributes:
        type: the type folder (``nm-01``, ``U0_D0_BG``, ``camid0_videoid1``).
        view: the view folder; ``"{video}"`` stands for a video id made from the walk.
        condition: what the walker shows: ``nm``, ``bg`` or ``cl``.
        walk: recordings with the same ``walk`` are one walk seen from several cameras.
        angle: the camera's azimuth in degrees (0: walking towards it, 90: seen from the
            side); ``None`` for a camera placed at random per walk (real-scene datasets).
        role: ``"probe"`` or ``"gallery"`` puts the sequence in the partition's
            ``PROBE_SET`` / ``GALLERY_SET``; ``"hidden"`` writes it under the ``probe`` id
            folder (its identity hidden, as GREW's and HID's test sets do).
    """

    type: str
    view: str
    condition: str
    walk: int
    angle: int | None = None
    role: str = ""


@dataclass(frozen=True)
class Layout:
    """One evaluation's dataset layout.

    Attributes:
        name: what ``--layout`` takes.
        dataset_name: the dataset name its configs use (OpenGait's second argument).
        eval_func: OpenGait's evaluation function for it.
        summary: one line for ``gaitgen synth --help`` and the README.
        train: the recordings of a training subject.
        test: the recordings of a test subject.
        views: the view names when they are camera angles (``--views`` may pick others);
            empty when the views are named otherwise.
        train_suffix: appended to a training subject's id (GREW's ``00001train``).
        classes: Scoliosis1K: the type of every recording is the subject's class, cycling
            through these; each has a lateral trunk lean range in radians.
    """

    name: str
    dataset_name: str
    eval_func: str
    summary: str
    train: tuple[Recording, ...]
    test: tuple[Recording, ...]
    views: tuple[str, ...] = ()
    train_suffix: str = ""
    classes: dict[str, tuple[float, float]] = field(default_factory=dict)


def casia_recordings(
    views: Sequence[str], conditions: Sequence[str] = CONDITIONS
) -> tuple[Recording, ...]:
    """CASIA-B's sequences: every condition (``nm-01`` ...) seen from every angle view.

    The walk of a condition is its position in :data:`.spec.CONDITIONS`, so a subset draws
    the same walks (and the default dataset keeps its bytes).

    Raises:
        ValueError: a condition is not one of :data:`.spec.CONDITIONS`.
    """
    recordings = []
    for name in conditions:
        if name not in CONDITIONS:
            raise ValueError(f"unknown condition {name!r}; expected one of {CONDITIONS}")
        walk = CONDITIONS.index(name)
        condition = name.split("-")[0]
        recordings += [Recording(name, view, condition, walk, int(view)) for view in views]
    return tuple(recordings)


def _angle_recordings(
    types: Sequence[tuple[str, str]], views: Sequence[str]
) -> tuple[Recording, ...]:
    """Each ``(type, condition)`` one walk, seen from every angle view."""
    return tuple(
        Recording(name, view, condition, walk, int(view))
        for walk, (name, condition) in enumerate(types)
        for view in views
    )


OUMVLP_VIEWS = tuple(f"{angle:03d}" for angle in (*range(0, 91, 15), *range(180, 271, 15)))

# CCPG: U<n> upper and D<n> lower clothes (0: the subject's own), BG a bag; cameras
# <cam>_<k>: the k-th walk in an outfit seen by camera <cam>
_CCPG_TYPES = (
    ("U0_D0", "nm"),
    ("U0_D0_BG", "bg"),
    ("U0_D3", "nm"),
    ("U1_D0", "cl"),
    ("U1_D1", "cl"),
    ("U2_D2", "cl"),
    ("U3_D3", "cl"),
)
_CCPG_CAMERAS = {"01": 0, "04": 54, "07": 90, "10": 144}
_CCPG = tuple(
    Recording(name, f"{camera}_{k}", condition, 2 * index + k - 1, angle)
    for index, (name, condition) in enumerate(_CCPG_TYPES)
    for k in (1, 2)
    for camera, angle in _CCPG_CAMERAS.items()
)

_GREW_TRAIN = tuple(Recording("00", "{video}", "nm", walk) for walk in range(4))
_GREW_TEST = (
    Recording("01", "{video}", "nm", 0),
    Recording("02", "{video}", "nm", 1),
    Recording("03", "{video}", "nm", 2, role="hidden"),
)
_HID_TRAIN = tuple(Recording("00", "{video}", "nm", walk) for walk in range(4))
_HID_TEST = (
    Recording("00", "default", "nm", 0),
    Recording("01", "default", "nm", 1),
    Recording("00", "{video}", "nm", 2, role="hidden"),
)

# Gait3D: cameras as types, time sequences as views; one probe per test subject
_GAIT3D_TRAIN = (
    Recording("camid0_videoid1", "seq0", "nm", 0),
    Recording("camid0_videoid1", "seq1", "nm", 1),
    Recording("camid3_videoid2", "seq0", "nm", 2),
    Recording("camid5_videoid3", "seq0", "bg", 3),
)
_GAIT3D_TEST = (
    Recording("camid1_videoid1", "seq0", "nm", 0, role="probe"),
    Recording("camid2_videoid2", "seq0", "nm", 1),
    Recording("camid2_videoid2", "seq1", "nm", 2),
    Recording("camid4_videoid3", "seq0", "bg", 3),
)
_FREEGAIT_TRAIN = (
    Recording("devid_1", "seq_00_new", "nm", 0),
    Recording("devid_2", "seq_01_new", "nm", 1),
    Recording("devid_3", "seq_02_new", "bg", 2),
    Recording("devid0", "seq_00", "nm", 3),
)
_FREEGAIT_TEST = (
    Recording("devid_3", "seq_00_new", "nm", 0, role="gallery"),
    Recording("devid_1", "seq_01_new", "nm", 1, role="probe"),
    Recording("devid_2", "seq_02_new", "bg", 2, role="probe"),
    Recording("devid0", "seq_00", "nm", 3, role="probe"),
)
# CCGR-MINI: covariate combinations as types, <angle>_<k>.avi as views
_CCGR_TYPES = (("NM1", "nm"), ("BG1", "bg"), ("CL1", "cl"))
_CCGR_VIEWS = {"0_2.avi": 0, "45_1.avi": 45, "90_4.avi": 90}
_CCGR = tuple(
    Recording(name, view, condition, walk, angle, role="gallery" if walk == 0 else "")
    for walk, (name, condition) in enumerate(_CCGR_TYPES)
    for view, angle in _CCGR_VIEWS.items()
)
# Scoliosis1K: the type is the subject's class; views <k>_180 (walks away from the camera,
# where a lateral trunk lean shows)
_SCOLIOSIS = tuple(Recording("{class}", f"{k:03d}_180", "nm", k, 180) for k in range(3))

_CASIA_B = casia_recordings(DEFAULT_VIEWS)
_OUMVLP = _angle_recordings((("00", "nm"), ("01", "nm")), OUMVLP_VIEWS)

LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        Layout(
            "casia-b",
            "CASIA-B",
            "evaluate_indoor_dataset",
            "CASIA-B: nm-01..06, bg-01..02, cl-01..02 x views 000..180 (the default)",
            _CASIA_B,
            _CASIA_B,
            views=DEFAULT_VIEWS,
        ),
        Layout(
            "oumvlp",
            "OUMVLP",
            "evaluate_indoor_dataset",
            "OU-MVLP: types 00 (probe), 01 (gallery) x views 000..090, 180..270 in 15s",
            _OUMVLP,
            _OUMVLP,
            views=OUMVLP_VIEWS,
        ),
        Layout(
            "ccpg",
            "CCPG",
            "evaluate_CCPG",
            "CCPG: outfits U0_D0, U0_D0_BG, U0_D3, U1_D0, U1_D1, U2_D2, U3_D3 x views <cam>_<k>",
            _CCPG,
            _CCPG,
        ),
        Layout(
            "grew",
            "GREW",
            "GREW_submission",
            "GREW: <id>train/00/<video>; test <id>/01, <id>/02 and probe/03/<video> (hidden id)",
            _GREW_TRAIN,
            _GREW_TEST,
            train_suffix="train",
        ),
        Layout(
            "hid",
            "HID",
            "HID_submission",
            "HID: <id>/00/<video>; test gallery <id>/00|01/default, probes probe/00/<video>",
            _HID_TRAIN,
            _HID_TEST,
        ),
        Layout(
            "gait3d",
            "Gait3D",
            "evaluate_Gait3D",
            "Gait3D: camid<c>_videoid<v> types x seq<k> views; PROBE_SET in the partition",
            _GAIT3D_TRAIN,
            _GAIT3D_TEST,
        ),
        Layout(
            "freegait",
            "FreeGait",
            "evaluate_FreeGait",
            "FreeGait: devid_<d> types x seq_<k>_new views; PROBE_SET and GALLERY_SET",
            _FREEGAIT_TRAIN,
            _FREEGAIT_TEST,
        ),
        Layout(
            "ccgr-mini",
            "CCGR-MINI",
            "evaluate_CCGR_MINI",
            "CCGR-MINI: NM1, BG1, CL1 x <angle>_<k>.avi views; GALLERY_SET (NM1), the rest probes",
            _CCGR,
            _CCGR,
        ),
        Layout(
            "scoliosis",
            "Scoliosis1K",
            "evaluate_scoliosis",
            "Scoliosis1K: type negative|neutral|positive (the subject's class) x views <k>_180",
            _SCOLIOSIS,
            _SCOLIOSIS,
            classes={"negative": (0.0, 0.0), "neutral": (0.04, 0.07), "positive": (0.12, 0.18)},
        ),
    )
}


def get_layout(name: str | None, where: str = "--layout") -> Layout:
    """The layout called ``name`` (``None``: CASIA-B's, the default).

    Raises:
        DataError: no layout has that name; the message names the close match.
    """
    if name is None:
        return LAYOUTS[DEFAULT_LAYOUT]
    key = str(name).strip().lower()
    if key not in LAYOUTS:
        raise DataError(
            f"synthgait: {where}: unknown layout {name!r}{did_you_mean(key, list(LAYOUTS))}; "
            f"choose from {', '.join(LAYOUTS)}"
        )
    return LAYOUTS[key]


@dataclass(frozen=True)
class SubjectPlan:
    """What one subject's worker writes: its id folder, its sequences and its posture.

    ``recordings`` hold final names (video ids and class filled in); ``labels`` the id
    folder of each (the subject's, or ``probe``); ``lean`` the class's lean range.
    """

    name: str
    number: int
    training: bool
    recordings: tuple[Recording, ...]
    labels: tuple[str, ...]
    lean: tuple[float, float] = (0.0, 0.0)


def video_id(seed: int, number: int, walk: int) -> str:
    """An 8-hex-digit video id for a walk (the same for the same seed, subject and walk)."""
    return hashlib.sha256(f"synthgait:{seed}:{number}:{walk}".encode()).hexdigest()[:8]


def _random_angle(seed: int, number: int, walk: int) -> int:
    """A camera azimuth in degrees for a walk of a real-scene dataset (fixed by the seed)."""
    digest = hashlib.sha256(f"synthgait-camera:{seed}:{number}:{walk}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 360


def _base_recordings(
    layout: Layout, training: bool, views: Sequence[str] | None
) -> tuple[Recording, ...]:
    """A training or test subject's recordings, seen from ``views`` when they replace an
    angle layout's views."""
    recordings = layout.train if training else layout.test
    if views is None or not layout.views:
        return recordings
    first = tuple(r for r in recordings if r.view == layout.views[0])
    return tuple(
        Recording(r.type, view, r.condition, r.walk, int(view), r.role)
        for r in first
        for view in views
    )


def sequence_count(
    layout: Layout, subjects: int, train_count: int, views: Sequence[str] | None
) -> int:
    """How many sequences :func:`plan_subjects` gives (counted without planning them)."""
    train = len(_base_recordings(layout, True, views))
    return train * train_count + len(_base_recordings(layout, False, views)) * (
        subjects - train_count
    )


def plan_subjects(
    layout: Layout, ids: Sequence[str], train_count: int, seed: int, views: Sequence[str] | None
) -> list[SubjectPlan]:
    """Every subject's plan: the first ``train_count`` of ``ids`` train, the rest test.

    ``views`` (angle layouts only) replaces the layout's views; ``None`` keeps them.
    """
    base = {training: _base_recordings(layout, training, views) for training in (True, False)}
    plans = []
    for number, subject in enumerate(ids, start=1):
        training = number <= train_count
        recordings = base[training]
        kind = ""
        if layout.classes:
            kind = tuple(layout.classes)[(number - 1) % len(layout.classes)]
        if kind or any(r.view == "{video}" or r.angle is None for r in recordings):
            recordings = tuple(
                Recording(
                    kind if r.type == "{class}" else r.type,
                    video_id(seed, number, r.walk) if r.view == "{video}" else r.view,
                    r.condition,
                    r.walk,
                    _random_angle(seed, number, r.walk) if r.angle is None else r.angle,
                    r.role,
                )
                for r in recordings
            )
        name = subject + layout.train_suffix if training else subject
        labels = tuple(PROBE_LABEL if r.role == "hidden" else name for r in recordings)
        lean = layout.classes.get(kind, (0.0, 0.0))
        plans.append(SubjectPlan(name, number, training, recordings, labels, lean))
    return plans


def layout_partition(plans: Sequence[SubjectPlan]) -> dict[str, list[str]]:
    """OpenGait's partition for the plans: ``TRAIN_SET``, ``TEST_SET`` (with ``probe`` when
    probes are hidden there, as GREW's and HID's), then ``PROBE_SET`` / ``GALLERY_SET``
    (``id-type-view`` entries) when the layout marks sequences for them."""
    train = [p.name for p in plans if p.training]
    test = [p.name for p in plans if not p.training]
    if any(PROBE_LABEL in p.labels for p in plans if not p.training):
        test.append(PROBE_LABEL)
    partition = {"TRAIN_SET": train, "TEST_SET": test}
    for role, key in (("probe", "PROBE_SET"), ("gallery", "GALLERY_SET")):
        entries = [
            f"{p.name}-{r.type}-{r.view}"
            for p in plans
            if not p.training
            for r in p.recordings
            if r.role == role
        ]
        if entries:
            partition[key] = entries
    return partition


def probe_identities(plans: Sequence[SubjectPlan]) -> dict[str, str]:
    """``{video id: subject}`` of the probes written under the ``probe`` id folder."""
    return {
        recording.view: plan.name
        for plan in plans
        for label, recording in zip(plan.labels, plan.recordings)
        if label == PROBE_LABEL
    }
