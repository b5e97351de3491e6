// 监督员 report page (phones): position by GPS or a tap on the map, class from the code list, a photo
// and a description, sent as multipart; a failed send keeps a draft that can be sent again later.
import { $, failed, hooks, loadMe, markReady, notify } from "/cases-static/common.js";
import { bigClasses, loadCodes, smallClasses } from "/cases-static/codes.js";
import { clearDraft, loadDraft, saveDraft } from "/cases-static/draft.js";
import { pick, setupLanguage, t } from "/cases-static/i18n.js";
import { createMap, placeMarker } from "/cases-static/mapview.js";
import { shrink } from "/cases-static/photo.js";
import { sendReport } from "/cases-static/send.js";

const current = { point: null, photo: null, marker: null, map: null, sending: false };
hooks.report = current;

const kind = () => document.querySelector("input[name=kind]:checked").value;

function fillSelect(select, options, selected) {
  select.innerHTML = `<option value="">${t("choose")}</option>`
    + options.map((o) => `<option value="${o.code}">${o.name} (${o.code})</option>`).join("");
  if (selected !== undefined) select.value = selected;
}

function fillClasses(big, small) {
  fillSelect($("big-class"), bigClasses(kind()), big);
  fillSmall(small);
}

function fillSmall(small) {
  const options = smallClasses(kind(), $("big-class").value).map((c) => ({ code: c.small_class, name: c.small_name }));
  fillSelect($("small-class"), options, small);
}

// The unit grid cell drawn under the point, if the map shows one (the server decides in the end).
function cellAt(point) {
  const hits = current.map.queryRenderedFeatures(current.map.project(point));
  const cell = hits.find((f) => f.layer.metadata && f.layer.metadata["onemap:collection"] === "grid_cells"
    && f.properties.grid_code);
  return cell ? cell.properties.grid_code : null;
}

function setPoint(lng, lat, how) {
  current.point = [Number(lng.toFixed(7)), Number(lat.toFixed(7))];
  current.marker = placeMarker(current.map, current.marker, current.point);
  const show = () => {
    current.cell = cellAt(current.point);
    $("position").textContent = `${t("located")} (${how}) ${current.point[1].toFixed(5)}, ${current.point[0].toFixed(5)}`
      + (current.cell ? ` · ${t("grid")} ${current.cell}` : "");
  };
  show();
  current.map.once("idle", show);
  $("position").classList.remove("muted");
}

function locate() {
  if (!navigator.geolocation) { notify(t("geoDenied") + "—", "error"); return; }
  $("position").textContent = t("locating");
  navigator.geolocation.getCurrentPosition(
    (pos) => {
      setPoint(pos.coords.longitude, pos.coords.latitude, "GPS");
      current.map.jumpTo({ center: current.point, zoom: Math.max(current.map.getZoom(), 17) });
    },
    (err) => { notify(t("geoDenied") + err.message, "error"); $("position").textContent = t("tapMap"); },
    { enableHighAccuracy: true, timeout: 15_000, maximumAge: 30_000 },
  );
}

function showPhoto(blob) {
  current.photo = blob;
  const img = $("photo-preview");
  if (img.src) URL.revokeObjectURL(img.src);
  img.hidden = !blob;
  if (blob) img.src = URL.createObjectURL(blob);
}

function formReport() {
  const report = {
    kind: kind(), big_class: $("big-class").value, small_class: $("small-class").value,
    description: $("description").value.trim(),
  };
  // A 监督员's report is source "inspector"; others (hotline operators …) leave it to the server.
  if (current.me && current.me.roles.has("inspector")) report.source = "inspector";
  if (current.point) report.geometry = { type: "Point", coordinates: current.point };
  return report;
}

function progress(percent) {
  const bar = $("progress");
  bar.hidden = percent === null;
  if (percent !== null) bar.value = percent;
}

async function keepDraft(report, why) {
  await saveDraft({ report, photo: current.photo, photoName: current.photo ? current.photo.name || "photo.jpg" : null });
  notify(t("sendFailed") + why, "error");
  await offerDraft();
}

async function send(report) {
  if (current.sending) return;
  if (!report.geometry && !current.photo) { notify(t("noLocation"), "error"); return; }
  if (!report.small_class) { notify(`${t("smallClass")}: ${t("choose")}`, "error"); return; }
  current.sending = true;
  $("send").disabled = true;
  $("send").textContent = t("sending");
  progress(0);
  try {
    const photo = report.geometry ? await shrink(current.photo) : current.photo;
    const { status, body } = await sendReport(report, photo, { onProgress: progress });
    current.lastResult = { status, body };
    if (status === 201) {
      await clearDraft();
      $("draft").hidden = true;
      $("result").hidden = false;
      $("result").textContent = `${t("sent")} ${body.case_no} · ${body.grid_code || ""} ${body.community || ""}`;
      notify("");
      resetForm();
    } else {
      const why = body && (body.detail || body.title) ? [body.title, body.detail].filter(Boolean).join(": ") : `HTTP ${status}`;
      await keepDraft(report, why);
    }
  } catch (err) {
    current.lastResult = { error: err.message };
    await keepDraft(report, t(err.message));
  } finally {
    current.sending = false;
    $("send").disabled = false;
    $("send").textContent = t("send");
    progress(null);
  }
}

function resetForm() {
  $("description").value = "";
  $("photo").value = "";
  showPhoto(null);
  fillClasses();
}

async function offerDraft() {
  const draft = await loadDraft().catch(() => undefined);
  current.draft = draft || null;
  $("draft").hidden = !draft;
  if (!draft) return;
  const r = draft.report;
  $("draft-info").textContent = `${new Date(draft.savedAt).toLocaleString(pick("zh-CN", "en"))} · ${r.small_class || ""} ${r.description || ""}`;
}

function restoreDraft(draft) {
  const r = draft.report;
  document.querySelector(`input[name=kind][value=${r.kind === "event" ? "event" : "component"}]`).checked = true;
  fillClasses(r.big_class, r.small_class);
  $("description").value = r.description || "";
  if (r.geometry) setPoint(r.geometry.coordinates[0], r.geometry.coordinates[1], pick("草稿", "draft"));
  if (draft.photo) showPhoto(new File([draft.photo], draft.photoName || "photo.jpg", { type: draft.photo.type }));
}

async function main() {
  setupLanguage(() => fillClasses($("big-class").value, $("small-class").value));
  const [me] = await Promise.all([loadMe(), loadCodes()]);
  current.me = me;
  fillClasses();
  document.querySelectorAll("input[name=kind]").forEach((r) => { r.onchange = () => fillClasses(); });
  $("big-class").onchange = () => fillSmall();
  $("photo").onchange = () => showPhoto($("photo").files[0] || null);
  $("locate").onclick = locate;
  $("report-form").onsubmit = (ev) => { ev.preventDefault(); send(formReport()); };
  $("draft-discard").onclick = async () => { await clearDraft(); await offerDraft(); };
  $("draft-resend").onclick = async () => { restoreDraft(current.draft); await send(current.draft.report); };
  current.map = await createMap("report-map", { zoom: 16 });
  hooks.map = current.map;
  current.map.on("click", (e) => setPoint(e.lngLat.lng, e.lngLat.lat, pick("地图", "map")));
  await offerDraft();
  if (current.draft) restoreDraft(current.draft);
  markReady(current);
}

main().catch(failed);
