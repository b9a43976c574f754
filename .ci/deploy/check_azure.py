"""Offline checks of deploy/azure (Bicep, Log Analytics) and deploy/backup-doctor-reader.json.

Bicep cannot be compiled here, so this checks what a compile or a deployment would trip on and
what checkov's Bicep checks do not look at:
  - every .bicep file parses (pycep, the parser checkov uses; checkov itself only counts a file
    it cannot parse), every module path and every loadJsonContent/loadTextContent target exists,
    every JSON target parses, and every file under deploy/azure is reached from main.bicep;
  - each module call passes the parameters the module declares (all it requires, none it does
    not), reads only outputs it has and deploys it at a scope of its targetScope;
  - the reader role holds `*/read` actions only (no wildcard, no data action) and reaches Azure
    through loadJsonContent only, so its actions have one source;
  - tables.json is a valid schema, and the data collection rule declares each of its tables'
    streams built from it, column for column, with the `Custom-<table>` output stream;
  - the workbook is a Notebook/1.0 document whose KQL names only tables and columns that exist
    (tables.json, or the documented Azure tables below) and only parameters it defines; the
    alert's query gets the same KQL check.
Usage: check_azure.py ROOT  (ROOT holds deploy/). Prints each problem with its file and the fix;
exits 1 when there is one, and prints the files it validated (repo-relative) on success.
"""

import json
import re
import sys
from pathlib import Path

# Columns of the Azure tables the workbook reads, from the Azure Monitor table reference:
# https://learn.microsoft.com/azure/azure-monitor/reference/tables/addonazurebackupjobs
# (the Azure Backup resource-specific diagnostics table; only the columns used are listed).
DOCUMENTED_TABLES = {
    "AddonAzureBackupJobs": {
        "TimeGenerated", "JobUniqueId", "JobOperation", "JobStatus", "JobFailureCode",
        "JobStartDateTime", "JobDurationInSecs", "DatasourceResourceId", "DatasourceFriendlyName",
        "BackupItemUniqueId", "VaultUniqueId", "ResourceId",
    },
}

# The KQL words the queries may use: operators, functions, keywords, and the names of the
# output columns workbooks give meaning to. Lower-case names outside this list and not defined
# by the query itself are reported, so a misspelt column or function fails here, not in Azure.
KQL_WORDS = {
    "and", "or", "not", "in", "by", "on", "kind", "to", "asc", "desc", "let", "true", "false",
    "where", "extend", "project", "summarize", "order", "sort", "join", "mv", "expand", "away",
    "rename", "take", "top", "count", "distinct", "render", "union", "inner", "leftouter",
    "fullouter", "rightouter", "innerunique", "leftanti", "leftsemi", "left", "right", "typeof",
    "string", "long", "int", "real", "datetime", "dynamic", "bool", "ago", "now", "bin", "iff",
    "case", "isempty", "isnotempty", "isnull", "isnotnull", "tolower", "toupper", "strcat",
    "coalesce", "toscalar", "arg_max", "arg_min", "max", "min", "sum", "avg", "dcount", "countif",
    "take_any", "take_anyif", "make_set", "make_list", "array_length", "row_number", "prev",
    "next", "ingestion_time", "value", "label", "timechart", "piechart", "barchart", "table",
    "has", "contains", "startswith", "endswith", "between", "serialize",
}
KQL_SPECIAL = {"$left", "$right"}
DCR_TYPES = {"string", "int", "long", "real", "boolean", "datetime", "dynamic"}
ROLE_ACTION = re.compile(r"^Microsoft\.[A-Za-z]+(/[A-Za-z]+)+/read$")
LOAD = re.compile(r"\b(loadJsonContent|loadTextContent)\(\s*'([^']+)'")
MODULE = re.compile(r"^\s*module\s+\w+\s+'([^']+)'", re.M)


class Problems:
    def __init__(self):
        self.items = []

    def add(self, file, place, problem, fix):
        self.items.append(f"{file}: {place}: {problem}; fix: {fix}")


