"""gaitgen.runtime: train and evaluate gait-recognition models, OpenGait-compatible.

The public names below are imported lazily (PEP 562), so ``import gaitgen.runtime.errors``
or ``gaitgen.runtime.project`` does not pay for torch; ``from gaitgen.runtime import
BaseModel`` imports what it needs on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import lazy_exports

# public name -> module (relative to this package) that defines it
_EXPORTS: dict[str, str] = {
    # the extension contract (README.md: adding a model, adding a loss)
    "BaseModel": ".model",
    "BaseLoss": ".losses.base",
    "gather_and_scale_wrapper": ".losses.base",
    "LossAggregator": ".losses.aggregator",
    # built-in losses and the model zoo
    "TripletLoss": ".losses.triplet",
    "CrossEntropyLoss": ".losses.softmax",
    "SupConLoss_Re": ".losses.supcon",
    "SupConLoss_Lp": ".losses.supcon",
    "Baseline": ".models.baseline",
    "GaitSet": ".models.gaitset",
    "GaitPart": ".models.gaitpart",
    "GLN": ".models.gln",
    "GaitGL": ".models.gaitgl",
    "DeepGaitV2": ".models.deepgaitv2",
    "SwinGait": ".models.swingait",
    "ScoNet": ".models.sconet",
    "Segmentation": ".models.segmentation",
    "GaitGraph1": ".models.gaitgraph1",
    "GaitGraph2": ".models.gaitgraph2",
    "GaitTR": ".models.gaittr",
    "MultiScaleGaitGraph": ".models.msgg",
    "SMPLGait": ".models.smplgait",
    "ParsingGait": ".models.parsinggait",
    "SkeletonGaitPP": ".models.skeletongait_pp",
    "GaitSSB_Pretrain": ".models.gaitssb",
    "GaitSSB_Finetune": ".models.gaitssb",
    "FoundationGait_Scaling": ".models.foundationgait",
    "FoundationGait_Scaling_Finetune": ".models.foundationgait",
    "FoundationGait_Scaling_LinearProbing_Scoliosis1K": ".models.foundationgait",
    # reusable building blocks and backbones (all of gaitgen.runtime.modules; a test keeps
    # this list equal to it)
    "Backbone": ".modules.backbone",
    "DeepGaitV2_SSL": ".modules.deepgaitv2_ssl",
    "add_deepgaitv2_stages": ".modules.deepgaitv2_stages",
    "deepgaitv2_backbone": ".modules.deepgaitv2_stages",
    "diverse_crop_encode": ".modules.deepgaitv2_ssl",
    "encode_sequences": ".modules.deepgaitv2_ssl",
    "pooled_features": ".modules.deepgaitv2_ssl",
    "BasicBlock": ".modules.backbones",
    "BasicBlock2D": ".modules.resblocks",
    "BasicBlock3D": ".modules.resblocks",
    "BasicBlockP3D": ".modules.resblocks",
    "BasicConv1d": ".modules.gaitpart_layers",
    "BasicConv2d": ".modules.blocks",
    "BasicConv3d": ".modules.blocks",
    "BasicLayer": ".modules.swin",
    "DropPath": ".modules.swin",
    "FocalConv2d": ".modules.blocks",
    "GLConv": ".modules.gaitgl_layers",
    "GeMHPP": ".modules.pooling",
    "HorizontalPoolingPyramid": ".modules.blocks",
    "Mlp": ".modules.swin",
    "PackSequenceWrapper": ".modules.blocks",
    "ParallelBN1d": ".modules.parallel_bn",
    "PatchEmbed3D": ".modules.swin",
    "PatchMerging": ".modules.swin",
    "Plain": ".modules.plain",
    "ResNet9": ".modules.backbones",
    "SeparateBNNecks": ".modules.blocks",
    "SeparateFCs": ".modules.blocks",
    "SetBlockWrapper": ".modules.blocks",
    "SwinTransformer3D": ".modules.swin",
    "SwinTransformerBlock3D": ".modules.swin",
    "TemporalFeatureAggregator": ".modules.gaitpart_layers",
    "WindowAttention3D": ".modules.swin",
    "clones": ".modules.blocks",
    "frames_as_set": ".modules.blocks",
    "conv1x1": ".modules.resblocks",
    "conv3x3": ".modules.resblocks",
    "conv_stage": ".modules.setnet",
    "get_window_size": ".modules.swin",
    "make_res_layer": ".modules.resblocks",
    "stage_channels": ".modules.setnet",
    "window_partition": ".modules.swin",
    "window_reverse": ".modules.swin",
    "AttentionFusion": ".modules.fusion",
    "CatFusion": ".modules.fusion",
    "GCN": ".modules.gcn",
    "Graph": ".modules.graph",
    "GraphConvolution": ".modules.gcn",
    "Normalize": ".modules.gcn",
    "PlusFusion": ".modules.fusion",
    "ResGCN": ".modules.resgcn",
    "ResGCNInputBranch": ".modules.resgcn",
    "ResGCNModule": ".modules.resgcn",
    "SpatialAttention": ".modules.spatial_attention",
    "SpatialBasicBlock": ".modules.graph_blocks",
    "SpatialBottleneckBlock": ".modules.graph_blocks",
    "SpatialGraphConv": ".modules.graph_blocks",
    "TemporalBasicBlock": ".modules.graph_blocks",
    "TemporalBottleneckBlock": ".modules.graph_blocks",
    "block_shortcut": ".modules.graph_blocks",
    "check_pose_batch": ".modules.graph",
    "motion_frames": ".modules.pose_features",
    "multi_input": ".modules.pose_features",
    "ConvBlock": ".modules.u_net",
    "UpConv": ".modules.u_net",
    "U_Net": ".modules.u_net",
    # configs, projects, errors
    "load_config": ".config",
    "find_project": ".project",
    "GaitgenError": ".errors",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .config import load_config
    from .errors import GaitgenError
    from .losses.aggregator import LossAggregator
    from .losses.base import (
        BaseLoss,
        gather_and_scale_wrapper,
    )
    from .losses.softmax import CrossEntropyLoss
    from .losses.supcon import SupConLoss_Lp, SupConLoss_Re
    from .losses.triplet import TripletLoss
    from .model import BaseModel
    from .models.baseline import Baseline
    from .models.deepgaitv2 import DeepGaitV2
    from .models.foundationgait import (
        FoundationGait_Scaling,
        FoundationGait_Scaling_Finetune,
        FoundationGait_Scaling_LinearProbing_Scoliosis1K,
    )
    from .models.gaitgl import GaitGL
    from .models.gaitgraph1 import GaitGraph1
    from .models.gaitgraph2 import GaitGraph2
    from .models.gaitpart import GaitPart
    from .models.gaitset import GaitSet
    from .models.gaitssb import GaitSSB_Finetune, GaitSSB_Pretrain
    from .models.gaittr import GaitTR
    from .models.gln import GLN
    from .models.msgg import MultiScaleGaitGraph
    from .models.parsinggait import ParsingGait
    from .models.sconet import ScoNet
    from .models.segmentation import Segmentation
    from .models.skeletongait_pp import SkeletonGaitPP
    from .models.smplgait import SMPLGait
    from .models.swingait import SwinGait
    from .modules.backbone import Backbone
    from .modules.backbones import (
        BasicBlock,
        ResNet9,
    )
    from .modules.blocks import (
        BasicConv2d,
        BasicConv3d,
        FocalConv2d,
        HorizontalPoolingPyramid,
        PackSequenceWrapper,
        SeparateBNNecks,
        SeparateFCs,
        SetBlockWrapper,
        clones,
        frames_as_set,
    )
    from .modules.deepgaitv2_ssl import (
        DeepGaitV2_SSL,
        diverse_crop_encode,
        encode_sequences,
        pooled_features,
    )
    from .modules.deepgaitv2_stages import add_deepgaitv2_stages, deepgaitv2_backbone
    from .modules.fusion import AttentionFusion, CatFusion, PlusFusion
    from .modules.gaitgl_layers import GLConv
    from .modules.gaitpart_layers import (
        BasicConv1d,
        TemporalFeatureAggregator,
    )
    from .modules.gcn import GCN, GraphConvolution, Normalize
    from .modules.graph import Graph, check_pose_batch
    from .modules.graph_blocks import (
        SpatialBasicBlock,
        SpatialBottleneckBlock,
        SpatialGraphConv,
        TemporalBasicBlock,
        TemporalBottleneckBlock,
        block_shortcut,
    )
    from .modules.parallel_bn import ParallelBN1d
    from .modules.plain import Plain
    from .modules.pooling import GeMHPP
    from .modules.pose_features import motion_frames, multi_input
    from .modules.resblocks import (
        BasicBlock2D,
        BasicBlock3D,
        BasicBlockP3D,
        conv1x1,
        conv3x3,
        make_res_layer,
    )
    from .modules.resgcn import ResGCN, ResGCNInputBranch, ResGCNModule
    from .modules.setnet import (
        conv_stage,
        stage_channels,
    )
    from .modules.spatial_attention import SpatialAttention
    from .modules.swin import (
        BasicLayer,
        DropPath,
        Mlp,
        PatchEmbed3D,
        PatchMerging,
        SwinTransformer3D,
        SwinTransformerBlock3D,
        WindowAttention3D,
        get_window_size,
        window_partition,
        window_reverse,
    )
    from .modules.u_net import ConvBlock, U_Net, UpConv
    from .project import find_project
