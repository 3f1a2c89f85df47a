# KDDM MMD (RBF kernel, bandwidth = mean pairwise distance), R34 -> R18.
_base_ = './kddm-w2e_resnet34-to-resnet18_8xb32-15e_in1k.py'

model = dict(
    distill_losses=dict(
        loss_kddm=dict(metric='mmd', kernel='rbf', loss_weight=0.4)))
