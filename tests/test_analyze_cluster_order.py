"""analyze(cluster=...) checks its other arguments before it starts or joins a cluster (a typo
must not cost a cluster's start-up, or a connection to a remote scheduler, before its error)."""

import contextlib

import numpy as np
import pytest

import regimes.analysis as analysis
from regimes import RegimesError


@pytest.fixture
def opened(monkeypatch):
    calls = []

    @contextlib.contextmanager
    def fake(spec):
        calls.append(spec)
        yield

    monkeypatch.setattr(analysis, "on_cluster", fake)
    return calls


@pytest.mark.parametrize("bad, match", [
    ({"samples": 5}, "samples"),
    ({"confidence": 1.5}, "confidence"),
    ({"schedule": "no-such-schedule"}, "schedule"),
    ({"memory_budget": 10}, "memory_budget"),
    ({"precision": "float16"}, "precision"),
])
def test_bad_arguments_are_refused_before_the_cluster_opens(opened, bad, match):
    X = np.random.default_rng(0).standard_normal((50, 4))
    with pytest.raises(RegimesError, match=match):
        analysis.analyze(X, cluster="local:2", **bad)
    assert opened == []


def test_the_analysis_runs_inside_the_cluster_context(opened):
    X = np.random.default_rng(0).standard_normal((200, 6))
    r = analysis.analyze(X, samples=16, bootstrap=5, cluster="local:2")
    assert opened == ["local:2"] and r.n == 200
    # without cluster=, no context is opened
    analysis.analyze(X, samples=16, bootstrap=5)
    assert opened == ["local:2"]
