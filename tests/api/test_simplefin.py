"""The SimpleFIN server, black box: a SimpleFIN client written from the protocol
(https://www.simplefin.org/protocol.html) decodes a setup token, claims it once, parses the access
URL's credentials and reads GET /accounts with HTTP Basic authentication, the way Actual Budget
does. What it reads must equal finsync's own API view of the same synced sandbox bank: accounts,
balances and every transaction, field by field, under the protocol's start-date (inclusive),
end-date (exclusive), pending, account and balances-only parameters. Also: a second claim and bad
or revoked credentials are refused with 403, no user ever sees another user's accounts, restricted
accesses, setup-token validation and expiry, and the per-access daily quota.

No npm package implements a SimpleFIN client, so the client here is plain Python.
"""

import base64
import calendar
import datetime
import http.client
import json
import math
import os
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from test_sync import (DE_BANK, SERVER_ARGUMENTS, BankClient, BankTestCase,  # noqa: E402
                       utc_now)

DAY = 86_400
TRANSACTION_FIELDS = {"id", "posted", "amount", "description", "payee", "memo", "transacted_at",
                      "pending"}


# ---------------------------------------------------------------------------------------------
# A SimpleFIN client, from the protocol


class Refused(Exception):
    """A claim or request the server answered with a status other than 200."""

    def __init__(self, status, body):
        super().__init__(f"{status}: {body!r}")
        self.status = status
        self.body = body


def _http(method, url, headers=None):
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def claim(setup_token):
    """Setup token -> access URL: base64-decode the token to the claim URL and POST to it."""
    claim_url = base64.b64decode(setup_token, validate=True).decode()
    status, headers, body = _http("POST", claim_url, {"Content-Length": "0"})
    if status != 200:
        raise Refused(status, body.decode())
    return body.decode()


class SimplefinClient:
    """Reads an access URL's resources with the Basic credentials it carries."""

    def __init__(self, access_url):
        parts = urllib.parse.urlsplit(access_url)
        self.username = urllib.parse.unquote(parts.username)
        self.password = urllib.parse.unquote(parts.password)
        self.root = urllib.parse.urlunsplit(
            (parts.scheme, f"{parts.hostname}:{parts.port}", parts.path, "", ""))

    def with_password(self, password):
        other = SimplefinClient.__new__(SimplefinClient)
        other.username, other.password, other.root = self.username, password, self.root
        return other

    def get(self, resource, params=(), authorization=True):
        """(status, headers, parsed JSON or text) of GET <root>/<resource>?params."""
        url = f"{self.root}/{resource}"
        if params:
            url += "?" + urllib.parse.urlencode(list(params))
        headers = {}
        if authorization:
            credentials = f"{self.username}:{self.password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode()
        status, response_headers, body = _http("GET", url, headers)
        text = body.decode()
        if response_headers.get("content-type", "").startswith("application/json"):
            return status, response_headers, json.loads(text)
        return status, response_headers, text

    def accounts(self, **params):
        """GET /accounts; params use the protocol's names with '_' for '-', a list for account."""
        query = []
        for name, value in params.items():
            for item in value if isinstance(value, list) else [value]:
                query.append((name.replace("_", "-"), item))
        status, headers, body = self.get("accounts", query)
        if status != 200:
            raise Refused(status, body)
        return body


# ---------------------------------------------------------------------------------------------
# finsync's view, turned into what the protocol says a server must answer


def epoch_of_date(text):
    return calendar.timegm(datetime.date.fromisoformat(text).timetuple())


def epoch_of_time(text):
    return math.floor(harness.parse_rfc3339(text).timestamp())


