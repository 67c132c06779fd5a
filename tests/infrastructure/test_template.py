"""template.yaml against the code: cfn-lint, the routes, the table and its models, the layer, the handlers."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ekc.storage.items import MODELS, Item
from local.tables import load_template
from local.template import merged_properties

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
FUNCTION_TYPE = "AWS::Serverless::Function"
TABLE_ID = "MainTable"
IDEMPOTENCY_TABLE_ID = "IdempotencyTable"
LAYER_ID = "CommonLayer"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
# Routes the web API serves on purpose without describing them in its own OpenAPI document.
UNDOCUMENTED_ROUTES = {("GET", "/api/openapi.json")}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    """template.yaml, short tags (!Ref, !Sub) read as their long forms."""
    return load_template(TEMPLATE)


def functions_of(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every AWS::Serverless::Function by logical id."""
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == FUNCTION_TYPE
    }


def test_template_passes_cfn_lint() -> None:
    # Given the template and the cfn-lint installed next to this Python
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    assert cfn_lint.exists(), f"cfn-lint is not installed in {cfn_lint.parent} (see requirements-dev.txt)"
    # When it is linted
    result = subprocess.run(
        [str(cfn_lint), str(TEMPLATE)], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    # Then cfn-lint finds nothing at all (errors, warnings or informational)
    assert result.returncode == 0, f"cfn-lint exited {result.returncode}:\n{result.stdout}\n{result.stderr}"


# ---- routes: template.yaml against the Powertools resolver -------------------------------------------


def template_routes(template: dict[str, Any], function_id: str) -> set[tuple[str, str]]:
    """(METHOD, /path/{param}) of the function's HttpApi events."""
    events = (functions_of(template)[function_id]["Properties"].get("Events")) or {}
    routes = set()
    for name, event in events.items():
        if event.get("Type") != "HttpApi":
            continue
        properties = event.get("Properties") or {}
        assert "Method" in properties and "Path" in properties, f"{name}: a catch-all route would hide 404s"
        routes.add((str(properties["Method"]).upper(), str(properties["Path"])))
    return routes


def registered_routes() -> set[tuple[str, str]]:
    """(METHOD, /path/{param}) of the web API as its OpenAPI document describes it, plus the document."""
    from functions.web_api.app import app

    schema = app.get_openapi_schema()
    routes = {
        (method.upper(), path)
        for path, item in schema.paths.items()
        for method in HTTP_METHODS
        if getattr(item, method, None) is not None
    }
    return routes | UNDOCUMENTED_ROUTES


def test_template_routes_equal_the_web_api_routes(template: dict[str, Any]) -> None:
    # Given the routes template.yaml sends to WebApiFunction and the routes the resolver serves
    declared = template_routes(template, "WebApiFunction")
    served = registered_routes()
    # Then they are the same set: nothing the API serves is unreachable, nothing routed 404s
    assert declared - served == set(), "routed in template.yaml but not served by functions/web_api/app.py"
    assert served - declared == set(), "served by functions/web_api/app.py but not routed in template.yaml"


def test_web_api_routes_hidden_from_openapi_are_only_the_known_ones() -> None:
    # Given every route registered in the resolver, documented or not
    from functions.web_api.app import app

    every = {
        (route.method.upper(), re.sub(r"<(\w+)>", r"{\1}", route.path))
        for route in [*app._static_routes, *app._dynamic_routes]
    }
    # Then the only ones missing from the OpenAPI document are the ones this test knows about,
    # so the route comparison above cannot miss a hidden route
    documented = registered_routes() - UNDOCUMENTED_ROUTES
    assert every - documented == UNDOCUMENTED_ROUTES


def test_template_routes_all_belong_to_the_one_http_api(template: dict[str, Any]) -> None:
    # Given every HttpApi event of every function
    for logical_id, function in functions_of(template).items():
        for name, event in ((function["Properties"].get("Events")) or {}).items():
            if event.get("Type") == "HttpApi":
                # Then it is attached to the stack's HttpApi (which CloudFront forwards /api/* to)
                assert event["Properties"].get("ApiId") == {"Ref": "HttpApi"}, f"{logical_id}.{name}"


# ---- the table against the PynamoDB models ------------------------------------------------------------


def table_properties(template: dict[str, Any]) -> dict[str, Any]:
    resource = template["Resources"][TABLE_ID]
    assert resource["Type"] == "AWS::DynamoDB::Table"
    return resource["Properties"]


def model_schema() -> dict[str, Any]:
    """The union of every model's keys, attribute definitions and indexes."""
    definitions: set[tuple[str, str]] = set()
    keys: set[tuple[tuple[str, str], ...]] = set()
    indexes: dict[str, Any] = {}
    for model in MODELS:
        schema = model._get_schema()
        definitions |= {(d["AttributeName"], d["AttributeType"]) for d in schema["attribute_definitions"]}
        keys.add(tuple((k["AttributeName"], k["KeyType"]) for k in schema["key_schema"]))
        for index in schema["global_secondary_indexes"]:
            # PynamoDB lists an index's keys in no fixed order: HASH first, as the template writes them.
            index_keys = sorted(index["key_schema"], key=lambda k: k["KeyType"] != "HASH")
            indexes[index["index_name"]] = (
                tuple((k["AttributeName"], k["KeyType"]) for k in index_keys),
                index["projection"]["ProjectionType"],
            )
    return {"definitions": definitions, "keys": keys, "indexes": indexes}


def test_models_share_the_table_and_its_keys() -> None:
    # Given every model of the single table
    schema = model_schema()
    # Then they all live in one table with one key schema
    assert {model.Meta.table_name for model in MODELS} == {Item.Meta.table_name}
    assert len(schema["keys"]) == 1
    assert all(issubclass(model, Item) for model in MODELS)


def test_template_table_keys_equal_the_models(template: dict[str, Any]) -> None:
    # Given the table in template.yaml and the models
    properties = table_properties(template)
    schema = model_schema()
    declared_keys = tuple((k["AttributeName"], k["KeyType"]) for k in properties["KeySchema"])
    # Then the hash and range keys have the same names, order and types
    (model_keys,) = schema["keys"]
    assert declared_keys == model_keys == (("pk", "HASH"), ("sk", "RANGE"))
    assert (Item._hash_keyname, Item._range_keyname) == ("pk", "sk")
    declared_definitions = {
        (d["AttributeName"], d["AttributeType"]) for d in properties["AttributeDefinitions"]
    }
    assert declared_definitions == schema["definitions"]


def test_template_ttl_attribute_is_the_models(template: dict[str, Any]) -> None:
    # Given the table's TTL setting
    ttl = table_properties(template)["TimeToLiveSpecification"]
    # Then it is on, on the attribute the models write their expiry to
    assert ttl["Enabled"] is True
    assert ttl["AttributeName"] == Item.ttl.attr_name


def test_template_global_indexes_equal_the_models(template: dict[str, Any]) -> None:
    # Given the global indexes of the table and of the models (there may be none yet)
    declared = {
        index["IndexName"]: (
            tuple((k["AttributeName"], k["KeyType"]) for k in index["KeySchema"]),
            (index.get("Projection") or {}).get("ProjectionType", "KEYS_ONLY"),
        )
        for index in table_properties(template).get("GlobalSecondaryIndexes") or []
    }
    # Then both sides have the same indexes, with the same keys and projections
    assert declared == model_schema()["indexes"]


def test_template_table_name_reaches_the_functions_as_the_models_expect(template: dict[str, Any]) -> None:
    # Given the functions' environment
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    # Then TABLE_NAME is the deployed table, which the settings pass to the models
    assert variables["TABLE_NAME"] == {"Ref": TABLE_ID}


# ---- the layer --------------------------------------------------------------------------------------------


def test_layer_content_uri_is_the_python_folder(template: dict[str, Any]) -> None:
    # Given the common layer
    layer = template["Resources"][LAYER_ID]
    content_uri = layer["Properties"]["ContentUri"]
    # Then it points at the folder that holds the package itself: `sam build` with a BuildMethod adds
    # the python/ level, so `layers/common` would build /opt/python/python/ekc (and still "succeed")
    assert content_uri == "layers/common/python/"
    assert (ROOT / content_uri / "ekc" / "__init__.py").is_file()
    assert (ROOT / content_uri / "requirements.txt").is_file()
    assert not (ROOT / content_uri / "python").exists()


def test_layer_builds_for_the_functions_runtime_and_architecture(template: dict[str, Any]) -> None:
    # Given the layer and the functions' Globals
    layer = template["Resources"][LAYER_ID]
    runtime = template["Globals"]["Function"]["Runtime"]
    architectures = template["Globals"]["Function"]["Architectures"]
    # Then sam builds it with lambda_build/Makefile (pip, then bytecode) for that same Python and architecture
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    makefile = (ROOT / layer["Metadata"]["ContextPath"] / "Makefile").read_text()
    assert re.search(rf"^LAMBDA_RUNTIME \?= {re.escape(runtime)}$", makefile, re.MULTILINE)
    assert re.search(rf"^LAMBDA_ARCHITECTURE \?= {re.escape(architectures[0])}$", makefile, re.MULTILINE)
    assert runtime in layer["Properties"]["CompatibleRuntimes"]
    assert layer["Metadata"].get("BuildArchitecture", "x86_64") == architectures[0]
    assert set(architectures) <= set(layer["Properties"]["CompatibleArchitectures"])


# ---- the functions ---------------------------------------------------------------------------------------


def function_ids() -> list[str]:
    return sorted(functions_of(load_template(TEMPLATE)))


@pytest.mark.parametrize("logical_id", function_ids())
def test_function_handler_is_an_importable_callable(template: dict[str, Any], logical_id: str) -> None:
    # Given a function's CodeUri and Handler
    properties = merged_properties(template, functions_of(template)[logical_id]["Properties"])
    code_uri = Path(properties["CodeUri"])
    module_name, _, attribute = properties["Handler"].rpartition(".")
    assert (ROOT / code_uri).is_dir(), f"{logical_id}: CodeUri {code_uri} is not a folder"
    assert code_uri.parts[0] == "functions"
    # When the module is imported the way the tests import it (functions.<dir>.app)
    module = importlib.import_module(".".join([*code_uri.parts, module_name]))
    # Then the handler is a callable there
    assert callable(getattr(module, attribute, None)), (
        f"{logical_id}: {properties['Handler']} is not callable"
    )


@pytest.mark.parametrize("logical_id", function_ids())
def test_function_imports_only_what_lambda_will_have(template: dict[str, Any], logical_id: str) -> None:
    # Given a function's handler module; in Lambda only its CodeUri folder (/var/task) and the layer
    # (/opt/python) are importable, not this repository's `functions`, `local` or `tests` packages
    properties = functions_of(template)[logical_id]["Properties"]
    module_name = properties["Handler"].rpartition(".")[0]
    source = ROOT / properties["CodeUri"] / f"{module_name.replace('.', '/')}.py"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
    }
    # Then it imports none of the repository-only packages
    assert imported & {"functions", "local", "tests", "layers", "bench"} == set()