def rel(root, path):
    return path.resolve().relative_to(root.resolve()).as_posix()


def check_bicep(root, out, problems):
    """Parses every .bicep file and follows module and load*Content references from main.bicep."""
    from pycep import BicepParser  # checkov's Bicep parser, installed with checkov

    azure = root / "deploy" / "azure"
    main = azure / "main.bicep"
    if not main.is_file():
        problems.add("deploy/azure/main.bicep", "file", "missing", "restore the entry template")
        return {}
    reached, queue, loaded, parsed = set(), [main.resolve()], {}, {}
    while queue:
        file = queue.pop()
        if file in reached:
            continue
        reached.add(file)
        name = rel(root, file)
        text = file.read_text(encoding="utf-8")
        try:
            parsed[file] = BicepParser().parse(text=text)
        except Exception as error:  # lark raises several types; each is a parse failure here
            first = str(error).strip().splitlines()[0]
            problems.add(name, "parse", f"not valid Bicep: {first}", "fix the syntax at that line")
        for line_no, line in enumerate(text.splitlines(), 1):
            for match in MODULE.finditer(line):
                target = (file.parent / match.group(1))
                if not target.is_file():
                    problems.add(name, f"line {line_no}", f"module '{match.group(1)}' does not exist",
                                 "point the module at an existing .bicep file (paths are relative to this file)")
                else:
                    queue.append(target.resolve())
            for match in LOAD.finditer(line):
                function, path = match.groups()
                target = (file.parent / path).resolve()
                if not target.is_file():
                    problems.add(name, f"line {line_no}", f"{function}('{path}') names no file",
                                 "point it at an existing file (paths are relative to this file)")
                    continue
                loaded.setdefault(target, set()).add(function)
                if function == "loadJsonContent":
                    try:
                        json.loads(target.read_text(encoding="utf-8"))
                    except ValueError as error:
                        problems.add(rel(root, target), "JSON", f"does not parse ({error}), loaded by {name} line {line_no}",
                                     "make it valid JSON")
            # Role actions live in the role JSON only (one source for Bicep and the role test).
            for action in re.findall(r"'(Microsoft\.[A-Za-z]+/[^'@]*/(?:read|write|delete|action|\*))'", line, re.I):
                problems.add(name, f"line {line_no}", f"writes the action '{action}' in Bicep",
                             "keep actions in deploy/backup-doctor-reader.json and load it with loadJsonContent")
        out.add(name)
    check_module_calls(root, parsed, problems)
    for file in sorted(azure.rglob("*")):
        if file.is_file() and file.suffix == ".bicep" and file.resolve() not in reached:
            problems.add(rel(root, file), "file", "no module path from main.bicep reaches it",
                         "reference it as a module or delete it")
            out.add(rel(root, file))  # reported here, not again as uncovered
    return loaded


SCOPE_FUNCTIONS = {"management_group": "managementGroup", "resource_group": "resourceGroup",
                   "managementGroup": "managementGroup", "resourceGroup": "resourceGroup",
                   "subscription": "subscription", "tenant": "tenant"}


def target_scope(tree):
    return ((tree.get("globals") or {}).get("scope") or {}).get("value") or "resourceGroup"


def scope_kind(scope, tree):
    """The kind of scope a module's `scope:` names, following one variable; None when unknown."""
    if isinstance(scope, str):
        scope = ((tree.get("variables") or {}).get(scope) or {}).get("value")
    if isinstance(scope, dict) and "function" in scope:
        return SCOPE_FUNCTIONS.get(scope["function"].get("type"))
    if isinstance(scope, dict) and scope.get("operator", {}).get("type") == "conditional":
        kinds = {scope_kind(v, tree) for k, v in scope["operator"]["operands"].items() if k != "condition"}
        return kinds.pop() if len(kinds) == 1 else None
    return None


def module_config(module):
    """A module's body, under its loop and condition wrappers when it has them."""
    config = module.get("config") or {}
    while "config" in config and ("loop_type" in config or "condition" in config):
        config = config["config"] or {}
    return config


