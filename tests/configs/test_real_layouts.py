# Copyright (c) OpenMMLab. All rights reserved.
"""The paper's configs, unedited, on tiny data sets in the real layouts.

``tools/train.py`` runs the COCO R101 -> R18 WKD-L+F config and the
ImageNet R34 -> R18 WKD-L+F config for a few iterations at a small input
size, with a randomly initialised teacher saved as a checkpoint and
``--cfg-options`` only: what a user's first real run goes through (the
dataset classes and their category-id mapping, the teacher loaded from a
file, the cost-matrix build by the hook, the official matrix where the
README puts it, the evaluation), minus the download and the scale.
"""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
COCO_CFG = osp.join(ROOT, 'configs', 'coco',
                    'faster-rcnn_r101-to-r18_fpn_wkd-lf_ms-1x_coco.py')
IMAGENET_CFG = osp.join(ROOT, 'configs', 'imagenet',
                        'wkd-lf_resnet34-to-resnet18_8xb32-100e_in1k.py')

#: The 80 category ids of COCO's instances_*2017.json (1..90 with gaps).
COCO_IDS = [
    i for i in range(1, 91)
    if i not in (12, 26, 29, 30, 45, 66, 68, 69, 71, 83)
]

pytestmark = pytest.mark.slow


def _write_image(path, size, seed):
    import cv2
    rng = np.random.default_rng(seed)
    os.makedirs(osp.dirname(path), exist_ok=True)
    img = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    assert cv2.imwrite(path, img)


def _coco_split(root, split, num_images, boxes_per_image):
    """``num_images`` 96 x 96 images; box ``k`` overall has category
    ``k % 80``, so every class appears ``num_images * boxes_per_image / 80``
    times."""
    from mmdet.datasets import CocoDataset
    names = CocoDataset.METAINFO['classes']
    images, annotations = [], []
    for i in range(num_images):
        name = f'{i:012d}.jpg'
        _write_image(osp.join(root, f'{split}2017', name), (96, 96), i)
        images.append(dict(id=i + 1, file_name=name, width=96, height=96))
        for j in range(boxes_per_image):
            k = i * boxes_per_image + j
            x, y = (j % 5) * 18 + 2, (j // 5) * 22 + 2
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=i + 1,
                    category_id=COCO_IDS[k % 80],
                    bbox=[x, y, 16, 18],
                    area=16 * 18,
                    iscrowd=0))
    categories = [
        dict(id=cid, name=name, supercategory='x')
        for cid, name in zip(COCO_IDS, names)
    ]
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    with open(osp.join(root, 'annotations', f'instances_{split}2017.json'),
              'w') as f:
        json.dump(
            dict(images=images, annotations=annotations,
                 categories=categories), f)


def _random_teacher_ckpt(spec, scope, out):
    from mmengine.registry import DefaultScope

    from mmkd.models import build_model
    with DefaultScope.overwrite_default_scope(scope):
        torch.manual_seed(0)
        teacher = build_model(spec, 'teacher')
    torch.save(dict(state_dict=teacher.state_dict()), out)


def _train(cwd, config, *options, timeout=900):
    cmd = [
        sys.executable,
        osp.join(ROOT, 'tools', 'train.py'), config, '--work-dir', 'work',
        '--cfg-options', 'default_hooks.logger.interval=1', *options
    ]
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
        env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    return out


def _loader_options(name, batch_size):
    return [
        f'{name}.batch_size={batch_size}', f'{name}.num_workers=0',
        f'{name}.persistent_workers=False'
    ]


