"""The NAAP network of a scheme (imports torch: loaded lazily by ``optuna_naap``)."""

from __future__ import annotations

import torch
from torch import nn

from optuna_naap._scheme import (
    INPUT_CHANNELS,
    NUM_CLASSES,
    SchemeLike,
    scheme_to_dicts,
    validate_scheme,
)

__all__ = ["SchemeNet"]


class SchemeNet(nn.Module):
    """The exact NAAP-440 network of a scheme.

    Each block is Conv2d (no bias, padding ``kernel_size // 2``) -> BatchNorm2d -> ReLU, with the
    block's input added after the ReLU where the block is residual; then global average pooling
    and a linear head. Initialisation as the NAAP reference: conv weights
    ``kaiming_normal_(mode="fan_out")``, BatchNorm weight 1 and bias 0, linear weights
    ``N(0, 0.01)`` and bias 0.

    Args:
        scheme: The scheme (JSON list of block dicts, or blocks).
        num_classes: Outputs of the linear head.
        in_channels: Channels of the input images.

    Example:
        .. code-block:: python

            import torch
            from optuna_naap.objective import SchemeNet

            net = SchemeNet([{"kernel_size": 3, "width": 12, "stride": 2, "residual": False}])
            assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    """

    def __init__(
        self,
        scheme: SchemeLike,
        *,
        num_classes: int = NUM_CLASSES,
        in_channels: int = INPUT_CHANNELS,
    ) -> None:
        super().__init__()
        blocks = validate_scheme(scheme, input_channels=in_channels)
        if num_classes < 1:
            raise ValueError(f"num_classes must be positive, but got {num_classes=}")
        self.scheme = scheme_to_dicts(blocks)
        self.components = nn.ModuleList()
        self.residual_connections = [b.residual for b in blocks]
        width = in_channels
        for block in blocks:
            self.components.append(
                nn.Sequential(
                    nn.Conv2d(
                        width,
                        block.width,
                        block.kernel_size,
                        block.stride,
                        block.kernel_size // 2,
                        bias=False,
                    ),
                    nn.BatchNorm2d(block.width),
                    nn.ReLU(),
                )
            )
            width = block.width
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(width, num_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Apply the NAAP initialisation (draws from torch's global generator)."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The class logits of a batch of images ``x`` (N, channels, height, width)."""
        for block, residual in zip(self.components, self.residual_connections, strict=True):
            y = block(x)
            x = y + x if residual else y
        x = self.pool(x)
        return self.classifier(torch.flatten(x, 1))
