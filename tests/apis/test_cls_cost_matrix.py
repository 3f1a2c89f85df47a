# Copyright (c) OpenMMLab. All rights reserved.
"""Classification cost matrices: collection, CKA cost, official files."""
import pytest
import torch

NUM_CLASSES = 3


@pytest.fixture(scope='module', autouse=True)
def _register():
    import mmpretrain.models  # noqa: F401


def _classifier(num_classes: int = NUM_CLASSES):
    from mmpretrain.registry import MODELS
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            _scope_='mmpretrain',
            type='ImageClassifier',
            data_preprocessor=dict(
                type='ClsDataPreprocessor',
                num_classes=num_classes,
                mean=[127.5] * 3,
                std=[127.5] * 3),
            backbone=dict(
                type='ResNet_CIFAR', depth=18, stem_channels=4,
                base_channels=4),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(
                type='LinearClsHead', num_classes=num_classes,
                in_channels=32)))


def _loader(labels_per_batch, size: int = 8, seed: int = 0):
    """A list of raw batches, as a dataloader yields them."""
    from mmpretrain.structures import DataSample
    gen = torch.Generator().manual_seed(seed)
    batches = []
    for labels in labels_per_batch:
        batches.append(
            dict(
                inputs=[
                    torch.randint(0, 256, (3, size, size),
                                  generator=gen).byte() for _ in labels
                ],
                data_samples=[DataSample().set_gt_label(c) for c in labels]))
    return batches


def test_features_are_per_class_logits_truncated_to_the_smallest_class():
    from mmkd.apis.cls_cost_matrix import \
        collect_classification_class_features
    model = _classifier()
    loader = _loader([[0, 1, 2, 0], [0, 1, 2, 1], [0, 0, 2, 1]])
    feats = collect_classification_class_features(
        model, loader, num_per_class=10, progress=False)
    # class 2 has 3 samples, the smallest: b = 3 for every class
    assert tuple(feats.shape) == (NUM_CLASSES, 3, NUM_CLASSES)
    model.eval()
    first = model.data_preprocessor(loader[0], False)
    logits = model(first['inputs'], mode='tensor')
    torch.testing.assert_close(feats[1, 0], logits[1])
    torch.testing.assert_close(feats[0, 1], logits[3])
    pre = collect_classification_class_features(
        model, loader, source='pre_logits', num_per_class=2,
        progress=False)
    assert tuple(pre.shape) == (NUM_CLASSES, 2, 32)


def test_build_gives_the_cka_cost_and_keeps_the_train_mode():
    from mmkd.apis.cls_cost_matrix import (
        build_classification_cost_matrix,
        collect_classification_class_features)
    from mmkd.losses import cka_cost_matrix
    model = _classifier()
    model.train()
    loader = _loader([[0, 1, 2, 0, 1, 2]] * 3)
    cost = build_classification_cost_matrix(
        model, loader, kappa=2.0, num_per_class=3, progress=False)
    assert model.training
    feats = collect_classification_class_features(
        model, loader, num_per_class=3, progress=False)
    expected = cka_cost_matrix(feats.double(), kappa=2.0).float()
    torch.testing.assert_close(cost, expected)
    assert tuple(cost.shape) == (NUM_CLASSES, NUM_CLASSES)
    assert torch.equal(cost, cost.t())
    assert float(cost.diagonal().abs().max()) == 0
    assert float(cost.min()) >= 0 and float(cost.max()) < 1


def test_cost_round_trip_through_save_and_the_distiller_check(tmp_path):
    from mmkd.apis.cls_cost_matrix import build_classification_cost_matrix
    from mmkd.apis.cost_io import load_cost_file, save_cost_matrix
    model = _classifier()
    cost = build_classification_cost_matrix(
        model, _loader([[0, 1, 2, 2, 1, 0]] * 2), num_per_class=4,
        progress=False)
    out = str(tmp_path / 'cost.pth')
    written = save_cost_matrix(cost, out, ['a', 'b', 'c'], heatmap=True)
    assert written == [out, str(tmp_path / 'cost.png')]
    torch.testing.assert_close(load_cost_file(out), cost)


