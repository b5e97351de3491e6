"""Pure spatial functions: CRS handling, Chinese offset datums, code lists, geometry checks.

Nothing here touches a database or the web. Every public function says which CRS,
axis order and units it expects.
"""
