"""Sphinx configuration of the sklearn-am documentation.

Build from the repository root::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO_ROOT = DOCS.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(DOCS))  # gallery_order
# The gallery runs on CPUs shared with other work: one thread per example.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import sklearn_am  # noqa: E402

project = "sklearn-am"
author = "the sklearn-am developers"
copyright = "the sklearn-am developers"
release = sklearn_am.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"]

# -- API reference -----------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {}  # the templates (docs/_templates/autosummary) say what a page holds
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# The docstrings' type fields ("ndarray of shape (n, d)", "int, default=None")
# are prose, not references: no cross-referencing of parameter types.
numpydoc_xref_param_type = False

# -- Cross-references --------------------------------------------------------
# The build must not need the network, so no intersphinx inventory is fetched:
# references to scikit-learn, PyTorch and NumPy names render as code, unlinked,
# and (with nitpicky off) do not warn.
intersphinx_mapping = {}
nitpicky = False

# -- Gallery -----------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(REPO_ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    # examples/single_cell.py is a command-line script on data outside the repository.
    "ignore_pattern": r"single_cell\.py",
    "within_subsection_order": "gallery_order.ExampleOrder",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "matplotlib_animations": False,
    "reset_modules": ("matplotlib",),
    "min_reported_time": 0,
}

# -- HTML --------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-am {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 4,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_show_sourcelink = False


def _skip_foreign_member(app, what, name, obj, skip, options):
    """Document only members written in sklearn_am.

    The classes inherit from scikit-learn and PyTorch (``get_params``,
    ``state_dict``, …): those are documented there, and their docstrings are
    not ours to format. Members inherited from sklearn_am's private bases
    (``push``, ``velocity``, …) are kept.
    """
    if skip or what != "class":
        return skip
    func = getattr(obj, "__func__", obj)
    func = getattr(func, "fget", func)  # properties
    module = getattr(func, "__module__", None)
    if module is not None and not module.startswith("sklearn_am"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_member)
