# KDDM CW2 (G): W2 (G) per class present in the batch, summed; a class
# with one sample keeps a finite Gaussian through the variance floor.
# lambda 0.0002: the sum starts at about 780.
_base_ = './kddm-w2g_r18-w16-to-r18-w8_toy-digits-cls.py'

model = dict(
    distill_losses=dict(
        loss_kddm=dict(conditional=True, loss_weight=0.0002)))
