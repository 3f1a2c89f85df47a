# Copyright (c) OpenMMLab. All rights reserved.
"""Tests of the toy digits generator (tiny sizes, CPU, seconds)."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from mmkd.datasets import (CLASSES, generate_toy_digits, load_digit_glyphs,
                           render_classification_crop,
                           render_detection_image, resolve_difficulty,
                           split_source_indices)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = dict(num_train=12, num_val=6, num_test=5, num_cls_train=30,
            num_cls_val=20, num_cls_test=10)
SPLITS = ('train', 'val', 'test')


@pytest.fixture(scope='module')
def toy(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('toy') / 'digits')
    return generate_toy_digits(out, seed=3, **TINY)


def _load(path):
    with open(path) as f:
        return json.load(f)


def _read_split(paths, split):
    ann = _load(paths[f'{split}_ann'])
    imgs = {
        im['id']: np.asarray(
            Image.open(osp.join(paths[f'{split}_img_dir'],
                                im['file_name'])))
        for im in ann['images']
    }
    return ann, imgs


def test_coco_loads_with_pycocotools(toy):
    from pycocotools.coco import COCO
    for split, num in (('train', 12), ('val', 6), ('test', 5)):
        coco = COCO(toy[f'{split}_ann'])
        assert len(coco.getImgIds()) == num
        assert len(coco.getAnnIds()) >= num
        for ann in coco.loadAnns(coco.getAnnIds()):
            assert ann['iscrowd'] == 0
            assert ann['area'] == ann['bbox'][2] * ann['bbox'][3]
            assert ann['image_id'] in coco.imgs


def test_categories(toy):
    cats = _load(toy['train_ann'])['categories']
    assert [c['id'] for c in cats] == list(range(1, 11))
    assert [c['name'] for c in cats] == [str(i) for i in range(10)]
    assert list(CLASSES) == [c['name'] for c in cats]


@pytest.mark.parametrize('split', SPLITS)
def test_boxes_inside_images_and_counts(toy, split):
    ann, imgs = _read_split(toy, split)
    per_image = {im['id']: 0 for im in ann['images']}
    for im in ann['images']:
        assert imgs[im['id']].shape == (im['height'], im['width'], 3)
        assert im['width'] == im['height'] == 128
    for a in ann['annotations']:
        x, y, w, h = a['bbox']
        im = imgs[a['image_id']]
        assert w > 0 and h > 0
        assert x >= 0 and y >= 0
        assert x + w <= im.shape[1] and y + h <= im.shape[0]
        assert 1 <= a['category_id'] <= 10
        per_image[a['image_id']] += 1
    assert all(1 <= n <= 4 for n in per_image.values()), per_image
    assert len({a['id'] for a in ann['annotations']}) == len(
        ann['annotations'])


def test_labels_match_source_glyphs(toy):
    _, labels = load_digit_glyphs()
    for split in SPLITS:
        for a in _load(toy[f'{split}_ann'])['annotations']:
            assert a['category_id'] == labels[a['source_index']] + 1


def test_no_sample_shared_between_splits(toy):
    used = {}
    for split in SPLITS:
        ann = _load(toy[f'{split}_ann'])
        used[split] = {a['source_index'] for a in ann['annotations']}
        for im in ann['images']:  # unannotated fragments are held out too
            used[split].update(im['fragment_source_indices'])
    assert used['train'] and used['val'] and used['test']
    assert not used['train'] & used['val']
    assert not used['train'] & used['test']
    assert not used['val'] & used['test']
    pools = dict(zip(SPLITS, split_source_indices(3)))
    for split in SPLITS:
        assert used[split] <= set(pools[split].tolist())


def test_classification_crops_use_their_pool(toy):
    """A crop's glyph is not recorded, so compare pixels: no test crop
    equals a train crop, and each split's folder holds its own count."""
    seen = {}
    for split in SPLITS:
        seen[split] = {
            np.asarray(Image.open(osp.join(toy[f'cls_{split}'], c, f)))
            .tobytes()
            for c in CLASSES for f in os.listdir(osp.join(
                toy[f'cls_{split}'], c))}
    assert len(seen['test']) == 10
    assert not seen['test'] & seen['train']
    assert not seen['test'] & seen['val']


