"""tiles package (see docs/DESIGN.md)."""
