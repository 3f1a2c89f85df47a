# Copyright (c) OpenMMLab. All rights reserved.
"""A tiny classification distiller and loader for the hook tests (no mmdet
needed, so the classification-only stacks run the tests that use them)."""
import os.path as osp
import sys
from types import SimpleNamespace

import torch

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..',
                            'models'))


class ClsLoader(list):
    """Raw classification batches with a dataset carrying class names."""

    def __init__(self, batches, classes):
        super().__init__(batches)
        self.dataset = SimpleNamespace(metainfo=dict(classes=classes))


def cls_loader(num_batches: int = 3):
    from mmpretrain.structures import DataSample
    gen = torch.Generator().manual_seed(0)
    batches = [
        dict(
            inputs=[
                torch.randint(0, 256, (3, 8, 8), generator=gen).byte()
                for _ in range(6)
            ],
            data_samples=[
                DataSample().set_gt_label(c) for c in (0, 1, 2, 0, 1, 2)
            ]) for _ in range(num_batches)
    ]
    return ClsLoader(batches, ('cat', 'dog', 'eel'))


def cls_distiller(seed=0, teacher_preproc=True, **kwargs):
    import mmpretrain.models  # noqa: F401
    from test_classification_distiller import classifier_cfg

    import mmkd.models.distillers.classification_distiller  # noqa: F401
    from mmkd.models import ClassificationDistiller
    teacher = classifier_cfg(8, num_classes=3)
    if not teacher_preproc:
        teacher.pop('data_preprocessor')
    torch.manual_seed(seed)
    return ClassificationDistiller(
        student=classifier_cfg(4, num_classes=3),
        teacher=teacher,
        **dict(
            dict(
                distill_losses=dict(
                    loss_wkd_l=dict(
                        type='mmkd.WKDLogitLoss', cost_matrix=None)),
                distill_inputs=dict(loss_wkd_l='logits'),
                probe_size=None), **kwargs))
