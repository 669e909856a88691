"""A stateful fake of YNAB's API (https://api.ynab.com/v1) for black-box tests.

Python standard library plus PyYAML and jsonschema. It behaves as YNAB documents:

- Bearer tokens from a configured list; anything else answers 401 with YNAB's error body.
- Budgets ("plans" in the newest spec; both /budgets/... and /plans/... are served) with
  accounts, payees, category groups and transactions, seeded from a dict.
- server_knowledge per budget, incremented on every change; `last_knowledge_of_server` makes a
  list answer only the objects changed since then (deleted ones included, as YNAB does).
- POST transactions with a single `transaction` or a `transactions` list; import_id is unique
  per account: in a list a repeat is reported in `duplicate_import_ids` and not created, a
  single-transaction POST whose import_id exists answers 409. payee_name finds a payee by name
  or creates one. PATCH updates in bulk by id or import_id, PUT updates one, DELETE marks one
  deleted and returns it. Account balances follow the transactions.
- GET transactions honours since_date (default: one year ago, as documented), until_date, type
  and last_knowledge_of_server.
- Field validation (lengths, enums, integer amounts, dates, uuids) answers 400 in YNAB's shape.
- A per-token rate limit (default 200 requests per rolling hour) answers 429
  {"error": {"id": "429", "name": "too_many_requests", ...}}.

Every request (body and query parameters, and the route itself) is validated against the
OpenAPI document ../shared/specs/ynab-openapi.yaml relative to the repository (override with
FINSYNC_YNAB_SPEC). A request that fails answers 400 and is recorded in `spec_violations`, which
tests assert is empty. Every answer the fake gives is validated too (`response_violations`), so
the fake cannot drift from the spec either. `FakeYnab(validate_requests=False)` skips both
checks (routing still follows the spec), for benchmarks that measure the fake without them.

Use in-process (simplest):

    fake = FakeYnab(tokens={"tok-1": "user-1"}).start()
    ... fake.base_url ("http://127.0.0.1:<port>/v1"), fake.add_transaction(...), fake.requests
    fake.close()

or as a process: `python3 tests/fakes/fake_ynab.py --port 0 [--config seed.json]` prints the
port on the first line of stdout. Either way a control API is served under /__fake/:
GET requests, spec_violations, state; POST outage {"count", "status"}, rate_limit
{"per_hour"}, reset_requests, budgets/{id}/transactions (add a transaction as the YNAB user).

Not modelled: split transactions (subtransactions are accepted only empty), scheduled
transactions, months, matching of imported to user-entered transactions, OAuth. Whether YNAB
still blocks the import_id of a deleted transaction is not documented; the fake blocks it
(`deleted_import_ids_block=True`), the conservative assumption for a sender.
"""

import argparse
import collections
import copy
import datetime
import hashlib
import http.server
import json
import os
import pathlib
import re
import sys
import threading
import time
import urllib.parse
import uuid

import jsonschema
import yaml

REPOSITORY_ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_SPEC_PATH = REPOSITORY_ROOT.parent / "shared" / "specs" / "ynab-openapi.yaml"
WINDOW_SECONDS = 3600.0
NAMESPACE = uuid.UUID("6f1c1f0e-59f5-4a3e-9b0f-2f4d3c1a7e55")


def spec_path():
    """FINSYNC_YNAB_SPEC, else <repo>/../shared/specs/ynab-openapi.yaml (CI's layout), else the
    same under a further parent (a git worktree kept one level deeper, e.g. wt/<name>)."""
    configured = os.environ.get("FINSYNC_YNAB_SPEC")
    if configured:
        return pathlib.Path(configured)
    for parent in REPOSITORY_ROOT.parents[:2]:
        candidate = parent / "shared" / "specs" / "ynab-openapi.yaml"
        if candidate.is_file():
            return candidate
    return DEFAULT_SPEC_PATH


def stable_uuid(*parts):
    """A deterministic UUID for seed objects (same seed, same ids)."""
    return str(uuid.uuid5(NAMESPACE, "/".join(str(part) for part in parts)))


# ---------------------------------------------------------------------------------------------
# OpenAPI validation


def _short(message, limit=200):
    return message if len(message) <= limit else message[:limit] + "..."


