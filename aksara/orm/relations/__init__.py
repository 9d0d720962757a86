"""Relations: fields, relation kinds, loading, prefetch, descriptors and managers.

The modules sit at different layers, lowest first, and import only downward:
``fields`` (below the model metadata), ``kinds``, ``loading`` and ``prefetch`` (below the
QuerySet, which prefetches with them), ``managers`` and ``descriptors`` (above it) and
``linking`` (used while a model class is built). This package therefore imports none of
them itself; their public names are re-exported by :mod:`aksara.orm`.
"""

__all__: list[str] = []
