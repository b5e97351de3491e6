// Where CesiumJS finds its workers, assets and widgets: our own copy of the npm package (read when
// the viewer starts, so this module only has to run before the first Viewer is made).
window.CESIUM_BASE_URL = "/vendor/cesium/Build/Cesium/";
