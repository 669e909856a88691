"""Bank data and sync (issue 3), black box: supported banks, sandbox bank connections through
their consent life cycle, accounts and balances, scheduled and manual syncs, transactions and the
change feed, tenant isolation, re-syncs that change nothing, and kill -9 in the middle of a sync.

The fault-injection tests (health, retries, rate limits, consent expiry) are in
test_sync_faults.py, which reuses `BankClient` and the helpers below.

The server runs on the real clock and the sandbox bank answers "as of now": an event can occur,
or a pending transaction can book, between two syncs a few seconds apart. Comparisons of two
syncs therefore ignore the (rare) transactions whose booking or value time falls inside the
test's own time window (`compare_transaction_sets`), and a test that crosses UTC midnight is
skipped, since the date ranges move with the day.
"""

import collections
import datetime
import glob
import http.client
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

# The sandbox bank in Germany: EUR, pending transactions without ids, 730 days of history.
DE_BANK = "SANDBOX_FINSYNC_SBXFDEB1"
DE_BANK_MAX_HISTORY_DAYS = 730
FAR_PAST = "2000-01-01"  # A date_from before any bank's history: clamped to the connection's.
FIRST_SYNC_TIMEOUT_SECONDS = 15.0
# The per-token API rate limits are someone else's subject; these tests make many syncs.
SERVER_ARGUMENTS = ("--access-log", "off", "--rate-limit-read", "0", "--rate-limit-write", "0",
                    "--rate-limit-sync", "0")
# Transactions whose booking/value time is this close to the test's window may legitimately
# differ between two syncs (see the module docstring).
CLOCK_SLACK = datetime.timedelta(seconds=5)
CONNECTION_FAILURES = (OSError, http.client.HTTPException)


# ---------------------------------------------------------------------------------------------
# Small utilities


def wait_for(description, predicate, timeout_seconds, interval_seconds=0.05):
    """Polls `predicate` until it returns a true value (returned) or the time is up (fails)."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_seconds}s waiting for {description}")
        time.sleep(interval_seconds)


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def open_database_read_only(path):
    """A read-only SQLite connection to a server's database (safe beside the WAL writer)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0)
    connection.execute("PRAGMA query_only = 1")
    return connection


def query_database(path, sql, parameters=()):
    connection = open_database_read_only(path)
    try:
        return connection.execute(sql, parameters).fetchall()
    finally:
        connection.close()


def duplicate_source_ids(db_path):
    """(account, transaction_id, count) for every source id stored more than once."""
    return query_database(
        db_path,
        "SELECT bank_account_id, transaction_id, COUNT(*) FROM bank_transactions "
        "WHERE transaction_id IS NOT NULL GROUP BY bank_account_id, transaction_id "
        "HAVING COUNT(*) > 1")


def stored_row_count(db_path, account_id):
    return query_database(db_path, "SELECT COUNT(*) FROM bank_transactions "
                                   "WHERE bank_account_id = ?", (account_id,))[0][0]


def content_of(transaction):
    """Everything the bank said about a transaction (no finsync ids or timestamps)."""
    t = transaction
    return (t["status"], t["transaction_id"], t["internal_transaction_id"], t["booking_date"],
            t["value_date"], t["booking_datetime"], t["value_datetime"], t["amount_minor"],
            t["currency"], t["creditor"]["name"], t["creditor"]["iban"], t["debtor"]["name"],
            t["debtor"]["iban"], t["remittance_information"]["unstructured"],
            t["remittance_information"]["structured"], t["additional_information"],
            t["bank_transaction_code"])


def _inside(text, window):
    if not text:
        return False
    moment = harness.parse_rfc3339(text)
    return window[0] - CLOCK_SLACK <= moment <= window[1] + CLOCK_SLACK


def compare_transaction_sets(test, actual, expected, window, label):
    """Asserts two transaction lists hold the same bank data as multisets (so genuine twins
    must appear as often on both sides), ignoring only events that occurred or booked inside
    `window` (a pair of datetimes): the sandbox's own clock moved those between the syncs."""
    moving = {(t["bank_account_id"], t["value_datetime"], t["amount_minor"])
              for t in list(actual) + list(expected)
              if _inside(t["booking_datetime"], window) or _inside(t["value_datetime"], window)}

    def settled(rows):
        return collections.Counter(
            content_of(t) for t in rows
            if (t["bank_account_id"], t["value_datetime"], t["amount_minor"]) not in moving)

    actual_set, expected_set = settled(actual), settled(expected)
    test.assertLessEqual(len(moving), 5, f"{label}: too many transactions moved with the clock "
                                         f"to compare reliably: {sorted(moving, key=str)[:10]}")
    missing = expected_set - actual_set
    extra = actual_set - expected_set
    test.assertFalse(missing or extra,
                     f"{label}: {sum(missing.values())} missing and {sum(extra.values())} extra "
                     f"transactions.\nmissing (first 5): {list(missing)[:5]}\n"
                     f"extra (first 5): {list(extra)[:5]}")


def pending_rows_with_booked_twin(transactions):
    """Pending transactions whose booked version (same account and event time) is also stored:
    the pending row should have been updated in place, not kept beside a second row."""
    booked = {(t["bank_account_id"], t["value_datetime"])
              for t in transactions if t["status"] == "BOOKED" and t["value_datetime"]}
    return [t for t in transactions if t["status"] == "PENDING" and
            (t["bank_account_id"], t["value_datetime"]) in booked]


