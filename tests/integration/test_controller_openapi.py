"""test_controller_openapi: api/openapi.yaml is valid OpenAPI 3 (the whole
file: agent, agent->controller link and controller routes), documents every
controller route, and the api/examples scripts parse.

It also keeps the spec in step with the controller's C sources, read as
text: every operation kind (ops_insert), step action (ops_add_step, and what
run_step knows), event type (store_event), error code and metric the code
can produce is listed in openapi.yaml, with a line saying what it means, and
nothing is listed that the code no longer produces. The string literals in
those calls' arguments are what is read, so a type must stay a literal in
the call (a ternary of literals is fine); a type built at run time fails
here unless DYNAMIC_EVENT_TYPES names its call and its documented pattern.

The validator is @seriousme/openapi-schema-validator (the official OpenAPI
JSON schemas), which deploy/install-deps.sh installs from npm into .tools/;
the test fails when it is missing. A structural check (every $ref resolves,
every operation has responses) runs as well."""
import glob
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
ROOT_FOR_TOOLS = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from nodeutil import Suite  # noqa: E402

import yaml  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SPEC = os.path.join(ROOT, "api", "openapi.yaml")
CONTROLLER_ROUTES = {
    "/v1/clusters": {"get", "post"},
    "/v1/clusters/{name}": {"get", "patch", "delete"},
    "/v1/clusters/{name}/failover": {"post"},
    "/v1/operations/{id}": {"get"},
    "/v1/events": {"get"},
    "/v1/hosts": {"get"},
    "/v1/agents/register": {"post"},
    "/v1/agents/{host}/heartbeat": {"post"},
    "/healthz": {"get"},
    "/metrics": {"get"},
}


def structural_check(doc):
    def resolve(ref):
        node = doc
        for part in ref.lstrip("#/").split("/"):
            node = node[part]
        return node

    def walk(x):
        if isinstance(x, dict):
            if "$ref" in x:
                resolve(x["$ref"])
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    assert str(doc["openapi"]).startswith("3."), doc.get("openapi")
    walk(doc)
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method != "parameters":
                assert op.get("responses"), (path, method)


VALIDATOR = os.path.join(ROOT_FOR_TOOLS, ".tools", "node_modules", ".bin", "validate-api")


def validate(path):
    assert os.access(VALIDATOR, os.X_OK), \
        f"{VALIDATOR} is missing: run deploy/install-deps.sh"
    out = subprocess.run([VALIDATOR, path], capture_output=True, timeout=120)
    assert out.returncode == 0, out.stdout.decode() + out.stderr.decode()
    return "validate-api"


def test_whole_file_validates(suite):
    how = validate(SPEC)
    print(f"api/openapi.yaml validated ({how})")
    with open(SPEC) as f:
        structural_check(yaml.safe_load(f))


def test_every_controller_route_documented(suite):
    with open(SPEC) as f:
        doc = yaml.safe_load(f)
    for path, methods in CONTROLLER_ROUTES.items():
        assert path in doc["paths"], path
        assert methods <= set(doc["paths"][path]), (path, methods, list(doc["paths"][path]))
    # the agent part stays
    assert "/v1/nodes/{id}" in doc["paths"] and "NodeSpec" in doc["components"]["schemas"]


# ---- the spec against the controller's sources ---------------------------------

CONTROLLER_SRC = os.path.join(ROOT, "controller")
# (file, function, the type argument's text) -> the pattern openapi documents for it
DYNAMIC_EVENT_TYPES = {("agents.c", "store_event", "t"): "^agent_[a-z0-9_]{1,64}$"}
# error codes in the sources that no HTTP route returns, and why
INTERNAL_ERROR_CODES = {"InvalidNodeState": "ops_replace_node refuses with it; only the worker calls that"}
LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')


def call_args(src, start):
    """The top-level arguments of the call whose '(' is at src[start - 1]."""
    args, cur, depth, i = [], "", 1, start
    while i < len(src) and depth > 0:
        ch = src[i]
        if ch in "\"'":
            end = i + 1
            while src[end] != ch:
                end += 2 if src[end] == "\\" else 1
            cur += src[i:end + 1]
            i = end + 1
            continue
        depth += ch == "("
        depth -= ch == ")"
        if depth == 1 and ch == ",":
            args.append(cur.strip())
            cur = ""
        elif depth > 0:
            cur += ch
        i += 1
    return args + [cur.strip()]


def calls(name):
    """(file, line, args) of every call of name() in controller/*.c; the
    definition (a type before the name at the start of its line) is not one."""
    for path in sorted(glob.glob(os.path.join(CONTROLLER_SRC, "*.c"))):
        src = open(path).read()
        for m in re.finditer(r"\b%s\s*\(" % name, src):
            line_start = src.rfind("\n", 0, m.start()) + 1
            if re.match(r"\s*(static\s+)?[a-z_]+\s*\**\s*$", src[line_start:m.start()]):
                continue
            yield os.path.basename(path), src.count("\n", 0, m.start()) + 1, call_args(src, m.end())


def literal_values(arg):
    """The string literals an argument can evaluate to: nested calls (the
    strcmp of a ternary's condition) are dropped first."""
    prev = None
    while prev != arg:
        prev, arg = arg, re.sub(r"\b\w+\s*\([^()]*\)", "", arg)
    return LITERAL.findall(arg)


