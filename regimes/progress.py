"""Progress bars for notebooks and terminals, for the ``progress=`` callbacks of the library.

The library reports progress through callbacks (``analyze(..., progress=...)`` calls
``progress(stage, done, total)``); the command line draws them with rich. In a notebook pass
:class:`ProgressBars`: one bar per stage, drawn by ``tqdm.auto`` (a widget in Jupyter, text in a
terminal; the optional extra ``regimes[notebook]``)::

    from regimes.progress import ProgressBars
    with ProgressBars() as bars:
        res = regimes.analyze(X, progress=bars)
"""

from __future__ import annotations

from ._errors import RegimesError

__all__ = ["ProgressBars"]


class ProgressBars:
    """A ``progress(stage, done, total)`` callback drawing one tqdm bar per stage.

    Use it as a context manager (the bars are closed on exit) or call :meth:`close`.
    ``leave`` keeps finished bars on screen.
    """

    def __init__(self, *, leave: bool = True):
        try:
            from tqdm.auto import tqdm
        except ImportError:  # pragma: no cover - depends on the environment
            raise RegimesError("ProgressBars needs tqdm: pip install 'regimes[notebook]'") from None
        self._tqdm = tqdm
        self.leave = leave
        self.bars: dict = {}

    def __call__(self, stage: str, done, total) -> None:
        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = self._tqdm(total=total, desc=str(stage), leave=self.leave)
        if total != bar.total:
            bar.total = total
        bar.n = done
        bar.refresh()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()  # a closed bar ignores updates: a later use starts new ones

    def __enter__(self) -> ProgressBars:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