def query_string(parameters):
    return urllib.parse.urlencode([(k, v) for k, v in parameters.items() if v is not None])


# ---------------------------------------------------------------------------------------------
# A client for the bank-data routes of one user


class BankClient:
    """The bank-data API as one user sees it; each call asserts the expected status."""

    def __init__(self, test, server, token):
        self.test = test
        self.server = server
        self.token = token

    def call(self, method, path, body=None, expect=None, **kwargs):
        response = self.server.request(method, path, self.token, body, **kwargs)
        if expect is not None:
            self.test.assertEqual(response.status, expect,
                                  f"{method} {path} {body!r} -> {response.status} "
                                  f"{response.body!r}")
        return response

    def data(self, method, path, body=None, expect=200):
        return self.call(method, path, body, expect=expect).body["data"]

    # -- connections ---------------------------------------------------------------------------

    def create_connection(self, bank_id=DE_BANK, **fields):
        response = self.call("POST", "/api/v1/banks/connections",
                             {"bank_id": bank_id, **fields}, expect=201)
        self.test.assertEqual(response.body["message"], "Bank connection created.")
        return response.body["data"]

    def connection(self, connection_id):
        return self.data("GET", f"/api/v1/banks/connections/{connection_id}")

    def approve(self, connection_id):
        return self.data("POST", f"/api/v1/banks/connections/{connection_id}/sandbox/approve")

    def set_faults(self, connection_id, spec):
        return self.data("PUT", f"/api/v1/banks/connections/{connection_id}/sandbox/faults",
                         {"faults": spec})

    def linked_connection(self, history_days=90, **fields):
        """A new connection, approved, with every account's scheduled first sync done.
        Returns (connection, accounts)."""
        created = self.create_connection(max_historical_days=history_days, **fields)
        self.approve(created["id"])
        accounts = self.wait_first_sync(created["id"])
        return self.connection(created["id"]), accounts

    # -- accounts ------------------------------------------------------------------------------

    def accounts(self, connection_id=None):
        path = "/api/v1/banks/accounts"
        if connection_id is not None:
            path += f"?bank_connection_id={connection_id}"
        return self.data("GET", path)

    def account(self, account_id):
        return self.data("GET", f"/api/v1/banks/accounts/{account_id}")

    def wait_first_sync(self, connection_id, timeout_seconds=FIRST_SYNC_TIMEOUT_SECONDS):
        """Waits (bounded) until every account of the connection has synced transactions."""
        def synced():
            accounts = self.accounts(connection_id)
            if accounts and all(a["transactions_last_synced_at"] for a in accounts):
                return accounts
            return None
        return wait_for(f"the scheduled first sync of connection {connection_id}", synced,
                        timeout_seconds)

    def sync(self, account_id, expect=200, **body):
        return self.call("POST", f"/api/v1/banks/accounts/{account_id}/sync", body,
                         expect=expect)

    def trigger_scheduled_sync(self, account_id):
        """Saving an account's settings (here: sync_auto stays on) schedules its next sync now."""
        return self.data("PUT", f"/api/v1/banks/accounts/{account_id}",
                         {"config": {"sync_auto": True}})

    # -- transactions --------------------------------------------------------------------------

    def transactions(self, **filters):
        """Every transaction matching the filters, walking the cursor pages (limit 500)."""
        rows, seen_tokens, token = [], set(), ""
        while True:
            parameters = dict(filters, limit=500, page_token=token)
            response = self.call("GET", f"/api/v1/banks/transactions?{query_string(parameters)}",
                                 expect=200)
            rows += response.body["data"]
            token = response.body["meta"]["next_page_token"]
            if not token:
                break
            self.test.assertNotIn(token, seen_tokens, "page token repeated")
            seen_tokens.add(token)
        ids = [t["id"] for t in rows]
        self.test.assertEqual(len(ids), len(set(ids)), "a transaction was listed twice")
        return rows

    def changes(self, cursor=None):
        """Walks the change feed from `cursor` to its end: (added, modified, removed, cursor);
        added and modified are {id: transaction}, removed is {id: bank_account_id}."""
        added, modified, removed = {}, {}, {}
        for _ in range(10_000):
            parameters = {"limit": 500, "cursor": cursor}
            page = self.data("GET", f"/api/v1/banks/transactions/sync?{query_string(parameters)}")
            for t in page["added"]:
                added[t["id"]] = t
                removed.pop(t["id"], None)
            for t in page["modified"]:
                (added if t["id"] in added else modified)[t["id"]] = t
            for r in page["removed"]:
                if added.pop(r["id"], None) is None:
                    removed[r["id"]] = r["bank_account_id"]
                modified.pop(r["id"], None)
            self.test.assertTrue(page["next_cursor"], page)
            cursor = page["next_cursor"]
            if not page["has_more"]:
                return added, modified, removed, cursor
        raise AssertionError("change feed did not end")