def expected_transaction(t):
    """finsync transaction -> SimpleFIN transaction, as docs/API.md documents the mapping."""
    pending = t["status"] == "PENDING"
    generated = t["generated"]
    if t["value_datetime"]:
        transacted_at = epoch_of_time(t["value_datetime"])
    elif t["booking_datetime"]:
        transacted_at = epoch_of_time(t["booking_datetime"])
    else:
        transacted_at = epoch_of_date(t["value_date"] or t["booking_date"] or generated["date"])
    remittance = t["remittance_information"]
    return {
        "id": str(t["id"]),
        "posted": 0 if pending else epoch_of_date(t["booking_date"] or generated["date"]),
        "amount": t["amount"],
        "description": generated["description"] or generated["payee"],
        "payee": generated["payee"],
        "memo": remittance["unstructured"] or remittance["structured"] or "",
        "transacted_at": transacted_at,
        "pending": pending,
    }


def in_window(transaction, start, end):
    instant = transaction["transacted_at"] if transaction["pending"] else transaction["posted"]
    return instant >= start and (end is None or instant < end)


def spec_order(transactions):
    return sorted(transactions, key=lambda t: (t["posted"], t["transacted_at"], int(t["id"])))


def midnight(days_ago):
    today = utc_now().date()
    return calendar.timegm((today - datetime.timedelta(days=days_ago)).timetuple())


# ---------------------------------------------------------------------------------------------