def emitted(name, index, dynamic=None):
    """{value: [where]} of the literals in argument `index` of every call."""
    out, problems = {}, []
    for fname, line, args in calls(name):
        values = literal_values(args[index])
        if not values and (fname, name, args[index]) not in (dynamic or {}):
            problems.append(f"controller/{fname}:{line}: {name}() with a non-literal argument {args[index]!r}")
        for v in values:
            out.setdefault(v, []).append(f"{fname}:{line}")
    assert not problems, "\n".join(problems)
    assert out, f"no calls of {name}() found in controller/*.c"
    return out


def described(desc, values):
    """The values that have no `- value: meaning` line in desc."""
    return sorted(v for v in values if not re.search(r"^\s*- %s: \S" % re.escape(v), desc, re.M))


def check_enum(what, code, schema):
    documented = set(schema["enum"])
    missing = {v: code[v] for v in code if v not in documented}
    stale = sorted(documented - set(code))
    assert not missing, f"{what}: the controller produces these, api/openapi.yaml does not list them: {missing}"
    assert not stale, f"{what}: api/openapi.yaml lists these, the controller never produces them: {stale}"
    undescribed = described(schema["description"], documented)
    assert not undescribed, f"{what}: no `- name: meaning` line in the description for {undescribed}"


def test_kinds_actions_events_match_the_code(suite):
    with open(SPEC) as f:
        doc = yaml.safe_load(f)
    schemas = doc["components"]["schemas"]
    op = schemas["Operation"]["properties"]
    check_enum("operation kind", emitted("ops_insert", 3), op["kind"])
    actions = emitted("ops_add_step", 3) | emitted("ops_add_step_arg", 3)
    check_enum("step action", actions, op["current_step"]["properties"]["action"])
    run_step = open(os.path.join(CONTROLLER_SRC, "ops.c")).read()
    runnable = set(re.findall(r'strcmp\(s->action, "(\w+)"\)', run_step))
    assert runnable >= set(actions), f"steps planned but not run by run_step: {set(actions) - runnable}"
    kinds_compared = set(re.findall(r'strcmp\(s->kind, "(\w+)"\)', run_step))
    assert kinds_compared <= set(op["kind"]["enum"]), f"ops.c compares unknown kinds {kinds_compared}"

    event = schemas["Event"]["properties"]["type"]
    listed, patterns = event["anyOf"][0], [b["pattern"] for b in event["anyOf"][1:]]
    check_enum("event type", emitted("store_event", 3, DYNAMIC_EVENT_TYPES), dict(listed, description=event["description"]))
    assert sorted(patterns) == sorted(set(DYNAMIC_EVENT_TYPES.values())), patterns
    agent_types = schemas["Heartbeat"]["allOf"][1]["properties"]["events"]["items"]["properties"]["type"]["enum"]
    for t in agent_types:
        assert any(re.match(p, "agent_" + t) for p in patterns), ("agent event type not covered", t)
    print(f"{len(op['kind']['enum'])} kinds, {len(actions)} actions, {len(listed['enum'])} event types "
          f"(+ agent_<type>) match controller/*.c")


def test_error_codes_and_metrics_documented(suite):
    spec = open(SPEC).read()
    readme = open(os.path.join(ROOT, "README.md")).read()
    sources = [os.path.join(CONTROLLER_SRC, f) for f in os.listdir(CONTROLLER_SRC) if f.endswith(".c")]
    text = "".join(open(p).read() for p in sources + [os.path.join(ROOT, "common", "httpd.c")])
    codes = set(re.findall(r'"([A-Z][a-z]+(?:[A-Z][a-z]+)+)"', text))
    codes |= set(re.findall(r'http_respond_error\([^,]+,\s*\d+,\s*"(\w+)"', text))
    assert {"InvalidParameterValue", "Unauthorized", "ServiceUnavailable"} <= codes, codes
    missing = sorted(c for c in codes - set(INTERNAL_ERROR_CODES) if not re.search(r"\b%s\b" % c, spec))
    assert not missing, f"error codes the controller returns that api/openapi.yaml never names: {missing}"

    metrics = open(os.path.join(CONTROLLER_SRC, "metrics.c")).read()
    names = set(re.findall(r"(cachefleet_[a-z_]+)", metrics))
    names = {n for n in names if not any(n == b + s for b in names for s in ("_bucket", "_sum", "_count"))}
    assert "cachefleet_failovers_total" in names and "cachefleet_operations" in names, names
    for where, body in (("api/openapi.yaml", spec), ("README.md", readme)):
        missing = sorted(n for n in names if not re.search(r"\b%s\b" % n, body))
        assert not missing, f"metrics the controller serves that {where} does not name: {missing}"


def test_examples_parse(suite):
    scripts = sorted(glob.glob(os.path.join(ROOT, "api", "examples", "*.sh")))
    names = {os.path.basename(s) for s in scripts}
    for want in ("create.sh", "describe.sh", "scale-replicas.sh", "resize-memory.sh", "delete.sh"):
        assert want in names, (want, names)
    for s in scripts:
        out = subprocess.run(["bash", "-n", s], capture_output=True, timeout=30)
        assert out.returncode == 0, (s, out.stderr.decode())


if __name__ == "__main__":
    suite = Suite()
    sys.exit(suite.run([
        test_whole_file_validates,
        test_every_controller_route_documented,
        test_kinds_actions_events_match_the_code,
        test_error_codes_and_metrics_documented,
        test_examples_parse,
    ]))
