"""Readers of delivery files: every format as a stream of batches of (row number, geometry WKB, columns).

:mod:`ingest.readers.base` holds the shared types and the reader protocol;
:mod:`ingest.readers.formats` is the table of formats (extension → reader class,
as a dotted path loaded with importlib) and :func:`~ingest.readers.formats.open_source`.
Each other module is one reader family. Geometries stay in the source CRS and axis
order here; :mod:`ingest.mapping` transforms them.
"""
