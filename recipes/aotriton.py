"""aotriton: ahead-of-time compiled Triton kernels, ROCm's attention backend for torch (replaces
cuDNN/CUTLASS there). Not on PyPI: built from ROCm/aotriton's release tags.

Its tags drop the trailing 0 of the PEP 440 pre-release (release "0.11.2b" is version 0.11.2b0),
hence the explicit refs. Commits are not pinned yet: the lint warns until they are.
"""

from wheelwright import Recipe
from wheelwright.recipes import GitSource

recipe = Recipe(
    "aotriton",
    source=GitSource(
        url="https://github.com/ROCm/aotriton",
        tag="{version}",
        refs={"0.11.2b0": "0.11.2b", "0.11b0": "0.11b", "0.11.1b0": "0.11.1b"},
    ),
)