class BankTestCase(unittest.TestCase):
    """Helpers for tests that start their own servers."""

    def start_server(self, emails=("alice@example.com",), directory=None):
        """A started server with one read/write token per email: (server, {email: token})."""
        server = harness.Server(SERVER_ARGUMENTS, directory=directory)
        self.addCleanup(server.close)
        tokens = {}
        if directory is None:
            for email in emails:
                server.create_user(email)
                tokens[email] = server.create_token(email, "main", "read,write")["token"]
        server.start()
        return server, tokens

    def assertProblem(self, response, status, code):
        harness.assert_problem(self, response, status, code)

    def assertFieldError(self, response, field):
        self.assertProblem(response, 422, "validation_failed")
        self.assertIn(field, response.body.get("errors", {}), response.body)
        self.assertTrue(response.body["errors"][field], response.body)


def unsynced_connection(client, history_days=DE_BANK_MAX_HISTORY_DAYS):
    """A linked connection whose accounts hold no transactions yet: each scheduled first sync
    is made to hit the bank's rate limit (an hour's wait), so the next sync, and all the data,
    is the test's to make. Returns (connection_id, accounts).

    The fault plan lets the approval's calls through (consent refresh, account list, one
    details call per account; the user's own steps at the bank are not subject to faults) and throttles every call after them.
    The account count is not known before approval (the sandbox derives one to three from its
    seed), so 1, 2 and 3 are tried in turn: too few "ok" steps fail the approval with 429, and
    that connection is deleted."""
    test = client.test
    for account_count in (1, 2, 3):
        created = client.create_connection(
            max_historical_days=history_days,
            sandbox_faults=f"ok*{2 + account_count},rate_limit:3600*always")
        approved = client.call("POST", f"/api/v1/banks/connections/{created['id']}/sandbox/"
                                       "approve")
        if (approved.status == 200 and
                len(approved.body["data"]["bank_accounts"]) == account_count):
            break
        test.assertEqual(approved.status, 429, approved)
        client.call("DELETE", f"/api/v1/banks/connections/{created['id']}", expect=204)
    else:
        raise AssertionError("the sandbox consent could not be approved with 1 to 3 accounts")

    def all_throttled():
        accounts = client.accounts(created["id"])
        return accounts if all(a["health"]["status"] == "FAILING" for a in accounts) else None
    accounts = wait_for("the first scheduled syncs to meet the rate limit", all_throttled, 10.0)
    client.set_faults(created["id"], "")
    for account in accounts:
        test.assertIn("throttled", account["health"]["integrator_message"], account)
        test.assertIsNone(account["transactions_last_synced_at"], account)
        test.assertEqual(client.transactions(bank_account_id=account["id"]), [])
    return created["id"], accounts


# ---------------------------------------------------------------------------------------------
# 1 and 2: the new user's flow, isolation, connection life cycle, idempotent re-syncs


