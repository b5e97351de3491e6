// Open an exported 3D Tiles folder (``onemap tiles export --format 3dtiles --out DIR``) from the
// laptop's disk: the folder is picked with <input type=file webkitdirectory>, nothing is uploaded.
// A page may not fetch file:// URLs, so every tileset.json of the folder is read here, its relative
// content URIs are resolved against its own place in the folder and swapped for blob: URLs of the
// picked files (an external tileset becomes a blob of its own rewritten JSON), and Cesium loads the
// root from a blob: URL. Only the folder's bytes are read: no request goes to any server.
import * as Cesium from "/vendor/cesium/Build/Cesium/index.js";
import { $ } from "/map/static/dom.js";
import { view } from "/map3d/static/state3d.js";
import { renderTree } from "/map3d/static/tilesets.js";

/** A folder path without "." and ".." segments (the picked files are keyed by such paths). */
function normalise(path) {
  const out = [];
  for (const part of path.split("/")) {
    if (part === "..") out.pop();
    else if (part && part !== ".") out.push(part);
  }
  return out.join("/");
}

const dirOf = (path) => path.slice(0, path.lastIndexOf("/") + 1);

/** The tileset JSON of ``path`` with its content URIs swapped for blob: URLs; returns its own blob URL. */
async function rewrite(path, files, urls) {
  const file = files.get(path);
  if (!file) throw new Error(`${path} is not in the chosen folder`);
  const doc = JSON.parse(await file.text());
  // Cesium appends ?v=<tilesetVersion> to each content URL, and a blob: URL with a query is not found.
  if (doc.asset) delete doc.asset.tilesetVersion;
  const stack = [doc.root];
  while (stack.length) {
    const tile = stack.pop();
    for (const content of [tile.content, ...(tile.contents || [])].filter(Boolean)) {
      const target = normalise(dirOf(path) + content.uri.split("?")[0]);
      if (target.endsWith(".json")) content.uri = await rewrite(target, files, urls);
      else {
        if (!files.has(target)) throw new Error(`${target} is missing from the chosen folder`);
        content.uri = URL.createObjectURL(files.get(target));
        urls.push(content.uri);
      }
    }
    stack.push(...(tile.children || []));
  }
  const url = URL.createObjectURL(new Blob([JSON.stringify(doc)], { type: "application/json" }));
  urls.push(url);
  return url;
}

/** The export's root tileset.json: the one nearest the top of the chosen folder. */
function rootPath(files) {
  const depth = (p) => p.split("/").length;
  const roots = [...files.keys()].filter((p) => p.endsWith("tileset.json")).sort((a, b) => depth(a) - depth(b));
  if (!roots.length) throw new Error("the chosen folder holds no tileset.json");
  return roots[0];
}

/** Remove the folder shown before (its tileset and blob URLs). */
function closeFolder() {
  const local = view.local;
  if (!local) return;
  view.viewer.scene.primitives.remove(local.tileset);
  local.urls.forEach((u) => URL.revokeObjectURL(u));
  view.local = null;
}

/** Show the 3D Tiles export in ``fileList`` (a picked folder) and fly to it; resolves to its tileset. */
export async function openFolder(fileList, options) {
  const files = new Map([...fileList].map((f) => [normalise(f.webkitRelativePath || f.name), f]));
  const urls = [];
  const root = rootPath(files);
  const tileset = await Cesium.Cesium3DTileset.fromUrl(await rewrite(root, files, urls), options);
  closeFolder();
  tileset.onemapLayer = `folder:${root}`;
  view.viewer.scene.primitives.add(tileset);
  view.local = { tileset, urls, name: root.split("/")[0] };
  tileset.tileFailed.addEventListener((e) => console.warn(`a tile of the folder failed: ${e.message}`));
  renderTree();
  await view.viewer.zoomTo(tileset);
  document.body.dataset.folder = view.local.name;
  return tileset;
}

/** Wire the header's "Open folder" button to a hidden directory picker. */
export function setupFolder(options) {
  const input = $("folder-input");
  $("folder-open").onclick = () => input.click();
  input.onchange = async () => {
    if (!input.files.length) return;
    try {
      await openFolder(input.files, options());
      delete document.body.dataset.folderError;
    } catch (err) {
      console.warn("could not open the folder:", err && err.message);
      document.body.dataset.folderError = String(err && err.message);
      window.alert(String(err && err.message));
    }
    input.value = "";
  };
}
