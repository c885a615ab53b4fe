"""The built-in losses against straightforward references, and the aggregator's rules."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from gaitgen.runtime import BaseLoss, CrossEntropyLoss, LossAggregator, TripletLoss
from gaitgen.runtime.errors import ConfigError, TrainingError


def reference_triplet(
    embeddings: torch.Tensor, labels: torch.Tensor, margin: float
) -> torch.Tensor:
    """Batch-all triplet loss per part with explicit loops (anchor is its own positive)."""
    n, _, parts = embeddings.shape
    result = []
    for part in range(parts):
        x = embeddings[:, :, part]
        losses = []
        for a, pos, neg in itertools.product(range(n), repeat=3):
            if labels[a] == labels[pos] and labels[a] != labels[neg]:
                d_ap = (x[a] - x[pos]).norm()
                d_an = (x[a] - x[neg]).norm()
                losses.append(F.relu(d_ap - d_an + margin))
        losses = torch.stack(losses)
        nonzero = (losses > 0).sum()
        result.append(losses.sum() / nonzero if nonzero else losses.sum() * 0)
    return torch.stack(result)


@pytest.mark.parametrize("labels", [[0, 0, 1, 1, 2, 2], [0, 0, 0, 1, 2, 2]])
def test_triplet_matches_reference(labels: list[int]) -> None:
    torch.manual_seed(0)
    embeddings = torch.randn(6, 5, 3)
    labels_t = torch.tensor(labels)
    loss, info = TripletLoss(margin=0.3)(embeddings=embeddings, labels=labels_t)
    expected = reference_triplet(embeddings, labels_t, 0.3)
    assert torch.allclose(loss, expected, atol=1e-4)
    assert set(info) == {"loss", "hard_loss", "loss_num", "mean_dist"}
    assert float(info["loss"]) == pytest.approx(float(expected.mean()), abs=1e-4)


def test_triplet_gradient_is_finite_for_identical_embeddings() -> None:
    embeddings = torch.ones(4, 8, 2, requires_grad=True)
    loss, _ = TripletLoss(margin=0.2)(embeddings=embeddings, labels=torch.tensor([0, 0, 1, 1]))
    loss.mean().backward()
    assert torch.isfinite(embeddings.grad).all()


def test_cross_entropy_matches_torch_and_logs_accuracy() -> None:
    torch.manual_seed(0)
    logits = torch.randn(4, 3, 2)  # [n, classes, p]
    labels = torch.tensor([0, 1, 2, 1])
    loss, info = CrossEntropyLoss(scale=4, label_smooth=False, log_accuracy=True)(
        logits=logits, labels=labels
    )
    expected = torch.stack([F.cross_entropy(logits[:, :, p] * 4, labels) for p in range(2)]).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    accuracy = (logits.argmax(1) == labels[:, None]).float().mean()
    assert info["accuracy"].item() == pytest.approx(accuracy.item())
    smoothed, _ = CrossEntropyLoss(scale=4, eps=0.1)(logits=logits, labels=labels)
    assert smoothed.item() != pytest.approx(loss.item())


def test_aggregator_weights_losses_and_adds_bare_tensors() -> None:
    cfg = [
        {"type": "TripletLoss", "margin": 0.2, "log_prefix": "triplet", "loss_term_weight": 2.0},
        {"type": "CrossEntropyLoss", "log_prefix": "softmax", "loss_term_weight": 0.5},
    ]
    aggregator = LossAggregator(cfg)
    torch.manual_seed(0)
    embeddings, logits = torch.randn(4, 8, 2), torch.randn(4, 3, 2)
    labels = torch.tensor([0, 0, 1, 1])
    extra = torch.tensor([1.0, 3.0])
    total, info = aggregator(
        {
            "triplet": {"embeddings": embeddings, "labels": labels},
            "softmax": {"logits": logits, "labels": labels},
            "reg": extra,
        }
    )
    triplet = TripletLoss(0.2)(embeddings=embeddings, labels=labels)[0].mean()
    softmax = CrossEntropyLoss()(logits=logits, labels=labels)[0]
    assert total.item() == pytest.approx((2.0 * triplet + 0.5 * softmax + 2.0).item(), rel=1e-5)
    assert "scalar/triplet/loss" in info and "scalar/softmax/loss" in info and "scalar/reg" in info


def test_aggregator_rejects_a_key_without_loss() -> None:
    aggregator = LossAggregator({"type": "TripletLoss", "log_prefix": "triplet"})
    with pytest.raises(TrainingError, match=r"'softmax' has no loss.*\['triplet'\]"):
        aggregator({"softmax": {"logits": torch.zeros(2, 2, 1), "labels": torch.tensor([0, 1])}})


def test_bad_loss_config_names_the_entry() -> None:
    with pytest.raises(
        ConfigError, match=r"loss_cfg\[0\]\.margn: TripletLoss has no parameter 'margn'.*'margin'"
    ):
        LossAggregator([{"type": "TripletLoss", "margn": 0.2}])
    with pytest.raises(ConfigError, match="used by two losses"):
        LossAggregator(
            [
                {"type": "TripletLoss", "log_prefix": "a"},
                {"type": "CrossEntropyLoss", "log_prefix": "a"},
            ],
        )


def test_base_loss_defaults_and_unimplemented_forward() -> None:
    loss = BaseLoss()
    assert loss.loss_term_weight == 1.0 and loss.info == {}
    with pytest.raises(NotImplementedError):
        loss(torch.zeros(1))


def test_a_loss_the_model_never_feeds_is_an_error_naming_it() -> None:
    aggregator = LossAggregator(
        [
            {"type": "TripletLoss", "log_prefix": "triplet"},
            {"type": "CrossEntropyLoss", "log_prefix": "softmax"},
        ],
    )
    feat = {"triplet": {"embeddings": torch.randn(4, 8, 2), "labels": torch.tensor([0, 0, 1, 1])}}
    with pytest.raises(
        TrainingError,
        match=r"loss_cfg\[1\] \(CrossEntropyLoss, log_prefix 'softmax'\) gets nothing: the "
        r"model's "
        r"training_feat has keys \['triplet'\]",
    ):
        aggregator(feat)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (
            {"embeddings": torch.randn(4, 8)},
            r"training_feat\['triplet'\] does not fit TripletLoss.forward\(embeddings, labels\): "
            r"missing \['labels'\]",
        ),
        (
            {"embeddings": torch.randn(4, 8, 2), "labels": torch.arange(4), "typs": [1]},
            r"unexpected \['typs'\]",
        ),
        (
            {"embeddings": torch.randn(4, 8), "labels": torch.arange(4)},
            r"\['embeddings'\] must have 3 dimensions for TripletLoss \(\[n, c, p\]\), "
            r"got shape \[4, 8\]",
        ),
        (
            {"embeddings": torch.randn(5, 8, 2), "labels": torch.arange(4)},
            r"\['embeddings'\] has 5 rows \(shape \[5, 8, 2\]\) but labels has 4",
        ),
    ],
)
def test_arguments_that_do_not_fit_a_loss_name_the_loss_and_the_key(arguments, message) -> None:
    aggregator = LossAggregator({"type": "TripletLoss", "log_prefix": "triplet"})
    with pytest.raises(TrainingError, match=message):
        aggregator({"triplet": arguments})


class EmbeddingsOnly(BaseLoss):
    """A loss of embeddings and labels only (no logits), to borrow triplet's arguments."""

    def forward(self, embeddings, labels):
        loss = embeddings.float().pow(2).mean() + 0 * labels.float().sum()
        self.info.update({"loss": loss.detach()})
        return loss, self.info


