"""The OpenAPI document (issue 6, item 5), black box.

- Every route the server registers (`finsync routes`) is in the document with that method and
  the same path template, and every operation of the document is a route of the server.
- Every endpoint seed 001 names maps to one operation (the table below; the operation carries
  the seed's name in `x-seed-name`). Seed endpoints whose area is not built yet are listed
  with None and must not be documented yet; once an area lands, its names get their route.
- The served document is the bundle of api/openapi/ (a stale build fails here), valid JSON with
  `openapi: 3.1.0`, cacheable by ETag; its examples validate against their schemas.
- /docs serves the HTML page, which names the server's mode and references the renderer's
  files, and each of those files is served.
- The response validator in harness.py really refuses mismatches, and the bundler refuses
  duplicate paths and components and dangling references.
"""

import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import textwrap
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
SEED_FILE_NAME = "001_b83166d4ebcdd4d3.txt"

# Seed 001's endpoint names -> the finsync operation ("METHOD /path"). An endpoint whose area is
# not built yet would be None (and must then not be documented); today every one is built.
# The table is checked against the seed's own list when the seed file is present.
SEED_ENDPOINTS = {
    # BankAccounts
    "List all bank accounts": "GET /api/v1/banks/accounts",
    "Get bank account": "GET /api/v1/banks/accounts/{id}",
    "Update bank account": "PUT /api/v1/banks/accounts/{id}",
    "Delete bank account": "DELETE /api/v1/banks/accounts/{id}",
    "Reset bank account config to defaults": "DELETE /api/v1/banks/accounts/{id}/config",
    "List all balances": "GET /api/v1/banks/accounts/{id}/balances",
    "Get balance": "GET /api/v1/banks/accounts/{id}/balances/{balance_id}",
    "Delete balance": "DELETE /api/v1/banks/accounts/{id}/balances/{balance_id}",
    # BankConnections
    "List all bank connections": "GET /api/v1/banks/connections",
    "Create a new bank connection": "POST /api/v1/banks/connections",
    "Get bank connection": "GET /api/v1/banks/connections/{id}",
    "Delete bank connection": "DELETE /api/v1/banks/connections/{id}",
    "Disable bank connection": "PUT /api/v1/banks/connections/{id}/disable",
    "Reconfirm the consent of a bank connection": "PUT /api/v1/banks/connections/{id}/reconfirm",
    # BankTransactions
    "List all bank transactions": "GET /api/v1/banks/transactions",
    "Create a new bank transaction": "POST /api/v1/banks/transactions",
    "Get bank transaction": "GET /api/v1/banks/transactions/{id}",
    "Update bank transaction": "PUT /api/v1/banks/transactions/{id}",
    "Delete bank transaction": "DELETE /api/v1/banks/transactions/{id}",
    # RuleActions
    "List all rule actions": "GET /api/v1/rule-actions",
    "Create a new rule action": "POST /api/v1/rule-actions",
    "Get rule action": "GET /api/v1/rule-actions/{id}",
    "Update rule action": "PUT /api/v1/rule-actions/{id}",
    "Delete rule action": "DELETE /api/v1/rule-actions/{id}",
    # RuleConditions
    "List rule conditions": "GET /api/v1/rule-conditions",
    "Create a new rule condition": "POST /api/v1/rule-conditions",
    "Get rule condition": "GET /api/v1/rule-conditions/{id}",
    "Update rule condition": "PUT /api/v1/rule-conditions/{id}",
    "Delete rule condition": "DELETE /api/v1/rule-conditions/{id}",
    # RuleLogs
    "List all rule logs": "GET /api/v1/rule-logs",
    "Get rule log": "GET /api/v1/rule-logs/{id}",
    "Undo a rule action": "POST /api/v1/rule-logs/{id}/undo",
    # Rules
    "Create a new rule": "POST /api/v1/rules",
    "List all rules": "GET /api/v1/rules",
    "Get rule": "GET /api/v1/rules/{id}",
    "Update rule": "PUT /api/v1/rules/{id}",
    "Delete rule": "DELETE /api/v1/rules/{id}",
    "Attach rule to bank account": "POST /api/v1/banks/accounts/{id}/rules/{rule_id}",
    "Detach rule from bank account": "DELETE /api/v1/banks/accounts/{id}/rules/{rule_id}",
    "Reorder rules for a bank account": "PUT /api/v1/banks/accounts/{id}/rules",
    "Attach rule to transfer link": "POST /api/v1/transfer-links/{id}/rules/{rule_id}",
    "Detach rule from transfer link": "DELETE /api/v1/transfer-links/{id}/rules/{rule_id}",
    "Reorder rules for a transfer link": "PUT /api/v1/transfer-links/{id}/rules",
    "Attach rule to destination": "POST /api/v1/destinations/{type}/{id}/rules/{rule_id}",
    "Detach rule from destination": "DELETE /api/v1/destinations/{type}/{id}/rules/{rule_id}",
    "Reorder rules for a destination (e.g., YNAB budget account)":
        "PUT /api/v1/destinations/{type}/{id}/rules",
    "rules.attachToBank": "POST /api/v1/rules/{id}/banks/{connection_id}",
    "rules.detachFromBank": "DELETE /api/v1/rules/{id}/banks/{connection_id}",
    # Statistics
    "Get bank transaction statistics": "GET /api/v1/stats/bank/transactions",
    "Get key user statistics": "GET /api/v1/stats/user",
    "Get transfer statistics": "GET /api/v1/stats/transfers",
    # SupportedBanks
    "Get supported countries": "GET /api/v1/banks/countries",
    "List all supported banks": "GET /api/v1/banks",
    "Get supported bank": "GET /api/v1/banks/{bank_id}",
    # TransferLinks
    "List all transfer links": "GET /api/v1/transfer-links",
    "Create a new transfer link": "POST /api/v1/transfer-links",
    "Get transfer link": "GET /api/v1/transfer-links/{id}",
    "Update transfer link": "PUT /api/v1/transfer-links/{id}",
    "Delete transfer link": "DELETE /api/v1/transfer-links/{id}",
    "Retry transfers for all transfer links": "POST /api/v1/transfer-links/retry",
    "Retry transfers for a specific transfer link":
        "POST /api/v1/transfer-links/{id}/retry",
    # TransferLogs
    "List all transfer logs": "GET /api/v1/transfer-logs",
    "Get transfer log": "GET /api/v1/transfer-logs/{id}",
    "Undo a transfer": "POST /api/v1/transfer-logs/{id}/undo",
    "transfer-logs.undo-bulk": "POST /api/v1/transfer-logs/undo-bulk",
    # YnabBudgets
    "List all YNAB budgets": "GET /api/v1/ynab/budgets",
    "Get YNAB budget": "GET /api/v1/ynab/budgets/{id}",
    "Delete YNAB budget": "DELETE /api/v1/ynab/budgets/{id}",
    "Update YNAB connection": "PUT /api/v1/ynab/budgets/{id}",
    "List all YNAB budget accounts": "GET /api/v1/ynab/budgets/{id}/accounts",
    "Get YNAB budget account": "GET /api/v1/ynab/budgets/{id}/accounts/{account_id}",
    "Delete YNAB budget account": "DELETE /api/v1/ynab/budgets/{id}/accounts/{account_id}",
    "List all YNAB budget payees": "GET /api/v1/ynab/budgets/{id}/payees",
    "List all YNAB budget categories": "GET /api/v1/ynab/budgets/{id}/categories",
    "List all YNAB budget transactions": "GET /api/v1/ynab/budgets/{id}/transactions",
    # YnabConnections
    "List all YNAB connections": "GET /api/v1/ynab/connections",
    "Create new YNAB connection": "POST /api/v1/ynab/connections",
    "Get YNAB connection": "GET /api/v1/ynab/connections/{id}",
    "Delete YNAB connection": "DELETE /api/v1/ynab/connections/{id}",
}


