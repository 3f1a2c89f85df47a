# Copyright (c) OpenMMLab. All rights reserved.
"""A built wheel of mmkd, installed into a fresh venv (not this editable
checkout): it carries the configs in ``mmkd/.mim``, so ``mmkd::`` bases and
``mmengine.hub.get_config('mmkd::...')`` resolve; and its metadata requires
no OpenMMLab package, so pip leaves a user's stack alone."""
import os
import os.path as osp
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

pytestmark = pytest.mark.slow

USER_CONFIG = '''
_base_ = 'mmkd::cifar100/wkd-lf_resnet32x4-to-resnet8x4_1xb64-240e_cifar100.py'
model = dict(distill_losses=dict(loss_wkd_l=dict(wd_weight=100.0)))
'''

CHECK = '''
import os, sys
import mmkd
assert mmkd.__file__.startswith(sys.prefix), mmkd.__file__
from mmengine.config import Config
from mmengine.hub import get_config
cfg = get_config('mmkd::cifar100/wkd-l_resnet32x4-to-resnet8x4_1xb64-240e_'
                 'cifar100.py')
assert cfg.model.distill_losses.loss_wkd_l.wd_weight == 600.0
user = Config.fromfile(sys.argv[1])
assert user.model.distill_losses.loss_wkd_l.wd_weight == 100.0
assert user.model.distill_losses.loss_wkd_f.loss_weight == 0.08
# the pair base's teacher config ({{fileDirname}}) lies in the wheel too
assert os.path.isfile(user.model.teacher), user.model.teacher
print('mmkd from', os.path.dirname(mmkd.__file__))
'''


def _build_wheel(tmp_path):
    """A wheel built from the tracked files (so the checkout's own
    mmkd/.mim links stay as they are)."""
    src = tmp_path / 'src'
    files = subprocess.run(
        ['git', 'ls-files', '--cached', '--others', '--exclude-standard'],
        cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()
    for rel in files:
        if osp.isfile(osp.join(ROOT, rel)):
            os.makedirs(src / osp.dirname(rel), exist_ok=True)
            shutil.copy2(osp.join(ROOT, rel), src / rel)
    out = tmp_path / 'dist'
    subprocess.run([
        sys.executable, '-m', 'pip', 'wheel', '--no-deps',
        '--no-build-isolation', '-q', '-w',
        str(out),
        str(src)
    ], check=True, capture_output=True, text=True)
    wheels = list(out.glob('mmkd-*.whl'))
    assert len(wheels) == 1
    return wheels[0]


def test_a_wheel_in_a_fresh_venv_resolves_mmkd_configs(tmp_path):
    wheel = _build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        metadata = z.read(
            next(n for n in names if n.endswith('METADATA'))).decode()
    assert 'mmkd/.mim/configs/coco/faster-rcnn_r101-to-r18_fpn_wkd-lf_' \
        'ms-1x_coco.py' in names
    # pip never installs or replaces a user's OpenMMLab stack
    requires = [
        line.split(':', 1)[1].strip() for line in metadata.splitlines()
        if line.startswith('Requires-Dist:') and 'extra ==' not in line
    ]
    assert sorted(r.split('>')[0].split('=')[0] for r in requires) == [
        'numpy', 'torch'
    ], requires

    env_dir = tmp_path / 'venv'
    venv.EnvBuilder(with_pip=True).create(str(env_dir))
    python = str(env_dir / 'bin' / 'python')
    site = subprocess.run(
        [python, '-c', 'import sysconfig; print(sysconfig.get_paths()'
         "['purelib'])"], check=True, capture_output=True,
        text=True).stdout.strip()
    # torch and the OpenMMLab stack come from the test's environment; its
    # .pth files (the editable mmkd) are not read from there
    with open(osp.join(site, 'stack.pth'), 'w') as f:
        f.write(sysconfig.get_paths()['purelib'] + '\n')
    # --ignore-installed: pip would otherwise take the editable mmkd it sees
    # on that path for this wheel and install nothing
    subprocess.run(
        [python, '-m', 'pip', 'install', '--no-deps', '--no-index', '-q',
         '--ignore-installed', str(wheel)], check=True, capture_output=True,
        text=True)
    config = tmp_path / 'my_config.py'
    config.write_text(USER_CONFIG)
    proc = subprocess.run([python, '-c', CHECK, str(config)],
                          cwd=str(tmp_path), capture_output=True, text=True)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert str(env_dir) in proc.stdout
