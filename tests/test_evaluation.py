"""Every preset against a straightforward reference (loops over probes) on random embeddings.

The reference follows OpenGait's evaluator: per-part distances, argsort per probe, rank-1
per (probe view, gallery view) rounded to 2 decimals and averaged without the identical
view, OpenGait's cross-view gallery (same subject *and* view removed) with mAP, and the
real-scene rank-k/mAP/mINP. Tiny block sizes make the blocked code cross block edges.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gaitgen.runtime.evaluation import PROTOCOLS, evaluate
from gaitgen.runtime.evaluation import ranking as ranking_module
from gaitgen.runtime.evaluation.ranking import BlockSizes

TOLERANCE = 0.01  # percentage points

# ------------------------------------------------------------------------ reference


def reference_distances(x: np.ndarray, y: np.ndarray, metric: str) -> np.ndarray:
    """OpenGait's cuda_dist in float64, one probe at a time."""
    x, y = x.astype(np.float64), y.astype(np.float64)
    if metric == "cos":
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        y = y / np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)
    out = np.zeros((len(x), len(y)))
    for i in range(len(x)):
        if metric == "cos":
            out[i] = 1 - np.einsum("cp,ncp->n", x[i], y) / x.shape[2]
        else:
            diff = np.sqrt(np.maximum(((x[i][None] - y) ** 2).sum(1), 0))  # [n, p]
            out[i] = diff.mean(1)
    return out


def matches(types: np.ndarray, wanted, substring: bool) -> np.ndarray:
    if substring:
        return np.array([any(w in t for w in wanted) for t in types])
    return np.array([t in wanted for t in types])


def reference_single_view(data, protocol, metric, rank=1, remove=False):
    feature, label, types, view = data
    substring = protocol.type_match == "substring"
    views = sorted(set(view) - set(protocol.ignored_views))
    out = {}
    for name, probe_types in protocol.conditions.items():
        acc = np.full((len(views), len(views)), np.nan)
        for a, probe_view in enumerate(views):
            pmask = matches(types, probe_types, substring) & (view == probe_view)
            if not pmask.any():
                continue
            for b, gallery_view in enumerate(views):
                gmask = matches(types, protocol.gallery_types, substring) & (view == gallery_view)
                dist = reference_distances(feature[pmask], feature[gmask], metric)
                hits, total = 0, 0
                for i, probe_label in enumerate(label[pmask]):
                    order = np.argsort(dist[i], kind="stable")
                    if remove and probe_label not in label[gmask]:
                        continue
                    total += 1
                    hits += probe_label in label[gmask][order[:rank]]
                acc[a, b] = np.round(hits * 100 / total, 2) if total else np.nan
        per_view = {}
        for a, v in enumerate(views):
            if np.isnan(acc[a]).all():
                continue
            off = [acc[a, b] for b in range(len(views)) if b != a and not np.isnan(acc[a, b])]
            per_view[v] = float(np.mean(off))
        out[name] = (float(np.mean(list(per_view.values()))), per_view, acc)
    return out


def reference_cross_view(data, protocol, metric):
    feature, label, types, view = data
    views = sorted(set(view) - set(protocol.ignored_views))
    conditions = protocol.probe_conditions(True)
    gmask = matches(types, protocol.gallery(True), False) & np.isin(view, views)
    out = {}
    for name, probe_types in conditions.items():
        rank1, mean_ap = {}, {}
        for v in views:
            pmask = matches(types, probe_types, False) & (view == v)
            if not pmask.any():
                continue
            dist = reference_distances(feature[pmask], feature[gmask], metric)
            accs, aps = [], []
            for i, (probe_label, probe_view) in enumerate(zip(label[pmask], view[pmask])):
                keep = (view[gmask] != probe_view) | (label[gmask] != probe_label)
                order = np.argsort(dist[i][keep], kind="stable")
                hit = (label[gmask][keep][order] == probe_label).astype(int)
                accs.append(hit[0])
                if hit.sum():
                    precision = np.cumsum(hit) / (np.arange(len(hit)) + 1)
                    aps.append((precision * hit).sum() / hit.sum())
            rank1[v] = np.round(np.mean(accs) * 100, 2)
            mean_ap[v] = np.round(np.mean(aps) * 100, 2)
        out[name] = (np.mean(list(rank1.values())), rank1, np.mean(list(mean_ap.values())))
    return out


