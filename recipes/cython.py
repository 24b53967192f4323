"""cython: a build tool here (pyyaml, numpy… compile with it), so build it without compiling itself.

Compiling Cython's own modules costs minutes on two cores; the pure-Python Cython generates the same C
(setup.py: `compile_cython_itself = not check_option('no-cython-compile')`, and check_option reads
NO_CYTHON_COMPILE=true). Drop this hook for a stack that ships Cython to users at run time.
"""

from wheelwright import Recipe, RecipeContext

recipe = Recipe("cython")


@recipe.env()
def env(ctx: RecipeContext) -> dict[str, str]:
    return {"NO_CYTHON_COMPILE": "true"}
