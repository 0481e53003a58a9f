"""Training data: the :class:`DataSource` type and the readers that build it.

* :mod:`regimes.data.source` — :class:`DataSource` (an (n, d) training set read block by block,
  with its units map, centring and the working blocks the engines multiply) and :func:`as_source`
  for arrays;
* :mod:`regimes.data.readers` — :func:`load_source` for ``.npy`` (memory-mapped), ``.npz``, image
  folders and arrays, and :func:`load_labels` for label files.

Everything heavy reads data only through a source's blocks, so a new format is a new reader.
"""

from __future__ import annotations

from .readers import IMAGE_SUFFIXES, input_kind, load_labels, load_source
from .source import BLOCK_BYTES, SCALES, DataSource, as_source, query_rows

__all__ = ["BLOCK_BYTES", "IMAGE_SUFFIXES", "SCALES", "DataSource", "as_source", "input_kind", "load_labels",
           "load_source", "query_rows"]
