"""Installation script for mmkd, an OpenMMLab plugin for Wasserstein distillation.

mmkd joins the OpenMMLab stack a user already has: ``install_requires``
names none of its packages (a requirement on ``mmcv`` would make pip fetch
and compile upstream mmcv over mmcv-lite, mmcv 2.2 or OneDL's forks, which
provide the same import names). ``import mmkd`` checks the versions instead
(``mmkd/stack.py``). The extras install a stack for a fresh environment.

Like OpenMMLab's own packages, a wheel or sdist carries the configs (and the
tools) in ``mmkd/.mim``, so ``mmkd::`` config paths resolve for a
pip-installed mmkd; an editable install links them there.
"""
import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

ROOT = osp.dirname(osp.abspath(__file__))
#: What a wheel carries in mmkd/.mim (the config hub reads the index).
MIM_FOLDERS = ('configs', 'tools')
MIM_FILES = ('model-index.yml', )


def get_version() -> str:
    """Read ``__version__`` from ``mmkd/version.py`` without importing mmkd."""
    namespace: dict = {}
    with open(osp.join(ROOT, 'mmkd', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


def add_mim_extension() -> None:
    """Put ``configs/`` and ``tools/`` in ``mmkd/.mim``: links for an
    editable install, copies for a wheel or an sdist (as mmdet's setup.py
    does)."""
    if 'develop' in sys.argv or 'editable_wheel' in sys.argv:
        mode = 'symlink'
    elif {'sdist', 'bdist_wheel', 'install', 'build'} & set(sys.argv):
        mode = 'copy'
    else:
        return
    mim = osp.join(ROOT, 'mmkd', '.mim')
    os.makedirs(mim, exist_ok=True)
    for name in MIM_FOLDERS + MIM_FILES:
        src, dst = osp.join(ROOT, name), osp.join(mim, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim), dst)
        elif name in MIM_FILES:
            shutil.copy2(src, dst)
        else:
            shutil.copytree(
                src, dst, ignore=shutil.ignore_patterns('__pycache__',
                                                        '*.pyc', 'results'))


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='mmkd',
        version=get_version(),
        description='Knowledge distillation with Wasserstein distances for '
        'OpenMMLab (mmdet, mmpretrain)',
        long_description=open(osp.join(ROOT, 'README.md')).read()
        if osp.exists(osp.join(ROOT, 'README.md')) else '',
        long_description_content_type='text/markdown',
        packages=find_packages(exclude=('configs', 'tools', 'tests')),
        include_package_data=True,
        python_requires='>=3.9',
        install_requires=[
            # torch 2.6: mmkd/utils/checkpoint.py allow-lists a global under
            # its pickled name, add_safe_globals([(func, 'module.name')]), a
            # form new in 2.6 (torch 2.6 also makes weights_only=True the
            # default that allow-list is for). Older needs: nn.Module's
            # public register_state_dict_post_hook (2.5, BaseDistiller) and
            # torch.amp.is_autocast_available (2.4, mmkd/losses/utils.py).
            # tests/test_setup.py checks this floor against those APIs.
            'torch>=2.6',
            'numpy',
        ],
        extras_require={
            # A fresh environment. Users who have a stack install nothing.
            # mmengine 0.10 finds 'mmkd::' configs with pkg_resources, which
            # setuptools 81 dropped.
            'cls': [
                'mmengine>=0.10.0,<0.11', 'mmcv-lite>=2.0.0,<2.4',
                'mmpretrain>=1.2.0,<1.4', 'setuptools<81'
            ],
            'det': [
                'mmengine>=0.10.0,<0.11', 'mmcv>=2.0.0,<2.2.0',
                'mmdet>=3.3.0,<3.4', 'mmpretrain>=1.2.0,<1.4',
                'setuptools<81'
            ],
            'tests': ['pytest', 'POT', 'scikit-learn', 'pycocotools'],
        },
        license='Apache License 2.0',
        zip_safe=False,
    )
