"""Bank transactions: manual create, list with filters and both paging styles, get, update,
delete, ownership, and the incremental change feed.

Bank accounts are inserted straight into the SQLite file before the server starts (with
automatic sync off), so every transaction in these tests is one the test created itself and
each expectation can be computed exactly."""

import fractions
import os
import sqlite3
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

BASE = "/api/v1/banks/transactions"
TRANSACTION_FIELDS = (
    "id", "bank_account_id", "status", "booked", "transaction_id", "internal_transaction_id",
    "entry_reference", "booking_date", "value_date", "booking_datetime", "value_datetime",
    "amount", "amount_minor", "currency", "creditor", "debtor", "remittance_information",
    "additional_information", "bank_transaction_code", "merchant_category_code", "generated",
    "source", "raw", "created_at", "updated_at")
PAGER_TRANSACTION_COUNT = 260


def insert_bank_account(db_path, user_id, currency, name):
    """Inserts a bank connection with one account for `user_id`; returns the account id.

    Columns are read from the live schema, and any NOT NULL column without a default that is
    not set here gets a neutral value, so the helper survives added columns."""
    now_ms = int(time.time() * 1000)
    connection = sqlite3.connect(db_path, timeout=10)
    try:
        def insert(table, values):
            for column in connection.execute(f"PRAGMA table_info({table})"):
                _, column_name, column_type, not_null, default, primary_key = column
                if not_null and default is None and not primary_key and \
                        column_name not in values:
                    values[column_name] = 0 if "INT" in column_type.upper() else ""
            names = ", ".join(values)
            marks = ", ".join("?" for _ in values)
            cursor = connection.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})",
                                        list(values.values()))
            return cursor.lastrowid

        bank_connection = insert("bank_connections", {
            "user_id": user_id, "institution_id": "TEST_BANK", "integrator": "TEST",
            "consent_reference": f"test-{user_id}-{name}", "status": "LN",
            "max_historical_days": 90, "access_valid_for_days": 90,
            "created_at": now_ms, "updated_at": now_ms})
        account = insert("bank_accounts", {
            "user_id": user_id, "bank_connection_id": bank_connection,
            "integrator_id": name, "name": name, "currency": currency,
            "fields_for_duplicate_filtering": "[]", "sync_auto": 0,
            "created_at": now_ms, "updated_at": now_ms})
        connection.commit()
        return account
    finally:
        connection.close()


def query(path, **params):
    return path + "?" + urllib.parse.urlencode(params) if params else path


