"""test_controller_openapi: api/openapi.yaml is valid OpenAPI 3 (the whole
file: agent, agent->controller link and controller routes), documents every
controller route, and the api/examples scripts parse.

The validator is @seriousme/openapi-schema-validator (the official OpenAPI
JSON schemas), which deploy/install-deps.sh installs from npm into .tools/;
the test fails when it is missing. A structural check (every $ref resolves,
every operation has responses) runs as well."""
import glob
import os
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
        test_examples_parse,
    ]))