def _convert_nullable(schema):
    """OpenAPI 3.0's `nullable: true` as JSON Schema (the spec is 3.1 but still has a few)."""
    if isinstance(schema, list):
        return [_convert_nullable(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: _convert_nullable(value) for key, value in schema.items()}
    nullable = converted.pop("nullable", None)
    if nullable is True:
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


class SpecValidator:
    """Routes (method, path) to the spec's operations and validates bodies and parameters."""

    def __init__(self, path=None):
        with open(path or spec_path(), encoding="utf-8") as spec_file:
            self.spec = yaml.safe_load(spec_file)
        components = _convert_nullable(self.spec.get("components", {}))
        self.root = {"components": components}
        self.routes = []  # (method, compiled pattern, template, operation)
        for template, item in self.spec["paths"].items():
            pattern = re.compile("^" + re.sub(r"\{([^/]+)\}", r"(?P<\1>[^/]+)", template) + "$")
            for method, operation in item.items():
                if method in ("get", "post", "put", "patch", "delete"):
                    self.routes.append((method.upper(), pattern, template, operation))
        # Literal templates first, so /plans/{id}/transactions/import beats .../{id}.
        self.routes.sort(key=lambda route: route[2].count("{"))

    def _validator(self, schema):
        schema = dict(_convert_nullable(schema))
        schema["components"] = self.root["components"]
        return jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)

    def operation(self, method, spec_path_):
        """(template, operation) or (None, None) when the spec has no such route."""
        for route_method, pattern, template, operation in self.routes:
            if route_method == method and pattern.match(spec_path_):
                return template, operation
        return None, None

    def validate_request(self, method, spec_path_, query, body_bytes):
        """A list of problems (empty when the request conforms)."""
        template, operation = self.operation(method, spec_path_)
        if operation is None:
            return [f"{method} {spec_path_}: no such operation in the spec"]
        problems = []
        known = {}
        path_values = self._pattern(method, template).match(spec_path_).groupdict()
        for parameter in operation.get("parameters", []):
            if parameter.get("in") == "query":
                known[parameter["name"]] = parameter
            elif parameter.get("in") == "path":
                value = urllib.parse.unquote(path_values.get(parameter["name"], ""))
                problems += [f"path {parameter['name']}: {message}" for message in
                             self._check_parameter(parameter.get("schema", {}), value)]
        for name, values in query.items():
            if name not in known:
                problems.append(f"query parameter {name} is not in the spec")
                continue
            schema = known[name].get("schema", {})
            for value in values:
                problems += [f"query {name}: {message}"
                             for message in self._check_parameter(schema, value)]
        request_body = operation.get("requestBody")
        if request_body is None:
            if body_bytes:
                problems.append("a body was sent to an operation that takes none")
            return problems
        if not body_bytes:
            if request_body.get("required"):
                problems.append("the required body is missing")
            return problems
        try:
            body = json.loads(body_bytes)
        except ValueError as error:
            return problems + [f"body is not JSON: {error}"]
        schema = request_body["content"]["application/json"]["schema"]
        problems += [f"body {'/'.join(str(p) for p in error.absolute_path) or '.'}: "
                     f"{_short(error.message)}"
                     for error in self._validator(schema).iter_errors(body)]
        return problems

    def _pattern(self, method, template):
        for route_method, pattern, route_template, _ in self.routes:
            if route_method == method and route_template == template:
                return pattern
        raise KeyError(template)

    def _check_parameter(self, schema, text):
        kind = schema.get("type")
        if kind == "integer":
            if not re.fullmatch(r"-?\d+", text):
                return [f"{text!r} is not an integer"]
            return []
        if kind == "boolean":
            return [] if text in ("true", "false") else [f"{text!r} is not a boolean"]
        return [error.message for error in self._validator(schema).iter_errors(text)]

    def validate_response(self, method, spec_path_, status, body):
        template, operation = self.operation(method, spec_path_)
        if operation is None:
            return []
        response = operation.get("responses", {}).get(str(status))
        if response is None:
            return [f"{method} {template}: status {status} is not documented"]
        content = response.get("content", {}).get("application/json")
        if content is None:
            return []
        return [f"response {'/'.join(str(p) for p in error.absolute_path) or '.'}: "
                f"{error.message}"
                for error in self._validator(content["schema"]).iter_errors(body)]


# ---------------------------------------------------------------------------------------------
# State


class YnabError(Exception):
    """An answer in YNAB's error shape."""

    def __init__(self, status, error_id, name, detail):
        super().__init__(detail)
        self.status = status
        self.error_id = error_id
        self.name = name
        self.detail = detail

    def body(self):
        return {"error": {"id": self.error_id, "name": self.name, "detail": self.detail}}


def bad_request(detail):
    return YnabError(400, "400", "bad_request", detail)


def not_found(detail="Resource not found"):
    return YnabError(404, "404.2", "resource_not_found", detail)


