# KDDM KL (G): KL(N_S || N_T) between diagonal Gaussians fitted to the
# batch's pooled features; the variance floor keeps dead channels finite.
# lambda 0.0002: the divergence starts at about 830.
_base_ = './kddm-w2e_r18-w16-to-r18-w8_toy-digits-cls.py'

model = dict(
    distill_losses=dict(
        loss_kddm=dict(
            metric='gaussian_kl', covariance='diag', eps=1e-4,
            loss_weight=0.0002)))
