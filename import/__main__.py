"""``python -m import <job> …``"""

from __future__ import annotations

import importlib
import sys

sys.exit(importlib.import_module("import.cli").main(sys.argv[1:]))