def default_seed():
    """One YNAB user with one EUR budget: two accounts, a few payees and categories, and two
    transactions. Tokens: "ynab-token-1"."""
    budget = stable_uuid("budget", "home")
    checking = stable_uuid("account", "checking")
    savings = stable_uuid("account", "savings")
    today = datetime.date.today()
    return {
        "users": [{
            "id": stable_uuid("user", 1),
            "tokens": ["ynab-token-1"],
            "budgets": [{
                "id": budget, "name": "Home", "currency": "EUR",
                "accounts": [
                    {"id": checking, "name": "Checking", "type": "checking"},
                    {"id": savings, "name": "Savings", "type": "savings", "note": "rainy day"},
                ],
                "payees": [{"id": stable_uuid("payee", "grocer"), "name": "Grocer"},
                           {"id": stable_uuid("payee", "landlord"), "name": "Landlord"}],
                "category_groups": [
                    {"id": stable_uuid("group", "bills"), "name": "Bills", "categories": [
                        {"id": stable_uuid("category", "rent"), "name": "Rent"},
                        {"id": stable_uuid("category", "power"), "name": "Power"}]},
                    {"id": stable_uuid("group", "fun"), "name": "Fun", "categories": [
                        {"id": stable_uuid("category", "games"), "name": "Games",
                         "hidden": True}]},
                ],
                "transactions": [
                    {"account_id": checking, "date": (today - datetime.timedelta(days=3))
                     .isoformat(), "amount": -45120, "payee_name": "Grocer",
                     "cleared": "cleared", "approved": True},
                    {"account_id": checking, "date": (today - datetime.timedelta(days=40))
                     .isoformat(), "amount": -950000, "payee_name": "Landlord",
                     "category_id": stable_uuid("category", "rent"), "cleared": "reconciled",
                     "approved": True},
                ],
            }],
        }],
    }


CURRENCIES = {"EUR": ("€", 2, ",", ".", False), "USD": ("$", 2, ".", ",", True),
              "GBP": ("£", 2, ".", ",", True), "JPY": ("¥", 0, ".", ",", True)}