def reference_real_scene(feature, label, pmask, gmask, metric, remove, round_it):
    dist = reference_distances(feature[pmask], feature[gmask], metric)
    firsts, aps, inps, total = [], [], [], 0
    for i, probe_label in enumerate(label[pmask]):
        order = np.argsort(dist[i], kind="stable")
        hit = (label[gmask][order] == probe_label).astype(int)
        if not hit.any():
            if not remove:
                total += 1
                firsts.append(np.inf)
            continue
        total += 1
        positions = np.flatnonzero(hit) + 1
        firsts.append(positions[0])
        aps.append(np.mean(np.arange(1, len(positions) + 1) / positions))
        inps.append(len(positions) / positions[-1])
    firsts = np.array(firsts)
    out = {}
    for k in (1, 5, 10):
        value = (firsts <= k).sum() * 100 / total
        out[f"rank{k}"] = np.round(value, 2) if round_it else value
    out["mAP"] = np.mean(aps) * 100
    out["mINP"] = np.mean(inps) * 100
    return out


# ------------------------------------------------------------------------ data


def make_data(ids, types, views, seed=0, drop=0.0, channels=8, parts=4, noise=1.1):
    rng = np.random.default_rng(seed)
    rows = [(i, t, v) for i in ids for t in types for v in views]
    if drop:
        rows = [r for r in rows if rng.random() >= drop]
    centres = {i: rng.normal(size=(channels, parts)) for i in ids}
    feature = np.stack(
        [centres[i] + noise * rng.normal(size=(channels, parts)) for i, _, _ in rows]
    )
    label, type_, view = (np.array([r[k] for r in rows]) for k in range(3))
    return feature.astype(np.float32), label, type_, view


CASIA_B_TYPES = [f"nm-0{i}" for i in range(1, 7)] + ["bg-01", "bg-02", "cl-01", "cl-02"]
CASIA_B_VIEWS = [f"{v:03d}" for v in range(0, 181, 18)]
OUMVLP_VIEWS = ["000", "015", "030", "045", "060", "075", "090", "180", "195", "210", "225"]


@pytest.fixture(autouse=True, params=["gallery-in-blocks", "gallery-whole"])
def tiny_blocks(request, monkeypatch):
    """Blocks of a few rows, so every code path crosses block edges; the gallery either in
    blocks (threshold pass, then counts per block) or laid out whole (one band pass)."""
    gallery_block = 40 if request.param == "gallery-in-blocks" else 10**6
    sizes = BlockSizes(
        superblock=48, gallery_block=gallery_block, probe_tile=16, gallery_tile=8, threshold_tile=8
    )
    monkeypatch.setattr(ranking_module.BlockSizes, "for_device", classmethod(lambda cls, d: sizes))


def casia_b(seed=0):
    ids = [f"{i:03d}" for i in range(1, 9)]
    return make_data(ids, CASIA_B_TYPES, CASIA_B_VIEWS, seed=seed, drop=0.05)


def check_single_view(result, reference, ranks=(1,)):
    data = result.to_dict()["conditions"]
    assert set(data) == set(reference)
    for name, (mean, per_view, _) in reference.items():
        assert abs(data[name]["rank1"] - mean) <= TOLERANCE, name
        assert set(data[name]["per_view"]) == set(per_view)
        for v, value in per_view.items():
            assert abs(data[name]["per_view"][v] - value) <= TOLERANCE, (name, v)


# ------------------------------------------------------------------------ tests