def test_a_class_without_samples_is_named():
    from mmkd.apis.cls_cost_matrix import \
        collect_classification_class_features
    with pytest.raises(ValueError, match=r'classes: cat \(0\)'):
        collect_classification_class_features(
            _classifier(), _loader([[1, 2, 1, 2]]), progress=False,
            class_names=['cat', 'dog', 'eel'])


@pytest.mark.parametrize('kwargs, err, match', [
    (dict(source='feature_map'), ValueError, 'source must be one of'),
    (dict(num_per_class=1), ValueError, 'num_per_class must be an int'),
])
def test_bad_arguments(kwargs, err, match):
    from mmkd.apis.cls_cost_matrix import \
        collect_classification_class_features
    with pytest.raises(err, match=match):
        collect_classification_class_features(
            _classifier(), _loader([[0, 1, 2]]), progress=False, **kwargs)


def test_a_detector_like_model_is_refused():
    from mmkd.apis.cls_cost_matrix import \
        collect_classification_class_features
    with pytest.raises(TypeError, match='not an mmpretrain ImageClassifier'):
        collect_classification_class_features(torch.nn.Linear(2, 2), [])


def test_official_format_is_sharpened(tmp_path):
    from mmkd.apis.cost_io import load_official_cost_matrix
    m = torch.tensor([[0., 0.5, 0.9], [0.5, 0., 0.7], [0.9, 0.7, 0.]])
    path = str(tmp_path / 'toy_linear_cka.pth')
    torch.save(m, path)
    cost = load_official_cost_matrix(path, kappa=2.0, num_classes=3)
    torch.testing.assert_close(cost, 1 - torch.exp(-2.0 * m))
    with pytest.raises(ValueError, match='cost matrix is 3x3 but logits '
                       'have 1000 classes'):
        load_official_cost_matrix(path, num_classes=1000)
    with pytest.raises(FileNotFoundError):
        load_official_cost_matrix(str(tmp_path / 'missing.pth'))


@pytest.mark.parametrize('name, n, kappa', [
    ('imagenet/resnet34_logit_linear_cka.pth', 1000, 1.0),
    ('imagenet/resnet50_logit_linear_cka.pth', 1000, 2.0),
    ('cifar100/resnet32x4_linear_cka.pth', 100, 1.0),
])
def test_official_released_matrices(name, n, kappa, official_cost_matrix):
    from mmkd.apis.cost_io import load_official_cost_matrix
    path = official_cost_matrix(name)
    raw = torch.load(path, map_location='cpu', weights_only=True)
    cost = load_official_cost_matrix(path, kappa=kappa, num_classes=n)
    assert cost.device.type == 'cpu' and cost.dtype == torch.float32
    assert tuple(cost.shape) == (n, n)
    torch.testing.assert_close(cost, 1 - torch.exp(-kappa * raw.float()))
    assert float(cost.diagonal().abs().max()) == 0
    assert torch.equal(cost, cost.t())


def _wrn(num_classes: int = NUM_CLASSES):
    """The CIFAR zoo's wrn_16_1, whose DISTILL_STAGE (block3, before the
    final BN + ReLU) is not the backbone's last output."""
    import mmkd.models.backbones  # noqa: F401
    from mmpretrain.registry import MODELS

    from mmkd.models.backbones import cifar_classifier_cfg
    torch.manual_seed(0)
    cfg = cifar_classifier_cfg('wrn_16_1', num_classes=num_classes)
    cfg['data_preprocessor'] = dict(
        type='ClsDataPreprocessor', num_classes=num_classes,
        mean=[127.5] * 3, std=[127.5] * 3)
    return MODELS.build(cfg)


