# Offline KD baseline of the online comparison: the toy KD recipe (tau 4,
# CE 0.1 / KD 0.9) from the teacher trained alone on the 'medium' crops.
_base_ = ['../toy_digits_cls/kd_r18-w16-to-r18-w8_toy-digits-cls.py']

data_root = 'data/toy_digits_medium/cls'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))

teacher_ckpt = 'work_dirs/resnet18-w16_toy-digits-medium-cls/epoch_30.pth'
model = dict(teacher_ckpt=teacher_ckpt)