def test_coco_r101_to_r18_wkd_lf_in_the_coco_layout(tmp_path):
    from mmdet.datasets import CocoDataset
    data = tmp_path / 'data' / 'coco'
    _coco_split(str(data), 'train', num_images=8, boxes_per_image=20)
    _coco_split(str(data), 'val', num_images=2, boxes_per_image=5)
    ckpt = tmp_path / 'r101_teacher.pth'
    _random_teacher_ckpt(
        'mmdet::faster_rcnn/faster-rcnn_r101_fpn_ms-3x_coco.py', 'mmdet',
        str(ckpt))
    out = _train(
        str(tmp_path), COCO_CFG,
        f'model.teacher_ckpt={ckpt}',
        # no torchvision download for the student's backbone
        'model.student.backbone.init_cfg=None',
        'train_dataloader.dataset.pipeline.2.scale=[(160,96),(160,128)]',
        'val_dataloader.dataset.pipeline.1.scale=(160,128)',
        # 80 classes seen twice each in 8 images: 2 rows per class
        'custom_hooks.0.num_per_class=2',
        # one epoch: the epoch schedule would weight it 0 (its last epoch)
        'custom_hooks.1.by_epoch=False',
        # an untrained student scores every class below mmdet's 0.05
        'model.student.test_cfg.rcnn.score_thr=0.0',
        'train_cfg.max_epochs=1',
        *_loader_options('train_dataloader', 2),
        *_loader_options('val_dataloader', 1))
    assert 'Built the cost matrix (81, 81)' in out
    assert 'coco/bbox_mAP' in out  # the COCO evaluation ran
    wkd_f = [float(line.split('distill.loss_wkd_f: ')[1].split()[0])
             for line in out.splitlines() if 'distill.loss_wkd_f: ' in line]
    assert wkd_f and all(v > 0 for v in wkd_f)
    from mmkd.apis.cost_io import load_cost_matrix_and_record
    cost, record = load_cost_matrix_and_record(
        str(tmp_path / 'work_dirs' / 'cost_matrices' /
            'coco_faster-rcnn_r101-ms3x_cka-k1.pth'))
    assert cost.shape == (81, 81) and torch.isfinite(cost).all()
    assert record['class_names'] == list(
        CocoDataset.METAINFO['classes']) + ['background']
    assert record['teacher_ckpt'] == str(ckpt)
    assert record['teacher_config'] == (
        'mmdet::faster_rcnn/faster-rcnn_r101_fpn_ms-3x_coco.py')
    assert record['num_per_class'] == 2


def _imagenet_split(root, split, labels):
    lines = []
    for i, label in enumerate(labels):
        rel = f'n{label:08d}/{split}_{i}.JPEG'
        _write_image(osp.join(root, split, rel), (180, 160), 100 + i)
        lines.append(f'{rel} {label}')
    os.makedirs(osp.join(root, 'meta'), exist_ok=True)
    with open(osp.join(root, 'meta', f'{split}.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


def test_imagenet_r34_to_r18_wkd_lf_in_the_imagenet_layout(
        tmp_path, official_cost_matrix):
    official = official_cost_matrix('imagenet/resnet34_logit_linear_cka.pth')
    # where configs/imagenet/README.md says to copy the official matrices
    dest = tmp_path / 'data' / 'cost_matrices' / 'imagenet'
    dest.mkdir(parents=True)
    shutil.copy(official, dest)
    data = tmp_path / 'data' / 'imagenet'
    _imagenet_split(str(data), 'train', [0, 1, 2, 3, 998, 999, 0, 1])
    _imagenet_split(str(data), 'val', [0, 1, 2, 3])
    ckpt = tmp_path / 'r34_teacher.pth'
    from mmengine.config import Config
    teacher = Config.fromfile(IMAGENET_CFG).model.teacher
    _random_teacher_ckpt(teacher, 'mmpretrain', str(ckpt))
    out = _train(
        str(tmp_path), IMAGENET_CFG,
        f'model.teacher_ckpt={ckpt}',
        # 160 px: 5 x 5 last-stage maps, enough for WKD-F's 4 x 4 grid
        'train_dataloader.dataset.pipeline.1.scale=160',
        'val_dataloader.dataset.pipeline.1.scale=180',
        'val_dataloader.dataset.pipeline.2.crop_size=160',
        'train_cfg.max_epochs=1',
        'custom_hooks.0.by_epoch=False',
        *_loader_options('train_dataloader', 4),
        *_loader_options('val_dataloader', 4))
    assert 'accuracy/top1' in out  # the evaluation ran
    assert 'distill.loss_wkd_l' in out and 'distill.loss_wkd_f' in out