@pytest.mark.parametrize("metric", ["euc", "cos"])
def test_casia_b_single_view_matches_reference(metric):
    data = casia_b()
    result = evaluate(*data, dataset_name="CASIA-B", metric=metric, device="cpu")
    reference = reference_single_view(data, PROTOCOLS["CASIA-B"], metric)
    check_single_view(result, reference)
    # the pair matrix (heatmap) is the per-pair rank-1, diagonal included
    acc = reference["NM"][2]
    pairs = result.to_dict()["conditions"]["NM"]["per_pair"]
    assert abs(pairs["000"]["018"] - acc[0, 1]) <= TOLERANCE
    assert abs(pairs["036"]["036"] - acc[2, 2]) <= TOLERANCE
    # not a trivial set: accuracies are neither 0 nor 100 everywhere
    assert 10 < result.to_dict()["conditions"]["CL"]["rank1"] < 99


@pytest.mark.parametrize("metric", ["euc", "cos"])
def test_casia_b_cross_view_matches_reference(metric):
    data = casia_b(seed=1)
    result = evaluate(*data, dataset_name="CASIA-B", metric=metric, cross_view=True)
    reference = reference_cross_view(data, PROTOCOLS["CASIA-B"], metric)
    out = result.to_dict()
    assert out["protocol"] == "CASIA-B cross-view"
    for name, (mean, per_view, mean_ap) in reference.items():
        assert abs(out["conditions"][name]["rank1"] - mean) <= TOLERANCE
        assert abs(out["conditions"][name]["mAP"] - mean_ap) <= TOLERANCE
        for v, value in per_view.items():
            assert abs(out["conditions"][name]["per_view"][v] - value) <= TOLERANCE


def test_oumvlp_with_missing_sequences_single_and_cross_view():
    ids = [f"{i:05d}" for i in range(1, 25)]
    data = make_data(ids, ["00", "01"], OUMVLP_VIEWS, seed=2, drop=0.25)
    protocol = PROTOCOLS["OU-MVLP"]
    result = evaluate(*data, dataset_name="OUMVLP")
    check_single_view(result, reference_single_view(data, protocol, "euc"))
    removed = evaluate(*data, dataset_name="OUMVLP", remove_no_gallery=True)
    check_single_view(removed, reference_single_view(data, protocol, "euc", remove=True))
    # leaving out probes without gallery can only raise the accuracy
    assert (
        removed.to_dict()["conditions"]["NM"]["rank1"]
        > result.to_dict()["conditions"]["NM"]["rank1"]
    )
    cross = evaluate(*data, protocol="OU-MVLP", cross_view=True).to_dict()["conditions"]["NM"]
    mean, _, mean_ap = reference_cross_view(data, protocol, "euc")["NM"]
    assert abs(cross["rank1"] - mean) <= TOLERANCE and abs(cross["mAP"] - mean_ap) <= TOLERANCE


def test_casia_e_ignores_view_270():
    types = ["H-scene1-nm-1", "L-scene1-nm-2", "H-scene2-nm-1", "L-scene3-bg-2", "H-scene3_s-cl-1"]
    data = make_data([f"{i:03d}" for i in range(1, 9)], types, ["000", "045", "090", "270"], seed=3)
    result = evaluate(*data, dataset_name="CASIA-E")
    reference = reference_single_view(data, PROTOCOLS["CASIA-E"], "euc")
    check_single_view(result, reference)
    assert result.views == ["000", "045", "090"]


def test_sustech1k_substring_types_and_rank5():
    types = ["00-nm", "01-nm", "01-bg", "02-cl", "03-cr", "04-ub", "01-uf", "02-oc", "03-nt"]
    data = make_data([f"{i:04d}" for i in range(1, 13)], types, ["000", "090", "180"], seed=4, noise=1.6)  # fmt: skip
    result = evaluate(*data, dataset_name="SUSTech1K")
    protocol = PROTOCOLS["SUSTech1K"]
    check_single_view(result, reference_single_view(data, protocol, "euc"))
    rank5 = reference_single_view(data, protocol, "euc", rank=5)
    out = result.to_dict()["conditions"]
    for name, (mean, per_view, _) in rank5.items():
        assert abs(out[name]["rank5"] - mean) <= TOLERANCE
        for v, value in per_view.items():
            assert abs(out[name]["per_view_rank5"][v] - value) <= TOLERANCE
    # 'Overall' takes every probe type containing 01..04: more probes than 'Bag'
    assert out["Overall"]["rank5"] >= out["Overall"]["rank1"]


