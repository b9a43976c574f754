"""Renders deploy/kubernetes offline and checks what the schemas and checkov do not.

Neither kustomize nor kubectl is installed in CI, and validating the files one by one would miss
what only the rendered output shows (a patch that names no resource, an image left unset, a
ConfigMap reference the generator's name suffix broke). So this renders the kustomization with the
subset of kustomize it uses, and refuses anything outside that subset instead of ignoring it:

- `resources`: files (not directories or URLs), each of one or more documents;
- `components`: directories whose kustomization.yaml is a Component, applied in order;
- `configMapGenerator`: `name` with `files` and/or `literals`; the name gets a content hash suffix
  and references in pod templates are rewritten (the suffix is not kustomize's own hash, which
  only the real tool computes; what matters here is that every reference follows it);
- `patches`: strategic merge patches (`path` or inline `patch`, no `target`), matched by kind and
  name; maps merge, `null` deletes a key, lists of items (containers, env, volumes,
  volumeMounts) merge by their Kubernetes merge key, a few (args, command) are replaced, and a
  patch of any other list is refused (MERGE_KEYS, REPLACED_LISTS);
- `images`: `name` with `newName`, `newTag` or `digest`; an entry that matches no container is an
  error (kustomize would ignore it silently, leaving the placeholder image in place).

Usage: kubernetes_check.py DIR OUT --serve-keys src/serve/config.rs [--component PATH]...
                           [--files-read FILE]
Writes the rendered documents to OUT, checks them, appends every file it read to FILE.
Exit 0 when all is well, 1 with one line per problem, 2 when the kustomization cannot be rendered.
"""

import argparse
import copy
import hashlib
import json
import os
import re
import sys
import tomllib

import yaml

KUSTOMIZATION_KEYS = {"apiVersion", "kind", "resources", "components", "images",
                      "configMapGenerator", "patches"}
IMAGE_KEYS = {"name", "newName", "newTag", "digest"}
GENERATOR_KEYS = {"name", "files", "literals"}
POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
# The image's user (deploy/Dockerfile: useradd --uid 10001).
IMAGE_UID = 10001
# PodSecurity "restricted" allows only these volume types.
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                      "persistentVolumeClaim", "projected", "secret"}
# DNS, HTTPS (ARM, Entra ID, Graph, Azure Monitor), PostgreSQL.
ALLOWED_EGRESS = {("UDP", 53), ("TCP", 53), ("TCP", 443), ("TCP", 5432)}
# How a strategic merge patch combines a list with the one it patches, from the Kubernetes API's
# patchMergeKey and patchStrategy of each field. A list not named here is refused when a patch
# changes it, so the render never merges a list differently from kustomize.
MERGE_KEYS = {"containers": "name", "initContainers": "name", "env": "name", "volumes": "name",
              "volumeMounts": "mountPath"}
REPLACED_LISTS = {"args", "command", "envFrom", "accessModes", "policyTypes"}
# Created by hand (kubectl create secret), so that no password is in a manifest.
EXTERNAL_SECRETS = {"backup-doctor-store"}


class RenderError(Exception):
    pass


