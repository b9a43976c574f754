"""The soak's verdict and summary (.ci/soak.sh): reads what the run left in its directory, writes
summary.md there and to stdout, and exits 1 when a check failed.

Usage: report.py DIR EXPECTED_VMS EXPECTED_COMPLETE MINUTES "LOAD_AT_START LOAD_AT_END" CORES QUICK_BUILD
"""

import json
import statistics
import sys
from pathlib import Path

# Growth allowed after the warm-up (the first WARM_UP of the run), relative to the level just
# after it.
WARM_UP = 0.2
MAX_GROWTH = 0.10


def growth(values):
    """(level after the warm-up, level at the end, growth) of a series in time order: the medians
    of the tenth of the run that follows the warm-up and of the last tenth, so one sample taken
    while a scan runs (its connections, its buffers) moves neither. None when too short."""
    n = len(values)
    if n < 5:
        return None
    window = max(1, n // 10)
    start = int(n * WARM_UP)
    base = statistics.median(values[start:start + window])
    last = statistics.median(values[-window:])
    return base, last, (last - base) / base if base else 0.0


def tsv(path):
    lines = path.read_text().splitlines()
    if not lines:
        return []
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:] if line]


def main():
    out = Path(sys.argv[1])
    expected_vms = int(sys.argv[2])
    # Whether the offline scan of the fleet is complete: a live scan without gaps must say the same.
    expected_complete = sys.argv[3]
    minutes = int(sys.argv[4])
    load = sys.argv[5].split()
    cores = sys.argv[6]
    quick_build = len(sys.argv) > 7 and sys.argv[7] == "1"
    failures = []
    lines = [f"# Soak: {minutes} min", ""]
    lines.append(
        f"Machine: {cores} cores, shared (load average 1/5/15 min at start {' '.join(load[:3])}, "
        f"at end {' '.join(load[3:6])}). Fleet: the demo fleet, {expected_vms} VMs "
        f"(its offline scan: complete {expected_complete}, no gaps)."
    )
    if quick_build:
        lines.append("")
        lines.append("Built with SOAK_QUICK_BUILD=1: the azure_mgmt_* crates unoptimised.")
    lines.append("")

    # The loop's scans.
    scans = tsv(out / "scans.tsv")
    lines.append("## Live scans in a loop (`scan --live --store`)")
    lines.append("")
    lines.append("| emulator | runs | as the offline scan, no gaps | incomplete with gaps | other | peak RSS first / last / max (MiB) | seconds (median) |")
    lines.append("|---|---|---|---|---|---|---|")
    for name in ("retried", "gaps"):
        runs = [s for s in scans if s["emulator"] == name]
        complete = [s for s in runs if s["exit"] in ("0", "3") and s["complete"] == expected_complete and s["gaps"] == "0"]
        gapped = [s for s in runs if s["exit"] in ("0", "3") and s["complete"] == "false" and s["gaps"] not in ("0", "none")]
        other = [s for s in runs if s not in complete and s not in gapped]
        for s in other:
            failures.append(
                f"scan {s['n']} ({name}): exit {s['exit']}, complete {s['complete']}, gaps {s['gaps']}"
                f" (stderr in scan-{s['n']}.err)"
            )
        for s in runs:
            if s["vms"] != str(expected_vms):
                failures.append(f"scan {s['n']} ({name}): {s['vms']} VMs, the fleet has {expected_vms}")
        if name == "retried" and gapped:
            failures.append(f"{len(gapped)} scans of the retried-faults emulator had gaps: its faults must cost time only")
        if name == "gaps" and complete:
            failures.append(f"{len(complete)} scans of the gaps emulator were complete: its faults were not reported")
        rss = [int(s["peak_rss_kb"]) for s in runs if s["peak_rss_kb"].isdigit()]
        seconds = [float(s["seconds"]) for s in runs]
        figures = (
            f"{rss[0] / 1024:.0f} / {rss[-1] / 1024:.0f} / {max(rss) / 1024:.0f}" if rss else "-"
        )
        lines.append(
            f"| {name} | {len(runs)} | {len(complete)} | {len(gapped)} | {len(other)} | {figures} | "
            f"{statistics.median(seconds):.1f} |" if seconds else f"| {name} | 0 | | | | | |"
        )
        g = growth(rss)
        if g and g[2] > MAX_GROWTH:
            failures.append(f"peak RSS of the {name} scans grew {g[2]:.0%} after the warm-up ({g[0]} -> {g[1]} KiB)")
    if not scans:
        failures.append("no scan of the loop finished")
    lines.append("")

    # serve's scheduled scans.
    reports = [json.loads(line) for line in (out / "serve-reports.jsonl").read_text().splitlines() if line]
    def as_offline(r):
        return str(r["complete"]).lower() == expected_complete and r["gaps"] == 0

    bad = [r for r in reports if not (as_offline(r) or (not r["complete"] and r["gaps"] > 0)) or r["vms"] != expected_vms]
    for r in bad:
        failures.append(f"serve's scan {r['id']}: complete {r['complete']}, {r['gaps']} gaps, {r['vms']} VMs")
    metrics = (out / "metrics.txt").read_text()
    failed_scans = 0.0
    for line in metrics.splitlines():
        if line.startswith('backup_doctor_scans_total{outcome="failed"}'):
            failed_scans = float(line.split()[-1])
    if "backup_doctor_scans_total" not in metrics:
        failures.append("serve: /metrics could not be read at the end")
    if not reports:
        failures.append("serve recorded no scan, or /v1/scans could not be read at the end")
    if failed_scans:
        failures.append(f"serve: {failed_scans:.0f} scheduled scans failed (see serve.log)")
    lines.append("## `serve`")
    lines.append("")
    lines.append(
        f"Scheduled scans recorded: {len(reports)} ({sum(1 for r in reports if as_offline(r))} as the offline scan without gaps, "
        f"{sum(1 for r in reports if r['gaps'] > 0)} with gaps); failed: {failed_scans:.0f}."
    )
    lines.append("")
    samples = tsv(out / "serve-samples.tsv")
    lines.append("| sample | first | after warm-up | last | max | growth after warm-up |")
    lines.append("|---|---|---|---|---|---|")
    for key, unit, scale in (("rss_kb", "MiB", 1024), ("fds", "", 1)):
        values = [int(s[key]) for s in samples]
        g = growth(values)
        if not g:
            failures.append(f"serve: {len(values)} samples of {key}, too few to judge growth")
            continue
        lines.append(
            f"| {key.replace('_kb', '')} {unit} | {values[0] / scale:.1f} | {g[0] / scale:.1f} | "
            f"{values[-1] / scale:.1f} | {max(values) / scale:.1f} | {g[2]:+.1%} |"
        )
        if g[2] > MAX_GROWTH:
            failures.append(f"serve's {key} grew {g[2]:.0%} after the warm-up ({g[0]} -> {g[1]})")
    lines.append(f"\n{len(samples)} samples.\n")

    # The API load.
    lines.append("## API under load (wrk, 2 connections per endpoint, steady rate)")
    lines.append("")
    lines.append("| endpoint | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | errors |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for name, label in (
        ("vms", "GET /v1/vms?limit=50"),
        ("vm", "GET /v1/vms/{id}"),
        ("scans", "GET /v1/scans"),
        ("metrics", "GET /metrics"),
        ("check", "POST /v1/check"),
    ):
        path = out / f"wrk-{name}.json"
        if not path.exists():
            failures.append(f"wrk {label}: no figures (see wrk-{name}.log)")
            continue
        w = json.loads(path.read_text())
        errors = sum(w["errors"].values())
        rate = w["requests"] / (w["duration_us"] / 1e6) if w["duration_us"] else 0
        lines.append(
            f"| {label} | {w['requests']} | {rate:.0f} | {w['p50_ms']:.2f} | {w['p90_ms']:.2f} | "
            f"{w['p99_ms']:.2f} | {w['max_ms']:.0f} | {errors} |"
        )
        if errors:
            failures.append(f"wrk {label}: {errors} errors {w['errors']}")
        if not w["requests"]:
            failures.append(f"wrk {label}: no request answered")
    lines.append("")

    lines.append("## Verdict")
    lines.append("")
    if failures:
        lines.append("FAILED:")
        lines.extend(f"- {f}" for f in failures)
    else:
        lines.append("PASSED: every scan as the offline scan (no gaps) or incomplete with gaps, and holding every VM; "
                     "RSS and fds flat within 10% after the warm-up; no API error.")
    text = "\n".join(lines) + "\n"
    (out / "summary.md").write_text(text)
    print(text)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
