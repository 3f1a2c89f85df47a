# KDDM JW2 (E): OT over (feature, prediction) pairs, feature cost
# normalised by its mean plus beta times the squared Euclidean cost between
# the student's and the teacher's logits (student against teacher; the
# public code compares the student with itself, docs/methods.md section 6).
# lambda 0.006: the distance starts at about 29.
_base_ = './kddm-w2e_r18-w16-to-r18-w8_toy-digits-cls.py'

model = dict(
    distill_losses=dict(
        loss_kddm=dict(
            metric='joint_wasserstein', beta=1.0, loss_weight=0.006)))
