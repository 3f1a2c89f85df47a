# KDDM on the toy pair, W2 (E): exact OT between the batch's pooled
# penultimate features of student and teacher (squared Euclidean cost,
# uniform weights; methods.md section 6). The student's 64-d neck output
# is mapped to the teacher's 128 by a linear connector. lambda is constant
# and, in every KDDM toy config, chosen so that the term starts near the
# student's CE (about 2); here the distance starts at about 83.
# The other KDDM metrics inherit this file and change the loss only.
_base_ = './distill_r18-w16-to-r18-w8_toy-digits-cls.py'

model = dict(
    distill_losses=dict(
        loss_kddm=dict(
            type='mmkd.KDDMLoss', metric='wasserstein', loss_weight=0.02)),
    distill_inputs=dict(loss_kddm=dict(source='pooled', connector='fc')),
    connectors=dict(
        fc=dict(type='mmkd.LinearConnector', in_channels=64,
                out_channels=128)))
