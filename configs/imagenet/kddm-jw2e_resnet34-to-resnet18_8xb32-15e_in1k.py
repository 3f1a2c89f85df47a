# KDDM JW2 (E), R34 -> R18: OT over (feature, logits) pairs, student
# against teacher.
_base_ = './kddm-w2e_resnet34-to-resnet18_8xb32-15e_in1k.py'

model = dict(
    distill_losses=dict(
        loss_kddm=dict(
            metric='joint_wasserstein', beta=1.0)))
