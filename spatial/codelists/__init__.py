"""Code lists of the Chinese standards the data follows, looked up by name.

Layer schemas refer to a code list by its name (``"cjj61.material"``); the registry
never copies the codes, so correcting a list here corrects every layer.
"""

from __future__ import annotations

from spatial.codelists.base import CodeList, validate_code
from spatial.codelists.registry import CODELISTS, get_codelist

__all__ = ["CODELISTS", "CodeList", "get_codelist", "validate_code"]
