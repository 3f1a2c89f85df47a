# KDDM W2 (G), R34 -> R18: diagonal Gaussians of the 512-d pooled features
# (a full covariance from 32 samples would be singular; see shrinkage).
_base_ = './kddm-w2e_resnet34-to-resnet18_8xb32-15e_in1k.py'

model = dict(
    distill_losses=dict(
        loss_kddm=dict(
            metric='gaussian_wasserstein', covariance='diag')))
