"""A stateful fake of Lunch Money's v1 developer API, for tests (Python standard library only).

What it implements, and where each behaviour comes from. "Documented" means Lunch Money's v1
documentation (https://lunchmoney.dev, source: github.com/lunch-money/developers,
source/includes/_user.md, _assets.md, _transactions.md, _appendix.md); anything else is marked
as this fake's own choice.

- Bearer tokens (documented; `?access_token=` too, documented as "not recommended"). An unknown
  or missing token answers 401 {"name": "Error", "message": "Access token does not exist."}
  (the shape community clients handle; the v1 documentation does not show it).
- GET /v1/me: the user object (documented fields).
- GET /v1/assets: {"assets": [...]}, the account's manually-managed assets (documented).
- POST /v1/transactions (documented): at most 500 transactions; answers {"ids": [...]} with the
  ids of the inserted ones. A transaction whose external_id already exists on the same asset is
  skipped silently (documented: "deduping by external_id will occur regardless of this flag";
  community reports confirm a 200 that simply leaves it out), as is a second one inside the
  batch. skip_duplicates also skips same date + payee + amount on the same asset.
  debit_as_negative=true means negative amounts are expenses (default false: positive amounts
  are expenses). skip_balance_update defaults to true; when false the asset's balance moves.
  Validation (documented limits: payee <= 140, notes <= 350, external_id <= 75 characters,
  date YYYY-MM-DD, status cleared/uncleared, lowercase supported currency, asset of the same
  account) is all-or-nothing and answers {"error": ["Transaction 0 is missing date.", ...]}
  with `validation_error_status` (400 by default; v1 is known to answer some errors with 200,
  so tests can set 200). Amounts with more than 4 decimals are refused (the fake's choice:
  Lunch Money stores 4).
- GET /v1/transactions (documented filters asset_id, status, start_date + end_date (both or
  neither; neither = the current month), offset, limit (default 1000), debit_as_negative);
  answers {"transactions": [...], "has_more": bool}.
- GET /v1/transactions/{id} (documented, 404 {"error": "Transaction ID not found."}).
- PUT /v1/transactions/{id} (documented body {"transaction": {...}, "debit_as_negative"});
  answers {"updated": true}; 404 {"error": ["This transaction doesn't exist or you don't have
  access to it."]}. An external_id another transaction of the asset has is refused (documented
  uniqueness; the message is the fake's).
- No DELETE of a transaction: v1 has none (only transaction groups), so it answers 404 like
  any unknown route. A user deleting in the app is `delete_transaction()` / the control API;
  afterwards the external_id can be used again (changelog, Dec 20, 2024).
- Rate limit: v1 documents none. `set_rate_limit(limit, window_seconds)` makes the fake answer
  429 {"error": "Too Many Requests"} with Retry-After (as v2 documents) beyond `limit` requests
  per token per window. Off by default.
- Outage: `set_outage(count, status=503)` answers the next `count` API requests with that
  status and an HTML body, as a proxy in front of a failing server would.

Control API (no auth), for tests that drive the fake over HTTP:
  GET  /__control/state            everything (accounts, tokens, assets, transactions)
  GET  /__control/requests         the request log (method, path, query, body, token, status)
  POST /__control/reset            forget everything
  POST /__control/accounts         {"token", "user_name", "budget_name", "primary_currency",
                                    "assets": [{...}]} -> the account
  POST /__control/assets           {"token", "name", "currency", "balance", ...} -> the asset
  DELETE /__control/assets/{id}    the user deleted the asset in the app
  DELETE /__control/transactions/{id}   the user deleted the transaction in the app
  POST /__control/outage           {"count": N, "status": 503}
  POST /__control/rate_limit       {"limit": N, "window_seconds": S} (limit 0: off)
  POST /__control/settings         {"validation_error_status": 200}

In a test:  fake = FakeLunchMoney(); fake.start(); fake.add_account("tok", assets=[{...}]);
            ... fake.url ...; fake.stop()
Standalone: python3 tests/fakes/fake_lunchmoney.py --port 8089 [--config accounts.json]
"""

