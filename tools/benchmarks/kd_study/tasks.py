# Copyright (c) OpenMMLab. All rights reserved.
"""The study catalogue: each task's teacher, student and variants, the
loss-weight grids and the options that point a test loop at a split."""
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Tuple

#: The repository root; runs start there and the study's paths are
#: relative to it.
ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
SEEDS = (0, 1, 2)
#: The loss-weight grids: 4x apart, the middle one the config's value
#: before the sweep.
GRID = (0.25, 1.0, 4.0)
#: How many steps a sweep may add beyond its grid (see sweep_values).
MAX_EXTEND = 2


class Variant:
    """One variant of a study: the student alone or a distillation config.

    Args:
        name (str): Short name, used in run ids and tables.
        config (str): Config path from the repository root.
        label (str): Row label for tables.
        knob (str, optional): The ``--cfg-options`` key of the loss weight
            the sweep varies. Defaults to None (no sweep).
        sweep (Sequence[float]): The knob's values in the sweep.
        uses (Sequence[str]): Variants whose chosen knob values this one
            must carry (the combinations). Defaults to ().
        options (Sequence[str]): Extra ``--cfg-options`` of every run.
    """

    def __init__(self,
                 name: str,
                 config: str,
                 label: str,
                 knob: Optional[str] = None,
                 sweep: Sequence[float] = (),
                 uses: Sequence[str] = (),
                 options: Sequence[str] = ()) -> None:
        self.name = name
        self.config = config
        self.label = label
        self.knob = knob
        self.sweep = tuple(sweep)
        self.uses = tuple(uses)
        self.options = tuple(options)

    @property
    def distills(self) -> bool:
        return self.name != 'student'


class Task:
    """What differs between the detection and the classification study.

    Args:
        name (str): ``'det'`` or ``'cls'``.
        teacher_config (str): The converged teacher's config.
        variants (Sequence[Variant]): The student alone first, then the
            distillation variants, in table order.
        metric (str): The metric that picks weights (higher is better).
        prefixes (Sequence[str]): Metric-name prefixes kept in results.
        split_options (Callable): Split name -> ``--cfg-options`` that point
            the test loop at that split.
        cost_args (Sequence[str]): Options of ``tools/build_cost_matrix.py``
            for the teacher's cost matrix (besides ``--kappa 1.0``).
            Defaults to 100 samples per class.
        teacher_snapshot (str, optional): Where the teacher's weights are
            kept (committed; from the repository root): written once the
            teacher is trained, restored on a fresh machine; for small
            teachers of studies that span sessions. Defaults to None (not
            kept).
        teacher_data (Sequence[str]): ``tools/make_toy_data.py`` arguments
            of a set only the teacher trains on (more training crops, as
            OFA's teachers are pretrained on more data than their students
            see), made before the teacher trains. Defaults to () (none).
    """

    def __init__(self,
                 name: str,
                 teacher_config: str,
                 variants: Sequence[Variant],
                 metric: str,
                 prefixes: Sequence[str],
                 split_options: Callable[[str], List[str]],
                 cost_args: Sequence[str] = ('--num-per-class', '100'),
                 teacher_snapshot: Optional[str] = None,
                 teacher_data: Sequence[str] = ()) -> None:
        self.name = name
        self.teacher_config = teacher_config
        self.variants: Dict[str, Variant] = {v.name: v for v in variants}
        self.metric = metric
        self.prefixes = tuple(prefixes)
        self.split_options = split_options
        self.cost_args = tuple(cost_args)
        self.teacher_snapshot = teacher_snapshot
        self.teacher_data = tuple(teacher_data)

    @property
    def student_config(self) -> str:
        return self.variants['student'].config

    @property
    def results(self) -> str:
        """Default folder of the result files (committed)."""
        return osp.join('tools', 'benchmarks', 'results',
                        f'toy_{self.name}_study')


def _grid(center: float) -> Tuple[float, ...]:
    return tuple(round(center * g, 10) for g in GRID)


