"""3D Tiles of pipelines and buildings over HTTP (``/collections/{id}/3dtiles/…``)."""
