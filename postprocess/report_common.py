"""What the postprocess reports share: headless matplotlib, figures and
text files written under a temporary name and renamed (the C++ side's rule:
no half-written file under its final name), HDF5 string attributes."""
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402,F401  (re-exported for the reports)


def atomic_savefig(fig, path):
    tmp = path + ".partial.png"
    fig.savefig(tmp, dpi=120, bbox_inches="tight")
    os.replace(tmp, path)
    plt.close(fig)


DRAWN = []  # the figures this report drew, in order (report.md lists them)


def save(fig, figs, name):
    """Writes figure `name` under the directory `figs` (atomically) and records it in DRAWN."""
    atomic_savefig(fig, os.path.join(figs, name))
    DRAWN.append(name)


def atomic_write_text(path, text_value):
    tmp = path + ".partial"
    with open(tmp, "w") as f:
        f.write(text_value)
    os.replace(tmp, path)


def text(value):
    """Fixed-length HDF5 string attributes come back from h5py as bytes."""
    return value.decode() if isinstance(value, bytes) else str(value)