def test_source_pools_disjoint_and_stratified():
    _, labels = load_digit_glyphs()
    train, val, test = split_source_indices(0, 0.2, 0.1)
    pools = [set(p.tolist()) for p in (train, val, test)]
    assert not pools[0] & pools[1] and not pools[0] & pools[2]
    assert not pools[1] & pools[2]
    assert len(train) + len(val) + len(test) == len(labels)
    for c in range(10):
        n_all = int((labels == c).sum())
        assert abs(int((labels[val] == c).sum()) - 0.2 * n_all) <= 1
        assert abs(int((labels[test] == c).sum()) - 0.1 * n_all) <= 1


def test_train_pool_depends_only_on_held_out_share():
    """The 1.0 generator held out 25 % for val alone; splitting that share
    into val and test keeps every train glyph (and so every train image)."""
    _, labels = load_digit_glyphs()
    rng = np.random.default_rng([0, 0])  # the 1.0 split, written out
    old_train, old_val = [], []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_val = max(1, int(round(len(idx) * 0.25)))
        old_val.append(idx[:n_val])
        old_train.append(idx[n_val:])
    train, val, test = split_source_indices(0, 0.125, 0.125)
    np.testing.assert_array_equal(train, np.sort(np.concatenate(old_train)))
    np.testing.assert_array_equal(
        np.sort(np.concatenate([val, test])),
        np.sort(np.concatenate(old_val)))
    assert abs(len(val) - len(test)) <= 10
    no_test = split_source_indices(0, 0.25, 0.0)
    np.testing.assert_array_equal(no_test[0], train)
    assert no_test[2].size == 0


def test_pools_respected_by_renderers():
    """Digits and fragments come from the given pool only."""
    train = split_source_indices(0)[0]
    pool = set(train[:5].tolist())
    seen_fragment = False
    for seed in range(10):
        info = {}
        _, inst = render_detection_image(
            np.random.default_rng(seed), pool=train[:5], min_digits=3,
            max_digits=3, difficulty=dict(num_fragments=(1, 2)), info=info)
        assert len(inst) == 3
        assert {i['source_index'] for i in inst} <= pool
        assert set(info['fragment_source_indices']) <= pool
        seen_fragment |= bool(info['fragment_source_indices'])
    assert seen_fragment
    crop = render_classification_crop(
        np.random.default_rng(0), int(train[0]), pool=train[:5])
    assert crop.shape == (32, 32, 3) and crop.dtype == np.uint8


def test_determinism(tmp_path):
    a = generate_toy_digits(str(tmp_path / 'a'), seed=7, **TINY)
    b = generate_toy_digits(str(tmp_path / 'b'), seed=7, **TINY)
    c = generate_toy_digits(str(tmp_path / 'c'), seed=8, **TINY)
    for split in SPLITS:
        with open(a[f'{split}_ann'], 'rb') as fa, \
                open(b[f'{split}_ann'], 'rb') as fb:
            assert fa.read() == fb.read()
        _, ia = _read_split(a, split)
        _, ib = _read_split(b, split)
        _, ic = _read_split(c, split)
        for k in ia:
            np.testing.assert_array_equal(ia[k], ib[k])
        assert any(not np.array_equal(ia[k], ic[k]) for k in ia)
        assert _load(a[f'{split}_ann'])['annotations'] != _load(
            c[f'{split}_ann'])['annotations']
    for name in CLASSES:
        fa = sorted(os.listdir(osp.join(a['cls_train'], name)))
        assert fa == sorted(os.listdir(osp.join(b['cls_train'], name)))
        for f in fa:
            np.testing.assert_array_equal(
                np.asarray(Image.open(osp.join(a['cls_train'], name, f))),
                np.asarray(Image.open(osp.join(b['cls_train'], name, f))))


