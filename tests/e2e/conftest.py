from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config, items):
    run_gpu_stack = config.getoption("--gpu-stack")
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
        if "gpu_stack" in item.keywords and not run_gpu_stack:
            item.add_marker(pytest.mark.skip(reason="gpu_stack: opt in with --gpu-stack (PyPI's CUDA torch stack, ~3 GB, tens of minutes)"))
