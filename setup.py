"""Installation script for mmkd, an OpenMMLab plugin for Wasserstein distillation."""
import os.path as osp

from setuptools import find_packages, setup


def get_version() -> str:
    """Read ``__version__`` from ``mmkd/version.py`` without importing mmkd."""
    namespace: dict = {}
    with open(osp.join(osp.dirname(__file__), 'mmkd', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


setup(
    name='mmkd',
    version=get_version(),
    description='Knowledge distillation with Wasserstein distances for '
    'OpenMMLab (mmdet, mmpretrain)',
    long_description=open('README.md').read()
    if osp.exists('README.md') else '',
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests')),
    python_requires='>=3.9',
    install_requires=[
        # torch 2.6: mmkd/utils/checkpoint.py allow-lists a global under its
        # pickled name, add_safe_globals([(func, 'module.name')]), a form
        # new in 2.6 (torch 2.6 also makes weights_only=True the default
        # that allow-list is for). Older needs: nn.Module's public
        # register_state_dict_post_hook (2.5, BaseDistiller) and
        # torch.amp.is_autocast_available (2.4, mmkd/losses/utils.py).
        # tests/test_setup.py checks this floor against those APIs.
        'torch>=2.6',
        'mmengine>=0.10.0,<0.11',
        'mmcv>=2.0.0,<2.2.0',
        'numpy'
    ],
    extras_require={
        'det': ['mmdet>=3.3.0,<3.4'],
        'cls': ['mmpretrain>=1.2.0,<1.3'],
        'tests': ['pytest', 'POT', 'scikit-learn', 'pycocotools'],
    },
    license='Apache License 2.0',
    zip_safe=False,
)
