# BD-KD with the soft weighting d2 = sigmoid(dH / 0.5), d1 = 1 - d2.
_base_ = ['./bdkd_r18-w16-to-r18-w8_toy-digits-medium-cls.py']

model = dict(
    student_distill_loss=dict(weighting='sigmoid', gap_temperature=0.5))
