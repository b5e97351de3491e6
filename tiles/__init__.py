"""tiles package (see ../shared/DESIGN.md)."""
