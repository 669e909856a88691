"""Rules (issue 4), black box: seed 001's create-rule example verbatim (one 422 field error per
placeholder) and with real values (the seed's response shape), CRUD of rules, conditions and
actions with save-time validation, attach/reorder/detach, BANK rules running in a sandbox sync
with rule logs, undo and refused undo, preview (writes nothing) and apply (writes), plan limits
and tenant isolation.
"""

import copy
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from test_sync import BankClient, FAR_PAST, SERVER_ARGUMENTS, unsynced_connection  # noqa: E402

# Seed 001's create-rule request body, exactly as published.
SEED_CREATE_RULE = {
    "name": "string",
    "description": "string",
    "enabled": True,
    "trigger_on_any_condition": True,
    "skip_other_rules_when_triggered": True,
    "type": "BANK",
    "conditions": [{"field_name": "string", "operator": "EQUALS", "value": "string"}],
    "actions": [{"order": 0, "action_type": "SET_YNAB_FIELD", "field_name": "string",
                 "value": "string"}],
    "bank_accounts": [{"id": 0, "order": 0}],
    "transfer_links": [{"id": 0, "order": 0}],
    "destinations": [{"type": "YNAB", "id": 0, "order": 0}],
    "banks": [{"id": 0, "order": 0}],
}

PAYEE_TEMPLATE = "RULED {{ creditor.name | default: 'nobody' }}"


def real_rule(account_id=None, name="Card payments"):
    """The seed's shape with real values: a BANK rule setting generated.payee."""
    body = {
        "name": name,
        "description": "Marks outgoing payments",
        "enabled": True,
        "trigger_on_any_condition": False,
        "skip_other_rules_when_triggered": False,
        "type": "BANK",
        "conditions": [
            {"field_name": "creditor.name", "operator": "IS_NOT_EMPTY", "value": ""},
            {"field_name": "amount", "operator": "LESS_THAN", "value": "0"},
        ],
        "actions": [{"order": 0, "action_type": "SET_FIELD", "field_name": "generated.payee",
                     "value": PAYEE_TEMPLATE}],
    }
    if account_id is not None:
        body["bank_accounts"] = [{"id": account_id, "order": 0}]
    return body


