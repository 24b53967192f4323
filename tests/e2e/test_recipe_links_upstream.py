"""A recipe's `links` declaration read against the wheel upstream publishes: torchvision's image codecs (PNG, JPEG,
WebP, nvJPEG) are what PyPI's CUDA torchvision 0.26.0 really links in torchvision/image.so, so a from-source build
held to them is held to upstream's; PyTorch's own grafted names (libpng16.60f56faa.so.16) count as the library."""

from __future__ import annotations

from helpers import REPO, SHARED_CACHE
from packaging.version import Version

from wheelwright.app import open_index
from wheelwright.config.constraints import load_constraints
from wheelwright.config.variants import load_variants, select_variant
from wheelwright.recipes import load_recipe
from wheelwright.recipes.book import context
from wheelwright.remote.index import SourceDistribution
from wheelwright.remote.sources import fetch_sdist
from wheelwright.stages.linkage import missing_links


def test_torchvision_s_codec_links_are_what_pypis_cuda_wheel_links():
    index = open_index("https://pypi.org/simple", SHARED_CACHE / "index")
    (found,) = [f for f in index.files("torchvision") if f.filename == "torchvision-0.26.0-cp312-cp312-manylinux_2_28_x86_64.whl"]
    wheel = fetch_sdist(SourceDistribution(name="torchvision", version=Version("0.26.0"), filename=found.filename, url=found.url,
                                           sha256=found.sha256, requires_python=None, yanked=False), SHARED_CACHE / "upstream-wheels")
    variant = select_variant(load_variants(REPO / "variants.toml"), "cuda", "13.0")  # constraints/cuda-13.0.txt: torchvision==0.26.0
    pins = load_constraints([REPO / "constraints" / c for c in variant.constraints]).exact_pins()
    links = load_recipe(REPO / "recipes", "torchvision").links(context("torchvision", Version("0.26.0"), variant, "3.12", pins=pins))
    assert links == {"torchvision/image.so": ("libpng16.so*", "libjpeg.so*", "libwebp.so*", "libnvjpeg.so*")}
    assert missing_links(wheel, links) == []
    (lacking,) = missing_links(wheel, {"torchvision/_C.so": ["libpng16.so*"]})  # the ops library links no codec: it is named
    assert lacking.startswith("torchvision/_C.so does not link libpng16.so* (it links ")
