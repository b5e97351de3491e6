"""styles package (see docs/DESIGN.md)."""