def labelled_feat(extra: dict | None = None) -> dict:
    torch.manual_seed(0)
    labels = torch.tensor([0, 0, 1, 1])
    return {
        "triplet": {"embeddings": torch.randn(4, 8, 2), "labels": labels, **(extra or {})},
        "softmax": {"logits": torch.randn(4, 3, 2), "labels": labels},
    }


TWO_LOSSES = [
    {"type": "TripletLoss", "log_prefix": "triplet", "margin": 0.2},
    {"type": "CrossEntropyLoss", "log_prefix": "softmax"},
]


def test_inputs_from_feeds_a_loss_another_entry_s_arguments() -> None:
    cfg = [
        *TWO_LOSSES,
        {
            "type": f"{__name__}.EmbeddingsOnly",
            "log_prefix": "mine",
            "inputs_from": "triplet",
            "loss_term_weight": 3.0,
        },
    ]
    aggregator = LossAggregator(cfg)
    feat = labelled_feat()
    total, info = aggregator(feat)
    baseline, _ = LossAggregator(TWO_LOSSES)(feat)
    mine = feat["triplet"]["embeddings"].pow(2).mean()
    assert total.item() == pytest.approx((baseline + 3.0 * mine).item(), rel=1e-5)
    assert info["scalar/mine/loss"].item() == pytest.approx(mine.item())  # logged by its prefix
    assert "scalar/triplet/loss" in info  # the source loss still runs


class EmbeddingsAndLogits(BaseLoss):
    """A loss of embeddings, logits and labels: a dict a smaller loss can borrow from."""

    def forward(self, embeddings, logits, labels):
        loss = embeddings.float().mean() + logits.float().mean() + 0 * labels.float().sum()
        return loss, self.info


