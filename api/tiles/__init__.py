"""OGC API Tiles, Styles and the planners' web map: routes over :mod:`tiles` and :mod:`styles`."""
