from __future__ import annotations

from typing import Any

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from optuna_naap import scheme_features
from optuna_naap.objective import SchemeNet

SAMPLE = [0, 1, 2, 57, 123, 200, 318, 439]


def test_parameter_count_equals_num_params_for_all_440(reference_schemes: list[Any]) -> None:
    for i, scheme in enumerate(reference_schemes):
        net = SchemeNet(scheme)
        params = sum(p.numel() for p in net.parameters())
        assert params == scheme_features(scheme)["NumParams"], i + 1


@pytest.mark.parametrize("index", SAMPLE)
def test_conv_and_linear_macs_agree_with_torch_flop_counter(
    reference_schemes: list[Any], index: int
) -> None:
    scheme = reference_schemes[index]
    net = SchemeNet(scheme).eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        net(torch.randn(1, 3, 32, 32))
    counted = counter.get_total_flops() // 2  # torch counts 2 FLOPs per multiply-add
    features = scheme_features(scheme)
    # thop's extra terms (BatchNorm 4 per element, the pool) are not matmul/conv FLOPs.
    size, bn_and_pool = 32, 0
    for block in scheme:
        size = (size - 1) // block["stride"] + 1
        bn_and_pool += 4 * block["width"] * size * size
    last = scheme[-1]["width"]
    bn_and_pool += last * (size * size + 1)
    assert counted == features["NumMACs"] - bn_and_pool


def test_forward_shapes_residual_and_init(reference_schemes: list[Any]) -> None:
    torch.manual_seed(0)
    residual = next(s for s in reference_schemes if any(b["residual"] for b in s))
    net = SchemeNet(residual)
    assert net(torch.randn(4, 3, 32, 32)).shape == (4, 10)
    assert net.residual_connections == [b["residual"] for b in residual]
    assert net.scheme == residual
    linear = net.classifier
    assert torch.all(linear.bias == 0)
    assert 0.003 < float(linear.weight.detach().std()) < 0.03
    bn = net.components[0][1]
    assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)
    conv = net.components[-1][0]
    fan_out = conv.out_channels * conv.kernel_size[0] * conv.kernel_size[1]
    assert float(conv.weight.detach().std()) == pytest.approx((2.0 / fan_out) ** 0.5, rel=0.3)
    assert conv.bias is None


def test_residual_adds_the_block_input() -> None:
    scheme = [
        {"kernel_size": 3, "width": 4, "stride": 1, "residual": False},
        {"kernel_size": 1, "width": 4, "stride": 1, "residual": True},
    ]
    net = SchemeNet(scheme).eval()
    x = torch.randn(2, 3, 8, 8)
    first = net.components[0](x)
    expected = net.components[1](first) + first
    with torch.no_grad():
        pooled = expected.mean(dim=(2, 3))
        assert torch.allclose(net(x), net.classifier(pooled), atol=1e-6)


def test_invalid_schemes_are_refused() -> None:
    with pytest.raises(ValueError, match="block 0: residual is not allowed"):
        SchemeNet([{"kernel_size": 3, "width": 4, "stride": 1, "residual": True}])
    with pytest.raises(ValueError, match="num_classes"):
        SchemeNet([{"kernel_size": 3, "width": 4, "stride": 1, "residual": False}], num_classes=0)
