"""testing.check_model fails for models that cannot train: a parameter without a gradient, a
loss that does not fall (sequences joined with seqL that mix: test_model_contract.py). Shown on
a tiny model, on GaitBase, and on a model made by ``gaitgen new-model`` through the test that
gaitgen generates for it."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from gaitgen.runtime import Baseline, BaseModel
from gaitgen.runtime.testing import check_gradients, check_loss_falls, check_model
from typer.testing import CliRunner

from gaitgen.cli.app import app


class _Tiny(BaseModel):
    """A two-layer model; model_cfg ``unused`` adds a layer forward never calls, ``frozen``
    detaches the output from the parameters before the loss."""

    def build_network(self, model_cfg):
        self.first = torch.nn.Linear(4, 4)
        self.second = torch.nn.Linear(4, 2)
        if model_cfg.get("unused"):
            self.unused_head = torch.nn.Linear(4, 4)

    def forward(self, inputs):
        value = self.second(torch.tanh(self.first(inputs[0][0])))
        if self.cfgs["model_cfg"].get("frozen"):
            value = value.detach() + 0 * sum(p.sum() for p in self.parameters())
        return {
            "training_feat": {"square": {"value": value}},
            "visual_summary": {},
            "inference_feat": {"embeddings": value.unsqueeze(-1)},
        }


class _DeclaresUnusedHead(_Tiny):
    def parameters_without_gradient(self):
        return ("unused_head.*",)


class _DeclaresAMissingLayer(_Tiny):
    def parameters_without_gradient(self):
        return ("no_such_layer.*",)


def _square(training_feat):
    """A loss for _Tiny: the mean square of its output."""
    return training_feat["square"]["value"].pow(2).mean(), {}


BATCH = [[torch.randn(6, 4, generator=torch.Generator().manual_seed(0))], None, [], [], None]


def _after_backward(model_cls, **model_cfg) -> torch.nn.Module:
    torch.manual_seed(0)
    model = model_cls({"model_cfg": model_cfg}, True)
    _square(model(BATCH)["training_feat"])[0].backward()
    return model


def test_every_parameter_must_get_a_gradient() -> None:
    check_gradients(_after_backward(_Tiny))
    with pytest.raises(AssertionError) as failure:
        check_gradients(_after_backward(_Tiny, unused=True))
    message = str(failure.value)
    assert "_Tiny: 2 of 6 trainable parameters got no usable gradient" in message
    assert "unused_head.weight (no gradient), unused_head.bias (no gradient)." in message
    assert "first" not in message and "second" not in message  # only the offending ones
    assert "_Tiny.parameters_without_gradient()" in message


def test_a_declared_unused_layer_passes_and_a_stale_declaration_fails() -> None:
    check_gradients(_after_backward(_DeclaresUnusedHead, unused=True))
    with pytest.raises(AssertionError, match=r"names \['no_such_layer\.\*'\], which match no"):
        check_gradients(_after_backward(_DeclaresAMissingLayer))
    frozen = _after_backward(_Tiny)
    frozen.first.weight.requires_grad_(False)  # frozen on purpose: not a trainable parameter
    frozen.first.weight.grad = None
    check_gradients(frozen)


def test_zero_and_non_finite_gradients_are_named() -> None:
    layer = torch.nn.Linear(2, 2)
    (layer.weight.sum() * 0 + layer.bias.sum() * float("nan")).backward()
    with pytest.raises(AssertionError) as failure:
        check_gradients(layer)
    assert "weight (gradient all zero)" in str(failure.value)
    assert "bias (non-finite gradient)" in str(failure.value)


def test_the_loss_must_fall_on_one_batch() -> None:
    torch.manual_seed(0)
    model = _Tiny({"model_cfg": {}}, True)
    state = torch.random.get_rng_state()
    history = check_loss_falls(model, _square, BATCH)
    assert len(history) == 4 and history[-1] < history[0]
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's random state is kept
    with pytest.raises(ValueError, match="steps >= 3"):
        check_loss_falls(model, _square, BATCH, steps=2)
    torch.manual_seed(0)
    with pytest.raises(AssertionError, match="the loss did not fall over 4 Adam steps"):
        check_loss_falls(_Tiny({"model_cfg": {"frozen": True}}, True), _square, BATCH)


class _WithUnusedHead(Baseline):
    """GaitBase with a layer that forward never calls."""

    def build_network(self, model_cfg):
        super().build_network(model_cfg)
        self.unused_head = torch.nn.Linear(4, 4)


def test_check_model_runs_every_check_on_gaitbase(small_config_file) -> None:
    output = check_model(Baseline, small_config_file)  # GaitBase, as a project's baseline.yaml
    assert set(output["training_feat"]) == {"triplet", "softmax"}
    with pytest.raises(AssertionError, match="unused_head.weight"):
        check_model(_WithUnusedHead, small_config_file)


def test_a_generated_model_with_an_unused_layer_fails_its_generated_test(project) -> None:
    """The done-when of the model checks: gaitgen's own generated test catches the bug."""
    result = CliRunner().invoke(app, ["new-model", "BrokenNet"])
    assert result.exit_code == 0, result.output
    model_file = project / "demo" / "models" / "brokennet.py"
    source = model_file.read_text()
    signature = "    def build_network(self, model_cfg):\n"
    assert source.count(signature) == 1
    model_file.write_text(
        source.replace(signature, signature + "        self.unused = torch.nn.Linear(8, 8)\n")
    )
    # the generated test, unchanged, as the user runs it (a model that passes it: see
    # test_generate_render.py::test_generated_model_runs_the_runtime_checks)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        + ["tests/test_brokennet.py::test_forward_contract"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "1 failed" in output, output
    assert "FAILED tests/test_brokennet.py::test_forward_contract" in output, output
    assert "unused.weight (no gradient)" in output and "unused.bias (no gradient)" in output