class RulesTest(unittest.TestCase):
    """One server and two users shared by the tests; each test makes its own rules."""

    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(SERVER_ARGUMENTS + ("--rules-per-target-max", "3"))
        cls.addClassCleanup(cls.server.close)
        cls.server.create_user("alice@example.com", "Alice")
        cls.server.create_user("bob@example.com", "Bob")
        cls.alice_token = cls.server.create_token("alice@example.com")["token"]
        cls.bob_token = cls.server.create_token("bob@example.com")["token"]
        cls.server.start()

    def setUp(self):
        self.alice = BankClient(self, self.server, self.alice_token)
        self.bob = BankClient(self, self.server, self.bob_token)

    def assertFieldErrors(self, response, expected):
        """A 422 whose errors hold each expected key with a message containing the text."""
        harness.assert_problem(self, response, 422, "validation_failed")
        errors = response.body["errors"]
        for field, text in expected.items():
            self.assertIn(field, errors, response.body)
            self.assertTrue(any(text in message for message in errors[field]),
                            f"{field}: {errors[field]!r} lacks {text!r}")

    def create_rule(self, body, client=None):
        response = (client or self.alice).call("POST", "/api/v1/rules", body, expect=201)
        self.assertEqual(response.body["message"], "Rule created.")
        return response.body["data"]

    def account_with_transactions(self):
        """A sandbox account with no rules whose first sync is done: (connection_id, account)."""
        connection, accounts = self.alice.linked_connection(history_days=60)
        return connection["id"], accounts[0]

    # -- seed example --------------------------------------------------------------------------

    def test_seed_example_verbatim_gets_each_field_error(self):
        """Seed 001's body sent verbatim is refused with one precise error per placeholder."""
        response = self.alice.call("POST", "/api/v1/rules", SEED_CREATE_RULE)
        self.assertFieldErrors(response, {
            "conditions.0.field_name": "unknown field 'string'",
            "actions.0.action_type": "SET_YNAB_FIELD is not allowed in a BANK rule",
            "bank_accounts.0.id": "no bank account with id 0",
            "transfer_links.0.id": "cannot be attached to a transfer link",
            "destinations.0.id": "cannot be attached to a YNAB destination",
            "banks.0.id": "no bank connection with id 0",
        })
        self.assertNotIn("string", [r["name"] for r in self.alice.data("GET", "/api/v1/rules")])

    def test_seed_example_with_real_values_answers_the_seed_shape(self):
        """The seed's shape with real values is created (201) and answered in the seed's shape."""
        connection_id, account = self.account_with_transactions()
        body = copy.deepcopy(SEED_CREATE_RULE)
        body.update(real_rule(account["id"]))
        body["banks"] = [{"id": connection_id, "order": 0}]
        del body["transfer_links"], body["destinations"]
        rule = self.create_rule(body)
        for key in ("id", "type", "name", "description", "enabled", "trigger_on_any_condition",
                    "skip_other_rules_when_triggered", "conditions", "conditions_count",
                    "actions", "actions_count", "bank_accounts", "transfer_links",
                    "destinations", "created_at", "updated_at"):
            self.assertIn(key, rule)
        self.assertEqual(rule["type"], "BANK")
        self.assertEqual(rule["conditions_count"], 2)
        condition = rule["conditions"][0]
        for key in ("id", "transaction_type", "field_name", "operator", "value", "created_at",
                    "updated_at"):
            self.assertIn(key, condition)
        self.assertEqual((condition["field_name"], condition["operator"]),
                         ("creditor.name", "IS_NOT_EMPTY"))
        self.assertEqual(rule["actions"][0]["action_position"], 0)
        action = rule["actions"][0]["action"]
        self.assertEqual((action["order"], action["action_type"], action["field_name"],
                          action["value"]), (0, "SET_FIELD", "generated.payee", PAYEE_TEMPLATE))
        attached = {a["bank_account"]["id"]: a["rule_position"] for a in rule["bank_accounts"]}
        self.assertEqual(attached[account["id"]], 0)
        harness.parse_rfc3339(rule["created_at"])
        self.assertEqual(self.alice.data("GET", f"/api/v1/rules/{rule['id']}"), rule)

    # -- CRUD and validation -------------------------------------------------------------------

    def test_crud_and_save_time_validation(self):
        """Rules, conditions and actions are created, read, updated and deleted; bad regexes,
        templates and fields are refused with 422 when saved; a type never changes."""
        rule = self.create_rule(real_rule())
        path = f"/api/v1/rules/{rule['id']}"
        for body, field in (
                ({"conditions": [{"field_name": "creditor.name", "operator": "MATCHES_REGEX",
                                  "value": "(unclosed"}]}, "conditions.0.value"),
                ({"actions": [{"action_type": "SET_FIELD", "field_name": "generated.payee",
                               "value": "{{ creditor.name | nosuchfilter }}"}]}, "actions.0.value"),
                ({"actions": [{"action_type": "SET_FIELD", "field_name": "amount",
                               "value": "1"}]}, "actions.0.field_name"),
                ({"type": "YNAB"}, "type"),
                ({"conditions": [{"field_name": "amount", "operator": "CONTAINS",
                                  "value": "1"}]}, "conditions.0.operator")):
            self.assertFieldErrors(self.alice.call("PUT", path, body), {field: ""})
        updated = self.alice.data("PUT", path, {"name": "Renamed", "enabled": False})
        self.assertEqual((updated["name"], updated["enabled"]), ("Renamed", False))
        self.assertEqual(updated["conditions"], rule["conditions"])

        condition = self.alice.call("POST", "/api/v1/rule-conditions", {
            "rule_id": rule["id"], "field_name": "currency", "operator": "EQUALS",
            "value": "EUR"}, expect=201).body["data"]
        self.assertFieldErrors(self.alice.call("PUT", f"/api/v1/rule-conditions/{condition['id']}",
                                               {"operator": "MATCHES_REGEX", "value": "a(b"}),
                               {"value": ""})
        changed = self.alice.data("PUT", f"/api/v1/rule-conditions/{condition['id']}",
                                  {"value": "NOK"})
        self.assertEqual(changed["value"], "NOK")
        listed = self.alice.data("GET", f"/api/v1/rule-conditions?rule_id={rule['id']}")
        self.assertEqual([c["id"] for c in listed],
                         [c["id"] for c in rule["conditions"]] + [condition["id"]])
        self.alice.call("DELETE", f"/api/v1/rule-conditions/{condition['id']}", expect=204)
        self.alice.call("GET", f"/api/v1/rule-conditions/{condition['id']}", expect=404)

        action = self.alice.call("POST", "/api/v1/rule-actions", {
            "rule_id": rule["id"], "order": 1, "action_type": "SET_FIELD",
            "field_name": "generated.description", "value": "{{ remittance_information."
                                                              "unstructured | strip }}"},
            expect=201).body["data"]
        self.assertFieldErrors(self.alice.call("POST", "/api/v1/rule-actions", {
            "rule_id": rule["id"], "action_type": "SET_FIELD", "field_name": "generated.payee",
            "value": "{{ unclosed"}), {"value": ""})
        self.assertEqual(self.alice.data("GET", f"/api/v1/rule-actions/{action['id']}")["order"], 1)
        self.alice.call("DELETE", f"/api/v1/rule-actions/{action['id']}", expect=204)
        # The last action cannot go: a rule needs one.
        last = rule["actions"][0]["action"]["id"]
        self.assertFieldErrors(self.alice.call("DELETE", f"/api/v1/rule-actions/{last}"),
                               {"actions": "at least one action"})
        self.alice.call("DELETE", path, expect=204)
        self.alice.call("GET", path, expect=404)
        self.alice.call("GET", f"/api/v1/rule-actions/{last}", expect=404)

    def test_plan_limits_answer_403(self):
        """Six conditions, six actions, or a fourth rule on one account (limit 3 here) are 403."""
        body = real_rule()
        body["conditions"] = [{"field_name": "amount", "operator": "LESS_THAN", "value": "0"}] * 6
        response = self.alice.call("POST", "/api/v1/rules", body)
        harness.assert_problem(self, response, 403, "plan_limit_reached")
        self.assertIn("5 conditions", response.body["detail"])
        body = real_rule()
        body["actions"] = body["actions"] * 6
        response = self.alice.call("POST", "/api/v1/rules", body)
        harness.assert_problem(self, response, 403, "plan_limit_reached")
        self.assertIn("5 actions", response.body["detail"])
        _, account = self.account_with_transactions()
        for index in range(3):
            self.create_rule(real_rule(account["id"], name=f"rule {index}"))
        response = self.alice.call("POST", "/api/v1/rules", real_rule(account["id"]))
        harness.assert_problem(self, response, 403, "plan_limit_reached")
        self.assertIn("at most 3 rules", response.body["detail"])

    def test_attach_reorder_detach(self):
        """Attach places rules in order (positions stay dense), reorder needs exactly the
        attached set, detach closes the gap; transfer links and destinations are 404 for now."""
        _, account = self.account_with_transactions()
        base = f"/api/v1/banks/accounts/{account['id']}/rules"
        first, second, third = (self.create_rule(real_rule(name=n))["id"] for n in "abc")
        self.alice.call("POST", f"{base}/{first}", expect=200)
        self.alice.call("POST", f"{base}/{second}", expect=200)
        placed = self.alice.data("POST", f"{base}/{third}", {"order": 0})
        self.assertEqual([r["rule_id"] for r in placed["rules"]], [third, first, second])
        self.assertEqual([r["rule_position"] for r in placed["rules"]], [0, 1, 2])
        self.assertFieldErrors(self.alice.call("PUT", base, {"rule_ids": [first, second]}),
                               {"rule_ids": "exactly once"})
        reordered = self.alice.data("PUT", base, {"rule_ids": [second, third, first]})
        self.assertEqual([r["rule_id"] for r in reordered["rules"]], [second, third, first])
        detached = self.alice.data("DELETE", f"{base}/{third}")
        self.assertEqual([(r["rule_id"], r["rule_position"]) for r in detached["rules"]],
                         [(second, 0), (first, 1)])
        self.alice.call("DELETE", f"{base}/{third}", expect=404)
        filtered = self.alice.data("GET", f"/api/v1/rules?bank_account_id={account['id']}")
        self.assertEqual(sorted(r["id"] for r in filtered), sorted([first, second]))
        response = self.alice.call("POST", f"/api/v1/transfer-links/5/rules/{first}")
        self.assertFieldErrors(response, {"rule_id": "cannot be attached to a transfer link"})
        ynab = self.create_rule({"name": "y", "type": "YNAB", "actions": [
            {"action_type": "SET_YNAB_FIELD", "field_name": "memo", "value": "x"}]})
        harness.assert_problem(self, self.alice.call(
            "POST", f"/api/v1/transfer-links/5/rules/{ynab['id']}"), 404, "not_found")
        harness.assert_problem(self, self.alice.call(
            "POST", f"/api/v1/destinations/YNAB/5/rules/{ynab['id']}"), 404, "not_found")
        self.assertFieldErrors(self.alice.call(
            "POST", f"/api/v1/destinations/NOPE/5/rules/{ynab['id']}"), {"type": ""})
        self.assertFieldErrors(self.alice.call(
            "POST", f"{base}/{ynab['id']}"), {"rule_id": "cannot be attached to a bank account"})

    # -- running rules -------------------------------------------------------------------------

    def test_sync_runs_bank_rules_and_logs_can_be_undone(self):
        """A sync with a BANK rule attached stores the rule's payee and one log per action;
        undo restores the payee once, and is refused when repeated or the field changed."""
        connection_id, accounts = unsynced_connection(self.alice, history_days=60)
        account_id = accounts[0]["id"]
        rule = self.create_rule(real_rule())
        attached = self.alice.data("POST", f"/api/v1/rules/{rule['id']}/banks/{connection_id}")
        self.assertEqual(len(attached["bank_accounts"]), len(accounts))
        self.alice.sync(account_id, date_from=FAR_PAST)
        transactions = self.alice.transactions(bank_account_id=account_id)
        ruled = [t for t in transactions if t["generated"]["payee"].startswith("RULED ")]
        self.assertTrue(ruled, "no transaction matched the rule")
        logs = self.alice.data("GET", f"/api/v1/rule-logs?rule_id={rule['id']}&limit=500")
        logged = {log["bank_transaction_id"] for log in logs}
        self.assertTrue({t["id"] for t in ruled} <= logged)
        log = next(entry for entry in logs if entry["bank_transaction_id"] == ruled[0]["id"])
        self.assertEqual((log["field"], log["new_value"], log["success"]),
                         ("generated.payee", ruled[0]["generated"]["payee"], True))
        self.assertEqual(self.alice.data("GET", f"/api/v1/rule-logs/{log['id']}"), log)

        undo = self.alice.call("POST", f"/api/v1/rule-logs/{log['id']}/undo", expect=200)
        self.assertEqual(undo.body["data"]["undo_of_rule_log_id"], log["id"])
        restored = self.alice.data("GET", f"/api/v1/banks/transactions/{ruled[0]['id']}")
        self.assertEqual(restored["generated"]["payee"], log["previous_value"])
        self.assertIsNotNone(self.alice.data("GET", f"/api/v1/rule-logs/{log['id']}")["undone_at"])
        again = self.alice.call("POST", f"/api/v1/rule-logs/{log['id']}/undo")
        harness.assert_problem(self, again, 409, "conflict")
        self.assertIn("already undone", again.body["detail"])

        other = next(entry for entry in logs if entry["id"] != log["id"] and entry["success"])
        self.alice.call("PUT", f"/api/v1/banks/transactions/{other['bank_transaction_id']}",
                        {"generated": {"payee": "Edited by hand"}}, expect=200)
        changed = self.alice.call("POST", f"/api/v1/rule-logs/{other['id']}/undo")
        harness.assert_problem(self, changed, 409, "conflict")

    def test_preview_writes_nothing_and_apply_writes(self):
        """Preview lists what a rule would change without writing; apply stores the changes,
        writes logs and change-feed rows, and a second apply changes nothing."""
        _, account = self.account_with_transactions()
        account_id = account["id"]
        rule = self.create_rule(real_rule())
        before = self.alice.transactions(bank_account_id=account_id)
        preview = self.alice.call("POST", f"/api/v1/rules/{rule['id']}/preview",
                                  {"bank_account_id": account_id, "limit": 1000}, expect=200)
        changes = preview.body["data"]
        self.assertTrue(changes)
        self.assertTrue(all(c["new_value"].startswith("RULED ") for c in changes))
        self.assertEqual(self.alice.transactions(bank_account_id=account_id), before)
        self.assertEqual(self.alice.data("GET", f"/api/v1/rule-logs?rule_id={rule['id']}"), [])

        _, _, _, cursor = self.alice.changes()
        self.alice.call("POST", f"/api/v1/banks/accounts/{account_id}/rules/{rule['id']}",
                        expect=200)
        report = self.alice.data("POST", f"/api/v1/banks/accounts/{account_id}/rules/apply")
        self.assertEqual(report["transactions_changed"], len({c["bank_transaction_id"]
                                                              for c in changes}))
        after = {t["id"]: t for t in self.alice.transactions(bank_account_id=account_id)}
        for change in changes:
            self.assertEqual(after[change["bank_transaction_id"]]["generated"]["payee"],
                             change["new_value"])
        _, modified, _, _ = self.alice.changes(cursor)
        self.assertTrue({c["bank_transaction_id"] for c in changes} <= set(modified))
        again = self.alice.data("POST", f"/api/v1/banks/accounts/{account_id}/rules/apply")
        self.assertEqual(again["transactions_changed"], 0)

    # -- isolation -----------------------------------------------------------------------------

    def test_another_users_objects_are_404(self):
        """Bob sees none of Alice's rules, conditions, actions, logs or accounts: always 404."""
        _, account = self.account_with_transactions()
        rule = self.create_rule(real_rule(account["id"]))
        condition_id = rule["conditions"][0]["id"]
        action_id = rule["actions"][0]["action"]["id"]
        for method, path in (
                ("GET", f"/api/v1/rules/{rule['id']}"),
                ("PUT", f"/api/v1/rules/{rule['id']}"),
                ("DELETE", f"/api/v1/rules/{rule['id']}"),
                ("GET", f"/api/v1/rule-conditions/{condition_id}"),
                ("DELETE", f"/api/v1/rule-conditions/{condition_id}"),
                ("GET", f"/api/v1/rule-actions/{action_id}"),
                ("PUT", f"/api/v1/rule-actions/{action_id}"),
                ("POST", f"/api/v1/rules/{rule['id']}/preview"),
                ("POST", f"/api/v1/banks/accounts/{account['id']}/rules/apply"),
                ("DELETE", f"/api/v1/banks/accounts/{account['id']}/rules/{rule['id']}")):
            body = {} if method in ("PUT", "POST") else None
            harness.assert_problem(self, self.bob.call(method, path, body), 404, "not_found")
        bob_rule = self.create_rule(real_rule(), client=self.bob)
        harness.assert_problem(self, self.bob.call(
            "POST", f"/api/v1/banks/accounts/{account['id']}/rules/{bob_rule['id']}"), 404,
            "not_found")
        self.assertFieldErrors(self.bob.call("POST", "/api/v1/rules", real_rule(account["id"])),
                               {"bank_accounts.0.id": "no bank account"})
        self.assertEqual([r["id"] for r in self.bob.data("GET", "/api/v1/rules")],
                         [bob_rule["id"]])
        self.assertEqual(self.alice.data("GET", f"/api/v1/rules/{rule['id']}")["id"], rule["id"])


if __name__ == "__main__":
    unittest.main()