_W = 'model.distill_losses.{}.loss_weight'
_WD = 'model.distill_losses.loss_wkd_l.wd_weight'
DET_DIR = osp.join('configs', 'toy_digits')
DET_DATA = 'data/toy_digits/det/'


def _det(kind: str) -> str:
    return osp.join(DET_DIR,
                    f'faster-rcnn_r50-w32-to-r18-w16_fpn_{kind}_toy-digits.py')


def det_split_options(split: str) -> List[str]:
    """``--cfg-options`` that point a toy detection test loop at ``split``."""
    return [
        f'test_dataloader.dataset.ann_file=annotations/instances_{split}.json',
        f'test_dataloader.dataset.data_prefix.img=images/{split}/',
        f'test_evaluator.ann_file={DET_DATA}annotations/'
        f'instances_{split}.json',
    ]


def cls_split_options(split: str) -> List[str]:
    """``--cfg-options`` that point a toy classification test loop at
    ``split``."""
    return [f'test_dataloader.dataset.data_prefix={split}']


def _one_stage(detector: str, kind: str) -> str:
    return osp.join(
        DET_DIR, f'{detector}_r50-w32-to-r18-w16_fpn_{kind}_toy-digits.py')


def one_stage_task(detector: str) -> 'Task':
    """The toy study of a one-stage detector (``'gfl'`` or
    ``'retinanet'``): the student alone, KD and WKD-L on the dense class
    outputs, FitNet and WKD-F on FPN, and for GFL the box-bin terms (W1,
    LD's KL through mmkd, and mmdet's own LD detector)."""
    def pair(kind: str) -> str:
        return _one_stage(detector, kind)

    variants = [
        Variant('student',
                osp.join(DET_DIR, f'{detector}_r18-w16_fpn_toy-digits.py'),
                'student alone'),
        Variant('kd', pair('kd'), 'KD (dense class outputs)',
                _W.format('loss_kd'), _grid(1.0)),
        Variant('wkd-l', pair('wkd-l'), 'WKD-L (dense, exclusive)', _WD,
                _grid(10.0)),
        Variant('fitnet', pair('fitnet'), 'FitNet (FPN)',
                _W.format('loss_fitnet'), _grid(1.0)),
        Variant('wkd-f-fpn', pair('wkd-f-fpn'), 'WKD-F (FPN)',
                _W.format('loss_wkd_f'), _grid(0.01)),
        Variant('wkd-f-fpn-gt', pair('wkd-f-fpn-gt'),
                'WKD-F (FPN, GT regions)', uses=('wkd-f-fpn', )),
        Variant('wkd-lf', pair('wkd-lf'), 'WKD-L + WKD-F',
                uses=('wkd-l', 'wkd-f-fpn')),
    ]
    if detector == 'gfl':
        variants[3:3] = [
            Variant('wkd-l-normalized', pair('wkd-l-normalized'),
                    'WKD-L (dense, normalized)', uses=('wkd-l', )),
            Variant('wkd-box', pair('wkd-box'), 'W1 on box bins',
                    _W.format('loss_box'), _grid(0.25)),
            Variant('kl-box', pair('kl-box'), 'KL on box bins (LD, mmkd)',
                    _W.format('loss_box'), _grid(0.25)),
            Variant('ld', osp.join(
                DET_DIR, 'ld_r18-w16-gfl-r50-w32_fpn_toy-digits.py'),
                'LD (mmdet, as configured)'),
        ]
        variants.append(
            Variant('wkd-lf-box', pair('wkd-lf-box'),
                    'WKD-L + WKD-F + W1 box',
                    uses=('wkd-l', 'wkd-f-fpn', 'wkd-box')))
    return Task(
        detector,
        osp.join(DET_DIR, f'{detector}_r50-w32_fpn_3x_toy-digits.py'),
        variants, 'coco/bbox_mAP', ('coco/', ), det_split_options)


CLS_DIR = osp.join('configs', 'toy_digits_cls')


def _cls(kind: str) -> str:
    return osp.join(CLS_DIR, f'{kind}_r18-w16-to-r18-w8_toy-digits-cls.py')


