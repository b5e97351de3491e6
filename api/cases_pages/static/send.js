// Sending a report as multipart/form-data with XMLHttpRequest: unlike fetch it reports upload
// progress, and it has a timeout, both of which matter on a phone with one bar of signal.
export const SEND_TIMEOUT_MS = 60_000;

/** POST ``report`` (+ photo) to /cases/reports; resolves {status, body}, rejects on network failure. */
export function sendReport(report, photo, { onProgress = () => {}, timeoutMs = SEND_TIMEOUT_MS } = {}) {
  const form = new FormData();
  form.append("report", JSON.stringify(report));
  if (photo) form.append("photo", photo, photo.name || "photo.jpg");
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/cases/reports");
    xhr.withCredentials = true;
    xhr.setRequestHeader("Accept", "application/json");
    const token = sessionStorage.getItem("onemap.token");
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.timeout = timeoutMs;
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(Math.round((100 * e.loaded) / e.total)); };
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { body = null; }
      resolve({ status: xhr.status, body });
    };
    xhr.onerror = () => reject(new Error("offline"));
    xhr.ontimeout = () => reject(new Error("timeout"));
    xhr.onabort = () => reject(new Error("offline"));
    xhr.send(form);
  });
}