def check_module_calls(root, parsed, problems):
    """What `bicep build` would refuse in a module call: a parameter the module does not declare,
    a required one not passed, an output it does not have, a scope of the wrong kind."""
    for file, tree in parsed.items():
        name = rel(root, file)
        text = file.read_text(encoding="utf-8")
        for symbol, module in (tree.get("modules") or {}).items():
            target = (file.parent / module["detail"]["path"]).resolve()
            if target not in parsed:
                continue  # missing or unparsable: reported already
            declared = parsed[target].get("parameters") or {}
            config = module_config(module)
            passed = set((config.get("params") or {}).keys())
            for param in sorted(passed - set(declared)):
                problems.add(name, f"module {symbol}", f"passes {param}, which {rel(root, target)} does not declare",
                             "remove it or declare the parameter in the module")
            for param in sorted(p for p, d in declared.items() if d.get("default") is None and p not in passed):
                problems.add(name, f"module {symbol}", f"does not pass {param}, which {rel(root, target)} requires",
                             "pass it, or give the parameter a default")
            outputs = set((parsed[target].get("outputs") or {}).keys())
            for output in sorted(set(re.findall(rf"\b{re.escape(symbol)}\.outputs\.(\w+)", text)) - outputs):
                problems.add(name, f"module {symbol}", f"reads the output {output}, which {rel(root, target)} does not have",
                             "read an output the module declares")
            wanted = target_scope(parsed[target])
            given = scope_kind(config["scope"], tree) if "scope" in config else target_scope(tree)
            if given is not None and given != wanted:
                problems.add(name, f"module {symbol}", f"deploys {rel(root, target)} (targetScope {wanted}) at a {given} scope",
                             f"give it scope: {wanted}(…) or change the module's targetScope")


