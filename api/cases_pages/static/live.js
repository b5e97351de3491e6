// The live feed: EventSource on /cases/events (Server-Sent Events). The browser reconnects by itself
// and sends Last-Event-ID, so the server can replay what was missed; we only show whether it is up.
import { $, hooks } from "/cases-static/common.js";
import { t } from "/cases-static/i18n.js";

/** Listen for ``case`` events and pass each one's data to ``onCase``; returns the EventSource. */
export function listen(onCase) {
  hooks.events = [];
  const source = new EventSource("/cases/events", { withCredentials: true });
  const show = (up) => {
    const el = $("live");
    el.classList.toggle("off", !up);
    el.textContent = up ? `● ${t("live")}` : t("liveOff");
    hooks.live = up;
  };
  source.onopen = () => show(true);
  source.onerror = () => show(source.readyState === EventSource.OPEN);
  source.addEventListener("case", (ev) => {
    let data;
    try { data = JSON.parse(ev.data); } catch { return; }
    hooks.events.push(data);
    onCase(data);
  });
  hooks.eventSource = source;
  return source;
}
