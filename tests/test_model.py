"""FIENet on tiny CPU inputs with random weights: shapes, gradients, switches, init, weights files."""

from __future__ import annotations

import urllib.error

import pytest
import torch
import torchvision

from fienet.config import LossConfig, ModelConfig
from fienet.losses import FIENetCriterion
from fienet.model import FIENet, TwoStreamResNet, build_model
from fienet.model.head import GeM

NUM_CLASSES = 4

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def _cfg(**kw) -> ModelConfig:
    base = dict(arch="resnet18", weights=None)
    base.update(kw)
    return ModelConfig(**base)


def _model(seed: int = 0, **kw) -> FIENet:
    torch.manual_seed(seed)
    return build_model(_cfg(**kw), NUM_CLASSES)


def _images(n: int, h: int = 64, w: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 3, h, w, generator=torch.Generator().manual_seed(seed))


def _pk_batch():
    """2 images per identity and per modality, 4 identities: rows [visible; infrared]."""
    labels = torch.arange(NUM_CLASSES).repeat_interleave(2).repeat(2)  # (16,)
    is_ir = torch.arange(16) >= 8
    return _images(8, seed=1), _images(8, seed=2), labels, is_ir


# ---------------------------------------------------------------- shapes


@pytest.mark.parametrize(
    "arch, dim, size", [("resnet18", 512, (64, 32)), ("resnet34", 512, (32, 16)), ("resnet50", 2048, (32, 16))]
)
def test_output_shapes_for_each_backbone_and_modality_mix(arch, dim, size):
    model = _model(arch=arch)
    h, w = size
    assert model.feature_dim == dim
    for vis, ir in ((2, 0), (0, 2), (1, 1)):
        visible = _images(vis, h, w) if vis else None
        infrared = _images(ir, h, w) if ir else None
        fmap = model.forward_features(visible, infrared)
        assert fmap.shape == (2, dim, h // 16, w // 16)  # last stride 1: stride 16
        out = model(visible=visible, infrared=infrared)
        assert out.pooled.shape == out.bn.shape == (2, dim) and out.logits.shape == (2, NUM_CLASSES)


def test_mixed_batch_rows_are_visible_then_infrared():
    model = _model().eval()
    vis, ir = _images(2, seed=3), _images(3, seed=4)
    with torch.no_grad():
        mixed = model(visible=vis, infrared=ir).pooled
        torch.testing.assert_close(mixed[:2], model(visible=vis).pooled, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(mixed[2:], model(infrared=ir).pooled, atol=1e-5, rtol=1e-4)
        # the two stems are different modules: the same pixels give different features once they differ
        model.backbone.stems["infrared"][0].weight.mul_(-1)
        assert not torch.allclose(model(infrared=vis).pooled, model(visible=vis).pooled)


def test_last_stride_two_halves_the_map():
    assert _model(last_stride=2).forward_features(_images(2)).shape == (2, 512, 2, 1)


def test_bad_inputs_and_configs_get_clear_errors():
    model = _model()
    with pytest.raises(ValueError, match="at least one of visible= or infrared="):
        model()
    with pytest.raises(ValueError, match=r"infrared images must be a non-empty \(B, 3, H, W\)"):
        model(infrared=torch.randn(2, 1, 64, 32))
    with pytest.raises(ValueError, match="must share their size"):
        model(visible=_images(2), infrared=_images(2, 32, 16))
    with pytest.raises(ValueError, match="modality must be one of"):
        model.embed(_images(2), "thermal")
    with pytest.raises(ValueError, match="model.arch must be one of"):
        _model(arch="resnet101")
    with pytest.raises(ValueError, match="model.test_feature must be one of"):
        _model(test_feature="logits")
    with pytest.raises(ValueError, match="model.mpim_groups must divide the MPIM branch width 128"):
        _model(mpim_groups=3)


# ---------------------------------------------------------------- gradients and training


def _open_zero_inits(model: FIENet) -> None:
    """Give the zero-initialised BatchNorm gammas of PFAM and MPIM a non-zero value."""
    with torch.no_grad():
        for step in (model.pfam.step23, model.pfam.step34):
            step.align[-1].weight.fill_(1.0)
        model.mpim.fuse[-1].weight.fill_(1.0)


def test_every_parameter_receives_a_gradient_on_a_mixed_batch():
    model = _model()
    criterion = FIENetCriterion(LossConfig(triplet="wrt", igcl_weight=1.0, igcl_margin=1.5))
    vis, ir, labels, is_ir = _pk_batch()
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert set(model.named_parameters()) - set(trainable.items()) == {("head.bnneck.bias", model.head.bnneck.bias)}

    criterion(model(visible=vis, infrared=ir), labels, is_ir)[0].backward()
    assert [n for n, p in trainable.items() if p.grad is None] == []

    # Behind a zero gamma the upstream gradients are exactly 0 at step 0; open the gates to see
    # that every parameter is really connected to the loss.
    model.zero_grad(set_to_none=True)
    _open_zero_inits(model)
    criterion(model(visible=vis, infrared=ir), labels, is_ir)[0].backward()
    assert [n for n, p in trainable.items() if p.grad is None or p.grad.abs().sum() == 0] == []


def test_a_few_optimiser_steps_lower_the_loss():
    model = _model(seed=1)
    criterion = FIENetCriterion(LossConfig())
    vis, ir, labels, is_ir = _pk_batch()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    losses = []
    for _ in range(6):
        loss, _ = criterion(model(visible=vis, infrared=ir), labels, is_ir)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.9 * losses[0], losses
    assert model.head.bnneck.bias.abs().sum() == 0  # frozen bias stays at 0


def test_param_groups_split_backbone_from_new_layers():
    model = _model()
    groups = model.param_groups()
    backbone, new = {id(p) for p in groups["backbone"]}, {id(p) for p in groups["new"]}
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert not backbone & new and backbone | new == trainable
    assert backbone == {id(p) for p in model.backbone.parameters()}
    assert id(model.head.pool.p) in new and id(model.mpim.fuse[0].weight) in new


# ---------------------------------------------------------------- switches and zero init


def test_switching_modules_off_removes_their_parameters():
    full, base = _model(), _model(pfam=False, mpim=False)
    assert base.pfam is None and base.mpim is None
    assert not any(n.startswith(("pfam.", "mpim.")) for n, _ in base.named_parameters())
    extra = sum(p.numel() for p in full.pfam.parameters()) + sum(p.numel() for p in full.mpim.parameters())
    assert sum(p.numel() for p in full.parameters()) - sum(p.numel() for p in base.parameters()) == extra
    with pytest.raises(ValueError, match="'pfam' is switched off"):
        base.target_layer("pfam")


@pytest.mark.parametrize("switches", [dict(pfam=True, mpim=False), dict(pfam=False, mpim=True), dict()])
def test_pfam_and_mpim_start_as_identity(switches):
    base = _model(seed=0, pfam=False, mpim=False)
    model = _model(seed=1, **switches)
    missing, unexpected = model.load_state_dict(base.state_dict(), strict=False)
    assert unexpected == [] and missing and all(k.startswith(("pfam.", "mpim.")) for k in missing)
    vis, ir = _images(2, seed=5), _images(2, seed=6)
    for train in (True, False):
        base.train(train), model.train(train)
        with torch.no_grad():
            expected, got = base(visible=vis, infrared=ir), model(visible=vis, infrared=ir)
        for a, b in zip(expected, got):
            assert torch.equal(a, b)
    # and the check can fail: once the gates open, the output moves
    if switches == {}:
        _open_zero_inits(model)
        with torch.no_grad():
            assert not torch.allclose(model(visible=vis, infrared=ir).pooled, base(visible=vis, infrared=ir).pooled)


# ---------------------------------------------------------------- embedding, Grad-CAM targets, GeM


def test_embed_is_l2_normalised_and_uses_the_configured_feature():
    images = _images(3)
    for feature in ("bn", "pooled"):
        model = _model(test_feature=feature).eval()
        with torch.no_grad():
            emb = model.embed(images, "infrared")
            ref = getattr(model(infrared=images), feature)
        torch.testing.assert_close(emb.norm(dim=1), torch.ones(3))
        torch.testing.assert_close(emb, ref / ref.norm(dim=1, keepdim=True))


def test_target_layers_by_name():
    model = _model()
    assert model.target_layer("layer3") is model.backbone.layer3
    assert model.target_layer("pfam") is model.pfam and model.target_layer("mpim") is model.mpim
    seen = {}
    handle = model.target_layer("pfam").register_forward_hook(lambda m, i, o: seen.setdefault("pfam", o))
    model.eval()(visible=_images(2))
    handle.remove()
    assert seen["pfam"].shape == (2, 512, 4, 2)  # the aggregated stage-4 map
    with pytest.raises(ValueError, match="unknown target layer 'layer5'"):
        model.target_layer("layer5")


def test_gem_hand_computed_and_float32_under_autocast():
    x = torch.tensor([1.0, 2.0, 3.0, 4.0]).reshape(1, 1, 2, 2)
    assert GeM(p=1.0)(x).item() == pytest.approx(2.5)
    assert GeM(p=2.0)(x).item() == pytest.approx((30 / 4) ** 0.5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert GeM(3.0)(x.bfloat16()).dtype == torch.float32


def test_channels_last_and_bf16_autocast():
    # bf16 convolutions are slow on CPUs without bf16 units: 2 identities x 1 image per modality
    model = _model().to(memory_format=torch.channels_last)
    vis, ir = (_images(2, 32, 16, seed=s).contiguous(memory_format=torch.channels_last) for s in (8, 9))
    labels, is_ir = torch.tensor([0, 1, 0, 1]), torch.tensor([False, False, True, True])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(visible=vis, infrared=ir)
        loss, _ = FIENetCriterion(LossConfig())(out, labels, is_ir)
    loss.backward()
    assert out.pooled.dtype == torch.float32 and torch.isfinite(loss)
    assert torch.isfinite(model.backbone.layer1[0].conv1.weight.grad).all()


# ---------------------------------------------------------------- weights


def _saved_resnet18(path):
    torch.manual_seed(7)
    state = torchvision.models.resnet18(weights=None).state_dict()
    torch.save(state, path)
    return state


def test_local_weights_file_is_loaded_into_both_stems_and_stages(tmp_path):
    state = _saved_resnet18(tmp_path / "resnet18.pth")
    backbone = TwoStreamResNet("resnet18", str(tmp_path / "resnet18.pth"))
    for modality in ("visible", "infrared"):
        assert torch.equal(backbone.stems[modality][0].weight, state["conv1.weight"])
        assert torch.equal(backbone.stems[modality][1].running_var, state["bn1.running_var"])
    assert backbone.stems["visible"][0].weight is not backbone.stems["infrared"][0].weight
    assert torch.equal(backbone.layer4[1].conv2.weight, state["layer4.1.conv2.weight"])
    assert not any(n.startswith(("fc.", "avgpool")) for n, _ in backbone.named_parameters())
    # files older than BatchNorm's step counter load too
    torch.save({k: v for k, v in state.items() if "num_batches_tracked" not in k}, tmp_path / "old.pth")
    old = TwoStreamResNet("resnet18", str(tmp_path / "old.pth"))
    assert torch.equal(old.layer1[0].bn1.weight, state["layer1.0.bn1.weight"])


def test_bad_weights_files_get_clear_errors(tmp_path):
    missing = tmp_path / "nope.pth"
    with pytest.raises(FileNotFoundError, match=r"nope\.pth: model weights file not found"):
        TwoStreamResNet("resnet18", str(missing))
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(b"this is not a checkpoint")
    with pytest.raises(ValueError, match=r"corrupt\.pth: cannot be read as model weights"):
        TwoStreamResNet("resnet18", str(corrupt))
    _saved_resnet18(tmp_path / "r18.pth")
    with pytest.raises(ValueError, match=r"r18\.pth: does not match torchvision's resnet34"):
        TwoStreamResNet("resnet34", str(tmp_path / "r18.pth"))


def test_offline_imagenet_download_explains_the_local_file_option(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # empty hub cache, so a download is attempted

    def no_network(url, *args, **kwargs):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    expected = r"could not fetch the ImageNet weights of resnet18.*model\.weights=/path/to/resnet18-f37072fd\.pth"
    with pytest.raises(RuntimeError, match=expected):
        TwoStreamResNet("resnet18", "imagenet")


def test_module_readout_matches_the_forward_pass_and_starts_at_zero_contribution() -> None:
    from fienet.config import ModelConfig
    from fienet.model import build_model
    from fienet.model.readout import module_readout

    torch.manual_seed(0)
    cfg = ModelConfig(arch="resnet18", weights=None, last_stride=2, mpim_groups=8)
    model = build_model(cfg, num_classes=4).eval()
    visible, infrared = torch.randn(2, 3, 64, 32), torch.randn(2, 3, 64, 32)
    table = module_readout(model, visible, infrared)
    contribution = table[table.part.str.startswith("contribution")]
    assert len(contribution) == 6 and (contribution.value == 0).all()  # identity at initialisation
    shares = table[table.part.str.startswith("branch")].groupby("modality").value.sum()
    assert all(abs(v - 1.0) < 1e-5 for v in shares.values)  # a softmax over branches
    gates = table[table.part.str.startswith("gate")].value
    assert ((gates > 0) & (gates < 1)).all() and set(table.modality) == {"visible", "infrared"}
    # After a perturbation the readout's re-computation still equals the real forward pass.
    for bn in (model.pfam.step23.align[-1], model.pfam.step34.align[-1], model.mpim.fuse[-1]):
        torch.nn.init.constant_(bn.weight, 0.5)
    table = module_readout(model, visible, infrared)
    x = model.backbone.stem(visible, "visible")
    _, f2, f3, f4 = model.backbone(x)
    pfam_out = model.pfam(f2, f3, f4)
    expected = ((model.mpim(pfam_out) - pfam_out).flatten(1).norm(dim=1) / pfam_out.flatten(1).norm(dim=1)).mean()
    got = table.query("part == 'contribution' and modality == 'visible'").value.item()
    assert abs(got - expected.item()) < 1e-5 and got > 0