def read_json(root, name, out, problems, fix):
    """The JSON document at `name` (marked as validated), or None with the problem reported."""
    out.add(name)
    try:
        return json.loads((root / name).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        problems.add(name, "file", f"cannot be read as JSON ({error})", fix)
        return None


def check_role(root, out, problems, loaded):
    name = "deploy/backup-doctor-reader.json"
    path = root / name
    role = read_json(root, name, out, problems, "restore the role definition")
    if not isinstance(role, dict):
        if role is not None:
            problems.add(name, "file", "is not a JSON object", "restore the role definition")
        return
    for key in ("Name", "Description", "Actions", "NotActions", "DataActions", "NotDataActions"):
        if key not in role:
            problems.add(name, key, "missing", f"add \"{key}\" (the Bicep modules read it)")
    if role.get("IsCustom") is not True:
        problems.add(name, "IsCustom", "is not true", "set \"IsCustom\": true")
    actions = role.get("Actions") or []
    if not actions:
        problems.add(name, "Actions", "empty", "list the read actions the collector uses")
    seen = set()
    for action in actions:
        if not isinstance(action, str) or not ROLE_ACTION.match(action):
            problems.add(name, f"Actions {action!r}", "is not a single resource type's read action (no wildcards, no write, delete or action)",
                         "keep only Microsoft.<Provider>/<type>[/<type>…]/read actions")
        elif action.lower() in seen:
            problems.add(name, f"Actions {action!r}", "listed twice (actions are case-insensitive)", "remove the duplicate")
        else:
            seen.add(action.lower())
    for key in ("NotActions", "DataActions", "NotDataActions"):
        if role.get(key):
            problems.add(name, key, f"holds {role[key]}", f"leave {key} empty: backup-doctor reads no data plane")
    if not any(target == path.resolve() for target in loaded):
        problems.add("deploy/azure", "role", "no Bicep module loads deploy/backup-doctor-reader.json",
                     "create the role from loadJsonContent('…/backup-doctor-reader.json')")


def load_tables(root, out, problems):
    name = "deploy/azure/log-analytics/tables.json"
    doc = read_json(root, name, out, problems, "restore the table schema")
    if doc is None:
        return []
    tables = doc.get("tables") if isinstance(doc, dict) else None
    if not isinstance(tables, list) or not tables:
        problems.add(name, "tables", "missing or empty", "list the custom tables")
        return []
    for i, table in enumerate(tables):
        place = f"tables[{i}]"
        tname, stream = table.get("table", ""), table.get("stream", "")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*_CL", tname):
            problems.add(name, place, f"table name {tname!r} is not a custom table name", "end it with _CL")
        if stream != "Custom-" + tname[:-3]:
            problems.add(name, place, f"stream {stream!r} does not match table {tname!r}",
                         f"name the stream Custom-{tname[:-3]}")
        columns = table.get("columns") or []
        names = [c.get("name") for c in columns]
        if "TimeGenerated" not in names or next(c for c in columns if c.get("name") == "TimeGenerated").get("type") != "datetime":
            problems.add(name, place, "has no TimeGenerated datetime column", "add it: Log Analytics requires it")
        for c in columns:
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", str(c.get("name"))):
                problems.add(name, f"{place} column {c.get('name')!r}", "is not a valid column name", "use letters, digits and _")
            if c.get("type") not in DCR_TYPES:
                problems.add(name, f"{place} column {c.get('name')!r}", f"type {c.get('type')!r} is not a DCR stream type",
                             f"use one of {sorted(DCR_TYPES)}")
        if len(set(names)) != len(names):
            problems.add(name, place, "declares a column twice", "remove the duplicate")
    return tables


def block(text, key):
    """The text of `key: {…}` or `key: […]` in Bicep, brackets balanced; None when absent."""
    match = re.search(rf"^\s*{re.escape(key)}:\s*([{{\[])", text, re.M)
    if not match:
        return None
    depth, start = 0, match.start(1)
    for i in range(start, len(text)):
        if text[i] in "{[":
            depth += 1
        elif text[i] in "}]":
            depth -= 1
            if depth == 0:
                return text[start:i + 1]
    return None


def squash(text):
    return re.sub(r"\s+", " ", re.sub(r"//[^\n]*", "", text)).strip()


def check_dcr(root, problems, tables):
    """The DCR's streams must be tables.json's, column for column: built from it, nothing added."""
    name = "deploy/azure/modules/log-analytics.bicep"
    path = root / name
    if not path.is_file():
        problems.add(name, "file", "missing", "restore the Log Analytics module")
        return
    text = path.read_text(encoding="utf-8")
    if not re.search(r"var tables = loadJsonContent\('\.\./log-analytics/tables\.json'\)\.tables", text):
        problems.add(name, "var tables", "is not loaded from log-analytics/tables.json", "var tables = loadJsonContent('../log-analytics/tables.json').tables")
    declarations = block(text, "streamDeclarations")
    if declarations is None:
        problems.add(name, "streamDeclarations", "missing", "declare one stream per table of tables.json")
        return
    def entry(i):
        return f"'${{tables[{i}].stream}}': {{ columns: [for c in tables[{i}].columns: {{ name: c.name type: c.type }}] }}"

    expected = "{ " + " ".join(entry(i) for i in range(len(tables))) + " }"
    found = squash(declarations)
    if found != expected:
        declared = [int(i) for i in re.findall(r"'\$\{tables\[(\d+)\]\.stream\}'", found)]
        for i, table in enumerate(tables):
            if declared.count(i) != 1:
                problems.add(name, "streamDeclarations", f"declares tables.json's {table.get('table')} (tables[{i}]) {declared.count(i)} times",
                             f"declare it once, as {entry(i)}")
            elif entry(i) not in found:
                problems.add(name, f"streamDeclarations tables[{i}]", "is not exactly tables.json's columns",
                             f"write it as {entry(i)}: every column of tables.json, nothing else")
        for stream in re.findall(r"'([A-Za-z][\w-]*)'\s*:", found):
            problems.add(name, "streamDeclarations", f"declares the stream {stream!r} by hand",
                         "declare only tables.json's streams, as '${tables[i].stream}' entries")
        for i in sorted(set(declared)):
            if i >= len(tables):
                problems.add(name, "streamDeclarations", f"tables[{i}] is not in tables.json ({len(tables)} tables)", "remove the entry")
        problems.add(name, "streamDeclarations", f"is {found!r}",
                     f"declare exactly the streams of tables.json, each built from its columns: {expected}")
    flows = block(text, "dataFlows")
    expected_flows = ("[for t in tables: { streams: [ t.stream ] destinations: [ workspaceDestination ] "
                      "transformKql: 'source' outputStream: 'Custom-${t.table}' }]")
    if flows is None or squash(flows) != expected_flows:
        problems.add(name, "dataFlows", f"is not one flow per table of tables.json (found {squash(flows or '')!r})",
                     f"write it as {expected_flows}")


def kql_problems(query, tables, parameters):
    """Problems of one KQL query: unknown tables, columns, words and workbook parameters."""
    found = []
    for param in re.findall(r"\{([A-Za-z_]\w*)(?::[^}]*)?\}", query):
        if parameters is not None and param not in parameters:
            found.append(f"uses the parameter {{{param}}}, which the workbook does not define")
    text = re.sub(r"\{[A-Za-z_]\w*(?::[^}]*)?\}", " ", query)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r"@?\"(?:[^\"\\\n]|\\.)*\"|@?'(?:[^'\\\n]|\\.)*'", " ", text)
    if re.search(r"[\"']", text):
        found.append("has an unterminated string")
    known_tables = {t["table"]: {c["name"] for c in t.get("columns", [])} for t in tables}
    known_tables.update(DOCUMENTED_TABLES)
    tokens = [(m.group(0), m.start()) for m in re.finditer(r"(?<![\w.$])\$?[A-Za-z_]\w*", text)]
    used_tables = {t for t, _ in tokens if t in known_tables}
    if not used_tables:
        found.append("reads no known table")
    columns = set().union(*(known_tables[t] for t in used_tables)) if used_tables else set()
    definitions = [(m.group(1), m.start(), m.end()) for m in re.finditer(r"(?<![\w.$])([A-Za-z_]\w*)\s*=(?!=)", text)]
    defined = {d for d, _, _ in definitions}
    # `X = f(X)` defines X from a column X: within its own expression (up to the next `,`, `|`,
    # `;` or `by`), X must be a column or defined before, or a misspelt column would define itself.
    for d, start, end in definitions:
        stop = re.search(r",|\||;|\bby\b", text[end:])
        span = text[end:end + stop.start()] if stop else text[end:]
        if re.search(rf"(?<![\w.$]){re.escape(d)}\b", span) and d not in columns and not any(
                e == d and s < start for e, s, _ in definitions):
            found.append(f"defines {d} from {d}, which is not a column of {', '.join(sorted(used_tables)) or 'its tables'}")
    allowed = columns | defined | set(known_tables) | KQL_WORDS | KQL_SPECIAL
    # After `$left.` / `$right.` a column follows; after any other `.` a dynamic property.
    for column in re.findall(r"\$(?:left|right)\.([A-Za-z_]\w*)", text):
        if column not in columns | defined:
            found.append(f"joins on {column}, which no table it reads has")
    for token, _ in tokens:
        if token not in allowed:
            if token.endswith("_CL"):
                found.append(f"reads the table {token}, which tables.json does not define")
            else:
                found.append(f"names {token}: not a column of {', '.join(sorted(used_tables)) or 'its tables'}, "
                             "not defined in the query and not a KQL word the check knows")
    return sorted(set(found))