def test_feature_rows_are_every_position_of_the_distilled_stage():
    """The official CIFAR recipe: each image's last-stage map (the
    backbone's DISTILL_STAGE) gives H * W rows of C channels, image by
    image; the matrix is the CKA of those rows."""
    from mmkd.apis.cls_cost_matrix import (
        build_classification_cost_matrix,
        collect_classification_class_features)
    from mmkd.losses import cka_cost_matrix
    model = _wrn()
    loader = _loader([[0, 1, 2, 0], [1, 2, 0, 1], [2, 2, 0, 1]], size=32)
    # four images per class, 8 x 8 = 64 positions each: the first three
    # of each class fill 192 rows
    feats = collect_classification_class_features(
        model, loader, source='feature', num_per_class=192, progress=False)
    assert tuple(feats.shape) == (NUM_CLASSES, 192, 64)
    model.eval()
    stage = dict(model.backbone.named_modules())['block3']
    captured = []
    handle = stage.register_forward_hook(
        lambda m, a, out: captured.append(out.detach()))
    rows = {c: [] for c in range(NUM_CLASSES)}
    with torch.no_grad():
        for batch in loader:
            data = model.data_preprocessor(batch, False)
            model.extract_feat(data['inputs'])
            for img, sample in zip(captured.pop(), data['data_samples']):
                rows[int(sample.gt_label)].append(
                    img.permute(1, 2, 0).reshape(-1, 64))
    handle.remove()
    expected = torch.stack(
        [torch.cat(rows[c])[:192] for c in range(NUM_CLASSES)])
    torch.testing.assert_close(feats, expected)
    cost = build_classification_cost_matrix(
        model, loader, kappa=1.0, source='feature', num_per_class=192,
        progress=False)
    torch.testing.assert_close(cost,
                               cka_cost_matrix(expected.double()).float())


def test_a_corrupted_cost_file_names_the_file_and_the_fix(tmp_path):
    from mmkd.apis.cost_io import (load_cost_matrix_and_record,
                                   save_cost_matrix)
    from mmkd.losses import as_cost_matrix
    path = str(tmp_path / 'cost.pth')
    save_cost_matrix(torch.rand(3, 3).fill_diagonal_(0), path, heatmap=False)
    with open(path, 'rb') as f:
        head = f.read()[:200]
    with open(path, 'wb') as f:  # a copy cut short
        f.write(head)
    for load in (load_cost_matrix_and_record, as_cost_matrix):
        with pytest.raises(ValueError,
                           match=f'Cannot read the cost matrix file '
                           f"'{path}'.*Delete it so that CostMatrixHook "
                           'builds it again.*tools/build_cost_matrix.py'):
            load(path)


def _vit(out_type: str):
    from mmpretrain.registry import MODELS
    torch.manual_seed(0)
    return MODELS.build(dict(
        _scope_='mmpretrain', type='ImageClassifier',
        data_preprocessor=dict(type='ClsDataPreprocessor',
                               num_classes=NUM_CLASSES, mean=[127.5] * 3,
                               std=[127.5] * 3),
        backbone=dict(type='VisionTransformer', arch=dict(
            embed_dims=16, num_layers=1, num_heads=2,
            feedforward_channels=32), img_size=16, patch_size=4,
            out_type=out_type),
        head=dict(type='LinearClsHead', num_classes=NUM_CLASSES,
                  in_channels=16)))


def test_feature_rows_of_a_vit_are_its_patch_tokens():
    """A ViT's map is its patch tokens on the grid (the distiller's layout):
    'raw' tokens (class token dropped) and 'featmap' give the same rows;
    a pooled output is refused naming the fix."""
    from mmkd.apis.cls_cost_matrix import \
        collect_classification_class_features
    loader = _loader([[0, 1, 2], [0, 1, 2]], size=16)
    raw, featmap = (collect_classification_class_features(
        _vit(t), loader, source='feature', num_per_class=32,
        progress=False) for t in ('raw', 'featmap'))
    assert tuple(raw.shape) == (NUM_CLASSES, 32, 16)  # 2 images x 4 x 4
    torch.testing.assert_close(raw, featmap)
    with pytest.raises(ValueError, match="out_type='featmap'"):
        collect_classification_class_features(
            _vit('cls_token'), loader, source='feature', num_per_class=32,
            progress=False)
