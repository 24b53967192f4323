"""pytorch-triton-rocm: the Triton build torch's ROCm wheels depend on. PyPI's project stops at
2.1.0; newer versions are published on download.pytorch.org and built from triton-lang/triton at
the commit pinned in torch's .ci/docker/ci_commit_pins/triton.txt (release tags v{version})."""

from wheelwright import Recipe
from wheelwright.recipes import GitSource

recipe = Recipe("pytorch-triton-rocm", source=GitSource(url="https://github.com/triton-lang/triton", tag="v{version}"))
