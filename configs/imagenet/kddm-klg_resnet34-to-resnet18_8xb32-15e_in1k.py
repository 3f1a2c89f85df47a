# KDDM KL (G), R34 -> R18: KL between diagonal Gaussians of the pooled
# features, variance floor 1e-4 (dead channels stay finite).
_base_ = './kddm-w2e_resnet34-to-resnet18_8xb32-15e_in1k.py'

model = dict(
    distill_losses=dict(
        loss_kddm=dict(
            metric='gaussian_kl', covariance='diag', eps=1e-4)))