def test_inputs_from_passes_only_the_arguments_the_loss_takes() -> None:
    cfg = [
        {"type": f"{__name__}.EmbeddingsAndLogits", "log_prefix": "both"},
        {"type": f"{__name__}.EmbeddingsOnly", "log_prefix": "mine", "inputs_from": "both"},
    ]
    aggregator = LossAggregator(cfg)
    feat = labelled_feat()
    both = {**feat["triplet"], "logits": feat["softmax"]["logits"]}
    # EmbeddingsOnly.forward(embeddings, labels) gets no logits (it would refuse them)
    terms, info = aggregator.loss_terms({"both": both})
    assert terms["mine"].item() == pytest.approx(both["embeddings"].pow(2).mean().item())
    # a loss fed under its own prefix still gets exactly what the model returned
    with pytest.raises(TrainingError, match=r"unexpected \['logits'\]"):
        LossAggregator({"type": f"{__name__}.EmbeddingsOnly", "log_prefix": "both"})({"both": both})
    # and a borrowed dict without an argument the loss needs names the entry
    cfg[1]["inputs_from"] = "softmax"
    cfg[0] = {"type": "CrossEntropyLoss", "log_prefix": "softmax"}
    with pytest.raises(
        TrainingError,
        match=r"loss_cfg\[1\] \(EmbeddingsOnly, log_prefix 'mine', inputs_from 'softmax'\): "
        r"training_feat\['softmax'\] does not fit EmbeddingsOnly.forward\(embeddings, labels\): "
        r"missing \['embeddings'\]",
    ):
        LossAggregator(cfg)({"softmax": feat["softmax"]})


@pytest.mark.parametrize(
    "entries, message",
    [
        (
            [{"type": f"{__name__}.EmbeddingsOnly", "log_prefix": "mine", "inputs_from": "tripet"}],
            r"loss_cfg\[2\].inputs_from: 'tripet' is not the log_prefix of another loss_cfg "
            r"entry; the configured log_prefix values are \['triplet', 'softmax', 'mine'\]",
        ),
        (
            [{"type": f"{__name__}.EmbeddingsOnly", "log_prefix": "mine", "inputs_from": "mine"}],
            r"loss_cfg\[2\].inputs_from: 'mine' is this entry's own log_prefix",
        ),
        (
            [
                {"type": f"{__name__}.EmbeddingsOnly", "log_prefix": "a", "inputs_from": "triplet"},
                {"type": f"{__name__}.EmbeddingsOnly", "log_prefix": "b", "inputs_from": "a"},
            ],
            r"loss_cfg\[3\].inputs_from: 'a' \(loss_cfg\[2\]\) takes its own arguments from "
            r"'triplet'.*not a chain",
        ),
        (
            [
                {"type": f"{__name__}.EmbeddingsOnly", "log_prefix": "a", "inputs_from": "b"},
                {"type": f"{__name__}.EmbeddingsOnly", "log_prefix": "b", "inputs_from": "a"},
            ],
            r"loss_cfg\[2\].inputs_from: 'b' \(loss_cfg\[3\]\) takes its own arguments from 'a'",
        ),
    ],
)
def test_bad_inputs_from_is_one_error_naming_the_entry(entries, message) -> None:
    with pytest.raises(ConfigError, match=message):
        LossAggregator([*TWO_LOSSES, *entries])


def test_inputs_from_a_key_the_model_does_not_return_names_the_entry() -> None:
    cfg = [
        {"type": "TripletLoss", "log_prefix": "triplet"},
        {"type": "CrossEntropyLoss", "log_prefix": "softmax"},
        {"type": "CrossEntropyLoss", "log_prefix": "mine", "inputs_from": "softmax"},
    ]
    feat = labelled_feat()
    del feat["softmax"]
    aggregator = LossAggregator(cfg)
    assert aggregator.routing_problems(feat)[1] == (
        "loss_cfg[2] (CrossEntropyLoss, log_prefix 'mine', inputs_from 'softmax') gets nothing: "
        "takes its arguments from 'softmax', but the model's training_feat has keys ['triplet']; "
        "set the loss's log_prefix (or inputs_from) to one of them, or make the model return that "
        "key"
    )


def test_a_loss_fed_twice_is_an_error() -> None:
    cfg = [
        *TWO_LOSSES,
        {"type": f"{__name__}.EmbeddingsOnly", "log_prefix": "mine", "inputs_from": "triplet"},
    ]
    feat = labelled_feat()
    feat["mine"] = dict(feat["triplet"])
    with pytest.raises(TrainingError, match=r"'mine', inputs_from 'triplet'\) has two sources"):
        LossAggregator(cfg)(feat)