@pytest.mark.parametrize("name", ["GREW", "HID2021", "0001-1000", "0001-1000-test", "TTG-200"])
def test_real_scene_presets_match_reference(name):
    protocol = PROTOCOLS[name]
    probe_types = protocol.conditions["overall"]
    types = list(probe_types) + list(protocol.gallery_types)
    rng = np.random.default_rng(5)
    data = make_data([f"{i:05d}" for i in range(1, 31)], types, ["a", "b"], seed=5, drop=0.3)
    feature, label, type_, view = data
    out = evaluate(*data, dataset_name=name, metric="cos").to_dict()
    assert set(out["conditions"]["overall"]) == {"rank1", "rank5", "rank10", "mAP", "mINP"}
    pmask, gmask = np.isin(type_, probe_types), np.isin(type_, protocol.gallery_types)
    reference = reference_real_scene(feature, label, pmask, gmask, "cos", False, True)
    for key, value in reference.items():
        assert abs(out["conditions"]["overall"][key] - value) <= TOLERANCE, key
    assert rng is not None


def test_gait3d_uses_probe_set_and_skips_probes_without_gallery():
    data = make_data(
        [f"{i:04d}" for i in range(1, 21)], ["cam1", "cam2"], ["s1", "s2", "s3"], seed=6
    )
    feature, label, type_, view = data
    names = np.array([f"{a}-{b}-{c}" for a, b, c in zip(label, type_, view)])
    rng = np.random.default_rng(6)
    probe_names = set(rng.choice(names, size=25, replace=False))
    # subject 0001 only in the probe set: it has no gallery and must be skipped (Gait3D rule)
    probe_names |= {n for n in names if n.startswith("0001-")}
    result = evaluate(*data, dataset_name="Gait3D", probe_set=sorted(probe_names))
    pmask = np.isin(names, list(probe_names))
    reference = reference_real_scene(feature, label, pmask, ~pmask, "euc", True, False)
    out = result.to_dict()["conditions"]["overall"]
    for key, value in reference.items():
        assert abs(out[key] - value) <= TOLERANCE, key


def test_custom_protocol_with_identical_views_included():
    data = casia_b(seed=7)
    spec = {"name": "nm-vs-cl", "probe_types": {"CL": ["cl-01"]}, "gallery_types": ["nm-01"],
            "exclude_identical_view": False}  # fmt: skip
    result = evaluate(*data, protocol=spec)
    feature, label, type_, view = data
    acc = reference_single_view(
        data, PROTOCOLS["CASIA-B"].__class__(name="x", kind="view", conditions={"CL": ("cl-01",)},
                                             gallery_types=("nm-01",)), "euc")["CL"][2]  # fmt: skip
    expected = np.nanmean(acc, axis=1)  # identical views included in each row's mean
    per_view = result.to_dict()["conditions"]["CL"]["per_view"]
    for a, v in enumerate(sorted(set(view))):
        assert abs(per_view[v] - expected[a]) <= TOLERANCE
    assert result.to_dict()["protocol"] == "nm-vs-cl"


def test_feature_on_other_layouts_and_dtypes_give_same_numbers():
    data = casia_b(seed=8)
    base = evaluate(*data, dataset_name="CASIA-B").to_dict()
    as_tensor = evaluate(torch.from_numpy(data[0]), *data[1:], dataset_name="CASIA-B").to_dict()
    as_double = evaluate(data[0].astype(np.float64), *data[1:], dataset_name="CASIA-B").to_dict()
    assert base == as_tensor
    assert (
        abs(base["conditions"]["NM"]["rank1"] - as_double["conditions"]["NM"]["rank1"]) <= TOLERANCE
    )
