"""U-Net (Ronneberger et al., 2015), GaitEdge's silhouette segmenter: OpenGait's ``U_Net``.

Three poolings down (16, 32, 64, 128 channels) and three upsamplings back, each joined with
the encoder's map of its size; a 1x1 convolution gives one logit per pixel. Frames must be a
multiple of 8 pixels high and wide (64x64 in GaitEdge's configs). With ``freeze_half`` (the
default, GaitEdge's fine-tuning) the encoder is frozen and runs without gradients.
"""

from __future__ import annotations

import torch
from torch import nn

from .backbone import Backbone


class ConvBlock(nn.Module):
    """Two 3x3 convolutions, each with batch norm and ReLU (OpenGait's names)."""

    def __init__(self, ch_in: int, ch_out: int):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(ch_in, ch_out, kernel_size=3, stride=1, padding=1, bias=True),
            nn.BatchNorm2d(ch_out),
            nn.ReLU(inplace=True),
            nn.Conv2d(ch_out, ch_out, kernel_size=3, stride=1, padding=1, bias=True),
            nn.BatchNorm2d(ch_out),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class UpConv(nn.Module):
    """Nearest upsampling by 2, then a 3x3 convolution, batch norm and ReLU."""

    def __init__(self, ch_in: int, ch_out: int):
        super().__init__()
        self.up = nn.Sequential(
            nn.Upsample(scale_factor=2),
            nn.Conv2d(ch_in, ch_out, kernel_size=3, stride=1, padding=1, bias=True),
            nn.BatchNorm2d(ch_out),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(x)


class U_Net(Backbone):  # noqa: N801 - OpenGait's name, which configs use
    """OpenGait's U-Net: ``[n, in_channels, h, w]`` -> ``[n, 1, h, w]`` logits.

    Args:
        in_channels: input channels (3: RGB frames).
        freeze_half: freeze the encoder (no gradients through it), as GaitEdge fine-tunes.
    """

    def example_inputs(self) -> tuple[torch.Tensor, ...]:
        return (torch.rand(2, self.Conv1.conv[0].in_channels, 64, 64),)

    def __init__(self, in_channels: int = 3, freeze_half: bool = True):
        super().__init__()
        self.Maxpool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.Conv1 = ConvBlock(in_channels, 16)
        self.Conv2 = ConvBlock(16, 32)
        self.Conv3 = ConvBlock(32, 64)
        self.Conv4 = ConvBlock(64, 128)
        self.freeze = freeze_half
        if freeze_half:
            for block in (self.Conv1, self.Conv2, self.Conv3, self.Conv4):
                block.requires_grad_(False)
        self.Up4 = UpConv(128, 64)
        self.Up_conv4 = ConvBlock(128, 64)
        self.Up3 = UpConv(64, 32)
        self.Up_conv3 = ConvBlock(64, 32)
        self.Up2 = UpConv(32, 16)
        self.Up_conv2 = ConvBlock(32, 16)
        self.Conv_1x1 = nn.Conv2d(16, 1, kernel_size=1, stride=1, padding=0)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The encoder's maps at full, 1/2, 1/4 and 1/8 size."""
        x1 = self.Conv1(x)
        x2 = self.Conv2(self.Maxpool(x1))
        x3 = self.Conv3(self.Maxpool(x2))
        x4 = self.Conv4(self.Maxpool(x3))
        return x1, x2, x3, x4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # the frozen encoder runs without autograd (its batch norms still update in training)
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze):
            x1, x2, x3, x4 = self.encode(x)
        d4 = self.Up_conv4(torch.cat((x3, self.Up4(x4)), dim=1))
        d3 = self.Up_conv3(torch.cat((x2, self.Up3(d4)), dim=1))
        d2 = self.Up_conv2(torch.cat((x1, self.Up2(d3)), dim=1))
        return self.Conv_1x1(d2)
