# Copyright (c) OpenMMLab. All rights reserved.
"""The KDDM slides' table of metrics (docs/methods.md section 6) as the
(metric, conditional) settings of ``mmkd.KDDMLoss``, keyed by the stems of
the KDDM config names."""

KDDM = {
    'kddm-w2e': ('wasserstein', False),
    'kddm-cw2e': ('wasserstein', True),
    'kddm-jw2e': ('joint_wasserstein', False),
    'kddm-w2g': ('gaussian_wasserstein', False),
    'kddm-cw2g': ('gaussian_wasserstein', True),
    'kddm-klg': ('gaussian_kl', False),
    'kddm-mmd': ('mmd', False),
}
