"""The order of the gallery: from a first fit to the engines and the networks."""

#: The examples as a reader meets them; a file not listed goes last, by name.
ORDER = [
    "plot_quickstart.py",
    "plot_velocity_trajectories.py",
    "plot_dense_orbit.py",
    "plot_growth.py",
    "plot_noisy_dynamics.py",
    "plot_generate_moons.py",
    "plot_imputation.py",
    "plot_anndata.py",
    "plot_grid_search.py",
    "plot_custom_network.py",
    "plot_skorch.py",
]


class ExampleOrder:
    """Sort key of sphinx-gallery's ``within_subsection_order``."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        position = ORDER.index(filename) if filename in ORDER else len(ORDER)
        return position, filename

    def __repr__(self):
        return f"{type(self).__name__}()"