class Budget:
    """One budget's objects; every object carries the knowledge of its last change."""

    def __init__(self, seed, owner):
        self.id = seed["id"]
        self.owner = owner
        self.name = seed["name"]
        self.currency = seed.get("currency", "EUR")
        self.knowledge = 0
        self.accounts = collections.OrderedDict()
        self.payees = collections.OrderedDict()
        self.groups = collections.OrderedDict()
        self.categories = collections.OrderedDict()
        self.transactions = collections.OrderedDict()
        for account in seed.get("accounts", []):
            self.add_account(account)
        for payee in seed.get("payees", []):
            self.add_payee(payee["name"], payee.get("id"))
        for group in seed.get("category_groups", []):
            self.add_group(group)
        for transaction in seed.get("transactions", []):
            self.create_transaction(dict(transaction))

    def bump(self):
        self.knowledge += 1
        return self.knowledge

    def add_account(self, seed):
        account_id = seed.get("id") or str(uuid.uuid4())
        knowledge = self.bump()
        transfer_payee = self.add_payee(f"Transfer : {seed['name']}", None, account_id)
        self.accounts[account_id] = {
            "id": account_id, "name": seed["name"], "type": seed.get("type", "checking"),
            "on_budget": seed.get("on_budget", True), "closed": seed.get("closed", False),
            "note": seed.get("note"), "balance": 0, "cleared_balance": 0,
            "uncleared_balance": 0, "transfer_payee_id": transfer_payee["id"],
            "direct_import_linked": False, "direct_import_in_error": False,
            "last_reconciled_at": None, "debt_original_balance": None,
            "debt_interest_rates": {}, "debt_minimum_payments": {}, "debt_escrow_amounts": {},
            "deleted": False, "_knowledge": knowledge}
        return self.accounts[account_id]

    def add_payee(self, name, payee_id=None, transfer_account_id=None):
        payee_id = payee_id or str(uuid.uuid4())
        self.payees[payee_id] = {"id": payee_id, "name": name,
                                 "transfer_account_id": transfer_account_id, "deleted": False,
                                 "_knowledge": self.bump()}
        return self.payees[payee_id]

    def add_group(self, seed):
        group_id = seed.get("id") or str(uuid.uuid4())
        self.groups[group_id] = {"id": group_id, "name": seed["name"],
                                 "hidden": seed.get("hidden", False), "internal": False,
                                 "deleted": False, "_knowledge": self.bump()}
        for category in seed.get("categories", []):
            category_id = category.get("id") or str(uuid.uuid4())
            self.categories[category_id] = {
                "id": category_id, "category_group_id": group_id,
                "category_group_name": seed["name"], "name": category["name"],
                "hidden": category.get("hidden", False), "internal": False,
                "original_category_group_id": None, "note": None, "budgeted": 0,
                "activity": 0, "balance": 0, "goal_type": None, "deleted": False,
                "_knowledge": self.bump()}

    # -- rendering -------------------------------------------------------------------------------

    def currency_format(self):
        symbol, digits, decimal, group, first = CURRENCIES.get(
            self.currency, (self.currency, 2, ".", ",", False))
        return {"iso_code": self.currency, "example_format": "123" + group + "456" + decimal
                + "78", "decimal_digits": digits, "decimal_separator": decimal,
                "symbol_first": first, "group_separator": group, "currency_symbol": symbol,
                "display_symbol": True}

    def summary(self):
        months = sorted(t["date"][:7] + "-01" for t in self.transactions.values())
        today = datetime.date.today().replace(day=1).isoformat()
        return {"id": self.id, "name": self.name,
                "last_modified_on": datetime.datetime.now(datetime.timezone.utc)
                .strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                "first_month": months[0] if months else today,
                "last_month": max(months[-1], today) if months else today,
                "date_format": {"format": "DD.MM.YYYY"},
                "currency_format": self.currency_format()}

    def money(self, milliunits):
        digits = self.currency_format()["decimal_digits"]
        value = milliunits / 1000
        return f"{value:.{digits}f}", value

    @staticmethod
    def public(record):
        return {key: value for key, value in record.items() if not key.startswith("_")}

    def render_account(self, account):
        out = self.public(account)
        for field in ("balance", "cleared_balance", "uncleared_balance"):
            out[f"{field}_formatted"], out[f"{field}_currency"] = self.money(account[field])
        return out

    def render_category(self, category):
        out = self.public(category)
        for field in ("balance", "activity", "budgeted"):
            out[f"{field}_formatted"], out[f"{field}_currency"] = self.money(category[field])
        return out

    def render_transaction(self, transaction):
        out = self.public(transaction)
        account = self.accounts[transaction["account_id"]]
        payee = self.payees.get(transaction["payee_id"] or "")
        category = self.categories.get(transaction["category_id"] or "")
        out.update({"account_name": account["name"],
                    "payee_name": payee["name"] if payee else None,
                    "category_name": category["name"] if category else None,
                    "subtransactions": []})
        out["amount_formatted"], out["amount_currency"] = self.money(transaction["amount"])
        return out

    # -- transactions ----------------------------------------------------------------------------

    def _apply_balance(self, transaction, sign):
        account = self.accounts[transaction["account_id"]]
        amount = sign * transaction["amount"]
        account["balance"] += amount
        if transaction["cleared"] in ("cleared", "reconciled"):
            account["cleared_balance"] += amount
        else:
            account["uncleared_balance"] += amount
        account["_knowledge"] = self.knowledge

    def find_import_id(self, account_id, import_id, include_deleted):
        for transaction in self.transactions.values():
            if (transaction["account_id"] == account_id and transaction["import_id"] == import_id
                    and (include_deleted or not transaction["deleted"])):
                return transaction
        return None

    def resolve_payee(self, fields):
        """payee_id wins; else payee_name finds a payee by name or creates one."""
        payee_id = fields.get("payee_id")
        if payee_id:
            if payee_id not in self.payees:
                raise bad_request(f"payee_id {payee_id} does not exist")
            return payee_id
        name = fields.get("payee_name")
        if not name:
            return None
        for payee in self.payees.values():
            if payee["name"] == name and not payee["deleted"]:
                return payee["id"]
        return self.add_payee(name)["id"]

    def check_references(self, fields):
        if "account_id" in fields and fields["account_id"] not in self.accounts:
            raise bad_request(f"account_id {fields['account_id']} does not exist")
        category_id = fields.get("category_id")
        if category_id and category_id not in self.categories:
            raise bad_request(f"category_id {category_id} does not exist")
        if fields.get("subtransactions"):
            raise bad_request("split transactions are not supported by this fake")
        date = fields.get("date")
        if date is not None:
            # The latest time zone is UTC+14: a date that is "today" anywhere is accepted.
            latest_today = (datetime.datetime.now(datetime.timezone.utc)
                            + datetime.timedelta(hours=14)).date()
            if datetime.date.fromisoformat(date) > latest_today:
                raise bad_request("date must not be in the future")

    def create_transaction(self, fields):
        for required in ("account_id", "date", "amount"):
            if fields.get(required) is None:
                raise bad_request(f"{required} is required")
        self.check_references(fields)
        payee_id = self.resolve_payee(fields)
        knowledge = self.bump()
        transaction = {
            "id": str(uuid.uuid4()), "date": fields["date"], "amount": fields["amount"],
            "memo": fields.get("memo"), "cleared": fields.get("cleared") or "uncleared",
            "approved": bool(fields.get("approved", False)),
            "flag_color": fields.get("flag_color") or None, "flag_name": None,
            "account_id": fields["account_id"], "payee_id": payee_id,
            "category_id": fields.get("category_id"), "transfer_account_id": None,
            "transfer_transaction_id": None, "matched_transaction_id": None,
            "import_id": fields.get("import_id"),
            "import_payee_name": fields.get("payee_name") if fields.get("import_id") else None,
            "import_payee_name_original": None, "debt_transaction_type": None,
            "deleted": False, "_knowledge": knowledge}
        self.transactions[transaction["id"]] = transaction
        self._apply_balance(transaction, +1)
        return transaction

    def update_transaction(self, transaction, fields):
        if transaction["deleted"]:
            raise not_found(f"transaction {transaction['id']} was deleted")
        self.check_references(fields)
        self._apply_balance(transaction, -1)
        for field in ("account_id", "date", "amount", "memo", "cleared", "approved",
                      "category_id"):
            if field in fields:
                transaction[field] = fields[field]
        if "flag_color" in fields:
            transaction["flag_color"] = fields["flag_color"] or None
        if "payee_id" in fields or "payee_name" in fields:
            transaction["payee_id"] = self.resolve_payee(fields)
        transaction["_knowledge"] = self.bump()
        self._apply_balance(transaction, +1)
        return transaction

    def delete_transaction(self, transaction):
        if transaction["deleted"]:
            raise not_found(f"transaction {transaction['id']} was deleted")
        self._apply_balance(transaction, -1)
        transaction["deleted"] = True
        transaction["_knowledge"] = self.bump()
        self.accounts[transaction["account_id"]]["_knowledge"] = self.knowledge
        return transaction