CRD_DIR = osp.join('configs', 'toy_digits_crd')
#: The toy CRD teacher's weights, shared by the CRD and the CNN -> ViT study.
CRD_TEACHER = osp.join('tools', 'benchmarks', 'results', 'toy_crd_study',
                       'teacher.pth')


def crd_task() -> Task:
    """The toy CRD study: the CIFAR-100 recipe shortened fivefold on the 32 x
    32 toy crops, resnet32 -> resnet8 (the official resnet32x4 ->
    resnet8x4 pair at a quarter of its widths), each sweep centred on the
    official CIFAR values of that pair; the cost matrix built as the
    official CIFAR matrices (every position of the teacher's last stage,
    test pipeline, in order)."""

    def pair(kind: str) -> str:
        return osp.join(CRD_DIR,
                        f'{kind}_resnet32-to-resnet8_crd-48e_toy-digits-cls.py')

    return Task(
        'crd', osp.join(CRD_DIR, 'resnet32_crd-144e-mixup_toy-digits-cls.py'), [
            Variant('student',
                    osp.join(CRD_DIR, 'resnet8_crd-48e_toy-digits-cls.py'),
                    'student alone'),
            Variant('kd', pair('kd'), 'KD', _W.format('loss_kd'),
                    _grid(0.9)),
            Variant('dkd', pair('dkd'), 'DKD', _W.format('loss_dkd'),
                    _grid(1.0)),
            Variant('wkd-l', pair('wkd-l'), 'WKD-L', _WD, _grid(600.0)),
            Variant('wkd-f', pair('wkd-f'), 'WKD-F', _W.format('loss_wkd_f'),
                    _grid(0.08)),
            Variant('wkd-lf', pair('wkd-lf'), 'WKD-L + WKD-F', _WD,
                    _grid(200.0)),
        ],
        'accuracy/top1', ('accuracy/', 'calibration/'),
        cls_split_options,
        cost_args=('--source', 'feature', '--num-per-class', '19200',
                   '--test-pipeline'),
        teacher_snapshot=CRD_TEACHER)


HETERO_DIR = osp.join('configs', 'toy_digits_hetero')


def hetero_task(name: str) -> Task:
    """A toy across-architecture study on the 32 x 32 toy crops (the WKD
    paper's CNN <-> Transformer table in miniature): ``'hetero_vit'``, a ViT
    teacher with a convolutional stem (width 96, 6 layers; trained on ten
    times the students' training crops, its weights kept) -> resnet8, or
    ``'hetero_cnn'``, the toy CRD resnet32 teacher -> a ViT student with a
    convolutional stem (width 48, 4 layers; a plain ViT does not learn the
    toy crops). Student
    alone, KD, DKD, FitNet, WKD-L, WKD-F and WKD-L+F; feature terms on the
    8 x 8 maps of both (ViT patch tokens after the final LayerNorm) through
    a linear projector; the cost from the teacher's logits."""
    teacher, student, pair = {
        'hetero_vit': ('cvit-w96-d6_36e_toy-digits-30k-cls.py',
                       osp.join('..', 'toy_digits_crd',
                                'resnet8_crd-48e_toy-digits-cls.py'),
                       'cvit-w96-to-resnet8_48e'),
        'hetero_cnn': (osp.join('..', 'toy_digits_crd',
                                'resnet32_crd-144e-mixup_toy-digits-cls.py'),
                       'cvit-w48-d4_96e_toy-digits-cls.py',
                       'resnet32-to-cvit-w48_96e'),
    }[name]

    def leaf(kind: str) -> str:
        return osp.join(HETERO_DIR, f'{kind}_{pair}_toy-digits-cls.py')

    return Task(
        name, osp.normpath(osp.join(HETERO_DIR, teacher)), [
            Variant('student', osp.normpath(osp.join(HETERO_DIR, student)),
                    'student alone'),
            Variant('kd', leaf('kd'), 'KD', _W.format('loss_kd'),
                    _grid(0.9)),
            Variant('dkd', leaf('dkd'), 'DKD', _W.format('loss_dkd'),
                    _grid(1.0)),
            Variant('fitnet', leaf('fitnet'), 'FitNet',
                    _W.format('loss_fitnet'), _grid(100.0)),
            Variant('wkd-l', leaf('wkd-l'), 'WKD-L', _WD, _grid(100.0)),
            Variant('wkd-f', leaf('wkd-f'), 'WKD-F', _W.format('loss_wkd_f'),
                    _grid(0.02)),
            Variant('wkd-lf', leaf('wkd-lf'), 'WKD-L + WKD-F',
                    uses=('wkd-l', 'wkd-f')),
        ], 'accuracy/top1', ('accuracy/', 'calibration/'),
        cls_split_options,
        # as the configs' CostMatrixHook: every training crop, test pipeline
        cost_args=('--num-per-class', '300', '--test-pipeline'),
        # The ViT teacher is small (about 0.7 M parameters): keep its weights
        # too, so later sessions distil from the same one.
        teacher_snapshot=CRD_TEACHER if name == 'hetero_cnn' else osp.join(
            'tools', 'benchmarks', 'results', 'toy_hetero_vit_study',
            'teacher.pth'),
        # the CViT teacher's 30000 crops (its config says why)
        teacher_data=() if name == 'hetero_cnn' else (
            '--out-dir', osp.join('data', 'toy_digits_large'), '--cls-only',
            '--num-cls-train', '30000'))


