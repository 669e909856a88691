"""Personal access tokens: authentication, scopes, expiry, revocation and ownership."""

import datetime
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

TOKEN_FIELDS = ("id", "name", "prefix", "scopes", "created_at", "expires_at", "last_used_at",
                "revoked_at")
SECRET_FIELDS = ("token", "secret", "hash", "token_hash", "secret_hash")


class AuthTest(harness.ServerTestCase):
    """Shares one sandbox server; alice and bob are created with the CLI before it starts."""

    SERVER_ARGUMENTS = ("--mode", "sandbox")

    @classmethod
    def prepare(cls, server):
        cls.alice = server.create_user("alice@example.com", "Alice")
        cls.bob = server.create_user("bob@example.com", "Bob")
        cls.alice_token = server.create_token("alice@example.com", "main", "read,write")
        cls.alice_read = server.create_token("alice@example.com", "reader", "read")
        cls.alice_write = server.create_token("alice@example.com", "writer", "write")
        cls.bob_token = server.create_token("bob@example.com", "main", "read,write")

    def create_token_via_api(self, name, scopes=("read", "write"), expires_at=None):
        body = {"name": name, "scopes": list(scopes)}
        if expires_at is not None:
            body["expires_at"] = expires_at
        response = self.server.request("POST", "/api/v1/tokens", self.alice_token["token"], body)
        self.assertEqual(response.status, 201, response)
        return response.body["data"]

    def list_tokens(self, secret):
        response = self.server.request("GET", "/api/v1/tokens", secret)
        self.assertEqual(response.status, 200, response)
        return response

    def assertUnauthenticated(self, response):
        self.assertProblem(response, 401, "unauthenticated")
        self.assertTrue(response.headers.get("www-authenticate", "").startswith("Bearer"),
                        response.headers)

    # -- authentication ------------------------------------------------------------------------

    def test_user_endpoint_returns_the_token_owner(self):
        """A valid token reads its own user, with the mode the server runs in."""
        response = self.server.request("GET", "/api/v1/user", self.alice_token["token"])
        self.assertEqual(response.status, 200, response)
        self.assertTrue(response.headers["content-type"].startswith("application/json"))
        user = response.body["data"]
        self.assertEqual(user["id"], self.alice["id"])
        self.assertEqual(user["email"], "alice@example.com")
        self.assertEqual(user["name"], "Alice")
        self.assertEqual(user["mode"], "sandbox")
        harness.parse_rfc3339(user["created_at"])
        response = self.server.request("GET", "/api/v1/user", self.bob_token["token"])
        self.assertEqual(response.body["data"]["email"], "bob@example.com")

    def test_cli_user_create_prints_the_user(self):
        """`user create` printed one user object with id, email, name and created_at."""
        self.assertIsInstance(self.alice["id"], int)
        self.assertEqual(self.alice["email"], "alice@example.com")
        self.assertEqual(self.alice["name"], "Alice")
        harness.parse_rfc3339(self.alice["created_at"])
        self.assertNotEqual(self.alice["id"], self.bob["id"])

    def test_bad_credentials_are_401_with_www_authenticate(self):
        """Missing, garbage, unknown and wrong-scheme credentials all get a 401 problem."""
        secret = self.alice_token["token"]
        cases = [
            ("no header", None),
            ("empty header", ""),
            ("bearer without token", "Bearer"),
            ("bearer with blank token", "Bearer "),
            ("garbage token", "Bearer garbage"),
            ("unknown token with the right prefix", "Bearer fs_test_" + "A" * 40),
            ("real token with one character changed", "Bearer " + secret[:-1] +
             ("A" if secret[-1] != "A" else "B")),
            ("real token truncated", "Bearer " + secret[:-4]),
            ("real token with suffix", "Bearer " + secret + "x"),
            ("basic scheme", "Basic YWxpY2U6c2VjcmV0"),
            ("token scheme", "Token " + secret),
            ("raw token without scheme", secret),
        ]
        for label, authorization in cases:
            with self.subTest(label):
                headers = {} if authorization is None else {"Authorization": authorization}
                response = self.server.request("GET", "/api/v1/user", headers=headers)
                self.assertUnauthenticated(response)

    # -- scopes --------------------------------------------------------------------------------

    def test_scopes_are_enforced(self):
        """A token without the route's scope gets 403 insufficient_scope; with it, success."""
        read, write = self.alice_read["token"], self.alice_write["token"]
        body = {"name": "scoped", "scopes": ["read"]}
        cases = [
            ("read token lists tokens", read, "GET", "/api/v1/tokens", None, 200),
            ("read token reads user", read, "GET", "/api/v1/user", None, 200),
            ("read token cannot create", read, "POST", "/api/v1/tokens", body, 403),
            ("read token cannot revoke", read, "DELETE",
             f"/api/v1/tokens/{self.alice_token['id']}", None, 403),
            ("write-only token cannot read user", write, "GET", "/api/v1/user", None, 403),
            ("write-only token cannot list", write, "GET", "/api/v1/tokens", None, 403),
            ("write-only token creates", write, "POST", "/api/v1/tokens", body, 201),
        ]
        for label, secret, method, path, request_body, status in cases:
            with self.subTest(label):
                response = self.server.request(method, path, secret, request_body)
                if status == 403:
                    self.assertProblem(response, 403, "insufficient_scope")
                else:
                    self.assertEqual(response.status, status, response)
        # The refused revoke must not have revoked anything.
        response = self.server.request("GET", "/api/v1/user", self.alice_token["token"])
        self.assertEqual(response.status, 200, response)

    def test_read_only_token_created_by_api_cannot_write(self):
        """A token created through the API with scopes ["read"] carries exactly that scope."""
        created = self.create_token_via_api("api-reader", scopes=["read"])
        self.assertEqual(created["scopes"], ["read"])
        response = self.server.request("GET", "/api/v1/user", created["token"])
        self.assertEqual(response.status, 200, response)
        response = self.server.request("POST", "/api/v1/tokens", created["token"],
                                       {"name": "x", "scopes": ["read"]})
        self.assertProblem(response, 403, "insufficient_scope")

    # -- creation ------------------------------------------------------------------------------

    def test_create_token_returns_secret_once_with_sandbox_prefix(self):
        """POST /api/v1/tokens is 201 with the secret; its prefix is fs_test_ in sandbox mode."""
        body = {"name": "ci", "scopes": ["read"], "expires_at": "2030-01-01T00:00:00Z"}
        response = self.server.request("POST", "/api/v1/tokens", self.alice_token["token"], body)
        self.assertEqual(response.status, 201, response)
        self.assertEqual(response.body["message"], "Token created.")
        created = response.body["data"]
        for field in TOKEN_FIELDS + ("token",):
            self.assertIn(field, created)
        self.assertEqual(created["name"], "ci")
        self.assertEqual(created["scopes"], ["read"])
        self.assertEqual(harness.parse_rfc3339(created["expires_at"]),
                         datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc))
        self.assertIsNone(created["last_used_at"])
        self.assertIsNone(created["revoked_at"])
        harness.parse_rfc3339(created["created_at"])
        secret = created["token"]
        self.assertTrue(secret.startswith("fs_test_"), secret)
        self.assertGreaterEqual(len(secret), len("fs_test_") + 20, "secret looks too short")
        self.assertTrue(created["prefix"].startswith("fs_test_"), created["prefix"])
        self.assertTrue(secret.startswith(created["prefix"]))
        self.assertLess(len(created["prefix"]), len(secret))
        for field in SECRET_FIELDS[1:]:
            self.assertNotIn(field, created)

    def test_cli_tokens_have_sandbox_prefix_and_distinct_secrets(self):
        """CLI-created tokens show their secret once, prefixed fs_test_, and never repeat."""
        tokens = [self.alice_token, self.alice_read, self.alice_write, self.bob_token]
        for token in tokens:
            self.assertTrue(token["token"].startswith("fs_test_"), token)
            self.assertTrue(token["token"].startswith(token["prefix"]), token)
        self.assertEqual(len({token["token"] for token in tokens}), len(tokens))
        self.assertEqual(self.alice_read["scopes"], ["read"])
        self.assertEqual(self.alice_token["scopes"], ["read", "write"])
        self.assertIsNone(self.alice_token["expires_at"])

    def test_token_without_expiry_has_null_expires_at(self):
        """Omitting expires_at creates a token that never expires (expires_at null)."""
        created = self.create_token_via_api("forever")
        self.assertIsNone(created["expires_at"])

    # -- listing -------------------------------------------------------------------------------

    def test_token_list_never_shows_secrets(self):
        """GET /api/v1/tokens lists the caller's tokens with metadata but no secret or hash."""
        created = self.create_token_via_api("listed")
        response = self.list_tokens(self.alice_token["token"])
        tokens = response.body["data"]
        self.assertEqual(response.body["meta"]["total"], len(tokens))
        self.assertIsInstance(response.body["links"], dict)
        ids = [token["id"] for token in tokens]
        self.assertIn(created["id"], ids)
        self.assertIn(self.alice_read["id"], ids)
        self.assertNotIn(self.bob_token["id"], ids, "another user's token is listed")
        for token in tokens:
            self.assertEqual(set(TOKEN_FIELDS) - set(token), set(), token)
            for field in SECRET_FIELDS:
                self.assertNotIn(field, token)
        raw = response.raw.decode()
        for secret in (created["token"], self.alice_token["token"], self.alice_read["token"]):
            self.assertNotIn(secret, raw, "a secret appears in the token list")

    def test_cli_token_list_never_shows_secrets(self):
        """`token list` prints the user's tokens as a JSON array without secrets."""
        listed = self.server.cli("token", "list", "--user", "alice@example.com")
        self.assertIsInstance(listed, list)
        self.assertIn(self.alice_read["id"], [token["id"] for token in listed])
        self.assertNotIn(self.bob_token["id"], [token["id"] for token in listed])
        for token in listed:
            for field in SECRET_FIELDS:
                self.assertNotIn(field, token)

    def test_last_used_at_is_set_after_use(self):
        """A new token has last_used_at null until it authenticates a request."""
        created = self.create_token_via_api("used-later")

        def last_used_at():
            tokens = self.list_tokens(self.alice_token["token"]).body["data"]
            return next(token for token in tokens if token["id"] == created["id"])["last_used_at"]

        self.assertIsNone(last_used_at())
        response = self.server.request("GET", "/api/v1/user", created["token"])
        self.assertEqual(response.status, 200, response)
        deadline = time.monotonic() + 3.0  # Allow the server to record usage asynchronously.
        while last_used_at() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        used = harness.parse_rfc3339(last_used_at())
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(abs((now - used).total_seconds()), 120, used)

    # -- expiry --------------------------------------------------------------------------------

    def test_expired_token_is_401(self):
        """A token stops working once its expires_at has passed."""
        expires = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + \
            datetime.timedelta(seconds=3)
        token = self.server.create_token("alice@example.com", "short-lived", "read,write",
                                         harness.utc_rfc3339(expires))
        self.assertEqual(harness.parse_rfc3339(token["expires_at"]), expires)
        now = datetime.datetime.now(datetime.timezone.utc)
        if (expires - now).total_seconds() > 1.0:  # Only meaningful while clearly unexpired.
            response = self.server.request("GET", "/api/v1/user", token["token"])
            self.assertEqual(response.status, 200, response)
        wait_seconds = (expires - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
        time.sleep(max(0.0, wait_seconds) + 1.2)
        self.assertUnauthenticated(self.server.request("GET", "/api/v1/user", token["token"]))

    def test_expiry_in_the_past_is_rejected(self):
        """The API refuses to create a token that is already expired."""
        response = self.server.request("POST", "/api/v1/tokens", self.alice_token["token"],
                                       {"name": "old", "scopes": ["read"],
                                        "expires_at": "2001-01-01T00:00:00Z"})
        self.assertProblem(response, 422, "validation_failed")
        self.assertIn("expires_at", response.body["errors"])

    # -- revocation and ownership ----------------------------------------------------------------

    def test_revoked_token_is_401_on_its_next_request(self):
        """DELETE /api/v1/tokens/{id} is 204 with no body, and the token fails immediately."""
        created = self.create_token_via_api("to-revoke")
        self.assertEqual(self.server.request("GET", "/api/v1/user", created["token"]).status, 200)
        response = self.server.request("DELETE", f"/api/v1/tokens/{created['id']}",
                                       self.alice_token["token"])
        self.assertEqual(response.status, 204, response)
        self.assertEqual(response.raw, b"")
        self.assertUnauthenticated(self.server.request("GET", "/api/v1/user", created["token"]))
        listed = self.list_tokens(self.alice_token["token"]).body["data"]
        revoked = [token for token in listed if token["id"] == created["id"]]
        if revoked:  # A listed revoked token must say when it was revoked.
            harness.parse_rfc3339(revoked[0]["revoked_at"])

    def test_token_can_revoke_itself(self):
        """A token that deletes itself gets 204, then 401 on the same keep-alive connection."""
        created = self.create_token_via_api("self-revoke")
        connection = self.server.connection()
        self.addCleanup(connection.close)
        response = harness.request_on(connection, "DELETE", f"/api/v1/tokens/{created['id']}",
                                      created["token"])
        self.assertEqual(response.status, 204, response)
        response = harness.request_on(connection, "GET", "/api/v1/user", created["token"])
        self.assertUnauthenticated(response)

    def test_cli_revoke_makes_token_401(self):
        """`token revoke` takes effect on the running server's very next request."""
        token = self.server.create_token("alice@example.com", "cli-revoked", "read")
        self.assertEqual(self.server.request("GET", "/api/v1/user", token["token"]).status, 200)
        completed = harness.run_cli("token", "revoke", "--db", self.server.db_path,
                                    "--user", "alice@example.com", "--id", str(token["id"]))
        self.assertEqual(completed.returncode, 0, completed)
        self.assertUnauthenticated(self.server.request("GET", "/api/v1/user", token["token"]))

    def test_other_users_and_unknown_token_ids_are_404(self):
        """Deleting another user's token or an unknown id is 404 and changes nothing."""
        cases = [
            ("bob's token", self.bob_token["id"]),
            ("unknown id", 987654321),
        ]
        for label, token_id in cases:
            with self.subTest(label):
                response = self.server.request("DELETE", f"/api/v1/tokens/{token_id}",
                                               self.alice_token["token"])
                self.assertProblem(response, 404, "not_found")
        response = self.server.request("GET", "/api/v1/user", self.bob_token["token"])
        self.assertEqual(response.status, 200, "bob's token was revoked by alice")


class ProductionModeTest(harness.ServerTestCase):
    """A server in production mode issues fs_live_ tokens and reports its mode."""

    SERVER_ARGUMENTS = ("--mode", "production")

    @classmethod
    def prepare(cls, server):
        server.create_user("carol@example.com", "Carol")

    def test_production_tokens_have_live_prefix(self):
        """Tokens created through the API in production mode start with fs_live_."""
        # The contract gives `token create` no --mode flag; FINSYNC_MODE is harmless if unused.
        bootstrap = harness.cli("token", "create", "--db", self.server.db_path,
                                "--user", "carol@example.com", "--name", "bootstrap",
                                "--scopes", "read,write",
                                environment={"FINSYNC_MODE": "production"})
        response = self.server.request("GET", "/api/v1/user", bootstrap["token"])
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.body["data"]["mode"], "production")
        response = self.server.request("POST", "/api/v1/tokens", bootstrap["token"],
                                       {"name": "live", "scopes": ["read"]})
        self.assertEqual(response.status, 201, response)
        self.assertTrue(response.body["data"]["token"].startswith("fs_live_"), response.body)
        self.assertTrue(response.body["data"]["prefix"].startswith("fs_live_"), response.body)

    def test_production_offers_no_sandbox_bank(self):
        """Sandbox data never mixes with real data: a production server lists no sandbox bank
        and refuses a connection to one."""
        bootstrap = harness.cli("token", "create", "--db", self.server.db_path,
                                "--user", "carol@example.com", "--name", "banks",
                                "--scopes", "read,write",
                                environment={"FINSYNC_MODE": "production"})
        token = bootstrap["token"]
        banks = self.server.request("GET", "/api/v1/banks", token)
        self.assertEqual(banks.status, 200, banks)
        self.assertEqual(banks.body["data"], [])
        created = self.server.request("POST", "/api/v1/banks/connections", token,
                                      {"bank_id": "SANDBOX_FINSYNC_SBXFDEB1"})
        self.assertEqual(created.status, 422, created.body)
        self.assertIn("bank_id", created.body["errors"])


if __name__ == "__main__":
    import unittest
    unittest.main()