import argparse
import calendar
import copy
import datetime
import decimal
import http.server
import json
import math
import re
import sys
import threading
import time
import urllib.parse

INSERT_BATCH_MAX = 500
EXTERNAL_ID_LENGTH_MAX = 75
PAYEE_LENGTH_MAX = 140
NOTES_LENGTH_MAX = 350
DEFAULT_LIMIT = 1000
AMOUNT_PATTERN = re.compile(r"^-?\d+(\.\d+)?$")
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# The appendix's list of supported currencies.
SUPPORTED_CURRENCIES = frozenset("""
aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd btc btn bwp
byn bzd cad cdf chf clp cny cop crc cuc cup cve czk djf dkk dop dzd egp ern etb eur fjd fkp gbp
gel ggp ghs gip gmd gnf gtq gyd hkd hnl hrk htg huf idr ils imp inr iqd irr isk jep jmd jod jpy
kes kgs khr kmf kpw krw kwd kyd kzt lak lbp lkr lrd lsl ltl lvl lyd mad mdl mga mkd mmk mnt mop
mro mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd omr pab pen pgk php pkr pln pyg qar ron rsd
rub rwf sar sbd scr sdg sek sgd shp sll sos srd std svc syp szl thb tjs tmt tnd top try ttd twd
tzs uah ugx usd uyu uzs vef vnd vuv wst xaf xcd xof xpf yer zar zmw zwl
""".split())

FOUR_PLACES = decimal.Decimal("0.0001")


def lunch_money_length(text):
    """Length as Lunch Money (JavaScript) counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def now_iso():
    moment = datetime.datetime.now(datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def valid_date(text):
    if not isinstance(text, str) or not DATE_PATTERN.match(text):
        return False
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def parse_amount(value):
    """A Decimal from a JSON number or numeric string, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, decimal.Decimal)):
        amount = decimal.Decimal(value)
    elif isinstance(value, str) and AMOUNT_PATTERN.match(value.strip()):
        amount = decimal.Decimal(value.strip())
    else:
        return None
    if not amount.is_finite():
        return None
    return amount


def format_amount(amount):
    if amount == 0:
        amount = abs(amount)  # Never "-0.0000".
    return str(amount.quantize(FOUR_PLACES))


class ApiError(Exception):
    """An answer other than 200: status and JSON body."""

    def __init__(self, status, body, headers=None):
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


