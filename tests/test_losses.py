"""The built-in losses against straightforward references, and the aggregator's rules."""

from __future__ import annotations

import itertools

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
        match=r"CrossEntropyLoss \(log_prefix 'softmax'\) gets nothing: the model's "
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