def test_loss_terms_follow_the_model_s_order_and_sum_to_the_total() -> None:
    cfg = [
        *TWO_LOSSES,
        {"type": f"{__name__}.EmbeddingsOnly", "log_prefix": "mine", "inputs_from": "triplet"},
    ]
    aggregator = LossAggregator(cfg)
    feat = labelled_feat()
    feat = {"softmax": feat["softmax"], "triplet": feat["triplet"], "reg": torch.tensor([2.0])}
    terms, _ = aggregator.loss_terms(feat)
    assert list(terms) == ["softmax", "triplet", "mine", "reg"]  # a borrower after its source
    total, _ = aggregator(feat)
    assert total.item() == pytest.approx(sum(float(t) for t in terms.values()), rel=1e-6)


# --- supervised contrastive losses (GaitGraph, GaitGraph2) ---------------------------------


def reference_supcon(features, labels, temperature, base_temperature, distance=False):
    """Per-anchor supervised contrastive losses, one pair at a time (views of a sequence are
    anchors, the other views of its identity positives, every other view the contrast set)."""
    n, views, _ = features.shape
    points = [(features[i, k], int(labels[i])) for k in range(views) for i in range(n)]
    if distance:
        points = [(F.normalize(x, dim=0), label) for x, label in points]

    def similarity(a, b):
        return (-(a - b).norm() if distance else a @ b) / temperature

    losses = []
    for i, (anchor, label) in enumerate(points):
        others = [j for j in range(len(points)) if j != i]
        denominator = sum(torch.exp(similarity(anchor, points[j][0])) for j in others)
        positives = [j for j in others if points[j][1] == label]
        terms = [similarity(anchor, points[j][0]) - torch.log(denominator) for j in positives]
        mean = sum(terms) / len(terms) if terms else torch.tensor(0.0, dtype=features.dtype)
        losses.append(-(temperature / base_temperature) * mean)
    return torch.stack(losses)


def test_supcon_re_by_hand() -> None:
    from gaitgen.runtime.losses.supcon import SupConLoss_Re

    # two sequences of two identical 1-D views: +1 and -1. Each anchor has one positive
    # (s = 1) and two negatives (s = -1): loss = -(1 / 0.07) * (1 - log(e + 2 / e)).
    features = torch.tensor([[[1.0], [1.0]], [[-1.0], [-1.0]]])
    loss, info = SupConLoss_Re(temperature=1.0)(features=features, labels=torch.tensor([0, 1]))
    expected = (math.log(math.e + 2 / math.e) - 1) / 0.07
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert info["loss"].item() == pytest.approx(expected, rel=1e-6)


def test_supcon_lp_by_hand() -> None:
    from gaitgen.runtime.losses.supcon import SupConLoss_Lp

    # 1-D features +1, +1 (identity 0) and -1 (identity 1): distances 0, 2, 2. The two
    # anchors of identity 0 lose log(1 + e^-2) each; the third has no positive, is dropped.
    features = torch.tensor([[3.0], [0.5], [-2.0]])  # normalised to +1, +1, -1
    loss, _ = SupConLoss_Lp(temperature=1.0)(features=features, labels=torch.tensor([0, 0, 1]))
    assert loss.item() == pytest.approx(math.log(1 + math.exp(-2)), rel=1e-6)


@pytest.mark.parametrize("labels", [[0, 0, 1, 1, 2, 2], [0, 0, 0, 1, 2, 3]])
def test_supcon_losses_match_reference(labels: list[int]) -> None:
    from gaitgen.runtime.losses.supcon import SupConLoss_Lp, SupConLoss_Re

    torch.manual_seed(0)
    labels_t = torch.tensor(labels)
    features = torch.randn(6, 2, 5, dtype=torch.float64)
    loss, _ = SupConLoss_Re(temperature=0.5)(features=features, labels=labels_t)
    expected = reference_supcon(features, labels_t, 0.5, 0.07).mean()
    torch.testing.assert_close(loss, expected)

    flat = torch.randn(6, 5, dtype=torch.float64)
    loss, _ = SupConLoss_Lp(temperature=0.3)(features=flat, labels=labels_t)
    per_anchor = reference_supcon(flat.unsqueeze(1), labels_t, 0.3, 0.3, distance=True)
    torch.testing.assert_close(loss, per_anchor[per_anchor > 0].mean())


def test_supcon_stays_finite_at_opengaits_temperature() -> None:
    from gaitgen.runtime.losses.supcon import SupConLoss_Lp, SupConLoss_Re

    torch.manual_seed(0)
    labels = torch.tensor([0, 0, 1, 1])
    features = torch.randn(4, 2, 16, requires_grad=True)
    loss, _ = SupConLoss_Re(temperature=0.01)(features=features, labels=labels)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(features.grad).all()
    flat = torch.randn(4, 16, requires_grad=True)
    loss, _ = SupConLoss_Lp(temperature=0.01)(features=flat, labels=labels)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(flat.grad).all()
