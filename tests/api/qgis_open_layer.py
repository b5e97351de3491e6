"""Open a One Map collection in QGIS, headless, with a Basic auth config, and report what QGIS saw.

Run with the system Python that has Debian's QGIS bindings (not the project's venv):

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 tests/api/qgis_open_layer.py URL LAYER USER PASSWORD

Prints one JSON object: whether the layer is valid, its feature count, field names and the
first features' attributes. ``-`` as USER skips the auth config.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile


def main(url: str, layer_id: str, user: str, password: str) -> dict[str, object]:
    """Open ``layer_id`` from ``url`` through the OAPIF provider; return what QGIS reports."""
    from qgis.core import QgsApplication, QgsAuthMethodConfig, QgsDataSourceUri, QgsVectorLayer

    app = QgsApplication([], False)
    app.initQgis()
    try:
        uri = QgsDataSourceUri()
        uri.setParam("url", url)
        uri.setParam("typename", layer_id)
        if user != "-":
            auth = QgsApplication.authManager()
            # A fresh auth database in the temporary profile; the master password only guards it.
            if not auth.setMasterPassword("onemap-test-master", True):
                raise RuntimeError("QGIS refused the master password for its auth database")
            config = QgsAuthMethodConfig("Basic")
            config.setName("One Map")
            config.setConfig("username", user)
            config.setConfig("password", password)
            stored = auth.storeAuthenticationConfig(config)
            ok = stored[0] if isinstance(stored, tuple) else stored
            if not ok or not config.id():
                raise RuntimeError("QGIS did not store the Basic auth config")
            uri.setAuthConfigId(config.id())
        return _describe(QgsVectorLayer(uri.uri(False), layer_id, "OAPIF"))
    finally:
        app.exitQgis()


def _describe(layer: object) -> dict[str, object]:
    """Validity, count, fields and sample attributes; the layer dies here, before QGIS exits
    (a QgsVectorLayer outliving exitQgis() crashes the interpreter)."""
    report: dict[str, object] = {"valid": layer.isValid()}  # type: ignore[attr-defined]
    if not layer.isValid():  # type: ignore[attr-defined]
        return report  # (layer.error() on an invalid OAPIF layer crashes QGIS 3.22; its log says why)
    features = list(layer.getFeatures())  # type: ignore[attr-defined]
    fields = [f.name() for f in layer.fields()]  # type: ignore[attr-defined]
    report["feature_count"] = len(features)
    report["fields"] = fields
    report["sample"] = [{name: _plain(feature[name]) for name in fields} for feature in features[:5]]
    report["geometry_ok"] = all(f.hasGeometry() and not f.geometry().isEmpty() for f in features)
    return report


def _plain(value: object) -> object:
    """QVariant nulls and numbers as JSON values."""
    if value is None or (hasattr(value, "isNull") and value.isNull()):
        return None
    return value if isinstance(value, (str, int, float, bool)) else str(value)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="onemap-qgis-") as profile:
        # Keep QGIS's settings and auth database out of the user's home.
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        os.environ["QGIS_CUSTOM_CONFIG_PATH"] = profile
        os.environ["QGIS_AUTH_DB_DIR_PATH"] = profile
        os.environ["HOME"] = profile
        print(json.dumps(main(*sys.argv[1:5]), ensure_ascii=False))
