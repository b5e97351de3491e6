// Running a process for the analysis panel: always as an OGC API Processes job (Prefer: respond-async),
// polled until it ends, so long runs show their progress. Results come back as a results document.
import { api } from "/map/static/http.js";

const POLL_MS = 250;
const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

async function problemText(response) {
  const body = await response.json().catch(() => ({}));
  return body.detail || body.title || `HTTP ${response.status}`;
}

/** The processes this server offers (ids), or an empty set when it cannot say. */
export async function offeredProcesses() {
  const response = await api("/processes?f=json");
  if (!response.ok) return new Set();
  return new Set((await response.json()).processes.map((p) => p.id));
}

/**
 * Run ``processId`` with ``inputs`` as a job; ``onProgress(percent, message)`` hears each poll.
 * Resolves to ``{ jobID, results }`` (output name → value) or throws an Error with the server's words.
 */
export async function runJob(processId, inputs, onProgress = () => {}, isCancelled = () => false) {
  const created = await api(`/processes/${encodeURIComponent(processId)}/execution`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Prefer: "respond-async" },
    body: JSON.stringify({ inputs, response: "document" }),
  });
  if (!created.ok) throw new Error(await problemText(created));
  const job = await created.json();
  let status = job;
  while (status.status === "accepted" || status.status === "running") {
    onProgress(status.progress ?? 0, status.message || status.status);
    if (isCancelled()) {
      await api(`/jobs/${job.jobID}`, { method: "DELETE" });
      throw new Error("dismissed");
    }
    await sleep(POLL_MS);
    const polled = await api(`/jobs/${job.jobID}`);
    if (!polled.ok) throw new Error(await problemText(polled));
    status = await polled.json();
  }
  onProgress(status.progress ?? 100, status.message || status.status);
  const answer = await api(`/jobs/${job.jobID}/results`);
  if (!answer.ok) throw new Error(await problemText(answer));
  const document = await answer.json();
  const results = Object.fromEntries(Object.entries(document).map(([name, v]) => [name, v && "value" in v ? v.value : v]));
  return { jobID: job.jobID, results };
}