def seed_file():
    """Seed 001 as CI has it (../shared/seeds beside the repository), or None."""
    for directory in (harness.REPOSITORY_ROOT.parent / "shared" / "seeds",
                      pathlib.Path("/work/shared/seeds")):
        path = directory / SEED_FILE_NAME
        if path.is_file():
            return path
    return None


def seed_endpoint_names(path):
    """The endpoint names of the seed's table of contents (groups, then their endpoints)."""
    names = []
    for line in path.read_text(encoding="utf-8").splitlines()[2:]:
        if line.startswith("  • Schemas"):
            break
        if line.startswith("    • "):
            names.append(line[len("    • "):].strip())
    return names


def server_routes():
    completed = harness.run_cli("routes")
    if completed.returncode != 0:
        raise AssertionError(f"finsync routes exited {completed.returncode}: {completed.stderr}")
    routes = set()
    for line in completed.stdout.splitlines():
        method, _, pattern = line.partition(" ")
        routes.add((method, pattern))
    return routes


def document_operations(document):
    operations = {}
    for path, item in document["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                operations[(method.upper(), path)] = item[method]
    return operations


class OpenApiTest(harness.ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.document = harness.openapi_document()
        cls.operations = document_operations(cls.document)
        cls.routes = server_routes()

    # -- coverage ------------------------------------------------------------------------------

    def test_routes_command_lists_the_server_routes(self):
        """`finsync routes` prints METHOD /pattern lines, including this document's own route."""
        self.assertIn(("GET", "/api/v1/openapi.json"), self.routes)
        self.assertIn(("GET", "/api/v1/user"), self.routes)
        self.assertGreaterEqual(len(self.routes), 70)
        for method, pattern in self.routes:
            self.assertRegex(method, r"^[A-Z]+$")
            self.assertTrue(pattern.startswith("/"), pattern)

    def test_every_server_route_is_documented(self):
        missing = sorted(f"{m} {p}" for m, p in self.routes if (m, p) not in self.operations)
        self.assertEqual(missing, [], "routes the server has but api/openapi/ does not "
                         "describe (add them to api/openapi/paths/<area>.yaml):\n  "
                         + "\n  ".join(missing))

    def test_every_documented_operation_exists(self):
        extra = sorted(f"{m} {p}" for m, p in self.operations if (m, p) not in self.routes)
        self.assertEqual(extra, [], "operations documented that the server does not have:\n  "
                         + "\n  ".join(extra))

    def test_operations_are_complete(self):
        """Each operation has an id, a summary, a tag, responses; path parameters match."""
        for (method, path), operation in self.operations.items():
            where = f"{method} {path}"
            self.assertTrue(operation.get("operationId"), where)
            self.assertTrue(operation.get("summary"), where)
            self.assertTrue(operation.get("tags"), where)
            self.assertTrue(operation.get("responses"), where)
            item = self.document["paths"][path]
            declared = {p["name"] for p in self.resolve_all(item.get("parameters", []) +
                                                            operation.get("parameters", []))
                        if p["in"] == "path"}
            self.assertEqual(declared, set(re.findall(r"\{([^}]+)\}", path)), where)

    def resolve_all(self, parameters):
        resolved = []
        for parameter in parameters:
            while "$ref" in parameter:
                target = self.document
                for token in parameter["$ref"][2:].split("/"):
                    target = target[token]
                parameter = target
            resolved.append(parameter)
        return resolved

    # -- seed 001 ------------------------------------------------------------------------------

    def test_seed_table_matches_the_seed(self):
        path = seed_file()
        if path is None:
            self.skipTest("seed 001 not found beside the repository (../shared/seeds)")
        names = seed_endpoint_names(path)
        self.assertEqual(len(names), len(set(names)))
        self.assertEqual(sorted(names), sorted(SEED_ENDPOINTS))

    def test_seed_endpoints_are_documented_operations(self):
        claimed = {}
        for key, operation in self.operations.items():
            name = operation.get("x-seed-name")
            if name is not None:
                self.assertNotIn(name, claimed, f"x-seed-name {name!r} is on two operations")
                claimed[name] = f"{key[0]} {key[1]}"
        self.assertEqual(sorted(set(claimed) - set(SEED_ENDPOINTS)), [],
                         "x-seed-name values that are not seed 001 endpoint names")
        for name, operation in SEED_ENDPOINTS.items():
            if operation is None:
                self.assertNotIn(name, claimed,
                                 f"{name!r} is now documented at {claimed.get(name)}: put its "
                                 "operation in SEED_ENDPOINTS instead of None")
                continue
            method, _, path = operation.partition(" ")
            self.assertIn((method, path), self.operations, f"seed endpoint {name!r}")
            self.assertIn((method, path), self.routes, f"seed endpoint {name!r}")
            self.assertEqual(claimed.get(name), operation,
                             f"the operation of seed endpoint {name!r} must carry x-seed-name")

    def test_seed_endpoints_not_built_yet(self):
        pending = sorted(name for name, operation in SEED_ENDPOINTS.items() if operation is None)
        if pending:
            self.skipTest(f"{len(pending)} seed 001 endpoints are not built yet: "
                          + "; ".join(pending))

    def test_seed_create_rule_example_is_the_post_rules_example(self):
        body = self.document["paths"]["/api/v1/rules"]["post"]["requestBody"]
        examples = body["content"]["application/json"]["examples"]
        first = self.resolve_all([next(iter(examples.values()))])[0]
        self.assertEqual(first["value"], {
            "name": "string", "description": "string", "enabled": True,
            "trigger_on_any_condition": True, "skip_other_rules_when_triggered": True,
            "type": "BANK",
            "conditions": [{"field_name": "string", "operator": "EQUALS", "value": "string"}],
            "actions": [{"order": 0, "action_type": "SET_YNAB_FIELD", "field_name": "string",
                         "value": "string"}],
            "bank_accounts": [{"id": 0, "order": 0}],
            "transfer_links": [{"id": 0, "order": 0}],
            "destinations": [{"type": "YNAB", "id": 0, "order": 0}],
            "banks": [{"id": 0, "order": 0}]})

    # -- the served document -------------------------------------------------------------------

    def test_served_document_is_the_bundle(self):
        response = self.server.request("GET", "/api/v1/openapi.json")
        self.assertEqual(response.status, 200)
        self.assertEqual(response.headers["content-type"], "application/json")
        served = json.loads(response.raw)
        self.assertEqual(served["openapi"], "3.1.0")
        self.assertEqual(served, self.document,
                         "the server embeds another document than api/openapi/ bundles: rebuild")

    def test_document_is_cacheable_by_etag(self):
        first = self.server.request("GET", "/api/v1/openapi.json")
        etag = first.headers["etag"]
        self.assertRegex(etag, r'^"[0-9a-f]{32}"$')
        again = self.server.request("GET", "/api/v1/openapi.json",
                                    headers={"If-None-Match": f'"other", {etag}'})
        self.assertEqual(again.status, 304)
        self.assertEqual(again.raw, b"")
        self.assertEqual(again.headers["etag"], etag)
        other = self.server.request("GET", "/api/v1/openapi.json",
                                    headers={"If-None-Match": '"other"'})
        self.assertEqual(other.status, 200)

    def test_examples_match_their_schemas(self):
        """Every media-type example validates against its schema (as the linter checks too)."""
        import jsonschema
        resolver_document = self.document
        checked = 0

        def check(media, where):
            nonlocal checked
            schema = media.get("schema")
            if schema is None:
                return
            values = []
            if "example" in media:
                values.append(media["example"])
            for example in (media.get("examples") or {}).values():
                values.append(self.resolve_all([example])[0]["value"])
            for value in values:
                resolver = jsonschema.RefResolver(base_uri="", referrer=resolver_document)
                validator = jsonschema.Draft202012Validator(schema, resolver=resolver)
                errors = [f"{list(e.absolute_path)}: {e.message}"
                          for e in validator.iter_errors(value)]
                self.assertEqual(errors, [], where)
                checked += 1

        for (method, path), operation in self.operations.items():
            body = operation.get("requestBody", {})
            for media_type, media in body.get("content", {}).items():
                if "json" in media_type:
                    check(media, f"{method} {path} request {media_type}")
            for status, response in operation["responses"].items():
                response = self.resolve_all([response])[0]
                for media_type, media in response.get("content", {}).items():
                    if "json" in media_type:
                        check(media, f"{method} {path} {status} {media_type}")
        self.assertGreater(checked, 20)

    # -- /docs ---------------------------------------------------------------------------------

    def test_docs_page_references_the_renderer_and_each_file_is_served(self):
        page = self.server.request("GET", "/docs")
        self.assertEqual(page.status, 200)
        self.assertTrue(page.headers["content-type"].startswith("text/html"))
        policy = page.headers["content-security-policy"]
        self.assertIn("script-src 'self'", policy)
        self.assertNotIn("unsafe-inline", policy.split("script-src")[1].split(";")[0])
        html = page.body
        self.assertIn("Sandbox mode", html)
        self.assertIn('data-mode="sandbox"', html)
        assets = re.findall(r'(?:src|href)="(/docs/[^"]+)"', html)
        self.assertIn("/docs/swagger-ui-bundle.js", assets)
        self.assertIn("/docs/init.js", assets)
        self.assertIn("/docs/swagger-ui.css", assets)
        self.assertNotRegex(html, r'(?:src|href)="(?:https?:)?//',
                            "the page loads nothing from outside")
        expected_types = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
        for asset in assets:
            response = self.server.request("GET", asset)
            self.assertEqual(response.status, 200, asset)
            suffix = pathlib.PurePosixPath(asset).suffix
            self.assertTrue(response.headers["content-type"].startswith(expected_types[suffix]),
                            f"{asset}: {response.headers['content-type']}")
            self.assertGreater(len(response.raw), 0, asset)
        bundle = self.server.request("GET", "/docs/swagger-ui-bundle.js")
        self.assertGreater(len(bundle.raw), 500_000, "the renderer's standalone bundle")
        self.assertIn(b"SwaggerUIBundle", bundle.raw)
        init = self.server.request("GET", "/docs/init.js")
        self.assertIn(b"/api/v1/openapi.json", init.raw)
        self.assertEqual(self.server.request("GET", "/docs/LICENSE").status, 200)
        self.assertEqual(self.server.request("GET", "/docs/nothing.js").status, 404)

    def test_docs_files_are_served_byte_for_byte(self):
        """The embedded files are exactly the sources: ours (web/docs) and the renderer's, as
        npm installed it into the build tree beside the binary."""
        renderer = (pathlib.Path(harness.binary_path()).parent / "generated" / "docs-ui" /
                    "node_modules" / "swagger-ui-dist")
        self.assertTrue(renderer.is_dir(), f"{renderer}: the build installs the renderer there")
        sources = {
            "init.js": harness.REPOSITORY_ROOT / "web" / "docs" / "init.js",
            "finsync-docs.css": harness.REPOSITORY_ROOT / "web" / "docs" / "finsync-docs.css",
            "swagger-ui-bundle.js": renderer / "swagger-ui-bundle.js",
            "swagger-ui.css": renderer / "swagger-ui.css",
            "favicon-32x32.png": renderer / "favicon-32x32.png",
            "LICENSE": renderer / "LICENSE",
        }
        for name, path in sources.items():
            response = self.server.request("GET", f"/docs/{name}")
            self.assertEqual(response.status, 200, name)
            self.assertEqual(response.raw, path.read_bytes(), name)
        cached = self.server.request("GET", "/docs/init.js")
        again = self.server.request("GET", "/docs/init.js",
                                    headers={"If-None-Match": cached.headers["etag"]})
        self.assertEqual(again.status, 304)

    def test_docs_page_shows_production_mode(self):
        server = harness.Server(["--mode", "production"])
        self.addCleanup(server.close)
        server.start()
        html = server.request("GET", "/docs").body
        self.assertIn("Production mode", html)
        self.assertIn('data-mode="production"', html)
        self.assertNotIn("Sandbox", html)

    # -- the validator and the bundler can fail ------------------------------------------------

    def test_validator_refuses_mismatches(self):
        validator = harness.openapi_validator()

        def response(status, body, content_type="application/json"):
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            result = harness.Response(status, {"content-type": content_type}, None)
            result.raw = raw
            return result

        user = {"id": 1, "email": "a@example.com", "name": "A", "retention_days": None,
                "created_at": "2025-01-01T10:00:00Z", "mode": "sandbox"}
        validator.check("GET", "/api/v1/user", response(200, {"data": user}))
        with self.assertRaisesRegex(harness.OpenApiMismatch, r"\$\.data\.mode"):
            validator.check("GET", "/api/v1/user", response(200, {"data": {**user, "mode": "x"}}))
        with self.assertRaisesRegex(harness.OpenApiMismatch, r"\$\.data: .*'extra'"):
            validator.check("GET", "/api/v1/user", response(200, {"data": {**user, "extra": 1}}))
        with self.assertRaisesRegex(harness.OpenApiMismatch, r"\$\.data\.created_at"):
            validator.check("GET", "/api/v1/user",
                            response(200, {"data": {**user, "created_at": "yesterday"}}))
        with self.assertRaisesRegex(harness.OpenApiMismatch, "status 418 is not documented"):
            validator.check("GET", "/api/v1/user", response(418, {}))
        with self.assertRaisesRegex(harness.OpenApiMismatch, "Content-Type 'text/plain'"):
            validator.check("GET", "/api/v1/user", response(200, b"hi", "text/plain"))
        with self.assertRaisesRegex(harness.OpenApiMismatch, "without a body"):
            validator.check("DELETE", "/api/v1/tokens/5", response(204, {"a": 1}))
        problem = {"type": "https://finsync.dev/problems/not_found", "title": "Not found",
                   "status": 404, "detail": "x", "code": "not_found", "request_id": "r"}
        problem_type = "application/problem+json"
        validator.check("GET", "/api/v1/rules/9", response(404, problem, problem_type))
        with self.assertRaisesRegex(harness.OpenApiMismatch, r"\$\.code"):
            validator.check("GET", "/api/v1/rules/9",
                            response(404, {**problem, "code": "conflict"}, problem_type))
        # Literal segments win over parameters, as in the router.
        self.assertEqual(validator.find("GET", "/api/v1/banks/connections")[0],
                         "/api/v1/banks/connections")
        self.assertEqual(validator.find("GET", "/api/v1/banks/SANDBOX_X?x=1")[0],
                         "/api/v1/banks/{bank_id}")
        # Routes the document does not describe are left to the coverage tests above.
        self.assertIsNone(validator.find("GET", "/api/v1/not-a-route"))
        validator.check("GET", "/api/v1/not-a-route", response(404, {"anything": True}))

    def test_bundler_refuses_duplicates_and_dangling_references(self):
        bundler = harness._load_bundler()
        root = textwrap.dedent("""\
            openapi: 3.1.0
            info: {title: t, version: '1'}
            components:
              schemas:
                Thing: {type: object}
            """)
        area = textwrap.dedent("""\
            paths:
              /a:
                get:
                  responses:
                    '200':
                      description: ok
                      content:
                        application/json:
                          schema: {$ref: '#/components/schemas/Thing'}
            """)
        cases = {
            "duplicate path": ({"paths/one.yaml": area, "paths/two.yaml": area},
                               "path /a is already defined"),
            "duplicate schema": ({"schemas/one.yaml": "components:\n  schemas:\n    Thing: {}\n"},
                                 "components/schemas/Thing is already defined"),
            "dangling": ({"paths/one.yaml": area.replace("Thing", "Missing")},
                         "dangling \\$ref #/components/schemas/Missing"),
            "duplicate key": ({"paths/one.yaml": area + "  /a:\n    get: {}\n"}, "duplicate key"),
            "unknown key": ({"paths/one.yaml": "info: {}\n"}, "unknown top-level keys"),
            "unquoted comma": ({"schemas/one.yaml": "components:\n  schemas:\n    Other: "
                                                    "{type: string, description: One, two}\n"},
                               "an unquoted comma"),
        }
        for name, (files, message) in cases.items():
            with self.subTest(name), tempfile.TemporaryDirectory() as directory:
                base = pathlib.Path(directory)
                (base / "paths").mkdir()
                (base / "schemas").mkdir()
                (base / "openapi.yaml").write_text(root)
                for relative, text in files.items():
                    (base / relative).write_text(text)
                with self.assertRaisesRegex(bundler.BundleError, message):
                    bundler.bundle(base)
        with tempfile.TemporaryDirectory() as directory:
            base = pathlib.Path(directory)
            (base / "paths").mkdir()
            (base / "openapi.yaml").write_text(root)
            (base / "paths" / "one.yaml").write_text(
                area.replace("'#/components/schemas/Thing'",
                             "'../openapi.yaml#/components/schemas/Thing'"))
            bundled = bundler.bundle(base)
            schema = bundled["paths"]["/a"]["get"]["responses"]["200"]["content"][
                "application/json"]["schema"]
            self.assertEqual(schema, {"$ref": "#/components/schemas/Thing"})

    def test_bundle_script_writes_json(self):
        with tempfile.TemporaryDirectory() as directory:
            output = pathlib.Path(directory) / "openapi.json"
            subprocess.run([sys.executable, str(harness.REPOSITORY_ROOT / "scripts" /
                                                "openapi_bundle.py"), "--output", str(output)],
                           check=True, timeout=60)
            self.assertEqual(json.loads(output.read_text()), self.document)


if __name__ == "__main__":
    unittest.main()