def check_workbook(root, out, problems, tables):
    name = "deploy/azure/log-analytics/workbook.json"
    doc = read_json(root, name, out, problems, "restore a valid workbook (Notebook/1.0)")
    if doc is None:
        return
    if not isinstance(doc, dict) or doc.get("version") != "Notebook/1.0":
        problems.add(name, "version", "is not \"Notebook/1.0\"", "export the workbook in the Notebook/1.0 format")
        return
    items = doc.get("items")
    if not isinstance(items, list) or not items:
        problems.add(name, "items", "missing or empty", "add the workbook's items")
        return
    parameters = set()
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("type") == 9:
            for p in (item.get("content") or {}).get("parameters") or []:
                if p.get("name") in parameters:
                    problems.add(name, f"items[{i}]", f"defines the parameter {p.get('name')} twice", "rename one")
                parameters.add(p.get("name"))
    queries, names = [], set()
    for i, item in enumerate(items):
        place = f"items[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("content"), dict):
            problems.add(name, place, "has no content object", "give each item a type and a content object")
            continue
        kind, content = item.get("type"), item["content"]
        if item.get("name") in names:
            problems.add(name, place, f"reuses the item name {item.get('name')!r}", "give each item its own name")
        names.add(item.get("name"))
        if kind == 1:
            if not isinstance(content.get("json"), str):
                problems.add(name, place, "is a text item without content.json", "add the markdown as content.json")
        elif kind == 3:
            if content.get("version") != "KqlItem/1.0" or not isinstance(content.get("query"), str):
                problems.add(name, place, "is a query item without version KqlItem/1.0 and a query", "set content.version and content.query")
                continue
            if content.get("queryType") != 0 or content.get("resourceType") != "microsoft.operationalinsights/workspaces":
                problems.add(name, place, "does not query a Log Analytics workspace", "set queryType 0 and resourceType microsoft.operationalinsights/workspaces")
            queries.append((place, content["query"]))
        elif kind == 9:
            if content.get("version") != "KqlParameterItem/1.0" or not isinstance(content.get("parameters"), list):
                problems.add(name, place, "is a parameter item without version KqlParameterItem/1.0 and parameters", "set content.version and content.parameters")
                continue
            for j, p in enumerate(content["parameters"]):
                if not p.get("name") or not isinstance(p.get("type"), int):
                    problems.add(name, f"{place} parameters[{j}]", "has no name or type", "give it both")
                if isinstance(p.get("query"), str):
                    queries.append((f"{place} parameters[{j}]", p["query"]))
        else:
            problems.add(name, place, f"has type {kind!r}, which this workbook does not use", "use text (1), query (3) or parameters (9) items")
    for place, query in queries:
        for problem in kql_problems(query, tables, parameters):
            problems.add(name, place, f"the query {problem}", "name only tables and columns of tables.json or the documented Azure tables")
    used = " ".join(q for _, q in queries)
    for table in ["AddonAzureBackupJobs"] + [t["table"] for t in tables]:
        if table not in used:
            problems.add(name, "items", f"no query reads {table}", "keep the views over every table (fleet, trend, drill-down, predictions)")