class BankDataFlowTest(BankTestCase):
    """One server shared by the tests of this class; each test makes its own connections."""

    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(SERVER_ARGUMENTS)
        cls.addClassCleanup(cls.server.close)
        cls.server.create_user("alice@example.com", "Alice")
        cls.server.create_user("bob@example.com", "Bob")
        cls.alice_token = cls.server.create_token("alice@example.com")["token"]
        cls.bob_token = cls.server.create_token("bob@example.com")["token"]
        cls.server.start()

    def setUp(self):
        self.alice = BankClient(self, self.server, self.alice_token)
        self.bob = BankClient(self, self.server, self.bob_token)
        self.day = utc_now().date()

    def skip_if_day_changed(self):
        if utc_now().date() != self.day:
            self.skipTest("UTC midnight passed during the test: sync date ranges moved")

    # -- supported banks -----------------------------------------------------------------------

    def test_countries_and_banks(self):
        """Countries list, banks filtered by country (unknown country 422), one bank by id
        (unknown 404), each bank with the fields a client needs to choose and connect."""
        countries = self.alice.data("GET", "/api/v1/banks/countries")
        codes = {c["code"]: c["name"] for c in countries}
        self.assertEqual(codes.get("DE"), "Germany", countries)
        all_banks = self.alice.call("GET", "/api/v1/banks", expect=200).body
        self.assertGreaterEqual(len(all_banks["data"]), 2)
        for country in ("DE", "de", "NL"):
            with self.subTest(country=country):
                banks = self.alice.data("GET", f"/api/v1/banks?country={country}")
                self.assertTrue(banks)
                for bank in banks:
                    self.assertIn(country.upper(), bank["countries"], bank)
        self.assertEqual(
            [b["id"] for b in self.alice.data("GET", "/api/v1/banks?filter[country]=DE")],
            [b["id"] for b in self.alice.data("GET", "/api/v1/banks?country=DE")])
        german = self.alice.data("GET", "/api/v1/banks?country=DE")
        self.assertIn(DE_BANK, [b["id"] for b in german])
        for bad in ("ZZ", "Germany", "1"):
            with self.subTest(bad_country=bad):
                self.assertFieldError(self.alice.call("GET", f"/api/v1/banks?country={bad}"),
                                      "country")
        bank = self.alice.data("GET", f"/api/v1/banks/{DE_BANK}")
        for field in ("id", "name", "bic", "logo", "countries", "integrator",
                      "supports_pending_transactions", "max_historical_days",
                      "max_access_valid_for_days"):
            self.assertIn(field, bank)
        self.assertEqual(bank["id"], DE_BANK)
        self.assertEqual(bank["integrator"], "SANDBOX")
        self.assertEqual(bank["max_historical_days"], DE_BANK_MAX_HISTORY_DAYS)
        self.assertTrue(bank["supports_pending_transactions"])
        self.assertEqual(bank, [b for b in german if b["id"] == DE_BANK][0])
        self.assertProblem(self.alice.call("GET", "/api/v1/banks/NO_SUCH_BANK"), 404, "not_found")
        self.assertProblem(self.server.request("GET", "/api/v1/banks"), 401, "unauthenticated")

    def test_create_connection_validation(self):
        """Creating a connection refuses an unknown or missing bank_id and limits above the
        bank's caps with 422 naming the field, and creates nothing."""
        bank = self.alice.data("GET", f"/api/v1/banks/{DE_BANK}")
        before = self.alice.data("GET", "/api/v1/banks/connections")
        cases = [
            ("unknown bank", {"bank_id": "NO_SUCH_BANK"}, "bank_id"),
            ("missing bank", {}, "bank_id"),
            ("bank id as a number", {"bank_id": 7}, "bank_id"),
            ("history above the bank's cap",
             {"bank_id": DE_BANK, "max_historical_days": bank["max_historical_days"] + 1},
             "max_historical_days"),
            ("history zero", {"bank_id": DE_BANK, "max_historical_days": 0},
             "max_historical_days"),
            ("history as text", {"bank_id": DE_BANK, "max_historical_days": "90"},
             "max_historical_days"),
            ("access above the bank's cap",
             {"bank_id": DE_BANK,
              "access_valid_for_days": bank["max_access_valid_for_days"] + 1},
             "access_valid_for_days"),
            ("unparsable fault plan", {"bank_id": DE_BANK, "sandbox_faults": "explode*3"},
             "sandbox_faults"),
        ]
        for label, body, field in cases:
            with self.subTest(label):
                response = self.alice.call("POST", "/api/v1/banks/connections", body)
                self.assertFieldError(response, field)
        self.assertEqual([c["id"] for c in self.alice.data("GET", "/api/v1/banks/connections")],
                         [c["id"] for c in before])
        # The caps themselves are accepted.
        created = self.alice.create_connection(
            max_historical_days=bank["max_historical_days"],
            access_valid_for_days=bank["max_access_valid_for_days"])
        self.assertEqual(created["max_historical_days"], bank["max_historical_days"])
        self.assertEqual(created["access_valid_for_days"], bank["max_access_valid_for_days"])
        self.alice.call("DELETE", f"/api/v1/banks/connections/{created['id']}", expect=204)

    # -- the new user's flow -------------------------------------------------------------------

    def test_new_user_flow_through_the_api(self):
        """A new user connects the sandbox bank through its consent page, sees accounts with
        IBAN, currency and balances, gets the scheduled first sync, syncs manually, lists
        transactions (filters, both paging styles) and reads the change feed; deleting the
        connection removes accounts and transactions and the feed reports the removals."""
        _, _, _, feed_start = self.alice.changes()
        created = self.alice.create_connection(max_historical_days=120)
        self.assertEqual(created["status"], "CR")
        self.assertEqual(created["bank_id"], DE_BANK)
        self.assertEqual(created["bank_accounts"], [])
        self.assertTrue(created["enabled"])
        self.assertEqual(created["health"]["status"], "HEALTHY")
        self.assertIn(created["id"],
                      [c["id"] for c in self.alice.data("GET", "/api/v1/banks/connections")])

        # The consent page is served by finsync; the user approves there (no token needed).
        page_path = urllib.parse.urlsplit(created["auth_url"]).path
        self.assertTrue(page_path.startswith("/sandbox/consents/"), created["auth_url"])
        page = self.server.request("GET", page_path)
        self.assertEqual(page.status, 200, page)
        self.assertTrue(page.headers["content-type"].startswith("text/html"), page.headers)
        self.assertIn("Approve", page.body)
        self.assertProblem(self.server.request("GET", "/sandbox/consents/no-such-consent"), 404,
                           "not_found")
        decided = self.server.request("POST", page_path + "/approve")
        self.assertEqual(decided.status, 200, decided)
        self.assertEqual(decided.body["data"], {"id": created["id"], "status": "LN"})

        connection = self.alice.connection(created["id"])
        self.assertEqual(connection["status"], "LN")
        self.assertIsNotNone(connection["consent_expires_at"])
        self.assertGreater(harness.parse_rfc3339(connection["consent_expires_at"]), utc_now())
        accounts = connection["bank_accounts"]
        self.assertTrue(1 <= len(accounts) <= 3, accounts)
        self.assertEqual(connection["bank_accounts_count"], len(accounts))
        for account in accounts:
            self.assertRegex(account["iban"], r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")
            self.assertRegex(account["currency"], r"^[A-Z]{3}$")
            self.assertEqual(account["bank_connection_id"], created["id"])
            self.assertEqual(account["institution_id"], DE_BANK)

        # The scheduled first sync runs on its own, shortly after the approval.
        accounts = self.alice.wait_first_sync(created["id"])
        checking = accounts[0]
        for account in accounts:
            self.assertEqual(account["health"]["status"], "HEALTHY")
            self.assertIsNotNone(account["balances_last_synced_at"])
            self.assertIsNotNone(account["balance"]["booked"], account)
            self.assertRegex(account["balance"]["booked"], r"^-?\d+(\.\d+)?$")
            balances = self.alice.data("GET", f"/api/v1/banks/accounts/{account['id']}/balances")
            self.assertTrue(balances, account)
            types = {b["balance_type"] for b in balances}
            self.assertTrue(types & {"closingBooked", "interimBooked"}, types)
            one = self.alice.data(
                "GET", f"/api/v1/banks/accounts/{account['id']}/balances/{balances[0]['id']}")
            self.assertEqual(one, balances[0])
            for balance in balances:
                self.assertEqual(balance["currency"], account["currency"])
                self.assertEqual(balance["bank_account_id"], account["id"])

        # Listing: everything, per account, by status, in both paging styles.
        everything = self.alice.transactions()
        mine = [t for t in everything if t["bank_account_id"] in {a["id"] for a in accounts}]
        self.assertGreater(len(mine), 50)
        for account in accounts:
            listed = self.alice.transactions(bank_account_id=account["id"])
            self.assertEqual({t["id"] for t in listed},
                             {t["id"] for t in mine if t["bank_account_id"] == account["id"]})
            for t in listed:
                self.assertEqual(t["currency"], account["currency"], t)
        booked = self.alice.transactions(bank_account_id=checking["id"], status="BOOKED")
        pending = self.alice.transactions(bank_account_id=checking["id"], status="PENDING")
        self.assertTrue(all(t["status"] == "BOOKED" and t["transaction_id"] for t in booked))
        self.assertTrue(all(t["status"] == "PENDING" for t in pending))
        self.assertEqual(len(booked) + len(pending),
                         len(self.alice.transactions(bank_account_id=checking["id"])))
        paged, number = [], 1
        while True:
            page = self.alice.call(
                "GET", f"/api/v1/banks/transactions?bank_account_id={checking['id']}"
                       f"&page[number]={number}&page[size]=100", expect=200).body
            paged += page["data"]
            if not page["meta"]["has_more"]:
                break
            number += 1
        self.assertEqual([t["id"] for t in paged],
                         [t["id"] for t in self.alice.transactions(
                             bank_account_id=checking["id"])])
        self.assertEqual(duplicate_source_ids(self.server.db_path), [])
        self.assertEqual(pending_rows_with_booked_twin(mine), [])
        one = self.alice.data("GET", f"/api/v1/banks/transactions/{mine[0]['id']}")
        self.assertEqual(one["id"], mine[0]["id"])

        # The feed since before the connection holds exactly the synced transactions, as added.
        account_ids = {a["id"] for a in accounts}
        added, modified, removed, cursor = self.alice.changes(feed_start)
        added = {i: t for i, t in added.items() if t["bank_account_id"] in account_ids}
        modified = {i: t for i, t in modified.items() if t["bank_account_id"] in account_ids}
        removed = {i: a for i, a in removed.items() if a in account_ids}
        self.assertEqual(set(added), {t["id"] for t in mine})
        self.assertEqual(modified, {})
        self.assertEqual(removed, {})

        # A manual sync of the same range right after the scheduled one changes nothing.
        self.skip_if_day_changed()
        window = (utc_now(), None)
        answer = self.alice.sync(checking["id"], date_from=FAR_PAST).body
        self.assertEqual(answer["message"], "Bank account synced.")
        counts = answer["data"]["transactions"]
        window = (window[0], utc_now())
        changed_added, changed_modified, changed_removed, cursor = self.alice.changes(cursor)
        changed_added = {i: t for i, t in changed_added.items()
                         if t["bank_account_id"] in account_ids}
        changed_modified = {i: t for i, t in changed_modified.items()
                            if t["bank_account_id"] in account_ids}
        changed_removed = {i: a for i, a in changed_removed.items() if a in account_ids}
        moved = [t for t in list(changed_added.values()) + list(changed_modified.values())
                 if not (_inside(t["booking_datetime"], window) or
                         _inside(t["value_datetime"], window))]
        self.assertEqual(moved, [], f"a re-sync changed transactions: {counts}")
        if not (changed_added or changed_modified or changed_removed):
            self.assertEqual(counts["added"] + counts["modified"] + counts["removed"], 0, counts)
            self.assertEqual(counts["unchanged"], len(booked) + len(pending), counts)
        self.assertGreaterEqual(answer["data"]["balances"], 1)
        self.assertIsNotNone(self.alice.account(checking["id"])["transactions_last_synced_at"])

        # Deleting the connection removes its accounts and transactions; the feed says so.
        self.alice.call("DELETE", f"/api/v1/banks/connections/{created['id']}", expect=204)
        self.assertProblem(self.alice.call("GET", f"/api/v1/banks/connections/{created['id']}"),
                           404, "not_found")
        self.assertEqual(self.alice.accounts(created["id"]), [])
        for account in accounts:
            self.assertProblem(self.alice.call("GET", f"/api/v1/banks/accounts/{account['id']}"),
                               404, "not_found")
            self.assertEqual(self.alice.transactions(bank_account_id=account["id"]), [])
        self.assertProblem(self.alice.call("GET", f"/api/v1/banks/transactions/{mine[0]['id']}"),
                           404, "not_found")
        _, _, removed, _ = self.alice.changes(cursor)
        removed = {i: a for i, a in removed.items() if a in account_ids}
        self.assertEqual(set(removed), {t["id"] for t in mine} | set(changed_added))
        self.assertEqual(
            query_database(self.server.db_path,
                           "SELECT COUNT(*) FROM bank_transactions WHERE bank_account_id IN "
                           f"({','.join('?' * len(accounts))})",
                           [a["id"] for a in accounts])[0][0], 0)

    # -- isolation -----------------------------------------------------------------------------

    def test_other_user_gets_404_everywhere(self):
        """Bob gets exactly the answer for a missing object (404) on every route given
        Alice's connection, account, balance and transaction ids, sees none of her data in his
        lists and feed, and changes nothing of hers."""
        connection, accounts = self.alice.linked_connection(history_days=30)
        account = accounts[0]
        balance = self.alice.data("GET", f"/api/v1/banks/accounts/{account['id']}/balances")[0]
        transaction = self.alice.transactions(bank_account_id=account["id"])[0]
        c, a, b, t = connection["id"], account["id"], balance["id"], transaction["id"]
        missing = 987654
        routes = [
            ("GET", "/api/v1/banks/connections/{c}", None),
            ("DELETE", "/api/v1/banks/connections/{c}", None),
            ("PUT", "/api/v1/banks/connections/{c}/disable", None),
            ("PUT", "/api/v1/banks/connections/{c}/reconfirm", {}),
            ("POST", "/api/v1/banks/connections/{c}/refresh", None),
            ("POST", "/api/v1/banks/connections/{c}/sandbox/approve", None),
            ("POST", "/api/v1/banks/connections/{c}/sandbox/reject", None),
            ("PUT", "/api/v1/banks/connections/{c}/sandbox/faults", {"faults": "timeout*always"}),
            ("GET", "/api/v1/banks/accounts/{a}", None),
            ("PUT", "/api/v1/banks/accounts/{a}", {"display_name": "bob was here"}),
            ("DELETE", "/api/v1/banks/accounts/{a}/config", None),
            ("POST", "/api/v1/banks/accounts/{a}/sync", {}),
            ("GET", "/api/v1/banks/accounts/{a}/balances", None),
            ("GET", "/api/v1/banks/accounts/{a}/balances/{b}", None),
            ("DELETE", "/api/v1/banks/accounts/{a}/balances/{b}", None),
            ("DELETE", "/api/v1/banks/accounts/{a}", None),
            ("GET", "/api/v1/banks/transactions/{t}", None),
            ("PUT", "/api/v1/banks/transactions/{t}", {"generated": {"payee": "bob"}}),
            ("DELETE", "/api/v1/banks/transactions/{t}", None),
        ]

        def comparable(response):
            body = response.body if isinstance(response.body, dict) else {}
            return (response.status, body.get("code"), body.get("detail"))

        for method, template, body in routes:
            with self.subTest(f"{method} {template}"):
                theirs = self.bob.call(method, template.format(c=c, a=a, b=b, t=t), body)
                self.assertProblem(theirs, 404, "not_found")
                nothing = self.bob.call(method, template.format(c=missing, a=missing, b=missing,
                                                                t=missing), body)
                self.assertEqual(comparable(theirs), comparable(nothing))
        # Lists and filters: Alice's ids behave like ids that do not exist.
        for template in ("/api/v1/banks/accounts?bank_connection_id={}",
                         "/api/v1/banks/transactions?bank_account_id={}"):
            with self.subTest(template):
                theirs = self.bob.call("GET", template.format(c if "connection" in template
                                                              else a))
                nothing = self.bob.call("GET", template.format(missing))
                self.assertEqual(theirs.status, nothing.status)
                self.assertEqual(theirs.body["data"], nothing.body["data"])
                self.assertEqual(theirs.body["data"], [])
        theirs = self.bob.call("POST", "/api/v1/banks/transactions",
                               {"bank_account_id": a, "amount": "1.00", "currency": "EUR",
                                "booking_date": str(self.day)})
        nothing = self.bob.call("POST", "/api/v1/banks/transactions",
                                {"bank_account_id": missing, "amount": "1.00",
                                 "currency": "EUR", "booking_date": str(self.day)})
        self.assertEqual(comparable(theirs), comparable(nothing))
        self.assertGreaterEqual(theirs.status, 400)
        self.assertNotIn(c, [x["id"] for x in self.bob.data("GET", "/api/v1/banks/connections")])
        self.assertNotIn(a, [x["id"] for x in self.bob.accounts()])
        self.assertNotIn(t, [x["id"] for x in self.bob.transactions()])
        bob_added, bob_modified, bob_removed, _ = self.bob.changes()
        self.assertFalse((set(bob_added) | set(bob_modified) | set(bob_removed))
                         & {x["id"] for x in self.alice.transactions()})
        # Nothing of Alice's changed; Bob's fault plan did not reach her bank either.
        after = self.alice.connection(c)
        self.assertEqual((after["status"], after["enabled"]), ("LN", True))
        self.assertEqual(self.alice.account(a)["display_name"], account["display_name"])
        self.assertEqual(self.alice.account(a)["config"], account["config"])
        self.assertEqual(
            self.alice.data("GET", f"/api/v1/banks/accounts/{a}/balances/{b}")["id"], b)
        self.assertEqual(self.alice.data("GET", f"/api/v1/banks/transactions/{t}"), transaction)
        self.assertEqual(self.alice.sync(a).status, 200)

    # -- connection life cycle -----------------------------------------------------------------

    def test_disabled_connection_refuses_sync_with_409(self):
        """A disabled connection keeps its accounts and data but refuses syncs with 409."""
        connection, accounts = self.alice.linked_connection(history_days=30)
        stored = self.alice.transactions(bank_account_id=accounts[0]["id"])
        disabled = self.alice.data("PUT", f"/api/v1/banks/connections/{connection['id']}/disable")
        self.assertFalse(disabled["enabled"])
        self.assertFalse(self.alice.connection(connection["id"])["enabled"])
        for account in accounts:
            response = self.alice.call("POST", f"/api/v1/banks/accounts/{account['id']}/sync", {})
            self.assertProblem(response, 409, "conflict")
            self.assertIn("disabled", response.body["detail"])
        self.assertEqual(self.alice.transactions(bank_account_id=accounts[0]["id"]), stored)
        self.assertEqual([a["id"] for a in self.alice.accounts(connection["id"])],
                         [a["id"] for a in accounts])

    def test_reconfirm_keeps_the_same_accounts_and_data(self):
        """Reconfirming consent gives a new auth_url and status CR (syncs refused meanwhile);
        approving it links the connection again with the same accounts (same ids, IBANs) and
        keeps their transactions: the next sync adds nothing new for old data."""
        connection, accounts = self.alice.linked_connection(history_days=60)
        before = {a["id"]: self.alice.transactions(bank_account_id=a["id"]) for a in accounts}
        reconfirmed = self.alice.data(
            "PUT", f"/api/v1/banks/connections/{connection['id']}/reconfirm", {})
        self.assertEqual(reconfirmed["status"], "CR")
        self.assertNotEqual(reconfirmed["auth_url"], connection["auth_url"])
        self.assertTrue(reconfirmed["enabled"])
        self.assertEqual([a["id"] for a in reconfirmed["bank_accounts"]],
                         [a["id"] for a in accounts])
        response = self.alice.call("POST", f"/api/v1/banks/accounts/{accounts[0]['id']}/sync", {})
        self.assertProblem(response, 409, "conflict")
        approved = self.alice.approve(connection["id"])
        self.assertEqual(approved["status"], "LN")
        self.assertEqual(
            [(a["id"], a["iban"]) for a in approved["bank_accounts"]],
            [(a["id"], a["iban"]) for a in accounts],
            "after reconfirming, the connection should have the same accounts, not new ones")
        for account in accounts:
            self.assertEqual(self.alice.transactions(bank_account_id=account["id"]),
                             before[account["id"]])
        self.skip_if_day_changed()
        window = (utc_now(), None)
        answer = self.alice.sync(accounts[0]["id"], date_from=FAR_PAST).body["data"]
        window = (window[0], utc_now())
        after = self.alice.transactions(bank_account_id=accounts[0]["id"])
        compare_transaction_sets(self, after, before[accounts[0]["id"]], window,
                                 "the first sync after reconfirming")
        self.assertEqual(answer["transactions"]["added"], 0, answer)
        self.assertEqual(self.alice.account(accounts[0]["id"])["health"]["status"], "HEALTHY")

    # -- 2: the same range twice ---------------------------------------------------------------

    def test_syncing_the_same_range_twice_changes_nothing(self):
        """After the scheduled first sync, a manual sync of the same range, and then another
        scheduled sync, report every transaction unchanged: no rows added, modified or
        removed, no row rewritten, nothing new in the change feed."""
        connection, accounts = self.alice.linked_connection(history_days=365)
        account = max(accounts, key=lambda a: len(self.alice.transactions(
            bank_account_id=a["id"])))
        _, _, _, cursor = self.alice.changes()
        first = self.alice.transactions(bank_account_id=account["id"])
        self.assertGreater(len(first), 500)
        self.assertEqual(duplicate_source_ids(self.server.db_path), [])
        self.assertEqual(pending_rows_with_booked_twin(first), [])
        self.skip_if_day_changed()

        window_start = utc_now()
        answer = self.alice.sync(account["id"], date_from=FAR_PAST).body["data"]["transactions"]
        last_synced = self.alice.account(account["id"])["transactions_last_synced_at"]
        # The scheduler's own re-sync (from the last sync minus a week) changes nothing either.
        self.alice.trigger_scheduled_sync(account["id"])
        wait_for("the scheduled re-sync", lambda: self.alice.account(account["id"])[
            "transactions_last_synced_at"] != last_synced, 10.0)
        window = (window_start, utc_now())
        second = self.alice.transactions(bank_account_id=account["id"])
        added, modified, removed, _ = self.alice.changes(cursor)
        added = {i: t for i, t in added.items() if t["bank_account_id"] == account["id"]}
        modified = {i: t for i, t in modified.items() if t["bank_account_id"] == account["id"]}
        removed = {i: a for i, a in removed.items() if a == account["id"]}
        compare_transaction_sets(self, second, first, window, "after syncing the range again")
        clock_moved = [t for t in list(added.values()) + list(modified.values())
                       if _inside(t["booking_datetime"], window) or
                       _inside(t["value_datetime"], window)]
        self.assertEqual(len(added) + len(modified), len(clock_moved),
                         f"the re-syncs changed transactions: added {list(added)[:5]}, "
                         f"modified {list(modified)[:5]}")
        if not (added or modified or removed):
            self.assertEqual(answer, {"added": 0, "modified": 0, "unchanged": len(first),
                                      "removed": 0, "rejected": 0})
            # Not even rewritten: every row is byte-for-byte what the first sync stored.
            self.assertEqual(second, first)
        self.assertEqual(duplicate_source_ids(self.server.db_path), [])
        self.assertEqual(pending_rows_with_booked_twin(second), [])
        self.assertEqual(self.alice.account(account["id"])["health"]["status"], "HEALTHY")
        # The manual limit: a second manual sync within the minute is 429 with Retry-After.
        limited = self.alice.call("POST", f"/api/v1/banks/accounts/{account['id']}/sync", {})
        self.assertProblem(limited, 429, "too_many_requests")
        self.assertTrue(1 <= int(limited.headers["retry-after"]) <= 60, limited.headers)


# ---------------------------------------------------------------------------------------------
# 3: kill -9 in the middle of a large sync


class CrashDuringSyncTest(BankTestCase):
    """Own servers: the test kills and restarts them."""

    KILL_FRACTIONS = (0.1, 0.3, 0.5, 0.7, 0.85, 0.95)

    def test_kill9_during_a_large_sync_then_sync_again(self):
        """kill -9 while a 730-day manual sync is in flight, restart, sync again: each sync is
        all or nothing, and the account ends with exactly the sandbox's ground truth (no
        duplicates, nothing missing). The ground truth is a second server started on a copy of
        the database taken before any sync, syncing the same consents over the same range."""
        day = utc_now().date()
        server, tokens = self.start_server()
        token = tokens["alice@example.com"]
        client = BankClient(self, server, token)
        # The checking account (the first, and the busiest) of one connection per kill.
        targets = [(connection_id, accounts[0]["id"]) for connection_id, accounts in
                   (unsynced_connection(client) for _ in self.KILL_FRACTIONS)]
        self.assertEqual(server.stop(), 0)

        # Ground truth: a fresh server process on a copy of the database as it was before any
        # sync (same consents, so the same seeds) syncs each account once, undisturbed.
        truth_directory = tempfile.mkdtemp(prefix="finsync-truth-")
        self.addCleanup(shutil.rmtree, truth_directory, True)
        for path in glob.glob(server.db_path + "*"):
            shutil.copy2(path, truth_directory)
        truth_server, _ = self.start_server(directory=truth_directory)
        truth_client = BankClient(self, truth_server, token)
        window_start = utc_now()
        truth, durations = {}, []
        for _, account_id in targets:
            started = time.monotonic()
            answer = truth_client.sync(account_id, date_from=FAR_PAST).body["data"]
            durations.append(time.monotonic() - started)
            truth[account_id] = truth_client.transactions(bank_account_id=account_id)
            self.assertGreater(len(truth[account_id]), 1000, "the sync is not large")
            self.assertEqual(answer["transactions"]["added"], len(truth[account_id]), answer)
        self.assertEqual(truth_server.stop(), 0)

        server.start()
        trials = []
        for (_, account_id), fraction, duration in zip(targets, self.KILL_FRACTIONS, durations):
            with self.subTest(account=account_id, kill_after=f"{fraction:.0%} of a sync"):
                outcome = {}

                def post_sync(port=server.port, account_id=account_id, outcome=outcome):
                    try:
                        outcome["response"] = harness.request(
                            "POST", f"/api/v1/banks/accounts/{account_id}/sync", token,
                            {"date_from": FAR_PAST}, port=port, timeout_seconds=30.0)
                    except CONNECTION_FAILURES as error:
                        outcome["error"] = error

                thread = threading.Thread(target=post_sync)
                thread.start()
                time.sleep(duration * fraction)
                server.kill9()
                thread.join(30.0)
                self.assertFalse(thread.is_alive())
                # The killed sync committed all of its transactions or none of them.
                rows = stored_row_count(server.db_path, account_id)
                trials.append({"kill_after": f"{fraction:.0%}", "answered": "response" in outcome,
                               "rows_at_kill": rows})
                self.assertEqual(duplicate_source_ids(server.db_path), [])
                server.start()
                committed = client.transactions(bank_account_id=account_id)
                self.assertEqual(len(committed), rows)
                if rows:
                    compare_transaction_sets(self, committed, truth[account_id],
                                             (window_start, utc_now()), "the killed sync")

                # Sync again after the restart (the manual limit applies only if the killed
                # sync finished completely).
                again = client.sync(account_id, expect=None, date_from=FAR_PAST)
                if again.status == 429:
                    self.assertTrue(rows, "429 although the killed sync stored nothing")
                else:
                    self.assertEqual(again.status, 200, again)
                    counts = again.body["data"]["transactions"]
                    self.assertEqual(counts["rejected"], 0, counts)
                    if rows == 0:
                        self.assertEqual(counts["unchanged"], 0, counts)
                final = client.transactions(bank_account_id=account_id)
                compare_transaction_sets(self, final, truth[account_id],
                                         (window_start, utc_now()),
                                         f"account {account_id} after kill -9 and a new sync")
                self.assertEqual(duplicate_source_ids(server.db_path), [])
                self.assertEqual(pending_rows_with_booked_twin(final), [])
                self.assertEqual(client.account(account_id)["health"]["status"], "HEALTHY")

        if utc_now().date() != day:
            self.skipTest("UTC midnight passed during the test: sync date ranges moved")
        # At least one kill must have cut a sync short before it committed.
        self.assertTrue(any(not t["answered"] and t["rows_at_kill"] == 0 for t in trials),
                        f"no kill landed inside a sync: {trials}")
        self.assertEqual(query_database(server.db_path, "PRAGMA integrity_check"), [("ok",)])


if __name__ == "__main__":
    unittest.main()
