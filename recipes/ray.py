"""ray: vllm (0.17-0.18) requires ray[cgraph]; PyPI publishes ray as wheels only, so it is built from
ray-project/ray's release tags (`ray-{version}`; its Python package lives in python/ and its build
runs Bazel: build/build-ray.sh in the upstream tree)."""

from wheelwright import Recipe
from wheelwright.recipes import GitSource

recipe = Recipe("ray", source=GitSource(url="https://github.com/ray-project/ray", tag="ray-{version}"))
