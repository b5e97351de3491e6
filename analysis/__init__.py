"""Pipe-network and statistics analyses: pure computation over rows that ``layers/`` reads.

The Processes API in ``api/`` exposes them; see :mod:`analysis.contract` for the interface.
"""