class SimplefinServerTest(BankTestCase):
    """One server; Alice and Bob each link the German sandbox bank once for the class."""

    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(SERVER_ARGUMENTS)
        cls.addClassCleanup(cls.server.close)
        cls.tokens = {}
        for email in ("alice@example.com", "bob@example.com", "carol@example.com",
                      "frank@example.com"):
            cls.server.create_user(email)
            cls.tokens[email] = cls.server.create_token(email, "main")["token"]
        cls.server.start()
        cls.linked = {}
        checker = unittest.TestCase()  # BankClient's assertions, outside any one test.
        for email in ("alice@example.com", "bob@example.com"):
            client = BankClient(checker, cls.server, cls.tokens[email])
            cls.linked[email] = client.linked_connection(history_days=120)

    def setUp(self):
        self.alice = BankClient(self, self.server, self.tokens["alice@example.com"])
        self.bob = BankClient(self, self.server, self.tokens["bob@example.com"])
        self.carol = BankClient(self, self.server, self.tokens["carol@example.com"])
        self.day = utc_now().date()

    def skip_if_day_changed(self):
        if utc_now().date() != self.day:
            self.skipTest("UTC midnight passed during the test: the default windows moved")

    def create_setup_token(self, client, body=None, expect=201):
        response = client.call("POST", "/api/v1/simplefin/setup-tokens", body, expect=expect)
        return response.body

    def new_client(self, client, body=None):
        created = self.create_setup_token(client, body)["data"]
        return created, SimplefinClient(claim(created["setup_token"]))

    def expected_accounts(self, client, start, end, pending, account_ids=None):
        """{account id: (account fields, transactions)} as finsync's own API shows them."""
        expected = {}
        for account in client.accounts():
            if account_ids is not None and account["id"] not in account_ids:
                continue
            transactions = [expected_transaction(t)
                            for t in client.transactions(bank_account_id=account["id"])]
            transactions = [t for t in transactions
                            if in_window(t, start, end) and (pending or not t["pending"])]
            expected[str(account["id"])] = (account, spec_order(transactions))
        return expected

    def assertAccountSetMatches(self, account_set, expected, label):
        self.assertEqual([a["id"] for a in account_set["accounts"]], sorted(
            expected, key=int), label)
        for account in account_set["accounts"]:
            source, transactions = expected[account["id"]]
            self.assertEqual(account["name"], source["display_name"] or source["name"], label)
            self.assertEqual(account["currency"], source["currency"], label)
            self.assertEqual(account["balance"], source["balance"]["booked"], label)
            self.assertEqual(account["available-balance"], source["balance"]["available"], label)
            self.assertIsInstance(account["balance-date"], int)
            self.assertEqual(account["org"]["id"], DE_BANK, label)
            self.assertEqual(account["org"]["name"], "finsync Sandbox Bank", label)
            self.assertEqual(account["org"]["sfin-url"], f"{self.server.base_url}/simplefin")
            for transaction in account["transactions"]:
                self.assertEqual(set(transaction), TRANSACTION_FIELDS, label)
            self.assertEqual(account["transactions"], transactions,
                             f"{label}: account {account['id']}")

    # -- the client flow -----------------------------------------------------------------------

    def test_client_flow_reads_what_finsync_shows(self):
        """Setup token -> claim -> access URL -> GET /accounts: every account, balance and
        transaction equals finsync's own API view, for several windows, with and without
        pending transactions."""
        created = self.create_setup_token(self.alice, {"name": "Actual Budget"})
        self.assertEqual(created["message"], "SimpleFIN setup token created.")
        access = created["data"]
        self.assertEqual(access["name"], "Actual Budget")
        self.assertEqual(access["status"], "UNCLAIMED")
        self.assertIsNone(access["bank_account_ids"])
        self.assertIsNone(access["claimed_at"])
        claim_url = base64.b64decode(access["setup_token"], validate=True).decode()
        self.assertTrue(claim_url.startswith(f"{self.server.base_url}/simplefin/claim/"),
                        claim_url)
        listed = self.alice.data("GET", "/api/v1/simplefin/accesses")
        self.assertIn(access["id"], [a["id"] for a in listed])
        self.assertTrue(all("setup_token" not in a for a in listed), listed)
        self.assertNotIn(access["setup_token"], json.dumps(listed))

        access_url = claim(access["setup_token"])
        parts = urllib.parse.urlsplit(access_url)
        self.assertEqual(parts.username, str(access["id"]))
        self.assertGreaterEqual(len(parts.password), 32)
        self.assertEqual(f"{parts.scheme}://{parts.hostname}:{parts.port}{parts.path}",
                         f"{self.server.base_url}/simplefin")
        client = SimplefinClient(access_url)

        status, _, info = client.get("info", authorization=False)
        self.assertEqual(status, 200)
        self.assertIn("1.0", info["versions"])

        self.skip_if_day_changed()
        windows = [
            ("default: the last 90 days", {}, midnight(0) - 90 * DAY, None),
            ("the last 30 days", {"start_date": midnight(30)}, midnight(30), None),
            ("an older stretch", {"start_date": midnight(60), "end_date": midnight(20)},
             midnight(60), midnight(20)),
        ]
        for label, params, start, end in windows:
            for pending in (False, True):
                with self.subTest(window=label, pending=pending):
                    query = dict(params, **({"pending": 1} if pending else {}))
                    account_set = client.accounts(**query)
                    self.assertEqual(account_set["errors"], [])
                    if not params:
                        # Without start-date the window ends now: compare against now.
                        start = int(utc_now().timestamp()) - 90 * DAY
                    expected = self.expected_accounts(self.alice, start, end, pending)
                    self.assertAccountSetMatches(account_set, expected, label)
                    found = [t for a in account_set["accounts"] for t in a["transactions"]]
                    self.assertTrue(found, f"{label}: the sandbox bank should hold transactions")
                    if not pending:
                        self.assertFalse(any(t["pending"] for t in found), label)

        accesses = {a["id"]: a for a in self.alice.data("GET", "/api/v1/simplefin/accesses")}
        self.assertEqual(accesses[access["id"]]["status"], "CLAIMED")
        self.assertIsNotNone(accesses[access["id"]]["claimed_at"])
        self.assertIsNotNone(accesses[access["id"]]["last_used_at"])

    def test_a_setup_token_is_claimed_once(self):
        """A second claim of the same setup token, an unknown claim token and a revoked
        unclaimed one are all 403 "Forbidden" (the body clients test for)."""
        created = self.create_setup_token(self.alice)["data"]
        access_url = claim(created["setup_token"])
        with self.assertRaises(Refused) as second:
            claim(created["setup_token"])
        self.assertEqual((second.exception.status, second.exception.body), (403, "Forbidden"))
        self.assertEqual(SimplefinClient(access_url).accounts(balances_only=1)["errors"], [])
        unknown = base64.b64encode(f"{self.server.base_url}/simplefin/claim/nope".encode())
        with self.assertRaises(Refused) as refused:
            claim(unknown.decode())
        self.assertEqual(refused.exception.status, 403)
        revoked = self.create_setup_token(self.alice)["data"]
        self.alice.call("DELETE", f"/api/v1/simplefin/accesses/{revoked['id']}", expect=204)
        with self.assertRaises(Refused) as refused:
            claim(revoked["setup_token"])
        self.assertEqual(refused.exception.status, 403)

    def test_dates_are_start_inclusive_and_end_exclusive(self):
        """A transaction posted on day D is in [D, D+1) and in [D, ...), never in [..., D)."""
        self.skip_if_day_changed()
        _, client = self.new_client(self.alice)
        everything = client.accounts(start_date=midnight(80))
        posted_days = sorted({t["posted"] for a in everything["accounts"]
                              for t in a["transactions"]})
        self.assertGreater(len(posted_days), 5)
        day = posted_days[len(posted_days) // 2]
        on_day = {t["id"] for a in everything["accounts"] for t in a["transactions"]
                  if t["posted"] == day}
        inside = client.accounts(start_date=day, end_date=day + DAY)
        self.assertEqual({t["id"] for a in inside["accounts"] for t in a["transactions"]}, on_day)
        before = client.accounts(start_date=day - 10 * DAY, end_date=day)
        before_ids = {t["id"] for a in before["accounts"] for t in a["transactions"]}
        self.assertFalse(before_ids & on_day)
        self.assertTrue(all(t["posted"] < day for a in before["accounts"]
                            for t in a["transactions"]))

    def test_ranges_beyond_ninety_days_are_capped_with_an_error(self):
        """start-date 200 days back: the answer holds an errors entry and only the last 90
        days before end-date."""
        self.skip_if_day_changed()
        _, client = self.new_client(self.alice)
        end = midnight(0)
        account_set = client.accounts(start_date=midnight(200), end_date=end)
        self.assertEqual(account_set["errors"],
                         ["Requested date range exceeds limit of 90 days and was capped."])
        expected = self.expected_accounts(self.alice, end - 90 * DAY, end, False)
        self.assertAccountSetMatches(account_set, expected, "capped")
        v2 = client.accounts(start_date=midnight(200), end_date=end, version=2)
        self.assertEqual([e["code"] for e in v2["errlist"]], ["gen.api"])

    def test_account_filter_and_balances_only(self):
        """account= narrows the set (in the order asked); ids the access cannot see are errors
        entries, including another user's; balances-only returns no transactions."""
        _, client = self.new_client(self.alice)
        alice_ids = [str(a["id"]) for a in self.linked["alice@example.com"][1]]
        bob_id = str(self.linked["bob@example.com"][1][0]["id"])
        account_set = client.accounts(account=[alice_ids[0], bob_id, "ACT-unknown"], pending=1)
        self.assertEqual([a["id"] for a in account_set["accounts"]], [alice_ids[0]])
        self.assertEqual(sorted(account_set["errors"]),
                         sorted([f"The account {bob_id} was not found.",
                                 "The account ACT-unknown was not found."]))
        start = int(utc_now().timestamp()) - 90 * DAY
        expected = self.expected_accounts(self.alice, start, None, True, {int(alice_ids[0])})
        self.assertAccountSetMatches(account_set, expected, "one account")
        balances = client.accounts(balances_only=1, pending=1)
        self.assertEqual([a["id"] for a in balances["accounts"]], alice_ids)
        self.assertTrue(all(a["transactions"] == [] for a in balances["accounts"]))

    def test_version_two_shape(self):
        """version=2: errlist, connections and conn_id instead of errors and org."""
        _, client = self.new_client(self.alice)
        connection_id = str(self.linked["alice@example.com"][0]["id"])
        account_set = client.accounts(version=2, balances_only=1, account=["404"])
        self.assertEqual(set(account_set), {"errlist", "connections", "accounts"})
        self.assertEqual(account_set["errlist"], [
            {"code": "act.", "msg": "The account 404 was not found.", "account_id": "404"}])
        self.assertEqual(account_set["connections"], [])
        account_set = client.accounts(version=2, balances_only=1)
        self.assertEqual(account_set["connections"], [{
            "conn_id": connection_id, "name": "finsync Sandbox Bank", "org_id": DE_BANK,
            "sfin_url": f"{self.server.base_url}/simplefin"}])
        for account in account_set["accounts"]:
            self.assertEqual(account["conn_id"], connection_id)
            self.assertNotIn("org", account)

    def test_malformed_parameters_are_400_with_errors(self):
        """A malformed date, flag or version is a 400 whose Account Set names the parameter;
        an unknown parameter is ignored and reported."""
        _, client = self.new_client(self.alice)
        for params in ([("start-date", "yesterday")], [("end-date", "-1")],
                       [("pending", "yes")], [("version", "3")],
                       [("start-date", "1"), ("start-date", "2")]):
            with self.subTest(params=params):
                status, _, body = client.get("accounts", params)
                self.assertEqual(status, 400, body)
                self.assertEqual(body["accounts"], [])
                self.assertIn(f"'{params[0][0]}'", body["errors"][0])
                self.assertEqual(body["errlist"][0]["code"], "gen.api")
        account_set = client.accounts(start_date=midnight(3), startdate=5, balances_only=1)
        self.assertEqual(account_set["errors"], [
            "The parameter 'startdate' is not part of the SimpleFIN protocol and was ignored."])

    # -- credentials, revocation, isolation ----------------------------------------------------

    def test_bad_or_revoked_credentials_are_403(self):
        """Wrong password, unknown username, no or non-Basic credentials: 403 "Forbidden".
        A revoked access is refused from then on, and its record says when."""
        created, client = self.new_client(self.alice)
        self.assertEqual(client.accounts(balances_only=1)["errors"], [])
        bad = [client.with_password(client.password + "x"),
               client.with_password(client.password[:-1]),
               client.with_password("")]
        other = SimplefinClient(client.root.replace("://", "://999999:x@"))
        for refused in bad + [other]:
            with self.assertRaises(Refused) as caught:
                refused.accounts()
            self.assertEqual((caught.exception.status, caught.exception.body), (403, "Forbidden"))
        status, _, body = client.get("accounts", authorization=False)
        self.assertEqual((status, body), (403, "Forbidden"))
        status, _, _ = _http("GET", f"{client.root}/accounts",
                             {"Authorization": f"Bearer {self.tokens['alice@example.com']}"})
        self.assertEqual(status, 403)

        path = f"/api/v1/simplefin/accesses/{created['id']}"
        self.assertProblem(self.bob.call("GET", path), 404, "not_found")
        self.assertProblem(self.bob.call("DELETE", path), 404, "not_found")
        self.assertEqual(client.accounts(balances_only=1)["errors"], [])
        self.alice.call("DELETE", path, expect=204)
        self.alice.call("DELETE", path, expect=204)
        with self.assertRaises(Refused) as caught:
            client.accounts()
        self.assertEqual(caught.exception.status, 403)
        record = self.alice.data("GET", path)
        self.assertEqual(record["status"], "REVOKED")
        self.assertIsNotNone(record["revoked_at"])
        self.assertProblem(self.alice.call("GET", "/api/v1/simplefin/accesses/0"), 404,
                           "not_found")
        self.assertProblem(self.server.request("GET", "/api/v1/simplefin/accesses"), 401,
                           "unauthenticated")

    def test_users_never_see_each_others_data(self):
        """Alice's and Bob's accesses each list exactly their own accounts and transactions."""
        _, alice_client = self.new_client(self.alice)
        _, bob_client = self.new_client(self.bob)
        seen = {}
        for name, client, bank_client in (("alice", alice_client, self.alice),
                                          ("bob", bob_client, self.bob)):
            account_set = client.accounts(pending=1, start_date=midnight(90))
            ids = {a["id"] for a in account_set["accounts"]}
            self.assertEqual(ids, {str(a["id"]) for a in bank_client.accounts()})
            transactions = {t["id"] for a in account_set["accounts"] for t in a["transactions"]}
            seen[name] = (ids, transactions)
        self.assertFalse(seen["alice"][0] & seen["bob"][0])
        self.assertFalse(seen["alice"][1] & seen["bob"][1])
        # Carol has no bank data at all: her access sees an empty set.
        _, carol_client = self.new_client(self.carol)
        self.assertEqual(carol_client.accounts(pending=1), {"errors": [], "accounts": []})

    def test_restricted_access_sees_only_its_accounts(self):
        """bank_account_ids restricts an access; the restriction is shown on the access."""
        first = self.linked["alice@example.com"][1][0]["id"]
        created, client = self.new_client(self.alice, {"bank_account_ids": [first]})
        self.assertEqual(created["bank_account_ids"], [first])
        account_set = client.accounts(balances_only=1)
        self.assertEqual([a["id"] for a in account_set["accounts"]], [str(first)])

    def test_setup_token_validation(self):
        """Bad bodies are 422 naming the field and create nothing; a body that is not JSON
        is 415; a replayed creation does not show the setup token again."""
        bob_account = self.linked["bob@example.com"][1][0]["id"]
        before = len(self.alice.data("GET", "/api/v1/simplefin/accesses"))
        cases = [
            ({"bank_account_ids": [bob_account]}, "bank_account_ids.0"),
            ({"bank_account_ids": []}, "bank_account_ids"),
            ({"bank_account_ids": "all"}, "bank_account_ids"),
            ({"bank_account_ids": ["1"]}, "bank_account_ids.0"),
            ({"name": ""}, "name"),
            ({"name": "x" * 101}, "name"),
            ({"name": 5}, "name"),
            ({"accounts": [1]}, "accounts"),
        ]
        for body, field in cases:
            with self.subTest(body=body):
                self.assertFieldError(
                    self.alice.call("POST", "/api/v1/simplefin/setup-tokens", body), field)
        response = self.server.request("POST", "/api/v1/simplefin/setup-tokens",
                                       self.tokens["alice@example.com"], raw_body="name=x",
                                       headers={"Content-Type": "text/plain"})
        self.assertProblem(response, 415, "unsupported_media_type")
        self.assertEqual(len(self.alice.data("GET", "/api/v1/simplefin/accesses")), before)
        key = {"Idempotency-Key": "simplefin-setup-1"}
        first = self.alice.call("POST", "/api/v1/simplefin/setup-tokens", {"name": "once"},
                                expect=201, headers=key)
        again = self.alice.call("POST", "/api/v1/simplefin/setup-tokens", {"name": "once"},
                                expect=201, headers=key)
        self.assertEqual(again.headers.get("idempotency-replayed"), "true")
        self.assertTrue(first.body["data"]["setup_token"])
        self.assertIsNone(again.body["data"]["setup_token"])
        self.assertEqual(again.body["data"]["id"], first.body["data"]["id"])

    def test_retention_bounds_what_clients_see(self):
        """With retention_days = 7 nothing older than seven days is served, whatever the
        window asks for."""
        self.skip_if_day_changed()
        frank = BankClient(self, self.server, self.tokens["frank@example.com"])
        frank.linked_connection(history_days=60)
        _, client = self.new_client(frank)
        self.assertTrue(any(t["posted"] and t["posted"] < midnight(7)
                            for a in client.accounts(start_date=midnight(60))["accounts"]
                            for t in a["transactions"]))
        frank.call("PUT", "/api/v1/user", {"retention_days": 7}, expect=200)
        account_set = client.accounts(start_date=midnight(60), pending=1)
        found = [t for a in account_set["accounts"] for t in a["transactions"]]
        self.assertTrue(found)
        for transaction in found:
            self.assertGreaterEqual(
                transaction["transacted_at"] if transaction["pending"] else transaction["posted"],
                midnight(7), transaction)


class SimplefinLimitsTest(BankTestCase):
    """Servers of their own: a small daily quota, and a setup token that expires."""

    def test_daily_quota_warns_then_refuses(self):
        """With 4 requests a day: the third answer carries a warning, the fifth is 429 with
        Retry-After and an errors entry; another access keeps its own quota."""
        server = harness.Server(SERVER_ARGUMENTS + ("--simplefin-requests-per-day", "4"))
        self.addCleanup(server.close)
        server.create_user("dave@example.com")
        token = server.create_token("dave@example.com")["token"]
        server.start()
        dave = BankClient(self, server, token)
        first = SimplefinClient(claim(dave.data(
            "POST", "/api/v1/simplefin/setup-tokens", expect=201)["setup_token"]))
        second = SimplefinClient(claim(dave.data(
            "POST", "/api/v1/simplefin/setup-tokens", expect=201)["setup_token"]))
        self.assertEqual(first.accounts()["errors"], [])
        self.assertEqual(first.accounts()["errors"], [])
        for _ in range(2):
            warned = first.accounts()["errors"]
            self.assertEqual(len(warned), 1)
            self.assertIn("more than 2 requests in the last day", warned[0])
        status, headers, body = first.get("accounts")
        self.assertEqual(status, 429, body)
        self.assertGreater(int(headers["retry-after"]), 0)
        self.assertIn("requests of the last day", body["errors"][0])
        self.assertEqual(body["accounts"], [])
        self.assertEqual(second.accounts()["errors"], [])

    def test_claim_secret_stays_out_of_the_access_log(self):
        """The claim URL's path holds a secret: the access log records the route instead."""
        arguments = tuple(a for a in SERVER_ARGUMENTS if a not in ("--access-log", "off"))
        server = harness.Server(arguments)
        self.addCleanup(server.close)
        log_path = os.path.join(server.directory, "access.log")
        server.extra_arguments += ["--access-log", log_path]
        server.create_user("gina@example.com")
        token = server.create_token("gina@example.com")["token"]
        server.start()
        gina = BankClient(self, server, token)
        setup_token = gina.data("POST", "/api/v1/simplefin/setup-tokens", expect=201)["setup_token"]
        secret = base64.b64decode(setup_token).decode().rsplit("/", 1)[1]
        access_url = claim(setup_token)
        with self.assertRaises(Refused):
            claim(setup_token)
        SimplefinClient(access_url).accounts()
        server.stop()
        with open(log_path, encoding="utf-8") as log_file:
            lines = [json.loads(line) for line in log_file if line.strip()]
        claims = [line for line in lines if line["route"] == "/simplefin/claim/{token}"]
        self.assertEqual([line["status"] for line in claims], [200, 403])
        self.assertEqual({line["path"] for line in claims}, {"/simplefin/claim/{token}"})
        password = urllib.parse.urlsplit(access_url).password
        with open(log_path, encoding="utf-8") as log_file:
            text = log_file.read()
        self.assertNotIn(secret, text)
        self.assertNotIn(password, text)

    def test_unclaimed_setup_tokens_expire(self):
        """A setup token not claimed within --simplefin-setup-token-ttl-hours is refused
        (403) and shows as EXPIRED."""
        server = harness.Server(SERVER_ARGUMENTS + ("--simplefin-setup-token-ttl-hours", "1"))
        self.addCleanup(server.close)
        server.create_user("erin@example.com")
        token = server.create_token("erin@example.com")["token"]
        server.start()
        erin = BankClient(self, server, token)
        created = erin.data("POST", "/api/v1/simplefin/setup-tokens", expect=201)
        expires = harness.parse_rfc3339(created["setup_token_expires_at"])
        self.assertAlmostEqual((expires - harness.parse_rfc3339(created["created_at"]))
                               .total_seconds(), 3600, delta=1)
        server.stop()
        server.extra_arguments += ["--clock-offset-seconds", "3700"]
        server.start()
        claim_url = base64.b64decode(created["setup_token"]).decode()
        claim_url = claim_url.split("/simplefin/", 1)[1]
        with self.assertRaises(Refused) as refused:
            claim(base64.b64encode(f"{server.base_url}/simplefin/{claim_url}".encode()).decode())
        self.assertEqual(refused.exception.status, 403)
        record = erin.data("GET", f"/api/v1/simplefin/accesses/{created['id']}")
        self.assertEqual(record["status"], "EXPIRED")


if __name__ == "__main__":
    unittest.main()
