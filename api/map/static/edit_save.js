// Saving edits: one edit through OGC API Features Part 4 (If-Match, OGC-Mutation-Datetime,
// OneMap-Comment), several as one changeset (POST /changesets). Answers are normalised to
// {ok, status, problem, results, derived, changeset} so the panel handles 412/422/409 once.
import { api } from "/map/static/http.js";

const GEOJSON = "application/geo+json";

const itemUrl = (collection, id) => `/collections/${encodeURIComponent(collection)}/items${id === undefined ? "" : `/${id}`}`;

/** ``"<fid>.<version>"`` → version number (our ETags name the version). */
export const etagVersion = (etag) => Number(String(etag || "").replace(/^W\//, "").replace(/"/g, "").split(".")[1]);

function headersFor(opts, ifMatch) {
  const h = { "Content-Type": GEOJSON, Accept: `${GEOJSON}, application/problem+json` };
  if (ifMatch) h["If-Match"] = ifMatch;
  if (opts.validFrom) h["OGC-Mutation-Datetime"] = opts.validFrom;
  if (opts.comment) h["OneMap-Comment"] = encodeURIComponent(opts.comment);
  return h;
}

async function problemOf(response) {
  return response.json().catch(() => ({ status: response.status, title: response.statusText }));
}

/** One Part 4 write for a contract-shaped ``edit``. */
export async function writeOne(edit, opts = {}) {
  const method = { insert: "POST", replace: "PUT", update: "PATCH", retire: "DELETE" }[edit.op];
  const body = edit.op === "insert" || edit.op === "replace" ? edit.feature : edit.op === "update" ? edit.patch : undefined;
  const response = await api(itemUrl(edit.collection, edit.op === "insert" ? undefined : edit.id), {
    method, headers: headersFor(opts, edit.if_match), body: body === undefined ? undefined : JSON.stringify(body),
  });
  const changeset = response.headers.get("OneMap-Changeset");
  if (!response.ok) return { ok: false, status: response.status, problem: await problemOf(response), edit };
  const etag = response.headers.get("ETag");
  const doc = response.status === 204 ? null : await response.json().catch(() => null);
  const id = doc && doc.id !== undefined ? doc.id : edit.id;
  return {
    ok: true, status: response.status, changeset: changeset ? Number(changeset) : null, derived: [],
    results: [{ index: 0, op: edit.op, collection: edit.collection, id, version: etag ? etagVersion(etag) : null, etag }],
  };
}

/** Whether this server has POST /changesets (edit-api); cached after the first answer. */
let changesetsOffered = null;

/** Several edits, all or nothing, as one changeset; one edit goes through Part 4. */
export async function writeMany(edits, opts = {}) {
  if (edits.length === 1 && !opts.forceChangeset) return writeOne(edits[0], opts);
  if (changesetsOffered !== false) {
    const response = await api("/changesets", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json, application/problem+json" },
      body: JSON.stringify({ comment: opts.comment || "", ...(opts.validFrom ? { valid_from: opts.validFrom } : {}), edits }),
    });
    if (response.status !== 404 && response.status !== 405) {
      changesetsOffered = true;
      if (!response.ok) return { ok: false, status: response.status, problem: await problemOf(response) };
      const doc = await response.json();
      return { ok: true, status: response.status, changeset: doc.id, results: doc.results || [], derived: doc.derived || [] };
    }
    changesetsOffered = false;
  }
  // Without /changesets (a server before edit-api): one Part 4 write after another, in order.
  const results = [];
  for (const [index, edit] of edits.entries()) {
    const one = await writeOne(edit, opts);
    if (!one.ok) {
      const problem = { ...one.problem };
      for (const e of problem.errors || []) e.index = index;
      return { ...one, problem, results, partial: results.length > 0 };
    }
    results.push({ ...one.results[0], index });
  }
  return { ok: true, status: 201, changeset: null, results, derived: [] };
}

/** The feature now (GeoJSON) and its ETag, or null when it is gone. */
export async function currentFeature(collection, id) {
  const response = await api(itemUrl(collection, id), { headers: { Accept: GEOJSON } });
  if (!response.ok) return null;
  return { feature: await response.json(), etag: response.headers.get("ETag") };
}

/** The layer's Part 5 feature schema. */
export async function layerSchema(collection) {
  const response = await api(`/collections/${encodeURIComponent(collection)}/schema`, { headers: { Accept: "application/schema+json" } });
  if (!response.ok) throw new Error(`schema of ${collection}: HTTP ${response.status}`);
  return response.json();
}

/** Where a geometry problem is: the error's ``location``, or the point in GEOS's reason text. */
export function problemLocation(error) {
  if (Array.isArray(error.location)) return error.location;
  const m = /\[\s*(-?[\d.]+)[ ,]+(-?[\d.]+)\s*\]/.exec(error.message || "");
  return m ? [Number(m[1]), Number(m[2])] : null;
}
