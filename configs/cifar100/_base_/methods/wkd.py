# The WKD terms on CIFAR-100 as the official code runs them
# (mdistiller/distillers/WKD.py @214cf88), shared by the WKD-L, WKD-F and
# WKD-L+F configs, which set each pair's numbers:
# - WKD-L: target separation with hard labels, then WD between the
#   non-target softmaxes at temperature tau over the 99 x 99 sub-matrix of
#   the cost, Sinkhorn eta 0.05 with 10 iterations, no tau^2 factor;
# - WKD-F: the projected student's last-stage map against the teacher's,
#   per-channel means and stds (sqrt(unbiased var + 1e-5)) on a grid,
#   squared L2, mean-cov ratio gamma on the mean term;
# - both weights (lambda and w_F, not L_t) decay with a cosine after epoch
#   150 of 240 (COSINE_DECAY_EPOCH 150, epochs counted from 1); CE weight 1.
wkd_l = dict(
    type='mmkd.WKDLogitLoss',
    cost_matrix=None,
    sinkhorn_reg=0.05,
    sinkhorn_iters=10)
wkd_l_input = dict(source='logits', labels='hard')
wkd_f = dict(type='mmkd.WKDFeatureLoss', eps=1e-5, covariance='diag')
wkd_f_input = dict(source='feature', connector='proj')

custom_hooks = [
    dict(type='mmkd.DistillWeightScheduleHook', by_epoch=True, begin=150),
    dict(type='mmkd.StudentCheckpointHook'),
]
