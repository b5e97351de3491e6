"""Batch import jobs for GIS staff, run as ``python -m import <job> …`` or ``onemap import <job> …``.

``import`` is a Python keyword, so nothing can write ``from import …``; jobs are
reached by name through importlib. The logic lives in :mod:`layers` and :mod:`spatial`.
"""
