"""Benchmarks: One Map against tipg and the raw SQL floor, on the same PostGIS (see README.md)."""
