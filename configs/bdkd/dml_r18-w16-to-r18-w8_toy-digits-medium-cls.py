# Online KD baseline (DML-style) for the BD-KD comparison: the student term
# is the forward KL(p_T || p_S) only, the teacher term KL(p_S || p_T).
_base_ = ['./bdkd_r18-w16-to-r18-w8_toy-digits-medium-cls.py']

model = dict(student_distill_loss=dict(weighting='forward'))