@pytest.mark.parametrize("logical_id", function_ids())
def test_function_has_the_common_layer_and_the_table_policy(
    template: dict[str, Any], logical_id: str
) -> None:
    # Given a function with the Globals applied
    properties = merged_properties(template, functions_of(template)[logical_id]["Properties"])
    # Then it gets the common layer through the Globals
    assert {"Ref": LAYER_ID} in template["Globals"]["Function"]["Layers"]
    assert {"Ref": LAYER_ID} in properties["Layers"]
    # and a policy on the table (and only that table)
    table_policies = [
        policy
        for policy in properties.get("Policies") or []
        if isinstance(policy, dict)
        and any(name.startswith("DynamoDB") and name.endswith("Policy") for name in policy)
    ]
    assert table_policies, f"{logical_id} has no DynamoDB policy"
    tables = set()
    for policy in table_policies:
        ((_, arguments),) = policy.items()
        assert set(arguments) == {"TableName"}
        tables.add(arguments["TableName"]["Ref"])
    # the main table, and Powertools' idempotency records for entry points Viber or others re-send
    assert TABLE_ID in tables
    assert tables <= {TABLE_ID, IDEMPOTENCY_TABLE_ID}


def test_template_routes_viber_callbacks_to_the_viber_webhook(template: dict[str, Any]) -> None:
    # Given the Viber webhook function
    function = functions_of(template)["ViberWebhookFunction"]
    properties = function["Properties"]
    # Then Viber's callbacks reach it on one route, and it may keep idempotency records
    assert template_routes(template, "ViberWebhookFunction") == {("POST", "/viber/webhook")}
    policies = [next(iter(p.values())) for p in properties["Policies"] if isinstance(p, dict)]
    assert {"TableName": {"Ref": IDEMPOTENCY_TABLE_ID}} in policies
    # And its auth token comes from SSM, never from the template itself
    variables = properties["Environment"]["Variables"]
    assert "VIBER_AUTH_TOKEN" not in variables
    assert variables["VIBER_AUTH_TOKEN_PARAMETER"] == {
        "Fn::Sub": "/meter-readings/${StageName}/viber-auth-token"
    }
    assert properties["CodeUri"] == "functions/viber_webhook/"
    # And viberbot is the function's own dependency, not the shared layer's
    own = (ROOT / "functions" / "viber_webhook" / "requirements.txt").read_text(encoding="utf-8")
    assert re.search(r"^viberbot==", own, re.MULTILINE)
    layer = (ROOT / "layers" / "common" / "python" / "requirements.txt").read_text(encoding="utf-8")
    assert "viberbot" not in layer
