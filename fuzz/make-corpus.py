#!/usr/bin/env python3
"""Writes the seed corpora fuzz/corpus/<target>/ from fixtures/, rules/, docs and deploy/.

Run from the repository root after the fixtures change: `python3 fuzz/make-corpus.py`. Lists
are cut to their first few items, so every seed stays small (libFuzzer mutates small inputs
faster, and the corpora stay a few hundred KB in git).
"""
import base64, hashlib, json, pathlib, re, shutil

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "fuzz" / "corpus"
DEMO = ROOT / "fixtures" / "fleets" / "demo"
KEEP = 3  # items kept of each list


def trimmed(path):
    data = json.loads(path.read_text(encoding="utf-8-sig"))
    if isinstance(data, dict) and isinstance(data.get("value"), list):
        data["value"] = data["value"][:KEEP]
    if isinstance(data, list):
        data = data[:KEEP]
    if isinstance(data, dict) and isinstance(data.get("values"), list):  # service tags
        data["values"] = data["values"][:KEEP]
        for tag in data["values"]:
            prefixes = tag.get("properties", {}).get("addressPrefixes")
            if isinstance(prefixes, list):
                tag["properties"]["addressPrefixes"] = prefixes[:KEEP]
    return json.dumps(data, separators=(",", ":")).encode()


