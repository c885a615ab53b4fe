"""Pieces of the evaluator: distances, re-ranking, protocols, config mapping, tables, heatmaps."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from gaitgen.runtime.errors import ConfigError, DataError
from gaitgen.runtime.evaluation import PROTOCOLS, evaluate, evaluate_from_config, get_protocol
from gaitgen.runtime.evaluation.distance import FeatureDistances
from gaitgen.runtime.evaluation.heatmap import save_heatmap
from gaitgen.runtime.evaluation.protocols import protocol_from_dict
from gaitgen.runtime.evaluation.ranking import count_below, count_ranks
from gaitgen.runtime.evaluation.rerank import k_reciprocal_rerank
from gaitgen.runtime.evaluation.tiling import BlockSizes, WorkerPool, spans
from PIL import Image

TYPES = [f"nm-0{i}" for i in range(1, 7)] + ["bg-01", "bg-02", "cl-01", "cl-02"]
VIEWS = ["000", "090", "180"]


def casia_b_like(seed=0, ids=4, channels=8, parts=2):
    rng = np.random.default_rng(seed)
    rows = [(f"{i:03d}", t, v) for i in range(ids) for t in TYPES for v in VIEWS]
    centres = rng.normal(size=(ids, channels, parts))
    feature = np.stack([centres[int(i)] + rng.normal(size=(channels, parts)) for i, _, _ in rows])
    return feature.astype(np.float32), *(np.array([r[k] for r in rows]) for k in range(3))


# ------------------------------------------------------------------------ distances


@pytest.mark.parametrize("metric", ["euc", "cos"])
def test_distance_matrix_matches_opengait_definition(metric):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(7, 5, 3)).astype(np.float32)
    y = rng.normal(size=(6, 5, 3)).astype(np.float32)
    feature = torch.from_numpy(np.concatenate([x, y]))
    got = FeatureDistances(feature, metric, torch.device("cpu")).matrix(
        torch.arange(7), torch.arange(7, 13)
    )
    xd, yd = x.astype(np.float64), y.astype(np.float64)
    if metric == "euc":  # per part, then the mean over parts
        expected = np.sqrt(((xd[:, None] - yd[None]) ** 2).sum(2)).mean(2)
    else:  # parts normalised over channels, 1 - mean similarity
        xn = xd / np.linalg.norm(xd, axis=1, keepdims=True)
        yn = yd / np.linalg.norm(yd, axis=1, keepdims=True)
        expected = 1 - np.einsum("icp,jcp->ij", xn, yn) / 3
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-5)


def test_identical_features_are_at_distance_zero_not_nan():
    feature = torch.full((2, 64, 4), 1234.5678)  # |x|^2 + |y|^2 - 2 x.y rounds below 0
    dist = FeatureDistances(feature, "euc", torch.device("cpu")).matrix(
        torch.tensor([0]), torch.tensor([1])
    )
    assert torch.isfinite(dist).all() and float(dist) < 1e-2


def test_parallel_prepare_in_chunks_equals_one_block():
    feature = torch.randn(50, 6, 3)
    rows = torch.randperm(50)[:37]
    distances = FeatureDistances(feature, "euc", torch.device("cpu"))
    for gallery in (False, True):
        whole = distances.prepare(rows, gallery=gallery)
        with WorkerPool(torch.device("cpu")) as pool:
            chunked = distances.prepare(rows, pool, chunk=5, gallery=gallery)
        assert torch.equal(whole.parts, chunked.parts)
    # [n, p, c + 2]: the features, then |x|^2 and 1 (probes) or -1/2 and -|y|^2/2 (gallery)
    probes, gallery = distances.prepare(rows), distances.prepare(rows, gallery=True)
    squared = feature[rows].square().sum(1)  # [n, p]
    assert torch.equal(probes.parts[:, :, :6], feature[rows].transpose(1, 2))
    assert torch.allclose(probes.parts[:, :, 6], squared)
    assert torch.all(probes.parts[:, :, 7] == 1)
    assert torch.all(gallery.parts[:, :, 6] == -0.5)
    assert torch.allclose(gallery.parts[:, :, 7], -0.5 * squared)


@pytest.mark.parametrize("nonnegative", [True, False])
def test_count_below_is_a_strict_count(nonnegative):
    """Zeros, ties with a threshold, inf values and inf thresholds; both comparison paths."""
    generator = torch.Generator().manual_seed(0)
    values = torch.rand(7, 50, generator=generator) * 4  # [b, g] >= 0
    values[:, :5] = 0.0
    values[:, 5:9] = float("inf")
    values[:, 9:12] = values[:, 12:13]  # ties
    thresholds = torch.rand(7, 4, generator=generator) * 4
    thresholds[:, 0] = values[:, 12]  # equal to some values: they are not below it
    thresholds[:, 1] = 0.0
    thresholds[3, 2] = float("inf")
    expected = (values[:, None, :] < thresholds[:, :, None]).sum(2)
    found = count_below(values, thresholds, nonnegative)
    assert torch.equal(found.long(), expected)
    # a column slice of a wider band, as the band pass uses it
    band = torch.cat([values, values], 1)
    assert torch.equal(count_below(band[:, 50:], thresholds, nonnegative).long(), expected)


def test_count_below_float_path_handles_negative_values():
    values = torch.tensor([[-1.0, -0.5, 0.0, 0.5]])
    thresholds = torch.tensor([[-0.75, 0.25]])
    assert count_below(values, thresholds, nonnegative=False).tolist() == [[1, 3]]


@pytest.mark.parametrize(
    "rows, size, workers", [(100, 16, 2), (10, 16, 2), (1, 16, 4), (97, 10, 3)]
)
def test_spans_cover_the_range_evenly(rows, size, workers):
    cut = spans(5, 5 + rows, size, workers)
    assert cut[0][0] == 5 and cut[-1][1] == 5 + rows
    assert all(a[1] == b[0] for a, b in zip(cut, cut[1:]))
    lengths = [b - a for a, b in cut]
    assert max(lengths) <= size and max(lengths) - min(lengths) <= 1
    if rows >= workers:
        assert len(cut) % workers == 0


@pytest.mark.parametrize("exclude_same_view, full", [(False, False), (True, True)])
def test_band_pass_equals_gallery_in_blocks(exclude_same_view, full):
    """The one-pass band (gallery laid out whole) and the two-pass blocked gallery agree."""
    generator = torch.Generator().manual_seed(3)
    feature = torch.randn(120, 8, 4, generator=generator)
    labels = torch.arange(120) // 10
    views = torch.arange(120) % 5
    probe_rows, gallery_rows = torch.arange(0, 120, 2), torch.arange(1, 120, 2)
    distances = FeatureDistances(feature, "euc", torch.device("cpu"))
    results = []
    for gallery_block in (7, 1000):
        sizes = BlockSizes(superblock=16, gallery_block=gallery_block, probe_tile=6,
                           gallery_tile=5, threshold_tile=4, count_chunk=9)  # fmt: skip
        results.append(
            count_ranks(
                distances, probe_rows, labels[probe_rows], views[probe_rows], gallery_rows,
                labels[gallery_rows], views[gallery_rows], 5,
                exclude_same_view=exclude_same_view, full=full, per_view=True, sizes=sizes,
            )  # fmt: skip
        )
    blocked, band = results
    for name in ("relevant", "closer", "excluded", "view_relevant", "view_closer"):
        a, b = getattr(blocked, name), getattr(band, name)
        assert (a is None) == (b is None), name
        if a is not None:
            assert torch.allclose(a, b), name
    assert int(band.view_closer.sum()) > 0  # not a trivial case


def test_worker_pool_restores_threads_and_raises_worker_errors():
    before = torch.get_num_threads()

    def work(item):
        if item == 3:
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        with WorkerPool(torch.device("cpu")) as pool:
            pool.run(work, range(6))
    assert torch.get_num_threads() == before


def test_nan_features_are_one_clear_error():
    feature, label, type_, view = casia_b_like()
    feature[5, 0, 0] = np.nan
    with pytest.raises(DataError, match="NaN or infinite"):
        evaluate(feature, label, type_, view, protocol="CASIA-B")


def test_mismatched_lengths_raise():
    feature, label, type_, view = casia_b_like()
    with pytest.raises(DataError, match="view: .* entries"):
        evaluate(feature, label, type_, view[:-2], protocol="CASIA-B")


# ------------------------------------------------------------------------ re-ranking


def reference_rerank(dist, num_probes, k1, k2, lam):
    """The published algorithm written plainly (float64, loops over sequences)."""
    n = len(dist)
    original = (dist / dist.max(axis=0)).T
    rank = np.argsort(original, axis=1, kind="stable")

    def reciprocal(i, k):
        forward = rank[i, : k + 1]
        return np.array([j for j in forward if i in rank[j, : k + 1]])

    weights = np.zeros((n, n))
    for i in range(n):
        core = reciprocal(i, k1)
        expansion = list(core)
        for j in core:
            candidate = reciprocal(j, int(np.around(k1 / 2)))
            if len(np.intersect1d(candidate, core)) > 2 / 3 * len(candidate):
                expansion += list(candidate)
        expansion = np.unique(expansion)
        w = np.exp(-original[i, expansion])
        weights[i, expansion] = w / w.sum()
    if k2 != 1:
        weights = np.stack([weights[rank[i, :k2]].mean(0) for i in range(n)])
    jaccard = np.zeros((num_probes, n))
    for i in range(num_probes):
        overlap = np.minimum(weights[i][None], weights).sum(1)
        jaccard[i] = 1 - overlap / (2 - overlap)
    final = jaccard * (1 - lam) + original[:num_probes] * lam
    return final[:, num_probes:]


def test_rerank_matches_plain_reference():
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(6, 4))
    points = np.concatenate([centres[i % 6] + 0.6 * rng.normal(size=(1, 4)) for i in range(42)])
    dist = np.sqrt(((points[:, None] - points[None]) ** 2).sum(2))
    expected = reference_rerank(dist, 12, k1=6, k2=3, lam=0.3)
    got = k_reciprocal_rerank(torch.tensor(dist, dtype=torch.float32), 12, k1=6, k2=3, lambda_value=0.3)  # fmt: skip
    np.testing.assert_allclose(got.numpy(), expected, atol=2e-5)


def test_rerank_flag_changes_distances_but_keeps_the_format():
    feature, label, type_, view = casia_b_like(seed=4)
    plain = evaluate(feature, label, type_, view, protocol="CASIA-B", cross_view=True).to_dict()
    reranked = evaluate(feature, label, type_, view, protocol="CASIA-B", cross_view=True, rerank=True)  # fmt: skip
    data = reranked.to_dict()
    assert data["metric"] == "euc+rerank"
    assert set(data["conditions"]) == set(plain["conditions"])
    assert data["conditions"]["NM"]["mAP"] != plain["conditions"]["NM"]["mAP"]


# ------------------------------------------------------------------------ protocols


def test_presets_hold_opengaits_lists():
    casia_b = PROTOCOLS["CASIA-B"]
    assert casia_b.conditions == {
        "NM": ("nm-05", "nm-06"),
        "BG": ("bg-01", "bg-02"),
        "CL": ("cl-01", "cl-02"),
    }
    assert casia_b.gallery_types == ("nm-01", "nm-02", "nm-03", "nm-04")
    assert casia_b.probe_conditions(True) == {"NM": ("nm-01",), "BG": ("bg-01",), "CL": ("cl-01",)}
    assert casia_b.gallery(True) == ("nm-02", "bg-02", "cl-02")
    assert get_protocol("OUMVLP").gallery_types == ("01",)
    assert get_protocol("SynthGait") is casia_b
    assert PROTOCOLS["CASIA-E"].ignored_views == ("270",)
    assert len(PROTOCOLS["CASIA-E"].conditions["NM"]) == 12
    assert "H-scene1-nm-1" in PROTOCOLS["CASIA-E"].gallery_types
    assert PROTOCOLS["SUSTech1K"].type_match == "substring"
    assert PROTOCOLS["GREW"].conditions == {"overall": ("02",)}


def test_unknown_preset_suggests_close_names():
    with pytest.raises(ConfigError, match="did you mean 'SUSTech1K'"):
        get_protocol("SUSTech-1K")


def test_custom_protocol_validation_names_the_key():
    with pytest.raises(ConfigError, match="probe_typs: unknown key .*probe_types"):
        protocol_from_dict({"probe_typs": ["a"], "gallery_types": ["b"]})
    with pytest.raises(ConfigError, match="gallery_types: missing"):
        protocol_from_dict({"probe_types": ["a"]})
    custom = protocol_from_dict({"probe_types": {"A": ["a"]}, "gallery_types": "b", "ranks": [5]})
    assert custom.conditions == {"A": ("a",)} and custom.ranks == (1, 5)


# ------------------------------------------------------------------------ config mapping


def config(**evaluator):
    return {
        "data_cfg": {"dataset_name": "SynthGait", "test_dataset_name": "SynthGait"},
        "evaluator_cfg": {"eval_func": "evaluate_indoor_dataset", "metric": "euc", **evaluator},
    }


def test_from_config_maps_opengait_settings():
    data = casia_b_like(seed=5)
    result = evaluate_from_config(config(metric="cos", cross_view_gallery=True), *data)
    expected = evaluate(*data, protocol="CASIA-B", metric="cos", cross_view=True)
    assert result.to_dict()["conditions"] == expected.to_dict()["conditions"]
    assert result.to_dict()["protocol"] == "CASIA-B cross-view"
    assert result.function == "evaluate_indoor_dataset"
    assert set(result.opengait) == {
        f"scalar/test_accuracy/{c}-{m}" for c in ("NM", "BG", "CL") for m in ("Rank@1", "mAP")
    }


def test_an_evaluation_function_is_taken_where_a_protocol_is():
    cfgs = config(protocol="evaluate_indoor_dataset")
    del cfgs["evaluator_cfg"]["eval_func"]
    result = evaluate_from_config(cfgs, *casia_b_like(seed=8))
    assert result.function == "evaluate_indoor_dataset"
    assert set(result.opengait) == {f"scalar/test_accuracy/{c}@R1" for c in ("NM", "BG", "CL")}
    with pytest.raises(ConfigError, match="evaluator_cfg.protocol: names the evaluation function"):
        evaluate_from_config(config(protocol="evaluate_real_scene"), *casia_b_like())


def test_from_config_custom_protocol_hook():
    data = casia_b_like(seed=6)
    spec = {"name": "bg-only", "probe_types": {"BG": ["bg-01"]}, "gallery_types": ["nm-01"]}
    result = evaluate_from_config(config(protocol=spec), *data)
    assert result.to_dict()["protocol"] == "bg-only"
    assert list(result.to_dict()["conditions"]) == ["BG"]


@pytest.mark.parametrize(
    ("evaluator", "message"),
    [
        ({"eval_func": "evaluate_real_scene"}, "use 'evaluate_indoor_dataset'"),
        ({"eval_func": "evaluate_Gait3D", "protocol": "CASIA-B"}, "has its own protocol"),
        ({"eval_func": "evaluate_indor_dataset"}, "did you mean 'evaluate_indoor_dataset'"),
        ({"metric": "l2"}, "metric"),
        ({"rerank": {"k3": 1}}, "rerank.k3"),
    ],
)
def test_from_config_errors_name_the_key(evaluator, message):
    with pytest.raises(ConfigError, match=message):
        evaluate_from_config(config(**evaluator), *casia_b_like())


def test_from_config_unknown_dataset_lists_presets():
    cfgs = config()
    cfgs["data_cfg"]["test_dataset_name"] = "CASIA-BB"
    with pytest.raises(ConfigError, match="did you mean 'CASIA-B'"):
        evaluate_from_config(cfgs, *casia_b_like())


def test_from_config_gait3d_reads_the_partition_probe_set(tmp_path):
    feature, label, type_, view = casia_b_like(seed=7)
    names = [f"{a}-{b}-{c}" for a, b, c in zip(label, type_, view, strict=True)]
    probes = names[::7]
    partition = tmp_path / "Gait3D.json"
    partition.write_text(json.dumps({"TRAIN_SET": [], "TEST_SET": [], "PROBE_SET": probes}))
    cfgs = {
        "data_cfg": {"dataset_name": "Gait3D", "dataset_partition": str(partition)},
        "evaluator_cfg": {"eval_func": "evaluate_Gait3D"},
    }
    result = evaluate_from_config(cfgs, feature, label, type_, view)
    expected = evaluate(feature, label, type_, view, protocol="Gait3D", probe_set=probes)
    assert result.to_dict()["conditions"] == expected.to_dict()["conditions"]
    assert result.to_dict()["protocol"] == "Gait3D"
    cfgs["data_cfg"].pop("dataset_partition")
    with pytest.raises(ConfigError, match="PROBE_SET"):
        evaluate_from_config(cfgs, feature, label, type_, view)


def test_cross_view_is_refused_for_real_scene():
    with pytest.raises(ConfigError, match="real-scene"):
        evaluate(*casia_b_like(), protocol="GREW", cross_view=True)


# ------------------------------------------------------------------------ output


def test_table_has_a_column_per_view_and_the_mean():
    result = evaluate(*casia_b_like(seed=8), protocol="CASIA-B")
    table = result.format_table()
    header = next(line for line in table.splitlines() if line.startswith("BG"))
    assert header.split() == ["BG", *VIEWS, "mean"]
    row = next(line for line in table.splitlines() if line.startswith("rank1"))
    assert float(row.split()[-1]) == pytest.approx(result.to_dict()["conditions"]["NM"]["rank1"], abs=0.005)  # fmt: skip


def test_save_writes_json_and_readable_heatmaps(tmp_path):
    result = evaluate(*casia_b_like(seed=9), protocol="CASIA-B")
    paths = result.save(tmp_path)
    assert json.loads((tmp_path / "results.json").read_text()) == result.to_dict()
    pngs = [p for p in paths if p.suffix == ".png"]
    assert len(pngs) == 3
    with Image.open(pngs[0]) as image:
        assert image.width > 300 and image.height > 250


def test_heatmap_colours_follow_the_values(tmp_path):
    path = save_heatmap(tmp_path / "h.png", [[100.0, 20.0], [None, 60.0]], ["a", "b"], "t", low=0)
    with Image.open(path) as image:
        rgb = image.convert("RGB")
        # cell centres, from the layout constants: left 90, top 90, cell 56 (text sits at the
        # centre, so sample a few pixels off it)
        high, low = rgb.getpixel((90 + 5, 90 + 5)), rgb.getpixel((90 + 56 + 5, 90 + 5))
        missing = rgb.getpixel((90 + 5, 90 + 56 + 5))
    assert high != low
    assert sum(high) > sum(low)  # bright for 100 %, dark for 20 %
    assert missing == (215, 215, 215)