class Renderer:
    def __init__(self):
        self.files_read = []

    def read(self, path):
        if not os.path.isfile(path):
            raise RenderError(f"{path}: no such file")
        self.files_read.append(path)
        with open(path, encoding="utf-8") as f:
            return f.read()

    def documents(self, path):
        try:
            docs = [d for d in yaml.safe_load_all(self.read(path)) if d is not None]
        except yaml.YAMLError as e:
            raise RenderError(f"{path}: not YAML: {e}")
        for i, doc in enumerate(docs):
            if not isinstance(doc, dict) or not doc.get("kind") or not doc.get("apiVersion") \
                    or not (doc.get("metadata") or {}).get("name"):
                raise RenderError(f"{path}: document {i + 1} lacks apiVersion, kind or metadata.name")
        return docs

    def kustomization(self, directory, kind):
        path = os.path.join(directory, "kustomization.yaml")
        try:
            k = yaml.safe_load(self.read(path))
        except yaml.YAMLError as e:
            raise RenderError(f"{path}: not YAML: {e}")
        if not isinstance(k, dict):
            raise RenderError(f"{path}: not a mapping")
        unknown = set(k) - KUSTOMIZATION_KEYS
        if unknown:
            raise RenderError(f"{path}: {', '.join(sorted(unknown))} is outside the kustomize subset "
                              f"CI renders (.ci/deploy/kubernetes_check.py): use the keys it "
                              f"implements or extend it")
        if k.get("kind") != kind:
            raise RenderError(f"{path}: kind is {k.get('kind')!r}, expected {kind}")
        return path, k

    def render(self, directory, extra_components=(), kind="Kustomization", resources=None):
        path, k = self.kustomization(directory, kind)
        resources = [] if resources is None else resources
        for entry in k.get("resources") or []:
            target = os.path.join(directory, entry)
            if not os.path.isfile(target):
                raise RenderError(f"{path}: resources lists {entry!r}, which is not a file in "
                                  f"{directory}: add the file or remove the entry")
            for doc in self.documents(target):
                if any(ident(doc) == ident(r) for r in resources):
                    raise RenderError(f"{target}: {ident(doc)} is defined twice")
                resources.append(doc)
        listed = list(k.get("components") or [])
        # A variant CI renders that the kustomization already enables is that kustomization.
        for entry in listed + [c for c in extra_components if c not in listed]:
            component = os.path.join(directory, entry)
            if not os.path.isdir(component):
                raise RenderError(f"{path}: component {entry!r} is not a directory")
            self.render(component, kind="Component", resources=resources)
        generated = {}
        for gen in k.get("configMapGenerator") or []:
            generated.update(self.generate(path, directory, gen, resources))
        for i, entry in enumerate(k.get("patches") or []):
            self.patch(path, directory, i, entry, resources)
        for entry in k.get("images") or []:
            set_image(path, entry, resources)
        rename_config_maps(generated, resources)
        return resources

    def generate(self, path, directory, gen, resources):
        unknown = set(gen) - GENERATOR_KEYS
        if unknown or not gen.get("name"):
            raise RenderError(f"{path}: configMapGenerator entry {gen!r}: give name with files "
                              f"and/or literals (no {', '.join(sorted(unknown)) or 'name'})")
        data = {}
        for entry in gen.get("files") or []:
            data[os.path.basename(entry)] = self.read(os.path.join(directory, entry))
        for literal in gen.get("literals") or []:
            key, sep, value = str(literal).partition("=")
            if not sep or not key:
                raise RenderError(f"{path}: configMapGenerator {gen['name']}: literal "
                                  f"{literal!r} is not KEY=VALUE")
            data[key] = value
        digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:10]
        name = f"{gen['name']}-{digest}"
        resources.append({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": name}, "data": data})
        return {gen["name"]: name}

    def patch(self, path, directory, index, entry, resources):
        if set(entry) - {"path", "patch"} or len(entry) != 1:
            raise RenderError(f"{path}: patches[{index}]: give exactly one of path or patch "
                              f"(target and options are outside the subset CI renders)")
        if "path" in entry:
            source = os.path.join(directory, entry["path"])
            docs = self.documents(source)
        else:
            source = f"{path} patches[{index}]"
            try:
                docs = [d for d in yaml.safe_load_all(str(entry["patch"])) if d is not None]
            except yaml.YAMLError as e:
                raise RenderError(f"{source}: not YAML: {e}")
        for doc in docs:
            if not isinstance(doc, dict):
                raise RenderError(f"{source}: a patch must be a mapping with kind and metadata.name")
            name = (doc.get("metadata") or {}).get("name")
            matches = [r for r in resources if r["kind"] == doc.get("kind")
                       and r["metadata"]["name"] == name]
            if len(matches) != 1:
                raise RenderError(f"{source}: the patch of {doc.get('kind')} {name!r} matches "
                                  f"{len(matches)} resources, not one")
            merged = merge(matches[0], doc, source)
            resources[resources.index(matches[0])] = merged


def ident(doc):
    return f"{doc['kind']} {doc['metadata']['name']}"


def merge(base, patch, source, field=""):
    if isinstance(patch, dict):
        directives = [k for k in patch if str(k).startswith("$")]
        if directives:
            raise RenderError(f"{source}: {directives[0]} is outside the subset CI renders")
        if not isinstance(base, dict):
            return strip_nulls(patch)
        out = dict(base)
        for key, value in patch.items():
            if value is None:
                out.pop(key, None)
            elif key in out:
                out[key] = merge(out[key], value, source, key)
            else:
                out[key] = strip_nulls(value)
        return out
    if isinstance(patch, list) and isinstance(base, list):
        if field in REPLACED_LISTS:
            return strip_nulls(patch)
        key = MERGE_KEYS.get(field)
        if key is None:
            raise RenderError(f"{source}: the patch changes the list {field}, whose merge rule "
                              f"the subset CI renders does not know: add it to MERGE_KEYS or "
                              f"REPLACED_LISTS in .ci/deploy/kubernetes_check.py")
        out = list(base)
        for item in patch:
            same = [i for i, b in enumerate(out) if b.get(key) == item.get(key)]
            if same:
                out[same[0]] = merge(out[same[0]], item, source)
            else:
                out.append(strip_nulls(item))
        return out
    return strip_nulls(patch)


def strip_nulls(value):
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


def pod_specs(doc):
    """(where, pod spec, pod template metadata) of a workload."""
    spec = doc.get("spec") or {}
    if doc["kind"] == "Pod":
        return [(ident(doc), spec, doc.get("metadata") or {})]
    if doc["kind"] == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = spec.get("template") or {}
    return [(ident(doc), template.get("spec") or {}, template.get("metadata") or {})]


def containers(pod):
    return list(pod.get("initContainers") or []) + list(pod.get("containers") or [])


def split_image(image):
    name = image.split("@", 1)[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    return name


def set_image(path, entry, resources):
    unknown = set(entry) - IMAGE_KEYS
    if unknown or not entry.get("name"):
        raise RenderError(f"{path}: images entry {entry!r}: only name, newName, newTag, digest")
    hits = 0
    for doc in resources:
        if doc["kind"] not in POD_TEMPLATE_KINDS:
            continue
        for _, pod, _ in pod_specs(doc):
            for c in containers(pod):
                if split_image(c.get("image", "")) != entry["name"]:
                    continue
                image = entry.get("newName") or split_image(c["image"])
                if entry.get("digest"):
                    image += "@" + entry["digest"]
                elif entry.get("newTag"):
                    image += ":" + str(entry["newTag"])
                c["image"] = image
                hits += 1
    if hits == 0:
        raise RenderError(f"{path}: images entry {entry['name']!r} matches no container image")


def rename_config_maps(generated, resources):
    def follow(ref):
        if isinstance(ref, dict) and ref.get("name") in generated:
            ref["name"] = generated[ref["name"]]

    for doc in resources:
        if doc["kind"] not in POD_TEMPLATE_KINDS:
            continue
        for _, pod, _ in pod_specs(doc):
            for c in containers(pod):
                for e in c.get("envFrom") or []:
                    follow(e.get("configMapRef"))
                for e in c.get("env") or []:
                    follow((e.get("valueFrom") or {}).get("configMapKeyRef"))
            for v in pod.get("volumes") or []:
                follow(v.get("configMap"))
                for s in (v.get("projected") or {}).get("sources") or []:
                    follow(s.get("configMap"))


def labels_match(selector, labels):
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def check(docs):
    """PodSecurity restricted, the CronJob's scheduling, probes, ports, identity, secrets."""
    problems = []
    by_kind = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], []).append(doc)
    config_maps = {d["metadata"]["name"]: d for d in by_kind.get("ConfigMap", [])}
    pods = [p for d in docs if d["kind"] in POD_TEMPLATE_KINDS for p in pod_specs(d)]
    if not pods:
        problems.append("no workload rendered")

    for where, pod, meta in pods:
        sc = pod.get("securityContext") or {}
        if sc.get("runAsNonRoot") is not True:
            problems.append(f"{where}: securityContext.runAsNonRoot must be true")
        if sc.get("runAsUser") != IMAGE_UID:
            problems.append(f"{where}: securityContext.runAsUser must be {IMAGE_UID}, the image's user")
        if (sc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            problems.append(f"{where}: securityContext.seccompProfile.type must be RuntimeDefault")
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            if pod.get(key):
                problems.append(f"{where}: {key} is not allowed under PodSecurity restricted")
        if pod.get("automountServiceAccountToken") is not False:
            problems.append(f"{where}: automountServiceAccountToken must be false (the binary "
                            f"never calls the Kubernetes API; the workload identity token is "
                            f"projected by the webhook)")
        if pod.get("serviceAccountName") != "backup-doctor" or \
                (meta.get("labels") or {}).get("azure.workload.identity/use") != "true":
            problems.append(f"{where}: needs serviceAccountName backup-doctor and the pod label "
                            f"azure.workload.identity/use: \"true\" for the webhook")
        for v in pod.get("volumes") or []:
            kinds = set(v) - {"name"}
            if not kinds <= RESTRICTED_VOLUMES:
                problems.append(f"{where}: volume {v.get('name')} of type "
                                f"{', '.join(sorted(kinds))} is not allowed under PodSecurity restricted")
            ref = (v.get("configMap") or {}).get("name")
            if ref and ref not in config_maps:
                problems.append(f"{where}: volume {v.get('name')} names ConfigMap {ref}, which "
                                f"is not rendered")
        for c in containers(pod):
            cw = f"{where} container {c.get('name')}"
            csc = c.get("securityContext") or {}
            if csc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{cw}: allowPrivilegeEscalation must be false")
            if csc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{cw}: readOnlyRootFilesystem must be true")
            if csc.get("privileged"):
                problems.append(f"{cw}: privileged is not allowed")
            if "ALL" not in ((csc.get("capabilities") or {}).get("drop") or []):
                problems.append(f"{cw}: capabilities.drop must hold ALL")
            if set((csc.get("capabilities") or {}).get("add") or []) - {"NET_BIND_SERVICE"}:
                problems.append(f"{cw}: capabilities.add beyond NET_BIND_SERVICE")
            if "runAsUser" in csc and csc["runAsUser"] != IMAGE_UID:
                problems.append(f"{cw}: runAsUser {csc['runAsUser']} overrides the image's user {IMAGE_UID}")
            if csc.get("runAsNonRoot") is False:
                problems.append(f"{cw}: runAsNonRoot false overrides the pod's")
            if "seccompProfile" in csc and csc["seccompProfile"].get("type") != "RuntimeDefault":
                problems.append(f"{cw}: seccompProfile must be RuntimeDefault")
            defined = {e["name"] for e in c.get("env") or []}
            for arg in list(c.get("args") or []) + list(c.get("command") or []):
                for var in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", str(arg)):
                    if var not in defined:
                        problems.append(f"{cw}: args use $({var}), which no env entry defines: "
                                        f"the kubelet would pass it on literally")
            res = c.get("resources") or {}
            for part in ("requests", "limits"):
                for what in ("cpu", "memory"):
                    if what not in (res.get(part) or {}):
                        problems.append(f"{cw}: resources.{part}.{what} is missing")
            if "/" not in c.get("image", ""):
                problems.append(f"{cw}: image {c.get('image')!r} has no registry: set it in "
                                f"kustomization.yaml images")
            for e in c.get("envFrom") or []:
                ref = (e.get("configMapRef") or {}).get("name")
                if ref and ref not in config_maps:
                    problems.append(f"{cw}: envFrom names ConfigMap {ref}, which is not rendered")
                if e.get("secretRef"):
                    problems.append(f"{cw}: envFrom secretRef is not expected")
            for e in c.get("env") or []:
                ref = (e.get("valueFrom") or {}).get("configMapKeyRef")
                if ref and ref.get("key") not in (config_maps.get(ref.get("name")) or {}).get("data", {}):
                    problems.append(f"{cw}: env {e['name']} names {ref.get('name')}/{ref.get('key')}, "
                                    f"which is not rendered")
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref and ref.get("name") not in EXTERNAL_SECRETS:
                    problems.append(f"{cw}: env {e['name']} names Secret {ref.get('name')}, not "
                                    f"one the guide creates ({', '.join(sorted(EXTERNAL_SECRETS))})")

    for cj in by_kind.get("CronJob", []):
        spec, where = cj["spec"], ident(cj)
        if spec.get("concurrencyPolicy") != "Forbid":
            problems.append(f"{where}: concurrencyPolicy must be Forbid: two scans of one store at "
                            f"once only wait on each other's lease")
        for key in ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
            if not isinstance(spec.get(key), int):
                problems.append(f"{where}: {key} must be set")
        job = spec.get("jobTemplate", {}).get("spec", {})
        for key in ("backoffLimit", "activeDeadlineSeconds"):
            if not isinstance(job.get(key), int):
                problems.append(f"{where}: jobTemplate.spec.{key} must be set")
        if job.get("template", {}).get("spec", {}).get("restartPolicy") != "Never":
            problems.append(f"{where}: restartPolicy must be Never (podFailurePolicy needs it)")

    serve_ports = {}
    for d in by_kind.get("Deployment", []):
        pod = d["spec"]["template"]["spec"]
        labels = d["spec"]["template"]["metadata"].get("labels") or {}
        if not labels_match(d["spec"]["selector"].get("matchLabels"), labels):
            problems.append(f"{ident(d)}: selector does not match the pod template's labels")
        for c in pod.get("containers") or []:
            ports = {p.get("name"): p["containerPort"] for p in c.get("ports") or []}
            serve_ports.update(ports)
            for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                get = (c.get(probe) or {}).get("httpGet") or {}
                if get.get("path") != path or (get.get("port") not in ports
                                               and get.get("port") not in ports.values()):
                    problems.append(f"{ident(d)} container {c['name']}: {probe} must GET {path} "
                                    f"on a port the container declares")
            mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts") or []}
            config_path = next((a for a in c.get("args") or [] if str(a).endswith(".toml")), None)
            if config_path:
                problems += check_serve_config(d, pod, c, mounts, config_path, ports, config_maps)

    for s in by_kind.get("Service", []):
        selected = [d for d in by_kind.get("Deployment", [])
                    if labels_match(s["spec"].get("selector"),
                                    d["spec"]["template"]["metadata"].get("labels") or {})]
        if not selected:
            problems.append(f"{ident(s)}: its selector matches no Deployment's pods")
        for p in s["spec"].get("ports") or []:
            if p.get("targetPort") not in serve_ports and p.get("targetPort") not in serve_ports.values():
                problems.append(f"{ident(s)}: targetPort {p.get('targetPort')} is no container port")

    for sa in by_kind.get("ServiceAccount", []):
        client = ((sa["metadata"].get("annotations") or {}).get("azure.workload.identity/client-id"))
        if not client:
            problems.append(f"{ident(sa)}: the annotation azure.workload.identity/client-id is not set")

    policies = by_kind.get("NetworkPolicy", [])
    for where, pod, meta in pods:
        if not any(labels_match((n["spec"].get("podSelector") or {}).get("matchLabels"),
                                meta.get("labels") or {}) for n in policies):
            problems.append(f"{where}: no NetworkPolicy selects its pods")
    for n in policies:
        spec = n["spec"]
        if set(spec.get("policyTypes") or []) != {"Ingress", "Egress"}:
            problems.append(f"{ident(n)}: policyTypes must be Ingress and Egress")
        for rule in spec.get("ingress") or []:
            if not rule.get("from"):
                problems.append(f"{ident(n)}: an ingress rule without from admits every source")
            for p in rule.get("ports") or [{}]:
                if p.get("port") not in set(serve_ports.values()) | set(serve_ports):
                    problems.append(f"{ident(n)}: ingress to port {p.get('port')}, which is not serve's")
        for rule in spec.get("egress") or []:
            for p in rule.get("ports") or [{}]:
                if (p.get("protocol", "TCP"), p.get("port")) not in ALLOWED_EGRESS:
                    problems.append(f"{ident(n)}: egress to {p.get('protocol', 'TCP')}/{p.get('port')} "
                                    f"is beyond DNS, 443 and PostgreSQL")

    for doc in docs:
        if doc["metadata"].get("namespace"):
            problems.append(f"{ident(doc)}: names namespace {doc['metadata']['namespace']}: the "
                            f"manifests stay namespace-agnostic (kubectl apply -k … -n NAMESPACE)")
    if by_kind.get("Secret"):
        problems.append("a Secret is rendered: the store URL's password must not be in a manifest")
    text = yaml.safe_dump_all(docs)
    if re.search(r"postgres(ql)?://[^\s/@:]+:[^\s@]+@", text):
        problems.append("a postgres:// URL with a password is in the manifests")
    return problems


def check_serve_config(deployment, pod, container, mounts, config_path, ports, config_maps):
    where = f"{ident(deployment)} container {container['name']}"
    directory, name = os.path.split(config_path)
    volume = next((v for v in pod.get("volumes") or [] if v["name"] == mounts.get(directory)), None)
    cm = config_maps.get(((volume or {}).get("configMap") or {}).get("name"))
    if not cm or name not in cm.get("data", {}):
        return [f"{where}: {config_path} is not mounted from a rendered ConfigMap"]
    try:
        config = tomllib.loads(cm["data"][name])
    except tomllib.TOMLDecodeError as e:
        return [f"{where}: {name} is not TOML: {e}"]
    problems = []
    for key in flatten(config):
        if key not in SERVE_KEYS:
            problems.append(f"{where}: {name} has the key {key}, which serve does not know")
    env_names = [e["name"] for e in container.get("env") or []]
    for e in container.get("envFrom") or []:
        env_names += list(config_maps.get((e.get("configMapRef") or {}).get("name"), {})
                          .get("data", {}))
    for env in env_names:
        if env.startswith("BACKUP_DOCTOR_") and \
                env[len("BACKUP_DOCTOR_"):].lower() not in {k.replace(".", "_") for k in SERVE_KEYS}:
            # serve ignores an unknown BACKUP_DOCTOR_ variable, so a misspelt one would be lost.
            problems.append(f"{where}: {env} is no serve configuration key")
    port = config.get("listen", "").rpartition(":")[2]
    if not port.isdigit() or int(port) not in ports.values():
        problems.append(f"{where}: {name} listens on {config.get('listen')!r}, not a container port")
    if (config.get("auth") or {}).get("disabled"):
        problems.append(f"{where}: {name} turns authentication off")
    if (config.get("live") or {}).get("auth") != "workload":
        problems.append(f"{where}: {name} must use live.auth = \"workload\"")
    if "store" in config:
        problems.append(f"{where}: {name} sets store: it comes from BACKUP_DOCTOR_STORE")
    if "schedule" in config:
        problems.append(f"{where}: {name} has a [schedule]: the CronJob already scans nightly")
    return problems


def flatten(table, prefix=""):
    for key, value in table.items():
        if isinstance(value, dict):
            yield from flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def serve_keys(source):
    """The configuration keys serve knows, from the KEYS table of src/serve/config.rs."""
    with open(source, encoding="utf-8") as f:
        keys = set(re.findall(r'\("([a-z_.]+)", Shape::', f.read()))
    if not keys:
        sys.exit(f"{source}: no (\"key\", Shape::…) entries found: the check reads serve's keys "
                 f"from there; update serve_keys() to where they are now")
    return keys


SERVE_KEYS = set()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory")
    parser.add_argument("out")
    parser.add_argument("--component", action="append", default=[])
    parser.add_argument("--files-read")
    parser.add_argument("--serve-keys", required=True,
                        help="src/serve/config.rs, whose KEYS table lists serve's keys")
    args = parser.parse_args()
    SERVE_KEYS.update(serve_keys(args.serve_keys))
    renderer = Renderer()
    try:
        docs = renderer.render(args.directory, extra_components=args.component)
    except RenderError as e:
        print(f"kustomization: {e}", file=sys.stderr)
        return 2
    with open(args.out, "w", encoding="utf-8") as f:
        yaml.safe_dump_all(docs, f, sort_keys=False)
    if args.files_read:
        with open(args.files_read, "a", encoding="utf-8") as f:
            f.writelines(os.path.normpath(p) + "\n" for p in renderer.files_read)
    try:
        problems = check(copy.deepcopy(docs))
    except (KeyError, TypeError, AttributeError) as e:
        # A document shaped unlike its kind (a list where a map belongs, spec missing): the
        # schema validation that runs next names the field.
        print(f"{args.directory}: cannot check the rendered documents ({type(e).__name__}: {e}); "
              f"see the schema validation's message", file=sys.stderr)
        return 1
    variant = " + ".join([args.directory] + args.component)
    for p in problems:
        print(f"{variant}: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