def fpn_task(detector: str = 'faster-rcnn') -> Task:
    """The FPN study of a toy detector (``'faster-rcnn'`` or ``'gfl'``):
    feature terms on the FPN levels only, against FitNet (MSE) on the same
    maps, with that detector's study teacher and split. On the Faster
    R-CNN toy the candidates' weights are matched to FitNet's first-step
    term and their sweeps centred there; the GFL toy sweeps around the
    same weights its survivors and spatial WD (the pruned candidates are
    not repeated)."""
    candidates = (
        ('wkd-f-fpn-const', 'WKD-F (FPN, 2x2 grid, constant weight)',
         'loss_wkd_f', 0.01),
        ('wkd-f-fpn-cell2', 'WKD-F (FPN, 2x2-position cells)', 'loss_wkd_f',
         0.02),
        ('wkd-f-fpn-cell4', 'WKD-F (FPN, 4x4-position cells)', 'loss_wkd_f',
         0.02),
        ('wkd-f-fpn-cell2-norm',
         'WKD-F (FPN, 2x2-position cells, standardised)', 'loss_wkd_f',
         0.125),
        ('wkd-f-fpn-full', 'WKD-F (FPN, full covariance)', 'loss_wkd_f',
         0.025),
        ('swd-fpn', 'spatial WD (FPN)', 'loss_swd', 160.0),
        ('cwd-fpn', 'CWD (FPN, KL)', 'loss_cwd', 12.0))
    if detector == 'faster-rcnn':
        pair, name = _det, 'det_fpn'
        fitnet, wkd_f = 4.0, 0.0025
    elif detector == 'gfl':
        def pair(kind: str) -> str:
            return _one_stage('gfl', kind)

        name, fitnet, wkd_f = 'gfl_fpn', 16.0, 0.16
        kept = ('wkd-f-fpn-cell2', 'wkd-f-fpn-cell2-norm', 'swd-fpn',
                'cwd-fpn')
        # the standardised cells' weight: the best of a first sweep (on a
        # teacher since retrained: results/toy_gfl_fpn_study/teacher_*)
        candidates = tuple(
            c[:3] + (0.5, ) if c[0] == 'wkd-f-fpn-cell2-norm' else c
            for c in candidates if c[0] in kept)
    else:
        raise ValueError(f"detector must be 'faster-rcnn' or 'gfl', got "
                         f'{detector!r}')
    variants = [
        Variant('student',
                osp.join(DET_DIR, f'{detector}_r18-w16_fpn_toy-digits.py'),
                'student alone'),
        Variant('fitnet', pair('fitnet'), 'FitNet (FPN, MSE)',
                _W.format('loss_fitnet'), _grid(fitnet)),
        Variant('wkd-f-fpn', pair('wkd-f-fpn'), 'WKD-F (FPN, 2x2 grid)',
                _W.format('loss_wkd_f'), _grid(wkd_f)),
    ]
    for kind, label, knob, weight in candidates:
        variants.append(
            Variant(kind, pair(kind), label, _W.format(knob), _grid(weight)))
    return Task(
        name, osp.join(DET_DIR, f'{detector}_r50-w32_fpn_3x_toy-digits.py'),
        variants, 'coco/bbox_mAP', ('coco/', ), det_split_options)


