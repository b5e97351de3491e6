// The report page's draft: kept in IndexedDB (the photo as a Blob, no size games with data URLs)
// when a send fails, so a report made where the network is poor is not lost on reload.
const DB = "onemap-cases";
const STORE = "drafts";
const KEY = "report";

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function run(mode, action) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = action(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** Keep ``draft`` ({report, photo: Blob|null, photoName, savedAt}), replacing any earlier one. */
export const saveDraft = (draft) => run("readwrite", (s) => s.put({ ...draft, savedAt: new Date().toISOString() }, KEY));

/** The kept draft, or undefined. */
export const loadDraft = () => run("readonly", (s) => s.get(KEY));

/** Forget the draft (after a successful send, or when the inspector discards it). */
export const clearDraft = () => run("readwrite", (s) => s.delete(KEY));