def test_render_detection_image_deterministic():
    kw = dict(min_digits=2, max_digits=4)
    im1, in1 = render_detection_image(np.random.default_rng(5), **kw)
    im2, in2 = render_detection_image(np.random.default_rng(5), **kw)
    im3, _ = render_detection_image(np.random.default_rng(6), **kw)
    np.testing.assert_array_equal(im1, im2)
    assert in1 == in2
    assert not np.array_equal(im1, im3)


@pytest.mark.parametrize('index', [0, 1, 7, 100, 1796])
def test_box_is_tight_on_clean_render(index):
    """One digit, white ink on black: the box is the nonzero bounding box."""
    for seed in range(3):
        img, inst = render_detection_image(
            np.random.default_rng(seed), source_indices=[index],
            difficulty='clean')
        assert len(inst) == 1
        ys, xs = np.nonzero(img.max(-1))
        x, y, w, h = inst[0]['bbox']
        assert [x, y, w, h] == [
            xs.min(), ys.min(), xs.max() - xs.min() + 1,
            ys.max() - ys.min() + 1
        ]


def test_box_is_tight_on_visible_ink_with_defaults():
    """With clutter and occlusion, boxes equal their visible-ink masks'."""
    for seed in range(20):
        _, inst = render_detection_image(
            np.random.default_rng(seed), return_masks=True)
        for item in inst:
            ys, xs = np.nonzero(item['mask'])
            x, y, w, h = item['bbox']
            assert (x, y) == (xs.min(), ys.min())
            assert (x + w, y + h) == (xs.max() + 1, ys.max() + 1)


def test_medium_lies_between_hard_and_easy():
    hard, medium, easy = (resolve_difficulty(p)
                          for p in ('hard', 'medium', 'easy'))
    for knob in ('contrast', 'cls_digit_scale', 'digit_size'):
        assert getattr(hard, knob)[0] < getattr(medium, knob)[0] <= \
            getattr(easy, knob)[0], knob
    assert hard.occlusion_prob > medium.occlusion_prob > easy.occlusion_prob
    assert hard.cls_neighbor_prob > medium.cls_neighbor_prob > \
        easy.cls_neighbor_prob


def test_default_is_harder_than_easy():
    """Smaller digits and clutter in 'hard' (the default)."""
    hard, easy = resolve_difficulty(None), resolve_difficulty('easy')
    assert hard.digit_size[1] < easy.digit_size[1]
    assert hard.contrast[0] < easy.contrast[0]
    assert hard.num_distractors[1] > 0 and easy.num_distractors[1] == 0
    assert hard.num_fragments[1] > 0 and hard.occlusion_prob > 0


def test_classification_folders(toy):
    for key, num in (('cls_train', 30), ('cls_val', 20), ('cls_test', 10)):
        root = toy[key]
        assert sorted(os.listdir(root)) == list(CLASSES)
        counts = [len(os.listdir(osp.join(root, c))) for c in CLASSES]
        assert sum(counts) == num
        assert max(counts) - min(counts) <= 1
        img = Image.open(osp.join(root, '3', os.listdir(
            osp.join(root, '3'))[0]))
        assert img.size == (32, 32) and img.mode == 'RGB'