# ---------------------------------------------------------------------------------------------
# The server


class FakeYnab:
    """The fake's state and its HTTP server (start() runs it in a daemon thread)."""

    def __init__(self, seed=None, rate_limit_per_hour=200, spec=None, host="127.0.0.1",
                 port=0, deleted_import_ids_block=True, clock=time.monotonic,
                 validate_requests=True):
        self.lock = threading.RLock()
        self.validator = SpecValidator(spec)
        self.validate_requests = validate_requests
        self.rate_limit_per_hour = rate_limit_per_hour
        self.deleted_import_ids_block = deleted_import_ids_block
        self.clock = clock
        self.users = {}   # ynab user id -> {"id", "budgets": [budget ids]}
        self.tokens = {}  # token -> ynab user id
        self.budgets = collections.OrderedDict()
        self.sent = collections.defaultdict(collections.deque)  # token hash -> times
        self.requests = []  # {"method", "path", "query", "status", "operation"}
        self.spec_violations = []
        self.response_violations = []
        self.outage = {"count": 0, "status": 503}
        self.load_seed(seed if seed is not None else default_seed())
        self.host = host
        self.port = port
        self.httpd = None
        self.thread = None

    def load_seed(self, seed):
        with self.lock:
            for user in seed.get("users", []):
                self.add_user(user)

    def add_user(self, user):
        """Adds a YNAB user with tokens and budgets (same shape as a seed's "users" entry)."""
        with self.lock:
            user_id = user.get("id") or str(uuid.uuid4())
            self.users[user_id] = {"id": user_id, "budgets": []}
            for token in user.get("tokens", []):
                self.tokens[token] = user_id
            for budget_seed in user.get("budgets", []):
                budget = Budget(budget_seed, user_id)
                self.budgets[budget.id] = budget
                self.users[user_id]["budgets"].append(budget.id)
            return user_id

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self):
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self.httpd = _Server((self.host, self.port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def close(self):
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    @property
    def base_url(self):
        return f"http://{self.host}:{self.port}/v1"

    # -- helpers for tests (in-process) ----------------------------------------------------------

    def budget(self, budget_id):
        with self.lock:
            return self.budgets[budget_id]

    def add_transaction(self, budget_id, **fields):
        """A transaction entered by the YNAB user (not through the API); returns it."""
        with self.lock:
            return self.budget(budget_id).render_transaction(
                self.budget(budget_id).create_transaction(fields))

    def set_outage(self, count, status=503):
        with self.lock:
            self.outage = {"count": count, "status": status}

    def requests_matching(self, method=None, path_contains=""):
        with self.lock:
            return [r for r in self.requests if (method is None or r["method"] == method)
                    and path_contains in r["path"]]

    def state(self):
        with self.lock:
            return {budget_id: {
                "knowledge": budget.knowledge,
                "accounts": [budget.render_account(a) for a in budget.accounts.values()],
                "transactions": [budget.render_transaction(t)
                                 for t in budget.transactions.values()]}
                for budget_id, budget in self.budgets.items()}

    # -- request handling ------------------------------------------------------------------------

    def take_rate_limit_slot(self, token):
        key = hashlib.sha256(token.encode()).hexdigest()
        now = self.clock()
        sent = self.sent[key]
        while sent and sent[0] <= now - WINDOW_SECONDS:
            sent.popleft()
        if self.rate_limit_per_hour and len(sent) >= self.rate_limit_per_hour:
            raise YnabError(429, "429", "too_many_requests",
                            "Too many requests.  Please try again later.")
        sent.append(now)

    def handle(self, method, raw_path, headers, body_bytes):
        """(status, body) for one API request. Runs under the lock: YNAB serialises writes to
        a budget, and the fake's state is small."""
        parsed = urllib.parse.urlsplit(raw_path)
        path = parsed.path
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        record = {"method": method, "path": path, "query": parsed.query, "status": None}
        with self.lock:
            self.requests.append(record)
            try:
                status, body = self._handle(method, path, query, headers, body_bytes, record)
            except YnabError as error:
                status, body = error.status, error.body()
            record["status"] = status
            return status, body

    def _handle(self, method, path, query, headers, body_bytes, record):
        if self.outage["count"] > 0:
            self.outage["count"] -= 1
            status = self.outage["status"]
            raise YnabError(status, str(status), "service_unavailable" if status == 503
                            else "internal_server_error", "The service is unavailable (fake "
                            "outage)")
        if not path.startswith("/v1/"):
            raise YnabError(404, "404.1", "not_found", "The specified URI does not exist.")
        spec_route = "/" + path[len("/v1/"):]
        legacy = spec_route.startswith("/budgets")
        if legacy:
            spec_route = "/plans" + spec_route[len("/budgets"):]
        authorization = headers.get("Authorization", "")
        token = authorization[len("Bearer "):] if authorization.startswith("Bearer ") else None
        if token is None or token not in self.tokens:
            raise YnabError(401, "401", "not_authorized", "Unauthorized")
        self.take_rate_limit_slot(token)
        problems = (self.validator.validate_request(method, spec_route, query, body_bytes)
                    if self.validate_requests else [])
        template, _ = self.validator.operation(method, spec_route)
        record["operation"] = template
        if problems:
            self.spec_violations.append({"method": method, "path": path, "problems": problems})
            if template is None:
                raise YnabError(404, "404.1", "not_found", "The specified URI does not exist.")
            raise bad_request("; ".join(problems))
        body = json.loads(body_bytes) if body_bytes else None
        status, answer = self._route(method, template, spec_route, query, body,
                                     self.tokens[token], legacy)
        problems = (self.validator.validate_response(method, spec_route, status,
                                                     self._as_plan_answer(answer, legacy))
                    if self.validate_requests else [])
        if problems:
            self.response_violations.append({"method": method, "path": path,
                                             "problems": problems})
        return status, answer

    @staticmethod
    def _as_plan_answer(answer, legacy):
        """/budgets answers say budgets where the spec (plans) says plans."""
        if not legacy or "budgets" not in answer.get("data", {}):
            return answer
        data = dict(answer["data"])
        data["plans"] = data.pop("budgets")
        data["default_plan"] = data.pop("default_budget", None)
        return {"data": data}

    def _route(self, method, template, spec_route, query, body, user_id, legacy):
        parts = spec_route.strip("/").split("/")
        if template == "/user":
            return 200, {"data": {"user": {"id": user_id}}}
        if template == "/plans":
            budgets = [self.budgets[b].summary() for b in self.users[user_id]["budgets"]]
            if legacy:
                return 200, {"data": {"budgets": budgets, "default_budget": None}}
            return 200, {"data": {"plans": budgets, "default_plan": None}}
        budget = self._budget_for(user_id, parts[1])
        knowledge = self._knowledge(query)
        handler = {
            ("GET", "/plans/{plan_id}/accounts"): self._list_accounts,
            ("GET", "/plans/{plan_id}/accounts/{account_id}"): self._get_account,
            ("GET", "/plans/{plan_id}/payees"): self._list_payees,
            ("GET", "/plans/{plan_id}/categories"): self._list_categories,
            ("GET", "/plans/{plan_id}/transactions"): self._list_transactions,
            ("GET", "/plans/{plan_id}/accounts/{account_id}/transactions"):
                self._list_transactions,
            ("POST", "/plans/{plan_id}/transactions"): self._create_transactions,
            ("PATCH", "/plans/{plan_id}/transactions"): self._update_transactions,
            ("GET", "/plans/{plan_id}/transactions/{transaction_id}"): self._get_transaction,
            ("PUT", "/plans/{plan_id}/transactions/{transaction_id}"): self._put_transaction,
            ("DELETE", "/plans/{plan_id}/transactions/{transaction_id}"):
                self._delete_transaction,
        }.get((method, template))
        if handler is None:
            raise YnabError(404, "404.1", "not_found",
                            "The specified URI is not supported by this fake.")
        return handler(budget=budget, parts=parts, query=query, body=body, knowledge=knowledge)

    def _budget_for(self, user_id, budget_id):
        if budget_id in ("last-used", "default") and self.users[user_id]["budgets"]:
            budget_id = self.users[user_id]["budgets"][0]
        budget = self.budgets.get(budget_id)
        if budget is None or budget.owner != user_id:
            raise not_found("The budget was not found")
        return budget

    @staticmethod
    def _knowledge(query):
        values = query.get("last_knowledge_of_server")
        return int(values[0]) if values else None

    @staticmethod
    def _changed(records, knowledge):
        """All live records, or every record changed after `knowledge` (deleted included)."""
        if knowledge is None:
            return [r for r in records if not r["deleted"]]
        return [r for r in records if r["_knowledge"] > knowledge]

    def _list_accounts(self, budget, knowledge, **_):
        accounts = self._changed(budget.accounts.values(), knowledge)
        return 200, {"data": {"accounts": [budget.render_account(a) for a in accounts],
                              "server_knowledge": budget.knowledge}}

    def _get_account(self, budget, parts, **_):
        account = budget.accounts.get(parts[3])
        if account is None:
            raise not_found("The account was not found")
        return 200, {"data": {"account": budget.render_account(account)}}

    def _list_payees(self, budget, knowledge, **_):
        payees = self._changed(budget.payees.values(), knowledge)
        return 200, {"data": {"payees": [budget.public(p) for p in payees],
                              "server_knowledge": budget.knowledge}}

    def _list_categories(self, budget, knowledge, **_):
        groups = []
        for group in budget.groups.values():
            members = [c for c in budget.categories.values()
                       if c["category_group_id"] == group["id"]]
            changed = self._changed(members, knowledge)
            group_changed = knowledge is None and not group["deleted"] or (
                knowledge is not None and group["_knowledge"] > knowledge)
            if changed or group_changed:
                out = budget.public(group)
                out["categories"] = [budget.render_category(c) for c in changed]
                groups.append(out)
        return 200, {"data": {"category_groups": groups, "server_knowledge": budget.knowledge}}

    def _list_transactions(self, budget, parts, query, knowledge, **_):
        account_id = parts[3] if len(parts) > 4 else None
        if account_id is not None and account_id not in budget.accounts:
            raise not_found("The account was not found")
        since = query.get("since_date", [None])[0]
        since = since or (datetime.date.today() - datetime.timedelta(days=365)).isoformat()
        until = query.get("until_date", [None])[0]
        kind = query.get("type", [None])[0]
        selected = []
        for transaction in self._changed(budget.transactions.values(), knowledge):
            if account_id and transaction["account_id"] != account_id:
                continue
            if transaction["date"] < since or (until and transaction["date"] > until):
                continue
            if kind == "uncategorized" and transaction["category_id"]:
                continue
            if kind == "unapproved" and transaction["approved"]:
                continue
            selected.append(budget.render_transaction(transaction))
        return 200, {"data": {"transactions": selected, "server_knowledge": budget.knowledge}}

    def _create_transactions(self, budget, body, **_):
        single = body.get("transaction")
        many = body.get("transactions")
        if (single is None) == (many is None):
            raise bad_request("provide either transaction or transactions")
        entries = [single] if single is not None else many
        # Validate every entry before creating any: YNAB answers 400 for the whole request.
        for index, entry in enumerate(entries):
            for required in ("account_id", "date", "amount"):
                if entry.get(required) is None:
                    raise bad_request(f"transactions[{index}].{required} is required")
            budget.check_references(entry)
        created = []
        duplicates = []
        for entry in entries:
            import_id = entry.get("import_id")
            if import_id and budget.find_import_id(entry["account_id"], import_id,
                                                   self.deleted_import_ids_block):
                if single is not None:
                    raise YnabError(409, "409", "conflict", "A transaction on the same "
                                    "account with the same import_id already exists.")
                duplicates.append(import_id)
                continue
            created.append(budget.create_transaction(dict(entry)))
        data = {"transaction_ids": [t["id"] for t in created],
                "server_knowledge": budget.knowledge}
        if single is not None:
            data["transaction"] = budget.render_transaction(created[0])
        else:
            data["transactions"] = [budget.render_transaction(t) for t in created]
            data["duplicate_import_ids"] = duplicates
        return 201, {"data": data}

    def _find(self, budget, entry):
        if entry.get("id"):
            transaction = budget.transactions.get(entry["id"])
        elif entry.get("import_id"):
            matches = [t for t in budget.transactions.values()
                       if t["import_id"] == entry["import_id"] and not t["deleted"]
                       and (entry.get("account_id") in (None, t["account_id"]))]
            transaction = matches[0] if len(matches) == 1 else None
        else:
            raise bad_request("each transaction needs an id or an import_id")
        if transaction is None:
            raise bad_request(f"transaction {entry.get('id') or entry.get('import_id')} was "
                              "not found")
        return transaction

    def _update_transactions(self, budget, body, **_):
        entries = body["transactions"]
        found = [self._find(budget, entry) for entry in entries]
        for entry in entries:
            budget.check_references(entry)
        updated = []
        for transaction, entry in zip(found, entries):
            fields = {k: v for k, v in entry.items() if k not in ("id", "import_id")}
            updated.append(budget.update_transaction(transaction, fields))
        return 209, {"data": {"transaction_ids": [t["id"] for t in updated],
                              "transactions": [budget.render_transaction(t) for t in updated],
                              "server_knowledge": budget.knowledge}}

    def _existing(self, budget, transaction_id):
        transaction = budget.transactions.get(transaction_id)
        if transaction is None or transaction["deleted"]:
            raise not_found("The transaction was not found")
        return transaction

    def _get_transaction(self, budget, parts, **_):
        transaction = self._existing(budget, parts[3])
        return 200, {"data": {"transaction": budget.render_transaction(transaction),
                              "server_knowledge": budget.knowledge}}

    def _put_transaction(self, budget, parts, body, **_):
        transaction = self._existing(budget, parts[3])
        fields = {k: v for k, v in body["transaction"].items() if k != "import_id"}
        budget.update_transaction(transaction, fields)
        return 200, {"data": {"transaction": budget.render_transaction(transaction),
                              "server_knowledge": budget.knowledge}}

    def _delete_transaction(self, budget, parts, **_):
        transaction = budget.delete_transaction(self._existing(budget, parts[3]))
        return 200, {"data": {"transaction": budget.render_transaction(transaction),
                              "server_knowledge": budget.knowledge}}

    # -- control API -----------------------------------------------------------------------------

    def control(self, method, path, body):
        with self.lock:
            if method == "GET" and path == "/__fake/requests":
                counts = collections.Counter(f"{r['method']} {r.get('operation') or r['path']}"
                                             for r in self.requests)
                return 200, {"requests": self.requests, "counts": counts}
            if method == "GET" and path == "/__fake/spec_violations":
                return 200, {"spec_violations": self.spec_violations,
                             "response_violations": self.response_violations}
            if method == "GET" and path == "/__fake/state":
                return 200, self.state()
            if method == "POST" and path == "/__fake/outage":
                self.set_outage(int(body.get("count", 1)), int(body.get("status", 503)))
                return 200, self.outage
            if method == "POST" and path == "/__fake/rate_limit":
                self.rate_limit_per_hour = int(body["per_hour"])
                return 200, {"per_hour": self.rate_limit_per_hour}
            if method == "POST" and path == "/__fake/reset_requests":
                self.requests.clear()
                return 200, {}
            match = re.fullmatch(r"/__fake/budgets/([^/]+)/transactions", path)
            if method == "POST" and match and match.group(1) in self.budgets:
                return 201, self.add_transaction(match.group(1), **body)
        return 404, {"error": "no such control route"}


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that hung up (a test killing finsync mid-request) is not the fake's error.
        error = sys.exc_info()[1]
        if isinstance(error, (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake = None  # Set per server by FakeYnab.start().

    def log_message(self, format, *args):  # noqa: A002 (BaseHTTPRequestHandler's signature)
        pass  # Quiet: tests read the request log instead.

    def _dispatch(self):
        length = int(self.headers.get("Content-Length") or 0)
        body_bytes = self.rfile.read(length) if length else b""
        if self.path.startswith("/__fake/"):
            try:
                body = json.loads(body_bytes) if body_bytes else {}
            except ValueError:
                body = {}
            status, answer = self.fake.control(self.command, self.path.split("?")[0], body)
        else:
            status, answer = self.fake.handle(self.command, self.path, self.headers, body_bytes)
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--config", help="seed JSON ({\"users\": [...]}, see default_seed)")
    parser.add_argument("--rate-limit-per-hour", type=int, default=200)
    arguments = parser.parse_args()
    seed = None
    if arguments.config:
        with open(arguments.config, encoding="utf-8") as config_file:
            seed = json.load(config_file)
    fake = FakeYnab(seed, rate_limit_per_hour=arguments.rate_limit_per_hour,
                    host=arguments.host, port=arguments.port).start()
    print(fake.port, flush=True)
    try:
        fake.thread.join()
    except KeyboardInterrupt:
        fake.close()


if __name__ == "__main__":
    main()
