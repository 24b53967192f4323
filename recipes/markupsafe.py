"""markupsafe: refuse to ship without its C speedups.

Its setup.py silently falls back to a pure-Python wheel when the extension fails to compile,
unless CIBUILDWHEEL=1 (setup.py: `if os.environ.get("CIBUILDWHEEL", "0") == "1" and supports_speedups`).
A silent fallback is exactly the failure Wheelwright exists to prevent.
"""

from wheelwright import Recipe, RecipeContext

recipe = Recipe("markupsafe")


@recipe.env()
def env(ctx: RecipeContext) -> dict[str, str]:
    return {"CIBUILDWHEEL": "1"}