TASKS: Dict[str, Task] = {
    'det': Task(
        'det', osp.join(DET_DIR, 'faster-rcnn_r50-w32_fpn_3x_toy-digits.py'),
        [
            Variant('student',
                    osp.join(DET_DIR, 'faster-rcnn_r18-w16_fpn_toy-digits.py'),
                    'student alone'),
            Variant('kd', _det('kd'), 'KD (RoI logits)',
                    _W.format('loss_kd'), _grid(1.0)),
            Variant('dkd', _det('dkd'), 'DKD (RoI logits)',
                    _W.format('loss_dkd'), _grid(1.0)),
            Variant('wkd-l', _det('wkd-l'), 'WKD-L (RoI logits)', _WD,
                    _grid(10.0)),
            Variant('fitnet', _det('fitnet'), 'FitNet (FPN)',
                    _W.format('loss_fitnet'), _grid(1.0)),
            Variant('wkd-f-roi', _det('wkd-f'), 'WKD-F (RoI features)',
                    _W.format('loss_wkd_f'), _grid(0.02)),
            Variant('wkd-f-fpn', _det('wkd-f-fpn'), 'WKD-F (FPN)',
                    _W.format('loss_wkd_f'), _grid(0.01)),
            Variant('wkd-lf', _det('wkd-lf'), 'WKD-L + WKD-F (RoI)',
                    uses=('wkd-l', 'wkd-f-roi')),
            Variant('wkd-lf-bbox', _det('wkd-lf-bbox'),
                    'WKD-L + WKD-F + box KD', uses=('wkd-l', 'wkd-f-roi')),
            # The overhead issue's cheaper option: the foreground RoIs only.
            Variant('wkd-f-roi-fg', _det('wkd-f'),
                    'WKD-F (RoI, fg RoIs only)', uses=('wkd-f-roi', ),
                    options=('model.distill_inputs.loss_wkd_f.rois=fg', )),
        ], 'coco/bbox_mAP', ('coco/', ), det_split_options),
    'cls': Task(
        'cls', osp.join(CLS_DIR, 'resnet18-w16_60e-mixup_toy-digits-cls.py'),
        [
            Variant('student',
                    osp.join(CLS_DIR, 'resnet18-w8_toy-digits-cls.py'),
                    'student alone'),
            Variant('kd', _cls('kd'), 'KD', _W.format('loss_kd'),
                    _grid(0.9)),
            Variant('dkd', _cls('dkd'), 'DKD', _W.format('loss_dkd'),
                    _grid(1.0)),
            Variant('wkd-l', _cls('wkd-l'), 'WKD-L', _WD, _grid(30.0)),
            Variant('wkd-f', _cls('wkd-f'), 'WKD-F', _W.format('loss_wkd_f'),
                    _grid(0.05)),
            Variant('wkd-lf', _cls('wkd-lf'), 'WKD-L + WKD-F',
                    uses=('wkd-l', 'wkd-f')),
        ], 'accuracy/top1', ('accuracy/', 'calibration/'),
        cls_split_options),
    'crd': crd_task(),
    'det_fpn': fpn_task(),
    'gfl_fpn': fpn_task('gfl'),
    'hetero_vit': hetero_task('hetero_vit'),
    'hetero_cnn': hetero_task('hetero_cnn'),
    'gfl': one_stage_task('gfl'),
    'retinanet': one_stage_task('retinanet'),
}
