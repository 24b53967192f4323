"""amd-aiter: ROCm's AI Tensor Engine. Published as `amd-aiter`; upstream and older pins call it
`aiter`, while the PyPI project named `aiter` is an unrelated asyncio helper (2019). PyPI stops at
0.1.7.post2.dev18, so released versions come from ROCm/aiter's tags (vLLM's Dockerfile.rocm_base
builds AITER_BRANCH=v0.1.10.post2 for the rocm-7.1 stack)."""

from wheelwright import Recipe
from wheelwright.recipes import GitSource

recipe = Recipe(
    "amd-aiter",
    source=GitSource(url="https://github.com/ROCm/aiter", tag="v{version}"),
    renamed_from=("aiter",),
)
