"""Errors of the styles package; one base class, as every package has."""

from __future__ import annotations


class StyleError(Exception):
    """Base of every styles error."""


class InvalidStyleFile(StyleError, ValueError):
    """A style file in ``styles/data`` does not describe valid style sources."""
