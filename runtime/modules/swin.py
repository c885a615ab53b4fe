"""A 3-D (video) Swin Transformer, as SwinGait uses it (OpenGait's parameter names).

Liu et al., "Video Swin Transformer" (CVPR 2022): a set ``[n, c, s, h, w]`` is cut into
patches, and each stage runs blocks of multi-head self-attention inside local 3-D windows
(frames x height x width) with a learned relative-position bias; every second block shifts
the windows by half a window (cyclically, with a mask so that tokens that are not neighbours
do not attend to each other). OpenGait's SwinGait keeps this network in its model file, with
two changes from the original that are kept here: a stage's ``downsample`` is chosen per stage
(``2``: patch merging, ``1``: LayerNorm + a linear map doubling the channels, ``0``: nothing),
and the final LayerNorm's width is given (OpenGait fixes it at 512).

Module and parameter names equal OpenGait's (``patch_embed.proj``, ``layers.0.blocks.1.attn.
relative_position_bias_table``, ...), so OpenGait's SwinGait checkpoints load strictly. As in
OpenGait (and the Video Swin code it copies), a window shrunk to a short input (frames <=
window) indexes the top-left corner of the full window's relative-position table.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

Triple = tuple[int, int, int]


class Mlp(nn.Module):
    """Linear - activation - dropout - linear - dropout."""

    def __init__(
        self,
        in_features: int,
        hidden_features: int | None = None,
        out_features: int | None = None,
        act_layer: type[nn.Module] = nn.GELU,
        drop: float = 0.0,
    ):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features or in_features)
        self.act = act_layer()
        self.fc2 = nn.Linear(hidden_features or in_features, out_features or in_features)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class DropPath(nn.Module):
    """Stochastic depth: in training, drop the whole residual branch of a sample with ``drop_prob``.

    Kept samples are scaled by ``1 / (1 - drop_prob)`` so that the expectation is unchanged.
    """

    def __init__(self, drop_prob: float = 0.0, scale_by_keep: bool = True):
        super().__init__()
        self.drop_prob = drop_prob
        self.scale_by_keep = scale_by_keep

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        if keep > 0.0 and self.scale_by_keep:
            mask.div_(keep)
        return x * mask

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob:.3f}"


def window_partition(x: torch.Tensor, window_size: Triple) -> torch.Tensor:
    """Cut ``[b, d, h, w, c]`` into windows: ``[b * windows, wd * wh * ww, c]``."""
    b, d, h, w, c = x.shape
    wd, wh, ww = window_size
    x = x.view(b, d // wd, wd, h // wh, wh, w // ww, ww, c)
    return x.permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(-1, wd * wh * ww, c)


def window_reverse(windows: torch.Tensor, window_size: Triple, b: int, d: int, h: int, w: int):
    """Join windows ``[b * windows, wd, wh, ww, c]`` back into ``[b, d, h, w, c]``."""
    wd, wh, ww = window_size
    x = windows.view(b, d // wd, h // wh, w // ww, wd, wh, ww, -1)
    return x.permute(0, 1, 4, 2, 5, 3, 6, 7).reshape(b, d, h, w, -1)


def get_window_size(
    x_size: Sequence[int], window_size: Sequence[int], shift_size: Sequence[int]
) -> tuple[Triple, Triple]:
    """The window and shift used for an input: an axis no longer than its window takes the
    whole axis as the window and is not shifted."""
    windows, shifts = list(window_size), list(shift_size)
    for axis, length in enumerate(x_size):
        if length <= window_size[axis]:
            windows[axis] = length
            shifts[axis] = 0
    return tuple(windows), tuple(shifts)


@lru_cache(maxsize=64)
def _shift_mask(padded: Triple, window: Triple, shift: Triple, device: str) -> torch.Tensor:
    """The additive attention mask of shifted windows: ``[windows, N, N]`` of 0 and -100.

    After the cyclic shift a window can hold tokens from up to three regions per axis (the
    body, the strip that was a window's tail, the wrapped-around strip); tokens of different
    regions must not attend to each other.
    """
    labels = []
    for length, size, step in zip(padded, window, shift):
        region = torch.zeros(length, dtype=torch.long)
        if step > 0:
            region[length - size : length - step] = 1
            region[length - step :] = 2
        labels.append(region)
    label = (labels[0].view(-1, 1, 1) * 3 + labels[1].view(1, -1, 1)) * 3 + labels[2].view(1, 1, -1)
    windows = window_partition(label.view(1, *padded, 1).float(), window).squeeze(-1)  # [nW, N]
    differs = windows.unsqueeze(1) != windows.unsqueeze(2)  # [nW, N, N]
    return torch.zeros(differs.shape).masked_fill(differs, -100.0).to(device)


class WindowAttention3D(nn.Module):
    """Multi-head self-attention inside a 3-D window, with a relative-position bias.

    Args:
        dim: channels of a token.
        window_size: (frames, height, width) of a window.
        num_heads: attention heads (``dim`` must be divisible by it).
        qkv_bias: learn a bias for the query/key/value map.
        qk_scale: the query scale (default ``head_dim ** -0.5``).
        attn_drop: dropout on the attention weights.
        proj_drop: dropout on the output.
    """

    def __init__(
        self,
        dim: int,
        window_size: Sequence[int],
        num_heads: int,
        qkv_bias: bool = False,
        qk_scale: float | None = None,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
    ):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"WindowAttention3D: dim {dim} is not divisible by {num_heads} heads")
        self.dim = dim
        self.window_size = tuple(window_size)
        self.num_heads = num_heads
        self.scale = qk_scale or (dim // num_heads) ** -0.5
        wd, wh, ww = self.window_size
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * wd - 1) * (2 * wh - 1) * (2 * ww - 1), num_heads)
        )
        # Index of the table entry for every (query, key) pair of a window: the offsets
        # along each axis, shifted to start at 0 and read as one mixed-radix number.
        coords = torch.stack(
            torch.meshgrid(torch.arange(wd), torch.arange(wh), torch.arange(ww), indexing="ij")
        ).flatten(
            1
        )  # [3, N]
        offsets = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)  # [N, N, 3]
        offsets = offsets + torch.tensor([wd - 1, wh - 1, ww - 1])
        radix = torch.tensor([(2 * wh - 1) * (2 * ww - 1), 2 * ww - 1, 1])
        self.register_buffer("relative_position_index", (offsets * radix).sum(-1))
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``x`` [b * windows, N, c]; ``mask`` [windows, N, N] (0 / -100) or None."""
        windows, tokens, channels = x.shape
        qkv = self.qkv(x).reshape(windows, tokens, 3, self.num_heads, channels // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each [b * windows, heads, N, head_dim]
        attn = (q * self.scale) @ k.transpose(-2, -1)  # [b * windows, heads, N, N]
        index = self.relative_position_index[:tokens, :tokens].reshape(-1)
        bias = self.relative_position_bias_table[index].reshape(tokens, tokens, -1)
        attn = attn + bias.permute(2, 0, 1).unsqueeze(0)
        if mask is not None:
            per_image = mask.shape[0]
            attn = attn.view(-1, per_image, self.num_heads, tokens, tokens)
            attn = (attn + mask.unsqueeze(1).unsqueeze(0)).view(-1, self.num_heads, tokens, tokens)
        attn = self.attn_drop(self.softmax(attn))
        out = (attn @ v).transpose(1, 2).reshape(windows, tokens, channels)
        return self.proj_drop(self.proj(out))


class SwinTransformerBlock3D(nn.Module):
    """Pre-norm (shifted-)window attention and MLP, each with a residual connection.

    Args:
        dim: channels.
        num_heads: attention heads.
        window_size: (frames, height, width) of a window.
        shift_size: cyclic shift of the windows (zeros: no shift).
        mlp_ratio: MLP hidden width / dim.
        qkv_bias, qk_scale: as in :class:`WindowAttention3D`.
        drop, attn_drop: dropout rates of the outputs and of the attention weights.
        drop_path: stochastic-depth rate of both residual branches.
        act_layer, norm_layer: activation and normalisation classes.
        use_checkpoint: recompute the branches in backward (activation checkpointing).
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        window_size: Sequence[int] = (2, 7, 7),
        shift_size: Sequence[int] = (0, 0, 0),
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        qk_scale: float | None = None,
        drop: float = 0.0,
        attn_drop: float = 0.0,
        drop_path: float = 0.0,
        act_layer: type[nn.Module] = nn.GELU,
        norm_layer: type[nn.Module] = nn.LayerNorm,
        use_checkpoint: bool = False,
    ):
        super().__init__()
        self.dim = dim
        self.num_heads = num_heads
        self.window_size = tuple(window_size)
        self.shift_size = tuple(shift_size)
        self.mlp_ratio = mlp_ratio
        self.use_checkpoint = use_checkpoint
        if not all(0 <= s < w for s, w in zip(self.shift_size, self.window_size)):
            raise ValueError(
                f"SwinTransformerBlock3D: shift {self.shift_size} must lie in [0, window "
                f"{self.window_size}) on every axis"
            )
        self.norm1 = norm_layer(dim)
        self.attn = WindowAttention3D(
            dim, self.window_size, num_heads, qkv_bias, qk_scale, attn_drop, proj_drop=drop
        )
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), act_layer=act_layer, drop=drop)

    def _attention(self, x: torch.Tensor, mask_matrix: torch.Tensor | None) -> torch.Tensor:
        b, d, h, w, c = x.shape
        window, shift = get_window_size((d, h, w), self.window_size, self.shift_size)
        x = self.norm1(x)
        pads = [(size - length % size) % size for length, size in zip((d, h, w), window)]
        x = F.pad(x, (0, 0, 0, pads[2], 0, pads[1], 0, pads[0]))  # to whole windows
        _, dp, hp, wp, _ = x.shape
        shifted = any(s > 0 for s in shift)
        if shifted:
            x = torch.roll(x, shifts=tuple(-s for s in shift), dims=(1, 2, 3))
        windows = self.attn(window_partition(x, window), mask=mask_matrix if shifted else None)
        x = window_reverse(windows.view(-1, *window, c), window, b, dp, hp, wp)
        if shifted:
            x = torch.roll(x, shifts=shift, dims=(1, 2, 3))
        if any(pads):
            x = x[:, :d, :h, :w, :].contiguous()
        return x

    def _feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop_path(self.mlp(self.norm2(x)))

    def forward(self, x: torch.Tensor, mask_matrix: torch.Tensor | None) -> torch.Tensor:
        """``x`` [b, d, h, w, c]; ``mask_matrix`` the shifted windows' mask."""
        if self.use_checkpoint and self.training:
            attended = checkpoint(self._attention, x, mask_matrix, use_reentrant=False)
            x = x + self.drop_path(attended)
            return x + checkpoint(self._feed_forward, x, use_reentrant=False)
        x = x + self.drop_path(self._attention(x, mask_matrix))
        return x + self._feed_forward(x)


class PatchMerging(nn.Module):
    """Join each 2x2 patch of tokens (per frame) and map 4c -> 2c channels."""

    def __init__(self, dim: int, norm_layer: type[nn.Module] = nn.LayerNorm):
        super().__init__()
        self.dim = dim
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = norm_layer(4 * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` [b, d, h, w, c] -> [b, d, ceil(h/2), ceil(w/2), 2c]."""
        h, w = x.shape[2:4]
        if h % 2 or w % 2:
            x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        x = torch.cat(
            [x[:, :, 0::2, 0::2], x[:, :, 1::2, 0::2], x[:, :, 0::2, 1::2], x[:, :, 1::2, 1::2]],
            -1,
        )
        return self.reduction(self.norm(x))


class _Identity(nn.Module):
    # OpenGait's ``downsample=False`` (a lambda there): nothing, and no parameters.
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class BasicLayer(nn.Module):
    """One stage: ``depth`` blocks alternating plain and shifted windows, then a downsample.

    Args:
        dim: channels.
        depth: number of blocks.
        num_heads: attention heads.
        window_size: (frames, height, width) of a window; blocks 1, 3, ... shift by half.
        mlp_ratio, qkv_bias, qk_scale, drop, attn_drop: as in the blocks.
        drop_path: a rate, or one rate per block.
        norm_layer: normalisation class.
        downsample: ``PatchMerging`` (or another class taking ``dim, norm_layer``); None:
            LayerNorm + a bias-free linear map dim -> 2 dim (OpenGait's choice); False: nothing.
        use_checkpoint: activation checkpointing in the blocks.
    """

    def __init__(
        self,
        dim: int,
        depth: int,
        num_heads: int,
        window_size: Sequence[int] = (1, 7, 7),
        mlp_ratio: float = 4.0,
        qkv_bias: bool = False,
        qk_scale: float | None = None,
        drop: float = 0.0,
        attn_drop: float = 0.0,
        drop_path: float | Sequence[float] = 0.0,
        norm_layer: type[nn.Module] = nn.LayerNorm,
        downsample: type[nn.Module] | None | bool = None,
        use_checkpoint: bool = False,
    ):
        super().__init__()
        self.window_size = tuple(window_size)
        self.shift_size = tuple(size // 2 for size in self.window_size)
        self.depth = depth
        self.use_checkpoint = use_checkpoint
        rates = list(drop_path) if isinstance(drop_path, Sequence) else [drop_path] * depth
        self.blocks = nn.ModuleList(
            SwinTransformerBlock3D(
                dim=dim,
                num_heads=num_heads,
                window_size=self.window_size,
                shift_size=(0, 0, 0) if i % 2 == 0 else self.shift_size,
                mlp_ratio=mlp_ratio,
                qkv_bias=qkv_bias,
                qk_scale=qk_scale,
                drop=drop,
                attn_drop=attn_drop,
                drop_path=rates[i],
                norm_layer=norm_layer,
                use_checkpoint=use_checkpoint,
            )
            for i in range(depth)
        )
        if downsample is False:
            self.downsample: nn.Module = _Identity()
        elif downsample is None:
            self.downsample = nn.Sequential(norm_layer(dim), nn.Linear(dim, 2 * dim, bias=False))
        else:
            self.downsample = downsample(dim=dim, norm_layer=norm_layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` [b, c, d, h, w] -> [b, c', d, h', w']."""
        b, _, d, h, w = x.shape
        window, shift = get_window_size((d, h, w), self.window_size, self.shift_size)
        x = x.permute(0, 2, 3, 4, 1)  # [b, d, h, w, c]
        padded = tuple(-(-length // size) * size for length, size in zip((d, h, w), window))
        mask = _shift_mask(padded, window, shift, str(x.device))
        for block in self.blocks:
            x = block(x, mask)
        x = self.downsample(x.reshape(b, d, h, w, -1))
        return x.permute(0, 4, 1, 2, 3)  # [b, c', d, h', w']


class PatchEmbed3D(nn.Module):
    """Cut a set into (frames x height x width) patches and embed each linearly (a Conv3d).

    The input is zero-padded to whole patches; ``norm_layer`` (optional) normalises the
    embeddings over channels.
    """

    def __init__(
        self,
        patch_size: Sequence[int] = (2, 4, 4),
        in_chans: int = 3,
        embed_dim: int = 96,
        norm_layer: type[nn.Module] | None = None,
    ):
        super().__init__()
        self.patch_size = tuple(patch_size)
        self.in_chans = in_chans
        self.embed_dim = embed_dim
        self.proj = nn.Conv3d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)
        self.norm = norm_layer(embed_dim) if norm_layer is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` [b, c, d, h, w] -> [b, embed_dim, d/pd, h/ph, w/pw]."""
        d, h, w = x.shape[2:]
        pd, ph, pw = self.patch_size
        x = F.pad(x, (0, (-w) % pw, 0, (-h) % ph, 0, (-d) % pd))
        x = self.proj(x)
        if self.norm is not None:
            x = self.norm(x.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3)
        return x


class SwinTransformer3D(nn.Module):
    """The Video Swin Transformer backbone: patch embedding, stages, a final LayerNorm.

    Args:
        patch_size: (frames, height, width) of a patch.
        in_chans: input channels.
        embed_dim: channels of the first stage; stage ``i`` has ``embed_dim * 2**i``.
        depths: blocks per stage.
        num_heads: attention heads per stage.
        window_size: (frames, height, width) of the attention windows.
        mlp_ratio, qkv_bias, qk_scale: as in the blocks.
        drop_rate, attn_drop_rate: dropout rates.
        drop_path_rate: stochastic depth, rising linearly from 0 to this over all blocks.
        norm_layer: normalisation class.
        patch_norm: normalise the patch embeddings.
        use_checkpoint: activation checkpointing.
        downsample: per stage, ``2`` (patch merging), ``1`` (LayerNorm + linear doubling the
            channels) or ``0`` (nothing).
        num_features: width of the final LayerNorm (default: the last stage's output width;
            OpenGait fixes 512, which is that width for SwinGait's settings).
    """

    def __init__(
        self,
        patch_size: Sequence[int] = (4, 4, 4),
        in_chans: int = 3,
        embed_dim: int = 96,
        depths: Sequence[int] = (2, 2, 6, 2),
        num_heads: Sequence[int] = (3, 6, 12, 24),
        window_size: Sequence[int] = (2, 7, 7),
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        qk_scale: float | None = None,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.2,
        norm_layer: type[nn.Module] = nn.LayerNorm,
        patch_norm: bool = False,
        use_checkpoint: bool = False,
        downsample: Sequence[int] = (1, 2, 2, 1),
        num_features: int | None = None,
    ):
        super().__init__()
        if not len(depths) == len(num_heads) == len(downsample):
            raise ValueError(
                "SwinTransformer3D: depths, num_heads and downsample need one entry per "
                f"stage (got {list(depths)}, {list(num_heads)}, {list(downsample)})"
            )
        kinds = {2: PatchMerging, 1: None, 0: False}
        if any(kind not in kinds for kind in downsample):
            raise ValueError(
                f"SwinTransformer3D: downsample entries must be 0, 1 or 2, got {downsample}"
            )
        self.num_layers = len(depths)
        self.embed_dim = embed_dim
        self.patch_norm = patch_norm
        self.window_size = tuple(window_size)
        self.patch_size = tuple(patch_size)
        self.patch_embed = PatchEmbed3D(
            patch_size, in_chans, embed_dim, norm_layer=norm_layer if patch_norm else None
        )
        self.pos_drop = nn.Dropout(p=drop_rate)
        # on the CPU whatever the default device (a model built on 'meta' has no values)
        rates = torch.linspace(0, drop_path_rate, sum(depths), device="cpu").tolist()
        self.layers = nn.ModuleList()
        for i, depth in enumerate(depths):
            start = sum(depths[:i])
            self.layers.append(
                BasicLayer(
                    dim=embed_dim * 2**i,
                    depth=depth,
                    num_heads=num_heads[i],
                    window_size=self.window_size,
                    mlp_ratio=mlp_ratio,
                    qkv_bias=qkv_bias,
                    qk_scale=qk_scale,
                    drop=drop_rate,
                    attn_drop=attn_drop_rate,
                    drop_path=rates[start : start + depth],
                    norm_layer=norm_layer,
                    downsample=kinds[downsample[i]],
                    use_checkpoint=use_checkpoint,
                )
            )
        last = embed_dim * 2 ** (self.num_layers - 1)
        self.num_features = num_features or (last * 2 if downsample[-1] else last)
        self.norm = norm_layer(self.num_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` [b, c, d, h, w] -> [b, num_features, d', h', w']."""
        x = self.pos_drop(self.patch_embed(x))
        for layer in self.layers:
            x = layer(x.contiguous())
        return self.norm(x.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3).contiguous()
