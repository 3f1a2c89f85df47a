# Copyright (c) OpenMMLab. All rights reserved.
"""The toy distillation studies behind ``tools/benchmarks/distill_study.py``.

:mod:`.tasks` (the catalogue) <- :mod:`.plan` (which runs, sweep protocol,
result files) <- :mod:`.runner` (one training + evaluation) <-
:mod:`.teacher` (the converged teacher and its cost matrix);
:mod:`.roi_example` draws the detection report's transport plan.
"""