class FakeLunchMoney:
    """The fake's state and its HTTP server. Thread-safe: one lock guards all state."""

    def __init__(self, host="127.0.0.1", port=0, validation_error_status=400):
        self.host = host
        self.requested_port = port
        self.validation_error_status = validation_error_status
        self._lock = threading.RLock()
        self._server = None
        self._thread = None
        self.reset()

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self):
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = http.server.ThreadingHTTPServer((self.host, self.requested_port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="fake-lunchmoney")
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    @property
    def port(self):
        return self._server.server_address[1]

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- test controls ---------------------------------------------------------------------------

    def reset(self):
        with self._lock:
            self.accounts = {}        # account_id -> account
            self.tokens = {}          # token -> account_id
            self.assets = {}          # asset id -> asset (with "account_id")
            self.transactions = {}    # id -> transaction (amount: positive = expense)
            self.request_log = []
            self._next_account_id = 18221
            self._next_user_id = 18328
            self._next_asset_id = 72
            self._next_transaction_id = 54
            self._outage_remaining = 0
            self._outage_status = 503
            self._rate_limit = 0
            self._rate_window_seconds = 60
            self._rate_windows = {}

    def add_account(self, token, user_name="User 1", user_email="user-1@lunchmoney.dev",
                    budget_name="Family budget", primary_currency="usd", assets=(),
                    categories=(), api_key_label=None):
        """Creates a budgeting account reachable with `token`; returns it (a copy)."""
        with self._lock:
            account_id = self._next_account_id
            self._next_account_id += 1
            account = {"account_id": account_id, "user_id": self._next_user_id,
                       "user_name": user_name, "user_email": user_email,
                       "budget_name": budget_name, "primary_currency": primary_currency,
                       "api_key_label": api_key_label, "categories": list(categories)}
            self._next_user_id += 1
            self.accounts[account_id] = account
            self.tokens[token] = account_id
            for asset in assets:
                self.add_asset(token, **asset)
            return copy.deepcopy(account)

    def add_token(self, token, existing_token):
        """A second token for the account behind `existing_token`."""
        with self._lock:
            self.tokens[token] = self.tokens[existing_token]

    def revoke_token(self, token):
        with self._lock:
            self.tokens.pop(token, None)

    def add_asset(self, token, name="Checking", currency="usd", balance="0.0000",
                  type_name="cash", subtype_name="checking", display_name=None,
                  institution_name="Bank of Me", closed_on=None, asset_id=None):
        with self._lock:
            account_id = self.tokens[token]
            if asset_id is None:
                asset_id = self._next_asset_id
                self._next_asset_id += 1
            asset = {"id": asset_id, "account_id": account_id, "type_name": type_name,
                     "subtype_name": subtype_name, "name": name, "display_name": display_name,
                     "balance": decimal.Decimal(str(balance)), "balance_as_of": now_iso(),
                     "currency": currency, "institution_name": institution_name,
                     "closed_on": closed_on, "status": "closed" if closed_on else "active",
                     "created_at": now_iso()}
            self.assets[asset_id] = asset
            return self._render_asset(asset)

    def remove_asset(self, asset_id):
        with self._lock:
            self.assets.pop(asset_id, None)

    def delete_transaction(self, transaction_id):
        """The user deletes a transaction in the Lunch Money app (v1 has no API for it)."""
        with self._lock:
            return self.transactions.pop(transaction_id, None) is not None

    def set_outage(self, count, status=503):
        with self._lock:
            self._outage_remaining = count
            self._outage_status = status

    def set_rate_limit(self, limit, window_seconds=60):
        with self._lock:
            self._rate_limit = limit
            self._rate_window_seconds = window_seconds
            self._rate_windows = {}

    def requests(self, path_prefix="/v1/"):
        with self._lock:
            return [dict(entry) for entry in self.request_log
                    if entry["path"].startswith(path_prefix)]

    def transactions_of(self, asset_id):
        """The stored transactions of an asset, rendered with debit_as_negative=true."""
        with self._lock:
            return [self._render_transaction(t, True) for t in self._sorted_transactions()
                    if t["asset_id"] == asset_id]

    def state(self):
        with self._lock:
            return {
                "accounts": copy.deepcopy(list(self.accounts.values())),
                "tokens": dict(self.tokens),
                "assets": [self._render_asset(a) | {"account_id": a["account_id"]}
                           for a in self.assets.values()],
                "transactions": [self._render_transaction(t, True) | {
                    "account_id": t["account_id"]} for t in self._sorted_transactions()],
            }

    # -- the API ---------------------------------------------------------------------------------

    def handle(self, method, path, query, headers, raw_body):
        """Answers one request: (status, body, headers). Body is JSON-able or a str (HTML)."""
        if path.startswith("/__control/"):
            with self._lock:
                return self._control(method, path, raw_body)
        token = self._token(headers, query)
        entry = {"method": method, "path": path, "query": query, "token": token,
                 "body": _loads_or_text(raw_body), "time": time.time()}
        with self._lock:
            self.request_log.append(entry)
            try:
                status, body, extra = self._api(method, path, query, token, raw_body)
            except ApiError as error:
                status, body, extra = error.status, error.body, error.headers
            entry["status"] = status
            return status, body, extra

    def _api(self, method, path, query, token, raw_body):
        if self._outage_remaining > 0:
            self._outage_remaining -= 1
            return (self._outage_status,
                    f"<html><body>{self._outage_status} Service Temporarily Unavailable"
                    "</body></html>", {})
        account = self._account(token)
        self._count_request(token)
        if method == "GET" and path == "/v1/me":
            return 200, self._render_user(account), {}
        if method == "GET" and path == "/v1/assets":
            assets = [self._render_asset(a) for a in self.assets.values()
                      if a["account_id"] == account["account_id"]]
            return 200, {"assets": assets}, {}
        if path == "/v1/transactions" and method == "POST":
            return 200, self._insert(account, _json_body(raw_body)), {}
        if path == "/v1/transactions" and method == "GET":
            return 200, self._list(account, query), {}
        match = re.fullmatch(r"/v1/transactions/(\d+)", path)
        if match and method == "GET":
            transaction = self._owned_transaction(account, int(match.group(1)))
            if transaction is None:
                raise ApiError(404, {"error": "Transaction ID not found."})
            return 200, self._render_transaction(transaction, _flag(query, "debit_as_negative")), {}
        if match and method == "PUT":
            return 200, self._update(account, int(match.group(1)), _json_body(raw_body)), {}
        raise ApiError(404, {"error": "Not found."})

    def _token(self, headers, query):
        authorization = headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            return authorization[7:].strip()
        return query.get("access_token")

    def _account(self, token):
        account_id = self.tokens.get(token) if token else None
        if account_id is None:
            raise ApiError(401, {"name": "Error", "message": "Access token does not exist."})
        return self.accounts[account_id]

    def _count_request(self, token):
        if self._rate_limit <= 0:
            return
        now = time.monotonic()
        window = self._rate_windows.get(token)
        if window is None or now - window[0] >= self._rate_window_seconds:
            window = [now, 0]
            self._rate_windows[token] = window
        window[1] += 1
        if window[1] > self._rate_limit:
            retry_after = max(1, math.ceil(self._rate_window_seconds - (now - window[0])))
            raise ApiError(429, {"error": "Too Many Requests"},
                           {"Retry-After": str(retry_after)})

    def _invalid(self, messages):
        raise ApiError(self.validation_error_status, {"error": messages})

    # -- insert ----------------------------------------------------------------------------------

    def _insert(self, account, body):
        if not isinstance(body, dict) or not isinstance(body.get("transactions"), list):
            self._invalid(["Must provide a transactions array."])
        items = body["transactions"]
        if not items:
            self._invalid(["Must provide at least one transaction."])
        if len(items) > INSERT_BATCH_MAX:
            self._invalid([f"A maximum of {INSERT_BATCH_MAX} transactions may be inserted per "
                           f"request; received {len(items)}."])
        errors = []
        for index, item in enumerate(items):
            errors += self._check_fields(account, item, f"Transaction {index} ", insert=True)
        if errors:
            self._invalid(errors)
        debit_as_negative = body.get("debit_as_negative") is True
        skip_duplicates = body.get("skip_duplicates") is True
        update_balance = body.get("skip_balance_update") is False
        ids = []
        for item in items:
            amount = parse_amount(item["amount"])
            stored = -amount if debit_as_negative else amount  # Positive: an expense.
            asset_id = item.get("asset_id")
            payee = item.get("payee") or ""
            external_id = item.get("external_id")
            if external_id is not None and self._find_external(asset_id, external_id, account):
                continue  # Documented: external_id dedup always runs, silently.
            if skip_duplicates and self._find_same(account, asset_id, item["date"], payee, stored):
                continue
            transaction_id = self._next_transaction_id
            self._next_transaction_id += 1
            created = now_iso()
            self.transactions[transaction_id] = {
                "id": transaction_id, "account_id": account["account_id"], "date": item["date"],
                "payee": payee, "amount": stored,
                "currency": item.get("currency") or account["primary_currency"],
                "notes": item.get("notes"), "status": item.get("status", "uncleared"),
                "asset_id": asset_id, "external_id": external_id,
                "category_id": item.get("category_id"),
                "tags": [t for t in item.get("tags") or []],
                "created_at": created, "updated_at": created}
            if update_balance and asset_id is not None:
                self.assets[asset_id]["balance"] -= stored
            ids.append(transaction_id)
        return {"ids": ids}

    def _check_fields(self, account, item, prefix, insert):
        """Error messages for one transaction object (insert or update)."""
        if not isinstance(item, dict):
            return [f"{prefix}is not an object."]
        errors = []
        if "date" in item or insert:
            if item.get("date") is None:
                errors.append(f"{prefix}is missing date.")
            elif not valid_date(item["date"]):
                errors.append(f"{prefix}date must be in ISO 8601 format (YYYY-MM-DD): "
                              f"{item['date']}")
        if "amount" in item or insert:
            if item.get("amount") is None:
                errors.append(f"{prefix}is missing amount.")
            else:
                amount = parse_amount(item["amount"])
                if amount is None:
                    errors.append(f"{prefix}amount must be a number: {item['amount']}")
                elif amount.as_tuple().exponent < -4:
                    errors.append(f"{prefix}amount must have at most 4 decimal places: "
                                  f"{item['amount']}")
        if "payee" in item and item["payee"] is not None:
            if not isinstance(item["payee"], str):
                errors.append(f"{prefix}payee must be a string.")
            elif lunch_money_length(item["payee"]) > PAYEE_LENGTH_MAX:
                errors.append(f"{prefix}payee must be at most {PAYEE_LENGTH_MAX} characters.")
        if "notes" in item and item["notes"] is not None:
            if not isinstance(item["notes"], str):
                errors.append(f"{prefix}notes must be a string.")
            elif lunch_money_length(item["notes"]) > NOTES_LENGTH_MAX:
                errors.append(f"{prefix}notes must be at most {NOTES_LENGTH_MAX} characters.")
        if "currency" in item:
            currency = item["currency"]
            if not isinstance(currency, str) or currency not in SUPPORTED_CURRENCIES:
                errors.append(f"{prefix}currency must be a supported three-letter lowercase "
                              f"currency code: {currency}")
        if "status" in item and item["status"] not in ("cleared", "uncleared"):
            status = "null" if item["status"] is None else item["status"]
            errors.append(f"{prefix}status must be either cleared or uncleared: {status}")
        if "asset_id" in item and item["asset_id"] is not None:
            asset = self.assets.get(item["asset_id"]) if isinstance(item["asset_id"], int) \
                else None
            if asset is None or asset["account_id"] != account["account_id"]:
                errors.append(f"{prefix}asset_id {item['asset_id']} does not exist or does not "
                              "belong to this account.")
        if "external_id" in item and item["external_id"] is not None:
            external_id = item["external_id"]
            if not isinstance(external_id, str):
                errors.append(f"{prefix}external_id must be a string.")
            elif lunch_money_length(external_id) > EXTERNAL_ID_LENGTH_MAX:
                errors.append(f"{prefix}external_id must be at most {EXTERNAL_ID_LENGTH_MAX} "
                              "characters.")
        if "category_id" in item and item["category_id"] is not None:
            if item["category_id"] not in account["categories"]:
                errors.append(f"{prefix}category_id {item['category_id']} does not exist.")
        if "tags" in item and item["tags"] is not None:
            if not isinstance(item["tags"], list) or not all(
                    isinstance(tag, str) for tag in item["tags"]):
                errors.append(f"{prefix}tags must be an array of tag names.")
        return errors

    def _find_external(self, asset_id, external_id, account, other_than=None):
        for transaction in self.transactions.values():
            if (transaction["account_id"] == account["account_id"]
                    and transaction["asset_id"] == asset_id
                    and transaction["external_id"] == external_id
                    and transaction["id"] != other_than):
                return transaction
        return None

    def _find_same(self, account, asset_id, date, payee, stored):
        for transaction in self.transactions.values():
            if (transaction["account_id"] == account["account_id"]
                    and transaction["asset_id"] == asset_id and transaction["date"] == date
                    and transaction["payee"] == payee and transaction["amount"] == stored):
                return transaction
        return None

    # -- read ------------------------------------------------------------------------------------

    def _list(self, account, query):
        start, end = query.get("start_date"), query.get("end_date")
        if (start is None) != (end is None):
            self._invalid("Both start_date and end_date must be specified.")
        if start is None:
            today = datetime.date.today()
            start = today.replace(day=1).isoformat()
            last = calendar.monthrange(today.year, today.month)[1]
            end = today.replace(day=last).isoformat()
        if not valid_date(start) or not valid_date(end):
            self._invalid("start_date and end_date must be in YYYY-MM-DD format.")
        offset = _integer(query, "offset", 0)
        limit = _integer(query, "limit", DEFAULT_LIMIT)
        asset_id = _integer(query, "asset_id", None)
        status = query.get("status")
        debit_as_negative = _flag(query, "debit_as_negative")
        selected = [t for t in self._sorted_transactions()
                    if t["account_id"] == account["account_id"] and start <= t["date"] <= end
                    and (asset_id is None or t["asset_id"] == asset_id)
                    and (status is None or t["status"] == status)]
        page = selected[offset:offset + limit]
        return {"transactions": [self._render_transaction(t, debit_as_negative) for t in page],
                "has_more": offset + limit < len(selected)}

    def _owned_transaction(self, account, transaction_id):
        transaction = self.transactions.get(transaction_id)
        if transaction is None or transaction["account_id"] != account["account_id"]:
            return None
        return transaction

    def _sorted_transactions(self):
        return sorted(self.transactions.values(), key=lambda t: (t["date"], t["id"]))

    # -- update ----------------------------------------------------------------------------------

    def _update(self, account, transaction_id, body):
        transaction = self._owned_transaction(account, transaction_id)
        if transaction is None:
            raise ApiError(404, {"error": [
                "This transaction doesn't exist or you don't have access to it."]})
        if not isinstance(body, dict) or not isinstance(body.get("transaction"), dict):
            if isinstance(body, dict) and "split" in body:
                self._invalid(["Splitting is not supported by this fake."])
            self._invalid(["Must provide a transaction object."])
        changes = body["transaction"]
        errors = self._check_fields(account, changes, "", insert=False)
        asset_id = changes.get("asset_id", transaction["asset_id"])
        external_id = changes.get("external_id")
        if not errors and external_id is not None and self._find_external(
                asset_id, external_id, account, other_than=transaction_id):
            errors.append(f"external_id {external_id} already exists for asset_id {asset_id}.")
        if errors:
            self._invalid(errors)
        for key in ("date", "payee", "notes", "status", "asset_id", "external_id",
                    "category_id", "currency"):
            if key in changes:
                transaction[key] = changes[key]
        if "tags" in changes:
            transaction["tags"] = list(changes["tags"] or [])
        if "amount" in changes:
            amount = parse_amount(changes["amount"])
            transaction["amount"] = -amount if body.get("debit_as_negative") is True else amount
        transaction["updated_at"] = now_iso()
        return {"updated": True}

    # -- rendering -------------------------------------------------------------------------------

    def _render_user(self, account):
        return {"user_name": account["user_name"], "user_email": account["user_email"],
                "user_id": account["user_id"], "account_id": account["account_id"],
                "budget_name": account["budget_name"],
                "primary_currency": account["primary_currency"],
                "api_key_label": account["api_key_label"]}

    def _render_asset(self, asset):
        rendered = {key: value for key, value in asset.items() if key != "account_id"}
        rendered["balance"] = format_amount(asset["balance"])
        rendered["to_base"] = float(asset["balance"])
        return rendered

    def _render_transaction(self, transaction, debit_as_negative):
        amount = -transaction["amount"] if debit_as_negative else transaction["amount"]
        asset = self.assets.get(transaction["asset_id"]) if transaction["asset_id"] else None
        return {
            "id": transaction["id"], "date": transaction["date"], "payee": transaction["payee"],
            "amount": format_amount(amount), "currency": transaction["currency"],
            "to_base": float(amount), "category_id": transaction["category_id"],
            "category_name": None, "category_group_id": None, "category_group_name": None,
            "is_income": False, "exclude_from_budget": False, "exclude_from_totals": False,
            "created_at": transaction["created_at"], "updated_at": transaction["updated_at"],
            "status": transaction["status"], "is_pending": False, "notes": transaction["notes"],
            "original_name": None, "recurring_id": None, "recurring_payee": None,
            "recurring_description": None, "recurring_cadence": None, "recurring_type": None,
            "recurring_amount": None, "recurring_currency": None, "parent_id": None,
            "has_children": False, "group_id": None, "is_group": False,
            "asset_id": transaction["asset_id"],
            "asset_institution_name": asset["institution_name"] if asset else None,
            "asset_name": asset["name"] if asset else None,
            "asset_display_name": asset["display_name"] if asset else None,
            "asset_status": asset["status"] if asset else None,
            "plaid_account_id": None, "plaid_account_name": None, "plaid_account_mask": None,
            "institution_name": None, "plaid_account_display_name": None,
            "plaid_metadata": None, "plaid_category": None, "source": "api",
            "display_name": transaction["payee"], "display_notes": transaction["notes"],
            "account_display_name": asset["name"] if asset else "",
            "tags": [{"name": tag, "id": index + 1}
                     for index, tag in enumerate(transaction["tags"])],
            "external_id": transaction["external_id"],
        }

    # -- control API -----------------------------------------------------------------------------

    def _control(self, method, path, raw_body):
        body = _loads_or_text(raw_body) if raw_body else {}
        body = body if isinstance(body, dict) else {}
        if method == "GET" and path == "/__control/state":
            return 200, _json_safe(self.state()), {}
        if method == "GET" and path == "/__control/requests":
            return 200, _json_safe(self.requests()), {}
        if method == "POST" and path == "/__control/reset":
            self.reset()
            return 200, {"reset": True}, {}
        if method == "POST" and path == "/__control/accounts":
            token = body.pop("token", None)
            if not token:
                return 400, {"error": "token is required"}, {}
            return 200, _json_safe(self.add_account(token, **body)), {}
        if method == "POST" and path == "/__control/assets":
            token = body.pop("token", None)
            if token not in self.tokens:
                return 400, {"error": "token is unknown"}, {}
            return 200, _json_safe(self.add_asset(token, **body)), {}
        match = re.fullmatch(r"/__control/(assets|transactions)/(\d+)", path)
        if method == "DELETE" and match:
            if match.group(1) == "assets":
                self.remove_asset(int(match.group(2)))
            else:
                self.delete_transaction(int(match.group(2)))
            return 200, {"deleted": True}, {}
        if method == "POST" and path == "/__control/outage":
            self.set_outage(int(body.get("count", 1)), int(body.get("status", 503)))
            return 200, {"outage": True}, {}
        if method == "POST" and path == "/__control/rate_limit":
            self.set_rate_limit(int(body.get("limit", 0)), int(body.get("window_seconds", 60)))
            return 200, {"rate_limit": True}, {}
        if method == "POST" and path == "/__control/settings":
            if "validation_error_status" in body:
                self.validation_error_status = int(body["validation_error_status"])
            return 200, {"settings": True}, {}
        return 404, {"error": "unknown control route"}, {}


def _loads_or_text(raw_body):
    if not raw_body:
        return None
    try:
        return json.loads(raw_body, parse_float=decimal.Decimal)
    except ValueError:
        return raw_body.decode("utf-8", "replace")


def _json_body(raw_body):
    try:
        return json.loads(raw_body or b"null", parse_float=decimal.Decimal)
    except ValueError:
        raise ApiError(400, {"error": "Invalid JSON body."}) from None


def _flag(query, name):
    return query.get(name) == "true"


def _integer(query, name, default):
    text = query.get(name)
    if text is None:
        return default
    if not re.fullmatch(r"\d+", text):
        raise ApiError(400, {"error": f"{name} must be a non-negative integer."})
    return int(text)


def _json_safe(value):
    return json.loads(json.dumps(value, default=str))


class _Handler(http.server.BaseHTTPRequestHandler):
    owner = None
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _serve(self):
        parsed = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, body, extra = self.owner.handle(self.command, parsed.path, query, headers,
                                                raw_body)
        if isinstance(body, str):
            payload, content_type = body.encode(), "text/html; charset=utf-8"
        else:
            payload = json.dumps(body, default=str).encode()
            content_type = "application/json; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve


def main(arguments=None):
    parser = argparse.ArgumentParser(description="Fake Lunch Money v1 API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--config", help="JSON: {\"accounts\": [{\"token\": ..., \"assets\": "
                                         "[...]}]}")
    options = parser.parse_args(arguments)
    fake = FakeLunchMoney(options.host, options.port)
    if options.config:
        with open(options.config, encoding="utf-8") as config_file:
            for account in json.load(config_file).get("accounts", []):
                fake.add_account(account.pop("token"), **account)
    fake.start()
    print(fake.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
