"""styles package (see ../shared/DESIGN.md)."""
