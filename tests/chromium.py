"""Open pages in Debian's headless Chromium with every host name unresolvable, and read back what happened.

A probe script injected at the top of ``<head>`` records script errors, every resource
the page fetched, and a few DOM facts, then writes them as JSON into the DOM that
``--dump-dom`` prints. Only loopback addresses and local files can load.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

PROBE = """<script>
window.__errors = [];
window.addEventListener('error', function (e) {
  window.__errors.push(String(e.message || (e.target && (e.target.src || e.target.href)) || 'error'));
}, true);
window.addEventListener('load', function () { setTimeout(function () {
  var out = document.createElement('pre'); out.id = '__probe'; out.style.display = 'none';
  out.textContent = JSON.stringify({
    errors: window.__errors,
    resources: performance.getEntriesByType('resource').map(function (e) { return e.name; }),
    markers: document.querySelectorAll('.leaflet-marker-pane > *').length,
    vector_paths: document.querySelectorAll('path.leaflet-interactive').length,
    leaflet: typeof L !== 'undefined' ? L.version : null,
    jquery: typeof jQuery !== 'undefined' ? jQuery.fn.jquery : null,
    fa_solid: document.fonts.check('900 16px "Font Awesome 6 Free"'),
    rows: document.querySelectorAll('table tbody tr').length,
    title: document.title,
    frames: Array.prototype.map.call(document.querySelectorAll('iframe'), function (f) {
      var w = f.contentWindow, d = f.contentDocument, features = 0, maps = 0;
      Object.keys(w).forEach(function (k) {
        if (k.indexOf('map_') === 0 && w.L && w[k] instanceof w.L.Map) {
          maps += 1;
          w[k].eachLayer(function (layer) { if (layer.feature) { features += 1; } });
        }
      });
      return {maps: maps, features: features, leaflet: w.L ? w.L.version : null,
              resources: w.performance.getEntriesByType('resource').map(function (e) { return e.name; }),
              errors: w.__errors || []};
    })
  });
  document.body.appendChild(out);
}, 300); });
</script>"""

_PROBE_OUT = re.compile(r'<pre id="__probe"[^>]*>(.*?)</pre>', re.DOTALL)


def with_probe(html: str) -> str:
    """``html`` with the probe as the first thing in ``<head>``."""
    head = re.search(r"<head[^>]*>", html, re.IGNORECASE)
    if head is None:
        return PROBE + html
    return html[: head.end()] + PROBE + html[head.end():]


def probe(url: str, *, budget_ms: int = 3000, timeout_s: float = 60.0) -> dict[str, Any]:
    """Load ``url`` (``file://`` or loopback ``http://``) and return the probe's findings."""
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
         f"--virtual-time-budget={budget_ms}", "--dump-dom", url],
        capture_output=True, text=True, timeout=timeout_s, check=False,
    )
    match = _PROBE_OUT.search(proc.stdout)
    if match is None:
        raise AssertionError(f"the page never finished: {proc.stdout[-500:]!r} {proc.stderr[-500:]!r}")
    found: dict[str, Any] = json.loads(html.unescape(match.group(1)))
    return found
