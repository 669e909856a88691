"""Statistics: money in and out of bank transactions per currency, period and account over a
date range (GET /api/v1/stats/bank/transactions), and key user counts (GET /api/v1/stats/user).

Bank accounts are inserted straight into the SQLite file before the server starts (with
automatic sync off), so every transaction counted is one the test created and every sum can be
computed exactly. Transfer statistics are not tested: transfer links do not exist yet."""

import datetime
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from test_transactions import insert_bank_account  # noqa: E402

STATS = "/api/v1/stats/bank/transactions"
USER_STATS = "/api/v1/stats/user"


def query(path, **params):
    return path + "?" + urllib.parse.urlencode(params) if params else path


class StatisticsTest(harness.ServerTestCase):
    """One server; each test uses its own user or its own dates, so no test sees another's
    transactions."""

    SERVER_ARGUMENTS = ("--rate-limit-read", "0", "--rate-limit-write", "0")

    @classmethod
    def prepare(cls, server):
        cls.tokens = {}
        cls.accounts = {}
        layout = {"sums": (("eur", "EUR"), ("yen", "JPY"), ("kwd", "KWD")),
                  "filters": (("main", "EUR"), ("side", "EUR")),
                  "recent": (("main", "EUR"),),
                  "errors": (("main", "EUR"),),
                  "owner": (("main", "EUR"),),
                  "intruder": (("main", "EUR"),),
                  "counts": (("main", "EUR"), ("spare", "USD"))}
        for user_name, accounts in layout.items():
            email = f"{user_name}@example.com"
            user = server.create_user(email, user_name.title())
            cls.tokens[user_name] = server.create_token(email, "main", "read,write")["token"]
            for account_name, currency in accounts:
                cls.accounts[(user_name, account_name)] = insert_bank_account(
                    server.db_path, user["id"], currency, f"{user_name}-{account_name}")
        cls.write_only = server.create_token("errors@example.com", "writer", "write")["token"]

    # -- helpers -------------------------------------------------------------------------------

    def add(self, user, account, amount, booking_date, status="BOOKED"):
        body = {"bank_account_id": self.accounts[(user, account)], "amount": amount,
                "booking_date": booking_date, "status": status}
        response = self.server.request("POST", "/api/v1/banks/transactions", self.tokens[user],
                                       body)
        self.assertEqual(response.status, 201, response)
        return response.body["data"]

    def stats(self, user, **params):
        response = self.server.request("GET", query(STATS, **params), self.tokens[user])
        self.assertEqual(response.status, 200, response)
        return response.body["data"]

    @staticmethod
    def by_currency(entries):
        return {entry["currency"]: entry for entry in entries}

    # -- bank transaction statistics -----------------------------------------------------------

    def test_sums_are_exact_per_currency_with_each_exponent(self):
        """Totals per currency are exact decimals in the currency's exponent (EUR 2, JPY 0,
        KWD 3) with matching minor units, and zero amounts count in count only."""
        for amount, day in (("100.10", "2025-01-05"), ("0.20", "2025-01-06"),
                            ("-42.50", "2025-01-07"), ("-0.05", "2025-02-01"),
                            ("0.00", "2025-02-02")):
            self.add("sums", "eur", amount, day)
        for amount, day in (("5000", "2025-01-10"), ("-1234", "2025-02-10")):
            self.add("sums", "yen", amount, day)
        self.add("sums", "kwd", "-1.005", "2025-01-20")
        data = self.stats("sums", date_from="2025-01-01", date_to="2025-02-28")
        self.assertEqual((data["date_from"], data["date_to"], data["group_by"]),
                         ("2025-01-01", "2025-02-28", "day"))
        totals = self.by_currency(data["totals"])
        self.assertEqual(list(totals), ["EUR", "JPY", "KWD"])
        self.assertEqual(totals["EUR"], {
            "currency": "EUR", "count": 5, "in_count": 2, "out_count": 2,
            "in": "100.30", "out": "-42.55", "net": "57.75",
            "in_minor": 10030, "out_minor": -4255, "net_minor": 5775})
        jpy = totals["JPY"]
        self.assertEqual((jpy["in"], jpy["out"], jpy["net"], jpy["count"]),
                         ("5000", "-1234", "3766", 2))
        kwd = totals["KWD"]
        self.assertEqual((kwd["in"], kwd["out"], kwd["net"], kwd["out_minor"]),
                         ("0.000", "-1.005", "-1.005", -1005))
        days = [(entry["period"], entry["currency"]) for entry in data["periods"]]
        self.assertEqual(days, sorted(days))
        self.assertEqual(len(days), 8)

    def test_month_grouping_and_account_sections(self):
        """group_by=month sums each calendar month per currency, and the accounts section
        splits the same totals per bank account."""
        self.add("filters", "main", "10.00", "2025-03-01")
        self.add("filters", "main", "-2.50", "2025-03-31")
        self.add("filters", "side", "7.25", "2025-03-15")
        self.add("filters", "main", "-1.00", "2025-04-01", status="PENDING")
        data = self.stats("filters", date_from="2025-03-01", date_to="2025-04-30",
                          group_by="month")
        self.assertEqual(data["group_by"], "month")
        periods = [(e["period"], e["currency"], e["in"], e["out"], e["net"], e["count"])
                   for e in data["periods"]]
        self.assertEqual(periods, [("2025-03", "EUR", "17.25", "-2.50", "14.75", 3),
                                   ("2025-04", "EUR", "0.00", "-1.00", "-1.00", 1)])
        main = self.accounts[("filters", "main")]
        side = self.accounts[("filters", "side")]
        accounts = [(e["bank_account_id"], e["net"], e["count"]) for e in data["accounts"]]
        self.assertEqual(accounts, sorted([(main, "6.50", 3), (side, "7.25", 1)]))

    def test_account_status_and_date_filters(self):
        """bank_account_id, status and the inclusive date range each narrow every section."""
        self.add("filters", "main", "3.00", "2025-05-01")
        self.add("filters", "side", "4.00", "2025-05-02")
        self.add("filters", "main", "-5.00", "2025-05-03", status="PENDING")
        main = self.accounts[("filters", "main")]
        data = self.stats("filters", date_from="2025-05-01", date_to="2025-05-03",
                          bank_account_id=main)
        self.assertEqual(data["totals"][0]["net"], "-2.00")
        self.assertEqual([e["bank_account_id"] for e in data["accounts"]], [main])
        data = self.stats("filters", date_from="2025-05-01", date_to="2025-05-03",
                          status="PENDING")
        self.assertEqual((data["totals"][0]["count"], data["totals"][0]["out"]), (1, "-5.00"))
        data = self.stats("filters", date_from="2025-05-02", date_to="2025-05-02")
        self.assertEqual((data["totals"][0]["count"], data["totals"][0]["in"]), (1, "4.00"))
        data = self.stats("filters", date_from="2025-05-04", date_to="2025-05-31")
        self.assertEqual((data["totals"], data["periods"], data["accounts"]), ([], [], []))

    def test_default_range_is_the_last_30_days(self):
        """Without dates the range is the last 30 days up to the server's today, inclusive."""
        today = datetime.datetime.now(datetime.timezone.utc).date()
        first = today - datetime.timedelta(days=29)
        self.add("recent", "main", "1.00", today.isoformat())
        self.add("recent", "main", "2.00", first.isoformat())
        self.add("recent", "main", "4.00", (first - datetime.timedelta(days=1)).isoformat())
        data = self.stats("recent")
        self.assertEqual((data["date_from"], data["date_to"]),
                         (first.isoformat(), today.isoformat()))
        self.assertEqual((data["totals"][0]["in"], data["totals"][0]["count"]), ("3.00", 2))

    def test_invalid_parameters_are_422_naming_the_parameter(self):
        """Every invalid value, unknown or repeated parameter, reversed range and range over
        three years is a 422 problem naming the parameter; a write-only token gets 403."""
        cases = [
            ("date_from=2025-02-30", "date_from"),
            ("date_to=yesterday", "date_to"),
            ("group_by=week", "group_by"),
            ("bank_account_id=0", "bank_account_id"),
            ("bank_account_id=abc", "bank_account_id"),
            ("status=DONE", "status"),
            ("colour=red", "colour"),
            ("group_by=", "group_by"),
            ("group_by=day&group_by=month", "group_by"),
            ("date_from=2025-03-02&date_to=2025-03-01", "date_to"),
            ("date_from=2022-01-01&date_to=2025-01-02", "date_to"),
            ("date_from=2999-01-01", "date_from"),
        ]
        for query_string, field in cases:
            with self.subTest(query=query_string):
                response = self.server.request("GET", f"{STATS}?{query_string}",
                                               self.tokens["errors"])
                self.assertProblem(response, 422, "validation_failed")
                self.assertIn(field, response.body["errors"])
        answer = self.stats("errors", date_from="2022-01-01", date_to="2025-01-01")
        self.assertEqual(answer["totals"], [])
        response = self.server.request("GET", STATS, self.write_only)
        self.assertEqual(response.status, 403, response)
        response = self.server.request("GET", STATS)
        self.assertEqual(response.status, 401, response)

    def test_another_users_data_is_never_counted(self):
        """One user's transactions never appear in another's statistics, and filtering on
        another user's account is a 422 exactly like a missing account."""
        self.add("owner", "main", "10.00", "2025-06-10")
        self.add("intruder", "main", "999.00", "2025-06-10")
        data = self.stats("owner", date_from="2025-06-01", date_to="2025-06-30")
        self.assertEqual([(t["currency"], t["in"], t["count"]) for t in data["totals"]],
                         [("EUR", "10.00", 1)])
        self.assertEqual([e["bank_account_id"] for e in data["accounts"]],
                         [self.accounts[("owner", "main")]])
        for account_id in (self.accounts[("intruder", "main")], 999999):
            response = self.server.request(
                "GET", query(STATS, bank_account_id=account_id), self.tokens["owner"])
            self.assertEqual(response.status, 422, response)
            self.assertIn("bank_account_id", response.body["errors"])
        user = self.server.request("GET", USER_STATS, self.tokens["owner"]).body["data"]
        self.assertEqual(user["bank_transactions"]["total"], 1)

    # -- user statistics -----------------------------------------------------------------------

    def test_user_statistics_count_the_users_objects(self):
        """Key user statistics count the user's connections by status, accounts by health,
        booked and pending transactions with their date span, and enabled rules."""
        empty = self.server.request("GET", USER_STATS, self.tokens["counts"])
        self.assertEqual(empty.status, 200, empty)
        self.assertEqual(empty.body["data"]["bank_transactions"],
                         {"total": 0, "booked": 0, "pending": 0, "oldest_date": None,
                          "newest_date": None})
        self.add("counts", "main", "1.00", "2024-12-31")
        self.add("counts", "main", "-1.00", "2025-07-01", status="PENDING")
        self.add("counts", "spare", "2.00", "2025-03-01")
        rule = {"name": "Off", "enabled": False, "type": "BANK",
                "trigger_on_any_condition": False, "skip_other_rules_when_triggered": False,
                "conditions": [{"field_name": "amount", "operator": "LESS_THAN", "value": "0"}],
                "actions": [{"order": 0, "action_type": "SET_FIELD",
                             "field_name": "generated.payee", "value": "Shop"}]}
        created = self.server.request("POST", "/api/v1/rules", self.tokens["counts"], rule)
        self.assertEqual(created.status, 201, created)
        response = self.server.request("GET", USER_STATS, self.tokens["counts"])
        self.assertEqual(response.status, 200, response)
        data = response.body["data"]
        self.assertEqual(data["bank_connections"],
                         {"total": 2, "by_status": {"LN": 2}, "by_health": {"HEALTHY": 2}})
        self.assertEqual(data["bank_accounts"],
                         {"total": 2, "by_health": {"HEALTHY": 2},
                          "transactions_last_synced_at": None})
        self.assertEqual(data["bank_transactions"],
                         {"total": 3, "booked": 2, "pending": 1, "oldest_date": "2024-12-31",
                          "newest_date": "2025-07-01"})
        self.assertEqual(data["rules"], {"total": 1, "enabled": 0})
        self.assertEqual(data["rule_logs_last_30_days"], {"total": 0, "failed": 0})
        response = self.server.request("GET", USER_STATS + "?x=1", self.tokens["counts"])
        self.assertEqual(response.status, 422, response)


if __name__ == "__main__":
    import unittest
    unittest.main()
