# Copyright (c) OpenMMLab. All rights reserved.
"""For one val RoI of the detection study, the two distributions WKD-L
compares and their transport plan (for the report's figure)."""
import argparse
import os.path as osp
from typing import Optional

from .plan import Run, config_value, load_config, write_json
from .runner import git_commit
from .tasks import TASKS


def roi_example(args: argparse.Namespace, teacher_ckpt: str,
                cost_file: str) -> Optional[str]:
    """For one val RoI, the distributions WKD-L compares and their plan.

    Takes the WKD-L student of seed 0 and the teacher, scores the ground
    truth boxes of the first val images with both RoI heads, and keeps the
    RoI the teacher classifies right whose non-target distribution is the
    most concentrated (the teacher's "looks like" knowledge). Writes
    ``roi_example.json`` (probabilities over the non-target classes at the
    loss's temperature, the Sinkhorn plan between them, the cost) for
    ``study_report.py``; nothing if that run has not finished.
    """
    out = osp.join(args.results, 'roi_example.json')
    task = TASKS['det']
    variant = task.variants['wkd-l']
    run = Run(variant, 0, config_value(variant.config, variant.knob))
    student_ckpt = osp.join(args.work_dir, run.id, 'student_final.pth')
    if osp.exists(out) or not osp.exists(student_ckpt):
        return None
    import torch
    import torch.nn.functional as F
    from mmdet.structures.bbox import bbox2roi
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner, load_checkpoint
    from mmkd.apis.cost_io import load_cost_matrix_and_record
    from mmkd.models.adapters import roi_forward
    from mmkd.losses.sinkhorn import sinkhorn
    from mmkd.registry import MODELS

    init_default_scope('mmdet')
    loss_cfg = load_config(variant.config).model.distill_losses.loss_wkd_l
    tau = float(loss_cfg.temperature)
    cost, record = load_cost_matrix_and_record(cost_file)
    models = {}
    for role, config, ckpt in (('student', task.student_config,
                                student_ckpt),
                               ('teacher', task.teacher_config,
                                teacher_ckpt)):
        model = MODELS.build(load_config(config).model)
        load_checkpoint(model, ckpt, map_location='cpu', logger='silent')
        models[role] = model.eval()
    cfg = load_config(task.student_config)
    loader_cfg = cfg.test_dataloader
    loader_cfg.dataset.ann_file = 'annotations/instances_val.json'
    loader_cfg.dataset.data_prefix = dict(img='images/val/')
    loader_cfg.update(num_workers=0, persistent_workers=False)
    best = None
    with torch.no_grad():
        for b, batch in enumerate(Runner.build_dataloader(loader_cfg)):
            if b == 8:
                break
            logits = {}
            for role, model in models.items():
                data = model.data_preprocessor(batch, False)
                feats = model.extract_feat(data['inputs'])
                boxes = [d.gt_instances.bboxes for d in data['data_samples']]
                logits[role] = roi_forward(
                    model.roi_head, feats,
                    bbox2roi(boxes))['cls_score'].float()
            labels = torch.cat([
                d.gt_instances.labels for d in data['data_samples']])
            for i, label in enumerate(labels.tolist()):
                t = logits['teacher'][i]
                if int(t.argmax()) != label:
                    continue
                keep = torch.ones_like(t, dtype=torch.bool)
                keep[label] = False
                pt = F.softmax((t / tau).masked_fill(~keep, float('-inf')), 0)
                score = float(pt.max())
                if best is None or score > best[0]:
                    ps = F.softmax((logits['student'][i] / tau).masked_fill(
                        ~keep, float('-inf')), 0)
                    best = (score, label, ps, pt, keep)
    if best is None:
        print('[example] the teacher classified no val RoI right; skipped')
        return None
    _, label, ps, pt, keep = best
    plan = sinkhorn(ps, pt, cost, reg=float(loss_cfg.sinkhorn_reg),
                    iters=int(loss_cfg.sinkhorn_iters), support=keep)
    names = list((record or {}).get('class_names') or
                 [str(i) for i in range(cost.shape[0])])
    write_json(out, dict(
        id='roi_example', run=run.id, classes=names, gt_class=names[label],
        temperature=tau,
        student_probs=[round(float(v), 5) for v in ps],
        teacher_probs=[round(float(v), 5) for v in pt],
        plan=[[round(float(v), 6) for v in row] for row in plan],
        wd=float((plan * cost).sum()), commit=git_commit()))
    print(f'[example] wrote {out}', flush=True)
    return out
