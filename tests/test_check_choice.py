"""One rule for "which of these names": _validate.check_choice and every public option it guards.

An array, a list or a number passed where a name is expected used to reach ``value in choices``:
numpy compares element by element and raised "truth value of an array is ambiguous" (a raw
ValueError), a list raised TypeError for the dict of pixel units. Each is now one RegimesError
that names the option, shows the value and lists the names allowed."""

import numpy as np
import pytest

import regimes
from regimes import RegimesError
from regimes._validate import check_choice


def test_messages():
    assert check_choice("engine", "numba", ("auto", "numpy", "numba")) == "numba"
    with pytest.raises(RegimesError, match=r"^engine must be one of auto, numpy, numba, got 'x'$"):
        check_choice("engine", "x", ("auto", "numpy", "numba"))
    with pytest.raises(RegimesError, match=r"^engine must be 'auto', 'numpy' or 'numba', got 'x'$"):
        check_choice("engine", "x", ("auto", "numpy", "numba"), quoted=True)
    with pytest.raises(RegimesError, match=r"^m must be 'a', got 'x' \(why\)$|^m must be 'a' \(why\), got 'x'$"):
        check_choice("m", "x", ("a",), quoted=True, suffix=" (why)")


@pytest.mark.parametrize("value", [np.array(["auto", "numba"]), np.array([1, 2]), ["auto"], 3, None, b"auto", 2.5])
def test_only_strings_are_choices(value):
    with pytest.raises(RegimesError, match="^engine must be one of auto, numpy, numba, got "):
        check_choice("engine", value, ("auto", "numpy", "numba"))


def test_huge_value_is_shown_by_its_size():
    with pytest.raises(RegimesError, match=r"got 1\.000e\+400 \(an integer of 401 digits\)"):
        check_choice("engine", 10**400, ("auto",))


def _small():
    g = np.random.default_rng(0)
    return g.standard_normal((60, 4)) + np.repeat([[0.0] * 4, [3.0] * 4], 30, axis=0), np.repeat([0, 1], 30)


def _calls():
    from regimes.engines.score import sample_exact_score

    X, lab = _small()
    ds = regimes.Dataset(X, labels=lab)
    return {
        "engine": lambda v: regimes.engines.empirical_mixture(X, [0.5, 1.0], samples=8, engine=v),
        "precision": lambda v: regimes.engines.empirical_mixture(X, [0.5, 1.0], samples=8, precision=v),
        "method": lambda v: regimes.engines.top_eigenvalues(X, 1, method=v),
        "bootstrap_method": lambda v: regimes.engines.top_eigenvalues(X, 1, bootstrap_method=v),
        "hierarchy method": lambda v: regimes.hierarchy.class_hierarchy(X, lab, method=v),
        "uturn method": lambda v: regimes.uturn.uturn(X, [0.5], samples=4, method=v),
        "sampler": lambda v: sample_exact_score(X, 2, sampler=v, steps=5),
        "spacing": lambda v: regimes.schedule_forms.sampler_timesteps("linear", 10, spacing=v),
        "units": lambda v: regimes.presets.get_preset(regimes.presets.preset_names()[0]).in_units(v),
        "collapse_time method": lambda v: ds.collapse_time(v),
        "statistic": lambda v: regimes.engines.empirical_mixture(X, [0.5, 1.0], samples=8).statistic(v, [0.7]),
    }


@pytest.mark.parametrize("where", sorted(_calls()))
@pytest.mark.parametrize("value", [np.array([1, 2]), ["x"], 7])
def test_public_options_refuse_non_names(where, value):
    name = where.split()[-1]
    with pytest.raises(RegimesError, match=rf"^{name} must be .*, got "):
        _calls()[where](value)


@pytest.mark.parametrize("value", [np.array(["raise", "none"]), np.array([1, 2]), ["raise"], 0])
def test_more_names_refuse_arrays(value):
    """beyond= of step_at_time, axis= of plot_timeline and a single-step scheduler's spacing."""
    from regimes.plot.timeline import plot_timeline
    from regimes.schedule_forms import sampler_levels, schedule_from_diffusers_config
    from regimes.schedules import step_at_time

    with pytest.raises(RegimesError, match=r"^beyond must be 'raise' or 'none', got "):
        step_at_time("linear", 0.5, beyond=value)
    with pytest.raises(RegimesError, match=r"^axis must be 'time' or 'steps', got "):
        plot_timeline(3.0, 2.0, axis=value)
    single = schedule_from_diffusers_config({"_class_name": "DPMSolverSinglestepScheduler", "num_train_timesteps": 1000,
                                             "beta_schedule": "scaled_linear", "beta_start": 0.00085,
                                             "beta_end": 0.012})
    with pytest.raises(RegimesError, match="has no timestep_spacing"):
        sampler_levels(single, 10, spacing=value)
