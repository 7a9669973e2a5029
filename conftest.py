"""Collection rules for the whole repository (pytest reads this before tests/conftest.py).

``python -m pytest`` imports every module under ``sklearn_am`` for its doctests
(``--doctest-modules`` in setup.cfg). The modules of an optional extra that is not
installed are left out of collection instead of failing it; their tests skip
themselves (``pytest.importorskip``).
"""

import importlib.util

#: Files of optional extras (globs relative to this folder) → the package they import.
OPTIONAL_FILES = {
    "sklearn_am/skorch/*.py": "skorch",  # the [skorch] extra, imported at import time
    "sklearn_am/anndata.py": "anndata",  # the [sc] extra
}

collect_ignore_glob = [pattern for pattern, package in OPTIONAL_FILES.items()
                       if importlib.util.find_spec(package) is None]