def put(target, name, data):
    folder = OUT / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    demo = sorted(DEMO.rglob("*.json"))
    for path in demo:
        put("snapshot_file", f"{path.parent.name[:8]}-{path.name}", trimmed(path))
    put("snapshot_file", "manifest.json", json.dumps({
        "schema": "backup-doctor/snapshot/v1", "created": "2026-11-24T06:00:00Z",
        "tenantId": "7b9ea66e-083b-4317-b614-c6aa1bfc22ea", "cloud": "public",
        "gaps": [{"scope": "/subscriptions/3f0c9931-918c-40bf-9670-c342c6cce996",
                  "what": "Microsoft.Authorization/locks", "reason": "HTTP 403 AuthorizationFailed"}]}).encode())

    # The tree target takes subscriptions \0 VMs \0 NICs \0 manifest.
    for sub in sorted(p for p in DEMO.iterdir() if p.is_dir() and p.name != "tenant"):
        parts = [trimmed(DEMO / "tenant" / "subscriptions.json"),
                 trimmed(sub / "Microsoft.Compute.virtualMachines.json"),
                 trimmed(sub / "Microsoft.Network.networkInterfaces.json"),
                 (OUT / "snapshot_file" / "manifest.json").read_bytes()]
        put("snapshot_tree", f"{sub.name[:8]}-vm-nic", b"\0".join(parts))
        put("snapshot_tree", f"{sub.name[:8]}-vm-only", b"\0".join(parts[:2]))

    plans = sorted((ROOT / "fixtures" / "plans").rglob("*.json"))
    for path in plans:
        put("terraform_plan", path.name, path.read_bytes())

    for path in sorted((ROOT / "fixtures" / "whatif").rglob("*.json")):
        if not path.name.endswith(".expect.json"):
            put("whatif", path.name, path.read_bytes())

    for path in sorted((ROOT / "rules").rglob("*.toml")):
        if path.name != "error-codes.toml":
            put("rule_file", f"{path.parent.name}-{path.name}", path.read_bytes())

    docs = (ROOT / "docs" / "ci-gate.md").read_text()
    for i, block in enumerate(re.findall(r"```toml\n(.*?)```", docs, re.S)):
        if "[[suppression]]" in block:
            put("suppressions", f"ci-gate-{i}.toml", block.encode())
    put("suppressions", "two.toml", b'''[[suppression]]
rule = "agent/*"
resource = "/subscriptions/*/resourceGroups/rg-dev/*"
justification = "dev VMs are rebuilt nightly"
expires = 2026-01-01

[[suppression]]
rule = "network/nsg-blocks-recommended-path"
resource = "vm-sql-01"
justification = "CHG-1234"
expires = 2027-12-31
''')

    serve = (ROOT / "docs" / "serve.md").read_text()
    for i, block in enumerate(re.findall(r"```toml\n(.*?)```", serve, re.S)):
        put("serve_config", f"serve-md-{i}.toml", block.encode())
    put("serve_config", "kubernetes.toml", (ROOT / "deploy" / "kubernetes" / "serve.toml").read_bytes())
    put("serve_config", "with-env.toml", b'''listen = "127.0.0.1:8080"
store = "history.sqlite"
max_body_bytes = 1048576

[auth]
tenant_id = "7b9ea66e-083b-4317-b614-c6aa1bfc22ea"
audience = ["api://backup-doctor"]
reader_role = "Reports.Read"
operator_role = "Scans.Run"
jwks_cache_seconds = 3600

[schedule]
cron = "0 2 * * *"
time_zone = "Europe/Amsterdam"
lease_seconds = 3600
overdue_hours = 30

[live]
subscriptions = ["3f0c9931-918c-40bf-9670-c342c6cce996"]
auth = "workload"
cloud = "public"
concurrency = 8
deadline_seconds = 3600
job_window_days = 7

[check]
cache_seconds = 300
max_vms = 50
policy = "DefaultPolicy"

[export.log_analytics]
endpoint = "https://dce-1.westeurope-1.ingest.monitor.azure.com"
dcr = "dcr-00000000000000000000000000000000"
\0BACKUP_DOCTOR_AUTH_DISABLED=false
BACKUP_DOCTOR_LIVE_MANAGEMENT_GROUPS=mg-platform, mg-landing
BACKUP_DOCTOR_CHECK_MAX_VMS=20
''')

    # arm_page: first byte picks the list (LISTS in fuzz_targets/arm_page.rs, in this order).
    lists = ["virtualMachines", "disks", "diskEncryptionSets", "restorePointCollections",
             "networkInterfaces", "virtualNetworks", "networkSecurityGroups", "routeTables",
             "privateEndpoints", "privateDnsZones", "privateDnsZones.virtualNetworkLinks",
             "privateDnsZones.A", "KeyVault.vaults", "vaults.keys", "vaults.secrets",
             "RecoveryServices.vaults", "backupProtectedItems", "backupPolicies", "backupJobs",
             "resourceGroups", "providers", "locks", "policyAssignments", "policyExemptions",
             "policyDefinitions", "subscriptions", "servicePrincipals", "serviceTags",
             "roleAssignments", "roleDefinitions", "policySetDefinitions", "resourceContainers"]
    for path in demo:
        stem = path.name[: -len(".json")]
        for index, name in enumerate(lists):
            if stem.endswith(name) and not (name == "virtualMachines" and "extensions" in stem):
                if name == "RecoveryServices.vaults" and stem != "Microsoft.RecoveryServices.vaults":
                    continue
                if name == "privateDnsZones" and stem != "Microsoft.Network.privateDnsZones":
                    continue
                put("arm_page", f"{index:02}-{path.parent.name[:8]}-{path.name}", bytes([index]) + trimmed(path))
                break

    errors = [
        (403, "AuthorizationFailed", {"error": {"code": "AuthorizationFailed", "message": "The client does not have authorization to perform action 'Microsoft.Compute/virtualMachines/read'."}}),
        (429, "", {"error": {"code": "TooManyRequests", "message": "Too many requests.", "details": [{"code": "SubscriptionRequestsThrottled"}]}}),
        (404, "", {"error": {"code": "ResourceGroupNotFound", "message": "Resource group 'rg' could not be found."}}),
        (503, "", {"code": "ServiceUnavailable", "message": "The service is unavailable."}),
        (400, "BadRequest", {"odata.error": {"code": "Request_BadRequest", "message": {"lang": "en", "value": "Invalid filter"}}}),
        (500, "", {"error": {"code": "InternalServerError", "innererror": {"trace": "x"}}}),
    ]
    for status, header, body in errors:
        data = (status - 400).to_bytes(2, "big") + header.encode() + b"\n" + json.dumps(body).encode()
        put("arm_error", f"{status}-{hashlib.sha1(data).hexdigest()[:8]}", data)

    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    header = {"alg": "RS256", "kid": "fuzz-key", "typ": "JWT"}
    claims = {"iss": "https://login.microsoftonline.com/fuzz-tenant/v2.0", "aud": "api://backup-doctor-fuzz",
              "exp": 4102444800, "nbf": 1700000000, "iat": 1700000000,
              "oid": "00000000-0000-0000-0000-00000000000a", "roles": ["Reader"], "azp": "client"}
    v1 = dict(claims, iss="https://sts.windows.net/fuzz-tenant/", appid="client")
    del v1["azp"]
    for name, c in [("signed-v2", claims), ("signed-v1", v1),
                    ("signed-expired", dict(claims, exp=1700000100)),
                    ("signed-wrong-aud", dict(claims, aud=["api://other", 3])),
                    ("signed-no-oid", {k: v for k, v in claims.items() if k != "oid"})]:
        put("bearer_token", name, json.dumps(header).encode() + b"\0" + json.dumps(c).encode())
    raw = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}.{b64(b'not-a-signature')}"
    put("bearer_token", "raw-bad-signature", f"Bearer {raw}".encode())
    put("bearer_token", "raw-hs256", ("bearer " + b64(b'{"alg":"HS256","kid":"fuzz-key"}') + "." + b64(b"{}") + ".").encode())
    put("bearer_token", "raw-unknown-kid", ("Bearer " + b64(b'{"alg":"RS256","kid":"other"}') + ".e30.c2ln").encode())
    put("bearer_token", "raw-basic", b"Basic dXNlcjpwYXNz")


if __name__ == "__main__":
    main()
