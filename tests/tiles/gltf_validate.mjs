// Validate .glb files with the Khronos glTF validator (npm gltf-validator); prints one JSON report
// per file: {"file", "errors", "warnings", "messages"}. Used by tests/tiles/test_3d_*.py.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(process.cwd() + "/");
const validator = require("gltf-validator");
const out = [];
for (const file of process.argv.slice(2)) {
  const report = await validator.validateBytes(new Uint8Array(readFileSync(file)), {
    maxIssues: 50,
    externalResourceFunction: () => Promise.reject(new Error("no external resources")),
  });
  out.push({
    file,
    errors: report.issues.numErrors,
    warnings: report.issues.numWarnings,
    messages: report.issues.messages.map((m) => `${m.severity} ${m.code} ${m.pointer || ""}: ${m.message}`),
  });
}
console.log(JSON.stringify(out));
