"""pyyaml: insist on the libyaml-backed C extension.

Its setup.py builds `yaml._yaml` only when it can, and otherwise ships a pure-Python wheel without a
word; PYYAML_FORCE_LIBYAML=1 turns that into a hard failure (setup.py ext_status():
`os.environ.get('PYYAML_FORCE_{0}'.format(ext.feature_name.upper()))`). The system libyaml it links
is then grafted by auditwheel and listed in the wheel's SBOM; `links` holds the extension to linking it.
"""

from wheelwright import Recipe, RecipeContext

recipe = Recipe("pyyaml")


@recipe.env()
def env(ctx: RecipeContext) -> dict[str, str]:
    return {"PYYAML_FORCE_LIBYAML": "1"}


@recipe.links()
def links(ctx: RecipeContext) -> dict[str, list[str]]:
    return {"yaml/_yaml*.so": ["libyaml-0.so*"]}  # setup.py: ext_modules yaml._yaml, libraries=['yaml']