def check_loaded_text(root, out, problems, loaded, tables):
    for target, functions in sorted(loaded.items()):
        name = rel(root, target)
        if target.suffix == ".kql":
            for problem in kql_problems(target.read_text(encoding="utf-8"), tables, set()):
                problems.add(name, "query", problem, "name only tables and columns of tables.json or the documented Azure tables")
            out.add(name)
        elif target.suffix == ".sh":
            out.add(name)  # shellcheck runs on it in check-azure.sh


def main():
    root = Path(sys.argv[1])
    out, problems = set(), Problems()
    loaded = check_bicep(root, out, problems)
    check_role(root, out, problems, loaded)
    tables = load_tables(root, out, problems)
    check_dcr(root, problems, tables)
    check_workbook(root, out, problems, tables)
    check_loaded_text(root, out, problems, loaded, tables)
    azure = root / "deploy" / "azure"
    for file in sorted(azure.rglob("*")):
        if file.is_file() and rel(root, file) not in out:
            problems.add(rel(root, file), "file", "no check of check_azure.py covers it",
                         "load it from the Bicep (module, loadJsonContent, loadTextContent) or teach the checker its kind")
    if problems.items:
        print("\n".join(problems.items), file=sys.stderr)
        sys.exit(1)
    print("\n".join(sorted(out)))


if __name__ == "__main__":
    main()