class TransactionsTest(harness.ServerTestCase):
    """One server; users and bank accounts are made before it starts. Each test uses its own
    accounts (or its own user) so tests do not see each other's transactions."""

    # Hundreds of writes in a few seconds: the per-token rate limits are not under test here.
    SERVER_ARGUMENTS = ("--rate-limit-read", "0", "--rate-limit-write", "0")

    @classmethod
    def prepare(cls, server):
        cls.users = {}
        for name in ("alice", "bob", "carol", "dave", "pat"):
            user = server.create_user(f"{name}@example.com", name.title())
            token = server.create_token(f"{name}@example.com", "main", "read,write")["token"]
            cls.users[name] = {"id": user["id"], "token": token}
        cls.alice = cls.users["alice"]["token"]
        cls.bob = cls.users["bob"]["token"]
        cls.alice_read = server.create_token("alice@example.com", "reader", "read")["token"]
        cls.alice_write = server.create_token("alice@example.com", "writer", "write")["token"]
        alice_id = cls.users["alice"]["id"]
        cls.accounts = {}
        for name, currency in (("create", "EUR"), ("yen", "JPY"), ("filters", "EUR"),
                               ("edit", "EUR"), ("search", "EUR"), ("owned", "EUR"),
                               ("conflict", "EUR"), ("twins", "EUR"),
                               ("booking", "EUR")):
            cls.accounts[name] = insert_bank_account(server.db_path, alice_id, currency, name)
        cls.accounts["bob"] = insert_bank_account(server.db_path, cls.users["bob"]["id"], "EUR",
                                                  "bob")
        cls.accounts["carol"] = insert_bank_account(server.db_path, cls.users["carol"]["id"],
                                                    "EUR", "carol")
        cls.accounts["dave"] = insert_bank_account(server.db_path, cls.users["dave"]["id"],
                                                   "EUR", "dave")
        cls.accounts["pat"] = insert_bank_account(server.db_path, cls.users["pat"]["id"],
                                                  "EUR", "pat")
        cls.pager_ids = None

    # -- helpers -------------------------------------------------------------------------------

    def create(self, account, token=None, expect=201, **fields):
        body = {"bank_account_id": self.accounts[account], "amount": "-1.00",
                "booking_date": "2025-01-15"}
        body.update(fields)
        response = self.server.request("POST", BASE, token or self.alice, body)
        self.assertEqual(response.status, expect, response)
        return response.body["data"] if expect in (200, 201) else response

    def list(self, token=None, **params):
        response = self.server.request("GET", query(BASE, **params), token or self.alice)
        self.assertEqual(response.status, 200, response)
        return response.body

    def list_ids(self, **params):
        return [transaction["id"] for transaction in self.list(**params)["data"]]

    def assertInvalid(self, response, field):
        self.assertProblem(response, 422, "validation_failed")
        self.assertIn(field, response.body["errors"], response.body)

    @classmethod
    def pager_transactions(cls, test):
        """Pat's account with PAGER_TRANSACTION_COUNT transactions over 40 days (several per
        day, so paging must break ties by id); created once, on first use."""
        if cls.pager_ids is None:
            token = cls.users["pat"]["token"]
            connection = cls.server.connection()
            ids = []
            try:
                for index in range(PAGER_TRANSACTION_COUNT):
                    body = {"bank_account_id": cls.accounts["pat"],
                            "amount": f"-{index + 1}.{index % 100:02d}",
                            "booking_date": f"2024-03-{index % 28 + 1:02d}"
                            if index % 2 else f"2024-04-{index % 12 + 1:02d}",
                            "creditor": {"name": f"Shop {index}"}}
                    response = harness.request_on(connection, "POST", BASE, token, body)
                    test.assertEqual(response.status, 201, response)
                    ids.append(response.body["data"]["id"])
            finally:
                connection.close()
            cls.pager_ids = ids
        return cls.pager_ids

    # -- create --------------------------------------------------------------------------------

    def test_create_with_string_amount_returns_the_full_transaction(self):
        """A manual transaction is 201 with every field of the model, the account's currency,
        generated fields from the bank fields, and the request body as its raw record."""
        body = {"bank_account_id": self.accounts["create"], "amount": "-42.50",
                "booking_date": "2025-02-03", "value_date": "2025-02-04",
                "booking_datetime": "2025-02-03T09:30:00Z",
                "creditor": {"name": "Bakery Sunshine", "iban": "DE89 3704 0044 0532 0130 00"},
                "debtor": {"name": "Alice", "account": "1234"},
                "remittance_information": {"unstructured": "Bread and rolls",
                                           "structured": "RF18539007547034"},
                "additional_information": "Card payment",
                "bank_transaction_code": "PMNT-CCRD-POSD", "merchant_category_code": "5462",
                "entry_reference": "E-1", "internal_transaction_id": "I-1"}
        response = self.server.request("POST", BASE, self.alice, body)
        self.assertEqual(response.status, 201, response)
        self.assertEqual(response.body["message"], "Bank transaction created.")
        data = response.body["data"]
        self.assertEqual(set(data), set(TRANSACTION_FIELDS))
        self.assertEqual(data["bank_account_id"], self.accounts["create"])
        self.assertEqual((data["status"], data["booked"]), ("BOOKED", True))
        self.assertEqual((data["amount"], data["amount_minor"], data["currency"]),
                         ("-42.50", -4250, "EUR"))
        self.assertEqual(data["booking_date"], "2025-02-03")
        self.assertEqual(data["value_date"], "2025-02-04")
        self.assertEqual(data["booking_datetime"], "2025-02-03T09:30:00Z")
        self.assertIsNone(data["value_datetime"])
        self.assertEqual(data["creditor"], {"name": "Bakery Sunshine",
                                            "iban": "DE89370400440532013000", "account": None})
        self.assertEqual(data["debtor"], {"name": "Alice", "iban": None, "account": "1234"})
        self.assertEqual(data["remittance_information"],
                         {"unstructured": "Bread and rolls", "structured": "RF18539007547034"})
        self.assertEqual(data["generated"], {"payee": "Bakery Sunshine",
                                             "description": "Bread and rolls",
                                             "date": "2025-02-03"})
        self.assertEqual(data["source"], "manual")
        self.assertTrue(data["transaction_id"].startswith("manual-"), data["transaction_id"])
        self.assertEqual(data["raw"], body)
        harness.parse_rfc3339(data["created_at"])
        harness.parse_rfc3339(data["updated_at"])
        fetched = self.server.request("GET", f"{BASE}/{data['id']}", self.alice)
        self.assertEqual(fetched.status, 200, fetched)
        self.assertEqual(fetched.body["data"], data)

    def test_number_amounts_are_read_from_their_text(self):
        """A JSON number amount is read digit by digit: 12345678901234567.89 survives exactly,
        which a double would round."""
        account = self.accounts["create"]
        cases = [("0.10", 10, "0.10"), ("-7", -700, "-7.00"), ("1.500", 150, "1.50"),
                 ("12345678901234567.89", 1234567890123456789, "12345678901234567.89")]
        for text, minor, rendered in cases:
            with self.subTest(text):
                raw = ('{"bank_account_id": %d, "amount": %s, "booking_date": "2025-01-10"}'
                       % (account, text))
                response = self.server.request("POST", BASE, self.alice, raw_body=raw,
                                               headers={"Content-Type": "application/json"})
                self.assertEqual(response.status, 201, response)
                self.assertEqual(response.body["data"]["amount_minor"], minor)
                self.assertEqual(response.body["data"]["amount"], rendered)

    def test_amount_decimals_follow_the_currency(self):
        """Too many decimals for the currency is 422 on amount; JPY has none, KWD three."""
        for account, fields, status in [
                ("create", {"amount": "1.001"}, 422),
                ("create", {"amount": 1.001}, 422),
                ("yen", {"amount": "1500.5"}, 422),
                ("yen", {"amount": "1500.0"}, 201),
                ("yen", {"amount": "-1500"}, 201),
                ("create", {"amount": "1.234", "currency": "kwd"}, 201),
                ("create", {"amount": "1e3"}, 422),
                ("create", {"amount": "12,50"}, 422)]:
            with self.subTest(account=account, fields=fields):
                result = self.create(account, expect=status, **fields)
                if status == 422:
                    self.assertInvalid(result, "amount")
        yen = self.list(bank_account_id=self.accounts["yen"], currency="JPY")["data"]
        self.assertEqual(sorted(t["amount"] for t in yen), ["-1500", "1500"])
        self.assertTrue(all(t["currency"] == "JPY" for t in yen))
        kwd = self.list(bank_account_id=self.accounts["create"], currency="KWD")["data"]
        self.assertEqual([(t["amount"], t["amount_minor"]) for t in kwd], [("1.234", 1234)])

    def test_invalid_create_bodies_name_every_field(self):
        """One 422 lists every invalid field; another user's account does not exist."""
        response = self.server.request("POST", BASE, self.alice, {
            "bank_account_id": "1", "amount": True, "status": "DONE",
            "booking_date": "2025-02-30", "creditor": {"nam": "x"}, "colour": "red"})
        self.assertProblem(response, 422, "validation_failed")
        self.assertEqual(set(response.body["errors"]),
                         {"bank_account_id", "amount", "status", "booking_date",
                          "creditor.nam", "colour"})
        response = self.server.request("POST", BASE, self.alice, {
            "bank_account_id": self.accounts["create"], "amount": "1"})
        self.assertInvalid(response, "booking_date")
        response = self.server.request("POST", BASE, self.alice, {
            "bank_account_id": self.accounts["bob"], "amount": "1",
            "booking_date": "2025-01-01"})
        self.assertInvalid(response, "bank_account_id")
        response = self.server.request("POST", BASE, self.alice, {
            "bank_account_id": self.accounts["create"], "amount": "1",
            "booking_date": "2025-01-01", "currency": "XYZ"})
        self.assertInvalid(response, "currency")

    def test_reused_transaction_id_is_a_conflict(self):
        """A transaction_id already stored for the account is 409, and nothing changes."""
        first = self.create("conflict", amount="-5.00", transaction_id="BANK-1")
        for padded in ("BANK-1", "  BANK-1 "):
            with self.subTest(padded):
                response = self.create("conflict", expect=409, amount="-6.00",
                                       transaction_id=padded)
                self.assertProblem(response, 409, "conflict")
        stored = self.list(bank_account_id=self.accounts["conflict"])["data"]
        self.assertEqual([(t["id"], t["amount"]) for t in stored], [(first["id"], "-5.00")])

    def test_identical_manual_transactions_are_both_kept(self):
        """Two genuine identical entries (two coffees on one day) are two transactions."""
        first = self.create("twins", amount="-3.20", booking_date="2025-03-03")
        second = self.create("twins", amount="-3.20", booking_date="2025-03-03")
        self.assertNotEqual(first["id"], second["id"])
        self.assertEqual(sorted(self.list_ids(bank_account_id=self.accounts["twins"])),
                         sorted([first["id"], second["id"]]))

    def test_pending_manual_transaction(self):
        """A manual transaction can be pending; it is listed with status PENDING."""
        created = self.create("create", status="PENDING", booking_date=None,
                              value_date="2025-04-01", amount="-9.99")
        self.assertEqual((created["status"], created["booked"]), ("PENDING", False))
        self.assertEqual(created["generated"]["date"], "2025-04-01")

    def test_booked_manual_transaction_books_a_matching_pending_one(self):
        """A booked manual transaction matching a stored pending one (same amount, a day
        later) is the pending one booking, as the ingest pipeline treats a bank's: the pending
        row becomes booked (200, same id), and no second transaction appears."""
        pending = self.create("booking", status="PENDING", booking_date=None,
                              value_date="2025-06-01", amount="-77.70",
                              creditor={"name": "Fuel Station"})
        response = self.server.request("POST", BASE, self.alice, {
            "bank_account_id": self.accounts["booking"], "amount": "-77.70",
            "booking_date": "2025-06-02", "creditor": {"name": "Fuel Station"}})
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.body["message"],
                         "Bank transaction booked a pending transaction.")
        booked = response.body["data"]
        self.assertEqual((booked["id"], booked["status"], booked["booking_date"]),
                         (pending["id"], "BOOKED", "2025-06-02"))
        matching = self.list(bank_account_id=self.accounts["booking"], amount_lte="-77.70",
                             amount_gte="-77.70")["data"]
        self.assertEqual([t["id"] for t in matching], [pending["id"]])

    # -- list and filters ----------------------------------------------------------------------

    def test_each_filter_selects_exactly_the_matching_transactions(self):
        """Every filter, alone and combined, returns exactly the transactions a client-side
        evaluation of the same condition selects."""
        account = self.accounts["filters"]
        specs = [
            ("-10.00", "EUR", "BOOKED", "2025-01-01", "Corner Shop", "milk"),
            ("-10.005", "KWD", "BOOKED", "2025-01-02", "Kuwait Store", "dates"),
            ("-0.50", "EUR", "PENDING", "2025-01-03", "Parking", "50% off_day"),
            ("2500.00", "EUR", "BOOKED", "2025-01-04", "ACME Payroll", "Salary January"),
            ("-1000", "JPY", "BOOKED", "2025-01-05", "Tokyo Ramen", "lunch"),
            ("-10.01", "EUR", "BOOKED", "2025-01-06", "corner shop", "MILK AND EGGS"),
        ]
        created = []
        for amount, currency, status, date, party, text in specs:
            fields = {"amount": amount, "currency": currency, "status": status,
                      "booking_date": date, "remittance_information": {"unstructured": text}}
            fields["creditor" if amount.startswith("-") else "debtor"] = {"name": party}
            if status == "PENDING":
                fields["value_date"], fields["booking_date"] = date, None
            created.append(self.create("filters", **fields))
        ids = [t["id"] for t in created]

        def expect(predicate):
            return [t["id"] for t in sorted(created, key=lambda t: (t["generated"]["date"],
                                                                    t["id"]), reverse=True)
                    if predicate(t)]

        def major(t):
            digits = {"EUR": 2, "KWD": 3, "JPY": 0}[t["currency"]]
            return fractions.Fraction(t["amount_minor"], 10 ** digits)

        def amount(text):
            return fractions.Fraction(text)

        cases = [
            ({}, expect(lambda t: True)),
            ({"status": "PENDING"}, expect(lambda t: not t["booked"])),
            ({"status": "booked"}, expect(lambda t: t["booked"])),
            ({"status": "BOOKED,PENDING"}, expect(lambda t: True)),
            ({"date_from": "2025-01-02", "date_to": "2025-01-04"},
             expect(lambda t: "2025-01-02" <= t["generated"]["date"] <= "2025-01-04")),
            ({"posted_date_from": "2025-01-05"},
             expect(lambda t: t["generated"]["date"] >= "2025-01-05")),
            ({"posted_date_to": "2025-01-01"},
             expect(lambda t: t["generated"]["date"] <= "2025-01-01")),
            ({"booking_date_from": "2025-01-03"},
             expect(lambda t: t["booking_date"] and t["booking_date"] >= "2025-01-03")),
            ({"booking_date_to": "2025-01-03"},
             expect(lambda t: t["booking_date"] and t["booking_date"] <= "2025-01-03")),
            ({"currency": "eur"}, expect(lambda t: t["currency"] == "EUR")),
            ({"amount_gte": "-10.005"}, expect(lambda t: major(t) >= amount("-10.005"))),
            ({"amount_gt": "-10.005"}, expect(lambda t: major(t) > amount("-10.005"))),
            ({"amount_lte": "-10.005"}, expect(lambda t: major(t) <= amount("-10.005"))),
            ({"amount_lt": "-10"}, expect(lambda t: major(t) < -10)),
            ({"amount_gte": "-10", "amount_lte": "0"},
             expect(lambda t: -10 <= major(t) <= 0)),
            ({"currency": "EUR", "amount_lt": "-10.00"},
             expect(lambda t: t["currency"] == "EUR" and major(t) < -10)),
            ({"search": "CORNER"}, expect(lambda t: "corner" in t["generated"]["payee"].lower())),
            ({"search": "milk"}, expect(lambda t: "milk" in
                                        t["remittance_information"]["unstructured"].lower())),
            ({"search": "payroll"}, [ids[3]]),
            ({"search": "%"}, [ids[2]]),
            ({"search": "_"}, [ids[2]]),
            ({"search": "50%"}, [ids[2]]),
            ({"search": "50_"}, []),
            ({"sort": "date"}, list(reversed(expect(lambda t: True)))),
            ({"filter[status]": "PENDING", "filter[currency]": "EUR"},
             expect(lambda t: not t["booked"])),
        ]
        for params, expected in cases:
            with self.subTest(params):
                params = dict(params)
                params.setdefault("bank_account_id", account)
                self.assertEqual(self.list_ids(**params), expected)
        self.assertEqual(self.list_ids(**{"filter[bank_account_id]": account}),
                         expect(lambda t: True))

    def test_invalid_query_parameters_are_422_naming_the_parameter(self):
        """Each invalid query parameter is a 422 whose errors name it."""
        cases = [
            ({"amount_gte": "ten"}, "amount_gte"), ({"amount_lt": "1e3"}, "amount_lt"),
            ({"status": "COMPLETE"}, "status"), ({"date_from": "2025-13-01"}, "date_from"),
            ({"posted_date_to": "x"}, "posted_date_to"), ({"currency": "EURO"}, "currency"),
            ({"bank_account_id": "abc"}, "bank_account_id"), ({"sort": "amount"}, "sort"),
            ({"limit": "0"}, "limit"), ({"limit": "501"}, "limit"),
            ({"page[size]": "0"}, "page[size]"), ({"page[number]": "-1"}, "page[number]"),
            ({"page_token": "bogus"}, "page_token"), ({"colour": "red"}, "colour"),
            ({"date_from": "2025-02-01", "date_to": "2025-01-01"}, "date_from"),
            ({"search": "x" * 201}, "search"),
        ]
        for params, field in cases:
            with self.subTest(params):
                response = self.server.request("GET", query(BASE, **params), self.alice)
                self.assertInvalid(response, field)

    # -- paging --------------------------------------------------------------------------------

    def test_cursor_paging_walks_every_transaction_once(self):
        """limit + page_token walks all transactions in both sort orders without gaps or
        repeats, in (date, id) order; links.next is the next page's URL; the last page has a
        null next_page_token."""
        ids = self.pager_transactions(self)
        token = self.users["pat"]["token"]
        for sort, limit in (("-date", 37), ("date", 100), ("-date", 500)):
            with self.subTest(sort=sort, limit=limit):
                seen = []
                path = query(BASE, sort=sort, limit=limit)
                pages = 0
                while path is not None:
                    response = self.server.request("GET", path, token)
                    self.assertEqual(response.status, 200, response)
                    body = response.body
                    self.assertLessEqual(len(body["data"]), limit)
                    self.assertEqual(body["meta"]["limit"], limit)
                    seen += [(t["generated"]["date"], t["id"]) for t in body["data"]]
                    next_token = body["meta"]["next_page_token"]
                    self.assertEqual(body["meta"]["has_more"], next_token is not None)
                    if next_token is None:
                        self.assertIsNone(body["links"]["next"])
                        path = None
                    else:
                        self.assertIn("page_token=" + next_token, body["links"]["next"])
                        path = body["links"]["next"]
                    pages += 1
                    self.assertLess(pages, 100)
                self.assertEqual(sorted(i for _, i in seen), sorted(ids))
                self.assertEqual(seen, sorted(seen, reverse=sort == "-date"))

    def test_cursor_paging_with_a_filter(self):
        """Page tokens carry the filters: paging a filtered list yields exactly its rows."""
        self.pager_transactions(self)
        token = self.users["pat"]["token"]
        params = {"date_from": "2024-03-10", "amount_lt": "-50", "limit": 13}
        everything = self.list(token, limit=500)["data"]
        expected = sorted((t["generated"]["date"], t["id"]) for t in everything
                          if t["generated"]["date"] >= "2024-03-10" and t["amount_minor"] < -5000)
        seen = []
        page_token = ""
        while True:
            body = self.list(token, page_token=page_token, **params)
            seen += [(t["generated"]["date"], t["id"]) for t in body["data"]]
            page_token = body["meta"]["next_page_token"]
            if page_token is None:
                break
        self.assertEqual(seen, sorted(expected, reverse=True))

    def test_page_paging_walks_every_transaction_once(self):
        """page[number] + page[size] walks all transactions; meta has the total and links
        first/prev/next."""
        ids = self.pager_transactions(self)
        token = self.users["pat"]["token"]
        seen = []
        number = 1
        while True:
            body = self.list(token, **{"page[number]": number, "page[size]": 60})
            self.assertEqual(body["meta"]["page_number"], number)
            self.assertEqual(body["meta"]["page_size"], 60)
            self.assertEqual(body["meta"]["total"], len(ids))
            self.assertEqual(body["links"]["prev"] is None, number == 1)
            seen += [t["id"] for t in body["data"]]
            if not body["meta"]["has_more"]:
                self.assertIsNone(body["links"]["next"])
                break
            self.assertIn(f"page%5Bnumber%5D={number + 1}", body["links"]["next"])
            number += 1
        self.assertEqual(number, 5)
        self.assertEqual(sorted(seen), sorted(ids))
        self.assertEqual(len(seen), len(set(seen)))

    def test_page_paging_is_bounded(self):
        """Pages past the first 10,000 transactions are refused with a pointer to page_token;
        page and cursor paging cannot be mixed."""
        response = self.server.request("GET", query(BASE, **{"page[number]": 21,
                                                             "page[size]": 500}), self.alice)
        self.assertInvalid(response, "page[number]")
        self.assertIn("page_token", response.body["errors"]["page[number]"][0])
        response = self.server.request("GET", query(BASE, **{"page[number]": 2, "limit": 5}),
                                       self.alice)
        self.assertInvalid(response, "limit")

    def test_page_token_with_other_filters_is_400(self):
        """A page token replayed with other filters or another sort is 400 bad_request; a
        corrupted one is 422 on page_token."""
        self.pager_transactions(self)
        token = self.users["pat"]["token"]
        first = self.list(token, limit=10, status="BOOKED")
        page_token = first["meta"]["next_page_token"]
        self.assertIsNotNone(page_token)
        for params in ({"status": "PENDING"}, {}, {"status": "BOOKED", "sort": "date"},
                       {"status": "BOOKED", "amount_gte": "1"}):
            with self.subTest(params):
                response = self.server.request(
                    "GET", query(BASE, page_token=page_token, **params), token)
                self.assertProblem(response, 400, "bad_request")
        corrupted = page_token[:-2] + ("AA" if not page_token.endswith("AA") else "BB")
        response = self.server.request("GET", query(BASE, page_token=corrupted,
                                                    status="BOOKED"), token)
        self.assertInvalid(response, "page_token")
        same = self.list(token, limit=10, status="BOOKED", page_token=page_token)
        self.assertEqual(len(same["data"]), 10)

    # -- get, update, delete, ownership --------------------------------------------------------

    def test_update_edits_generated_fields_and_delete_removes(self):
        """PUT changes only the given generated fields, null restores the generated value,
        other fields are refused; DELETE is 204 and the transaction is gone."""
        created = self.create("edit", amount="-12.00", booking_date="2025-05-05",
                              creditor={"name": "Old Payee"},
                              remittance_information={"unstructured": "Invoice 7"})
        path = f"{BASE}/{created['id']}"
        response = self.server.request("PUT", path, self.alice,
                                       {"generated": {"payee": "New Payee"}})
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.body["data"]["generated"],
                         {"payee": "New Payee", "description": "Invoice 7",
                          "date": "2025-05-05"})
        response = self.server.request("PUT", path, self.alice, {"generated": {
            "description": "Groceries", "date": "2025-05-31"}})
        self.assertEqual(response.body["data"]["generated"],
                         {"payee": "New Payee", "description": "Groceries",
                          "date": "2025-05-31"})
        self.assertEqual(self.list_ids(bank_account_id=self.accounts["edit"],
                                       date_from="2025-05-31"), [created["id"]])
        response = self.server.request("PUT", path, self.alice, {"generated": {
            "payee": None, "date": None}})
        self.assertEqual(response.body["data"]["generated"],
                         {"payee": "Old Payee", "description": "Groceries",
                          "date": "2025-05-05"})
        self.assertEqual(response.body["data"]["amount"], "-12.00")
        for body, field in (({"amount": "1"}, "amount"),
                            ({"generated": {"payee": 5}}, "generated.payee"),
                            ({"generated": {"date": "May 5"}}, "generated.date"),
                            ({"generated": {"colour": "x"}}, "generated.colour")):
            with self.subTest(body):
                self.assertInvalid(self.server.request("PUT", path, self.alice, body), field)
        response = self.server.request("DELETE", path, self.alice)
        self.assertEqual(response.status, 204, response)
        for method, body in (("GET", None), ("PUT", {"generated": {"payee": "x"}}),
                             ("DELETE", None)):
            with self.subTest(method):
                self.assertProblem(self.server.request(method, path, self.alice, body), 404,
                                   "not_found")

    def test_another_users_transaction_is_404(self):
        """Bob cannot see, edit or delete Alice's transaction, nor find it by filtering on her
        account; malformed ids are 404 too."""
        created = self.create("owned", amount="-1.00")
        path = f"{BASE}/{created['id']}"
        for method, body in (("GET", None), ("PUT", {"generated": {"payee": "x"}}),
                             ("DELETE", None)):
            with self.subTest(method):
                self.assertProblem(self.server.request(method, path, self.bob, body), 404,
                                   "not_found")
        self.assertEqual(self.list(self.bob, bank_account_id=self.accounts["owned"])["data"], [])
        self.assertNotIn(created["id"], [t["id"] for t in self.list(self.bob, limit=500)["data"]])
        self.assertEqual(self.server.request("GET", path, self.alice).status, 200)
        for bad in ("0", "-1", "abc", "99999999999999999999"):
            with self.subTest(bad):
                self.assertProblem(self.server.request("GET", f"{BASE}/{bad}", self.alice), 404,
                                   "not_found")

    def test_scopes(self):
        """GET needs read and writes need write."""
        created = self.create("owned", amount="-2.00")
        path = f"{BASE}/{created['id']}"
        body = {"bank_account_id": self.accounts["owned"], "amount": "1",
                "booking_date": "2025-01-01"}
        for token, method, target, request_body in (
                (self.alice_write, "GET", BASE, None), (self.alice_write, "GET", path, None),
                (self.alice_write, "GET", BASE + "/sync", None),
                (self.alice_read, "POST", BASE, body),
                (self.alice_read, "PUT", path, {"generated": {"payee": "x"}}),
                (self.alice_read, "DELETE", path, None)):
            with self.subTest(method=method, target=target):
                response = self.server.request(method, target, token, request_body)
                self.assertProblem(response, 403, "insufficient_scope")
        self.assertEqual(self.server.request("GET", path, self.alice_read).status, 200)

    # -- change feed ---------------------------------------------------------------------------

    def feed(self, token, cursor="", limit=None):
        params = {"cursor": cursor}
        if limit is not None:
            params["limit"] = limit
        response = self.server.request("GET", query(BASE + "/sync", **params), token)
        self.assertEqual(response.status, 200, response)
        return response.body["data"]

    def test_change_feed_reports_added_modified_and_removed(self):
        """The feed starts empty, then reports creations as added (with the current state
        even after an edit in the same page), edits as modified and deletions as removed; a
        transaction added and removed within one page is left out; polling with next_cursor
        at the end returns nothing new."""
        token = self.users["dave"]["token"]
        account = self.accounts["dave"]
        empty = self.feed(token)
        self.assertEqual((empty["added"], empty["modified"], empty["removed"],
                          empty["has_more"]), ([], [], [], False))

        def create(amount):
            return self.create("dave", token=token, amount=amount)

        kept, edited, dropped = create("-1.00"), create("-2.00"), create("-3.00")
        self.server.request("PUT", f"{BASE}/{edited['id']}", token,
                            {"generated": {"payee": "Edited"}})
        self.assertEqual(self.server.request("DELETE", f"{BASE}/{dropped['id']}", token).status,
                         204)
        page = self.feed(token, empty["next_cursor"])
        self.assertEqual([t["id"] for t in page["added"]], [kept["id"], edited["id"]])
        self.assertEqual(page["added"][1]["generated"]["payee"], "Edited")
        self.assertEqual((page["modified"], page["removed"], page["has_more"]), ([], [], False))

        self.server.request("PUT", f"{BASE}/{kept['id']}", token,
                            {"generated": {"description": "Changed"}})
        self.server.request("DELETE", f"{BASE}/{edited['id']}", token)
        later = self.feed(token, page["next_cursor"])
        self.assertEqual([t["id"] for t in later["added"]], [])
        self.assertEqual([(t["id"], t["generated"]["description"]) for t in later["modified"]],
                         [(kept["id"], "Changed")])
        self.assertEqual(later["removed"], [{"id": edited["id"], "bank_account_id": account}])
        again = self.feed(token, later["next_cursor"])
        self.assertEqual((again["added"], again["modified"], again["removed"],
                          again["has_more"], again["next_cursor"]),
                         ([], [], [], False, later["next_cursor"]))

    def test_change_feed_pages_rebuild_the_current_list(self):
        """Reading the whole feed in small pages (has_more) and applying each page to a local
        copy reproduces exactly the transactions the list endpoint returns."""
        token = self.users["carol"]["token"]
        made = [self.create("carol", token=token, amount=f"-{i}.00") for i in range(1, 8)]
        for transaction in made[::3]:
            self.server.request("PUT", f"{BASE}/{transaction['id']}", token,
                                {"generated": {"payee": f"P{transaction['id']}"}})
        for transaction in made[1::3]:
            self.server.request("DELETE", f"{BASE}/{transaction['id']}", token)
        local = {}
        cursor = ""
        pages = 0
        while True:
            page = self.feed(token, cursor, limit=2)
            for transaction in page["added"] + page["modified"]:
                local[transaction["id"]] = transaction
            for removed in page["removed"]:
                local.pop(removed["id"], None)
            cursor = page["next_cursor"]
            pages += 1
            self.assertLess(pages, 100)
            if not page["has_more"]:
                break
        self.assertGreater(pages, 3)
        current = {t["id"]: t for t in self.list(token, limit=500)["data"]}
        self.assertEqual(local, current)

    def test_change_feed_parameters_are_validated(self):
        """A corrupted cursor, a bad limit or an unknown parameter is 422 naming it."""
        token = self.users["carol"]["token"]
        for params, field in (({"cursor": "nope"}, "cursor"), ({"limit": "0"}, "limit"),
                              ({"limit": "501"}, "limit"), ({"since": "1"}, "since")):
            with self.subTest(params):
                response = self.server.request("GET", query(BASE + "/sync", **params), token)
                self.assertInvalid(response, field)


if __name__ == "__main__":
    import unittest
    unittest.main()
