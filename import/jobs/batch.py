"""``onemap import batch FOLDER``: every delivery of a folder, as its manifest says, one transaction each."""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path

DESCRIPTION = """Import a folder of deliveries as listed in its manifest.yaml (see the README).

Each delivery runs as its own job, in its own transaction, with its own report; the batch
writes batch.json listing them. The exit code is the worst of the deliveries'.

example:
  onemap import batch 2024-05_岳麓区探测成果/ --report-dir reports/2024-05
"""


def main(argv: list[str]) -> int:
    """Run ``onemap import batch FOLDER …``; returns the worst exit code of the deliveries."""
    options = importlib.import_module("import.options")
    batch = importlib.import_module("ingest.batch")
    cli = importlib.import_module("import.cli")
    p = argparse.ArgumentParser(prog="onemap import batch", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", type=Path)
    p.add_argument("--manifest", type=Path, help="manifest file (default: FOLDER/manifest.yaml)")
    p.add_argument("--default-job", choices=["pipelines", "buildings", "grid", "landuse", "generic"],
                   help="without a manifest, import every file of the folder with this job")
    p.add_argument("--report-dir", type=Path)
    p.add_argument("--database-url")
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--stop-on-error", action="store_true", help="stop at the first delivery that is not imported")
    p.add_argument("--progress", choices=["auto", "bar", "none"], default="auto")
    args = p.parse_args(argv)
    errors = importlib.import_module("ingest.errors")
    try:
        manifest = batch.load_manifest(args.folder, args.manifest, default_job=args.default_job)
    except errors.IngestError as exc:
        print(f"error: {exc}")
        code: int = options.EXIT_ERROR
        return code
    out = options.report_dir("batch", args.report_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    worst: int = options.EXIT_OK
    for n, entry in enumerate(manifest.deliveries, start=1):
        name = entry.name or f"{n:02d}-{entry.job}"
        job_argv = batch.argv_for(entry, args.folder, manifest.defaults)
        job_argv += ["--report-dir", str(out / name), "--progress", args.progress]
        if args.database_url:
            job_argv += ["--database-url", args.database_url]
        if args.dry_run:
            job_argv += ["--dry-run"]
        print(f"== {name}: onemap import {' '.join(job_argv)}")
        code = cli.main(job_argv)
        report_path = out / name / "report.json"
        status = json.loads(report_path.read_text())["status"] if report_path.exists() else "failed"
        results.append({"name": name, "job": entry.job, "files": entry.files, "exit_code": code, "status": status,
                        "report": str(out / name / "report.html")})
        worst = max(worst, code)
        if code != options.EXIT_OK and args.stop_on_error:
            break
    (out / "batch.json").write_text(json.dumps({"folder": str(args.folder), "deliveries": results},
                                               ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"batch: {sum(r['status'] == 'imported' for r in results)}/{len(manifest.deliveries)} imported; "
          f"summary in {out / 'batch.json'}")
    return worst