@pytest.mark.parametrize('kwargs, match', [
    (dict(min_digits=3, max_digits=2), 'min_digits'),
    (dict(min_digits=0), 'min_digits'),
    (dict(img_size=40), 'img_size'),
    (dict(max_digits=40), 'max_digits'),
    (dict(num_train=-1), 'num_train'),
    (dict(det=False, cls=False), 'nothing to generate'),
    (dict(cls_img_size=8), 'cls_img_size'),
    (dict(val_fraction=1.5), 'val_fraction'),
    (dict(test_fraction=-0.1), 'test_fraction'),
    (dict(val_fraction=0.5, test_fraction=0.5), 'test_fraction'),
    (dict(test_fraction=0.0), 'num_test=0'),
    (dict(difficulty='impossible'), 'preset'),
    (dict(difficulty=dict(contrst=0.3)), 'unknown difficulty keys'),
    (dict(difficulty=dict(contrast=(0.6, 0.2))), 'contrast'),
    (dict(difficulty=dict(occlusion_prob=2)), 'occlusion_prob'),
])
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        generate_toy_digits(str(tmp_path / 'x'), **kwargs)
    assert not osp.exists(tmp_path / 'x')


def test_cli_is_idempotent(tmp_path):
    out = tmp_path / 'cli'
    cmd = [
        sys.executable,
        osp.join(REPO, 'tools', 'make_toy_data.py'), '--out-dir',
        str(out), '--num-train', '4', '--num-val', '2', '--num-cls-train',
        '10', '--num-cls-val', '10', '--seed', '1'
    ]
    first = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert first.returncode == 0, first.stderr
    assert 'wrote toy digits' in first.stdout
    meta = json.loads((out / 'meta.json').read_text())
    assert meta['num_train'] == 4 and meta['seed'] == 1
    ann = out / 'det' / 'annotations' / 'instances_train.json'
    mtime = ann.stat().st_mtime_ns
    second = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert second.returncode == 0, second.stderr
    assert 'up to date' in second.stdout and 'skipping' in second.stdout
    assert ann.stat().st_mtime_ns == mtime
    # changed parameters regenerate
    third = subprocess.run(cmd[:-1] + ['2'], capture_output=True,
                           text=True, cwd=REPO)
    assert third.returncode == 0, third.stderr
    assert 'wrote toy digits' in third.stdout
    assert json.loads((out / 'meta.json').read_text())['seed'] == 2
    # bad arguments exit non-zero with the message
    bad = subprocess.run(cmd + ['--min-digits', '5'], capture_output=True,
                         text=True, cwd=REPO)
    assert bad.returncode != 0 and 'min_digits' in bad.stderr


def test_interrupted_run_is_redone(tmp_path):
    out = str(tmp_path / 'p')
    paths = generate_toy_digits(out, num_train=2, num_val=1, cls=False)
    os.remove(paths['meta'])  # as if killed before the end
    again = generate_toy_digits(out, num_train=2, num_val=1, cls=False)
    assert not again['skipped']
    assert generate_toy_digits(out, num_train=2, num_val=1,
                               cls=False)['skipped']
    assert not osp.exists(osp.join(out, 'cls'))


def test_mmdet_coco_dataset_reads_detection_set(toy):
    pytest.importorskip('mmdet')
    from mmdet.datasets import CocoDataset
    ds = CocoDataset(
        data_root=toy['det_root'],
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='images/val/'),
        metainfo=dict(classes=CLASSES),
        pipeline=[])
    assert len(ds) == 6
    coco = _load(toy['val_ann'])
    first = [a for a in coco['annotations'] if a['image_id'] == 1]
    info = ds.get_data_info(0)
    assert osp.isfile(info['img_path'])
    assert [i['bbox_label'] for i in info['instances']] == [
        a['category_id'] - 1 for a in first
    ]
    x, y, w, h = first[0]['bbox']
    assert info['instances'][0]['bbox'] == [x, y, x + w, y + h]


def test_mmpretrain_custom_dataset_reads_folders(toy):
    pytest.importorskip('mmpretrain')
    from mmpretrain.datasets import CustomDataset
    ds = CustomDataset(data_prefix=toy['cls_val'], pipeline=[])
    assert tuple(ds.metainfo['classes']) == CLASSES
    assert len(ds) == 20
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        folder = osp.basename(osp.dirname(info['img_path']))
        assert CLASSES[info['gt_label']] == folder
