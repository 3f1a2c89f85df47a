# KDDM W2 (G): closed-form W2 between diagonal Gaussians fitted to the
# batch's pooled features (variance floor 1e-4). lambda 0.003: the
# distance starts at about 54.
_base_ = './kddm-w2e_r18-w16-to-r18-w8_toy-digits-cls.py'

model = dict(
    distill_losses=dict(
        loss_kddm=dict(
            metric='gaussian_wasserstein', covariance='diag',
            loss_weight=0.003)))
