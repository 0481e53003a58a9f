"""The U-turn image grid says, under each returned image, whether it is the same image or another
one of the same or of the other class (the docs' caption about classes can then be checked)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from regimes.data.source import as_source
from regimes.plot.memorization import plot_uturn
from regimes.uturn import uturn


def _captions(fig):
    return [ax.get_xlabel() for ax in fig.axes[2::3]]


def test_captions_follow_the_labels_of_the_returned_rows():
    rng = np.random.default_rng(0)
    lab = np.repeat([0, 1], 20)
    A = rng.normal(size=(40, 16)) + 4.0 * lab[:, None]  # two well-separated classes of 4×4 images
    res = uturn(A, [0.01, 50.0], samples=64, labels=lab, rng=1, examples=8)
    for k in range(res.noised.shape[1]):
        fig = plot_uturn(res, A, (4, 4), example=k, labels=lab)
        caps = _captions(fig)
        plt.close(fig)
        for i, cap in enumerate(caps):
            s, e = res.start[i, k], res.end[i, k]  # the oracle: the drawn indices and the labels
            if s == e:
                assert cap == "same image"
            elif lab[s] == lab[e]:
                assert cap == f"train #{e}, same class"
            else:
                assert cap == f"train #{e}, other class ({lab[e]})"
    assert (res.end[1] != res.start[1]).any()  # t = 50 ≫ t_S: some runs end elsewhere


def test_class_names_of_a_labelled_source_and_no_labels():
    rng = np.random.default_rng(2)
    A = rng.normal(size=(30, 9))
    names = np.array(["cat", "dog", "eel"])[np.arange(30) % 3]
    src = as_source(A, labels=names)
    res = uturn(src, [80.0], samples=32, rng=0, examples=8)
    caps = []
    for k in range(8):
        fig = plot_uturn(res, src, (3, 3), example=k)
        caps += _captions(fig)
        plt.close(fig)
    other = [c for c in caps if "other class" in c]
    assert other and all(c.endswith(("(cat)", "(dog)", "(eel)")) for c in other)
    bare = uturn(A, [80.0], samples=8, rng=0, examples=8)
    for k in range(8):  # no labels: the index only, from the drawn indices
        fig = plot_uturn(bare, A, (3, 3), example=k)
        s, e = bare.start[0, k], bare.end[0, k]
        assert _captions(fig)[0] == ("same image" if s == e else f"train #{e}")
        plt.close(fig)
