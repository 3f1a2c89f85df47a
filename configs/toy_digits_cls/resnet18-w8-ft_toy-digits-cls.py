# Control of the KDDM toy rows: the toy student fine-tuned from its own
# trained weights with the student schedule again (20 epochs), CE only, so
# that the KDDM rows are compared with the same extra training.
_base_ = ['./resnet18-w8_toy-digits-cls.py']

student_ckpt = 'work_dirs/toy_cls/student/epoch_20.pth'
model = dict(init_cfg=dict(type='Pretrained', checkpoint=student_ckpt))
