"""ray: vllm (0.17-0.18) requires ray[cgraph]; PyPI publishes ray as wheels only.

Not built from source here, and said so (`prebuilt=`): ray's build (ray-project/ray tags `ray-{version}`,
python/setup.py -> build/build-ray.sh) runs Bazel, whose WORKSPACE fetches some hundred external repositories
(grpc, boost, abseil, redis, the dashboard's npm packages…) from GitHub and other hosts during the build. Making that
offline means vendoring Bazel's repository cache as pinned extra sources, which is not done. So ray is planned only
where the variant takes it as a vendor wheel (variants.toml `prebuilt`: cuda and rocm, from PyPI, sha256-pinned);
anywhere else, planning it fails with this reason instead of pretending to build it.
"""

from wheelwright import Recipe
from wheelwright.recipes import GitSource

recipe = Recipe("ray", source=GitSource(url="https://github.com/ray-project/ray", tag="ray-{version}"),
                prebuilt="its Bazel build downloads ~100 external repositories mid-build; no offline build is declared")
