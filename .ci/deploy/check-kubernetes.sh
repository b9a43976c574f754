#!/usr/bin/env bash
# deploy/kubernetes: rendered, then validated, then checked against the policy.
#
# Rendered rather than validated file by file: kustomize and kubectl are not installed in CI, but
# what reaches the cluster is the kustomization's output (patches applied, images set, generated
# ConfigMap names followed), and a patch or generator mistake shows only there.
# kubernetes_check.py implements the subset of kustomize the kustomization uses and refuses any
# other key, so a new feature fails here until the renderer knows it. Both variants are rendered:
# the default (PostgreSQL store) and with components/sqlite.
#
# Schemas: kubernetes-validate --strict (unknown fields are errors) for the oldest and newest
# Kubernetes versions AKS supports in 2026-12 (learn.microsoft.com/azure/aks/supported-kubernetes-versions):
# 1.32, the oldest still under long-term support (to 2027-03; the oldest community-supported
# version is 1.35), and 1.37 (GA on AKS 2026-10). kubernetes-validate 1.37 ships schemas for both.
set -euo pipefail
root="$1"; covered="$2"
here="$(cd "$(dirname "$0")" && pwd)"
dir="$root/deploy/kubernetes"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

failed=0
render() { # OUT [--component PATH]
  local out="$1"; shift
  python3 "$here/kubernetes_check.py" "$dir" "$work/$out" --files-read "$work/read" \
    --serve-keys "$here/../../src/serve/config.rs" "$@" || failed=1
  [ -s "$work/$out" ] || exit 1 # not rendered: nothing further to validate
}
render default.yaml
render with-sqlite-component.yaml --component components/sqlite

for version in 1.32.0 1.37.0; do
  kubernetes-validate --strict --quiet --kubernetes-version "$version" \
    "$work/default.yaml" "$work/with-sqlite-component.yaml" || failed=1
done

# checkov reads the rendered documents, not deploy/kubernetes itself: there the patches are partial
# documents and the images and generated ConfigMaps not yet set, so it would check something
# other than what is applied.
# Skipped, each for a reason the manifests cannot change:
#   CKV_K8S_21 (default namespace): the manifests name no namespace on purpose; the guide applies
#     them with -n backup-doctor, and kubernetes_check.py fails any that names one.
#   CKV_K8S_43 (image by digest): the image is set once in kustomization.yaml `images:`, where the
#     deployment puts its registry and digest (docs/deploy/kubernetes.md); the repository cannot
#     know the digest of an image it does not build.
#   CKV_K8S_35 (secrets as files): the store URL reaches `scan` only as --store and `serve` only
#     as the store key or BACKUP_DOCTOR_STORE; neither reads it from a file.
checkov -d "$work" --framework kubernetes --compact --quiet --skip-download \
  --skip-check CKV_K8S_21,CKV_K8S_43,CKV_K8S_35 || failed=1

# The files the renderer read, as paths relative to the tree's root: a file under
# deploy/kubernetes that no kustomization reaches stays uncovered, and run.sh fails on it.
sort -u "$work/read" | while IFS= read -r path; do
  realpath --relative-to="$root" "$path"
done >>"$covered"
if [ "$failed" -ne 0 ]; then
  echo "!! deploy/kubernetes: default.yaml is the kustomization's output, with-sqlite-component.yaml" \
       "the same with components/sqlite; each resource comes from the file its kustomization lists" >&2
fi
exit "$failed"
