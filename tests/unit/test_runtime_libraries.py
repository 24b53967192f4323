"""A library a wheel leaves outside (never grafted) must come with one of its requirements or with the host."""

from __future__ import annotations

import zipfile

import pytest

from wheelwright.errors import BuildError
from wheelwright.stages.runtimelibs import require_provided, shared_objects, unprovided


def _wheel(path, *members):
    with zipfile.ZipFile(path, "w") as archive:
        for member in members:
            archive.writestr(member, b"\x7fELF")
    return path


@pytest.fixture
def build_env(tmp_path):
    return [_wheel(tmp_path / "torch-2.11.0-cp312-cp312-manylinux_2_28_x86_64.whl", "torch/lib/libc10.so", "torch/lib/libtorch_cuda.so"),
            _wheel(tmp_path / "nvidia_cuda_runtime-13.0.96-py3-none-manylinux2014_x86_64.whl", "nvidia/cu13/lib/libcudart.so.13"),
            _wheel(tmp_path / "setuptools-81.0.0-py3-none-any.whl", "setuptools/__init__.py")]


def test_shared_objects_are_the_wheels_so_files(build_env):
    assert shared_objects(build_env[0]) == {"libc10.so", "libtorch_cuda.so"}
    assert shared_objects(build_env[1]) == {"libcudart.so.13"} and shared_objects(build_env[2]) == frozenset()


def test_requiring_torch_brings_libc10_and_through_it_libcudart(build_env):
    assert unprovided(["libc10.so", "libcudart.so.13", "libcuda.so.1"], build_env=build_env,
                      requires=frozenset({"torch", "cuda-toolkit", "nvidia-cuda-runtime"}), system=["libcuda.so*"]) == []


def test_a_wheel_that_requires_nothing_is_refused_naming_each_library_and_its_provider(build_env):
    with pytest.raises(BuildError) as caught:
        require_provided("torch_scatter-2.1.2-cp312-cp312-linux_x86_64.whl", ["libc10.so", "libcudart.so.13", "libcuda.so.1", "libcublasLt.so.13"],
                         build_env=build_env, requires=frozenset(), system=["libcuda.so*"], variant="cuda-13.0", log_path="x.log")
    message = str(caught.value)
    assert message.startswith("torch_scatter-2.1.2-cp312-cp312-linux_x86_64.whl: needs libraries that installing it does not bring on cuda-13.0: ")
    assert "libc10.so (in torch, which it does not require)" in message
    assert "libcudart.so.13 (in nvidia-cuda-runtime, which it does not require)" in message
    assert "libcublasLt.so.13 (no wheel of its build environment has it, and the variant's system_runtime does not list it)" in message
    assert "libcuda.so.1" not in message and caught.value.log_path == "x.log"
