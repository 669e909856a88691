"""Error responses: every error class is an RFC 9457 problem with its stable code and status."""

import json
import os
import select
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

MEBIBYTE = 1024 * 1024
DEFAULT_BODY_LIMIT_BYTES = 30 * MEBIBYTE
OVERSIZED_BODY_BYTES = 31 * MEBIBYTE  # 32505856
VALID_TOKEN_BODY = {"name": "ok", "scopes": ["read"]}


def padded_json(value, size):
    """`value` as JSON followed by spaces (valid JSON whitespace) to exactly `size` bytes."""
    encoded = json.dumps(value).encode()
    assert len(encoded) <= size
    return encoded + b" " * (size - len(encoded))


def post_streamed_body(port, token, content_length, filler=b" ", chunk_bytes=64 * 1024,
                       timeout_seconds=20.0):
    """POSTs /api/v1/tokens declaring `content_length`, streaming the body in chunks.

    Stops sending as soon as the server answers or closes (it may reply 413 right after the
    headers). Returns (RawResponse or None, bytes_sent).
    """
    connection = harness.raw_socket(port, timeout_seconds)
    try:
        head = ("POST /api/v1/tokens HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Type: application/json\r\n"
                f"Authorization: Bearer {token}\r\nContent-Length: {content_length}\r\n\r\n")
        connection.sendall(head.encode())
        chunk = filler * chunk_bytes
        sent = 0
        connection.setblocking(False)
        while sent < content_length:
            readable, writable, _ = select.select([connection], [connection], [],
                                                  timeout_seconds)
            if readable:
                break  # The server has answered (or closed); read what it said.
            if not writable:
                raise AssertionError(f"server stopped reading after {sent} body bytes")
            try:
                sent += connection.send(chunk[:content_length - sent])
            except BlockingIOError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
        connection.settimeout(timeout_seconds)
        try:
            response = harness.SocketReader(connection).read_response()
        except ConnectionResetError as error:
            raise AssertionError(f"connection reset before a response was read "
                                 f"({sent} body bytes sent): {error}") from None
        return response, sent
    finally:
        connection.close()


class ErrorsTest(harness.ServerTestCase):
    """One server with default limits; dana has a read+write and a read-only token."""

    @classmethod
    def prepare(cls, server):
        server.create_user("dana@example.com", "Dana")
        cls.token = server.create_token("dana@example.com", "main", "read,write")["token"]
        cls.read_token = server.create_token("dana@example.com", "reader", "read")["token"]

    def token_total(self):
        response = self.server.request("GET", "/api/v1/tokens", self.token)
        self.assertEqual(response.status, 200, response)
        return response.body["meta"]["total"]

    def test_unauthenticated(self):
        """No credentials: 401 unauthenticated with WWW-Authenticate: Bearer."""
        response = self.server.request("GET", "/api/v1/tokens")
        self.assertProblem(response, 401, "unauthenticated")
        self.assertTrue(response.headers.get("www-authenticate", "").startswith("Bearer"))

    def test_malformed_http_is_400_bad_request(self):
        """Requests that are not valid HTTP/1.1 or have an invalid target: 400 bad_request."""
        cases = [
            ("invalid percent-encoding", b"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n"),
            ("target is not a path", b"GET healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
            ("non-numeric Content-Length",
             b"POST /api/v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"),
            ("conflicting Content-Length", b"POST /api/v1/tokens HTTP/1.1\r\nHost: x\r\n"
             b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
        ]
        for label, raw_request in cases:
            with self.subTest(label):
                connection = self.server.raw_socket()
                self.addCleanup(connection.close)
                connection.sendall(raw_request)
                response = harness.SocketReader(connection).read_response()
                self.assertIsNotNone(response, "closed without a response")
                self.assertProblem(response.as_response(), 400, "bad_request")

    def test_insufficient_scope(self):
        """A read-only token on a write route: 403 insufficient_scope."""
        response = self.server.request("POST", "/api/v1/tokens", self.read_token,
                                       VALID_TOKEN_BODY)
        self.assertProblem(response, 403, "insufficient_scope")

    def test_unknown_paths_are_404(self):
        """Paths that match no route are 404 not_found problems."""
        cases = ["/nope", "/api/v1/nope", "/api/v2/user", "/api/v1/tokens/1/extra",
                 "/api/v1/user/extra", "/api/v1/tokens/999999999"]
        for path in cases:
            with self.subTest(path):
                method = "DELETE" if path == "/api/v1/tokens/999999999" else "GET"
                self.assertProblem(self.server.request(method, path, self.token), 404,
                                   "not_found")

    def test_wrong_method_is_405_with_allow(self):
        """A known path with the wrong method: 405 and an Allow header naming the right ones."""
        cases = [
            ("PUT", "/api/v1/tokens", {"GET", "POST"}),
            ("PATCH", "/api/v1/tokens", {"GET", "POST"}),
            ("DELETE", "/api/v1/user", {"GET"}),
            ("POST", "/api/v1/user", {"GET"}),
            ("GET", "/api/v1/tokens/1", {"DELETE"}),
            ("POST", "/healthz", {"GET"}),
        ]
        for method, path, expected in cases:
            with self.subTest(f"{method} {path}"):
                body = VALID_TOKEN_BODY if method in ("PUT", "PATCH", "POST") else None
                response = self.server.request(method, path, self.token, body)
                self.assertProblem(response, 405, "method_not_allowed")
                allowed = {item.strip() for item in response.headers.get("allow", "").split(",")}
                self.assertTrue(expected <= allowed, f"Allow: {response.headers.get('allow')}")
                self.assertNotIn(method, allowed)

    def test_malformed_json_names_the_offset(self):
        """Bodies that are not JSON: 400 malformed_json whose detail names a byte offset."""
        cases = ['{"name": }', "{", "not json", '{"name":"x",}', '{"name" "x"}',
                 '{"name":"x"} trailing']
        total_before = self.token_total()
        for text in cases:
            with self.subTest(text):
                response = self.server.request("POST", "/api/v1/tokens", self.token,
                                               raw_body=text,
                                               headers={"Content-Type": "application/json"})
                self.assertProblem(response, 400, "malformed_json")
                self.assertRegex(response.body["detail"], r"offset \d+")
        self.assertEqual(self.token_total(), total_before)

    def test_non_json_content_type_is_415(self):
        """A POST body not labelled application/json is 415; charset parameters are fine."""
        body = json.dumps(VALID_TOKEN_BODY)
        cases = [
            ("text/plain", 415),
            ("application/x-www-form-urlencoded", 415),
            ("application/xml", 415),
            (None, 415),
            ("application/json; charset=utf-8", 201),
        ]
        for content_type, status in cases:
            with self.subTest(content_type):
                headers = {} if content_type is None else {"Content-Type": content_type}
                response = self.server.request("POST", "/api/v1/tokens", self.token,
                                               raw_body=body, headers=headers)
                if status == 415:
                    self.assertProblem(response, 415, "unsupported_media_type")
                else:
                    self.assertEqual(response.status, status, response)

    def test_validation_errors_name_each_field(self):
        """Invalid token fields: 422 validation_failed with exactly those fields in errors."""
        cases = [
            ("name missing", {"scopes": ["read"]}, {"name"}),
            ("name empty", {"name": "", "scopes": ["read"]}, {"name"}),
            ("name 101 chars", {"name": "n" * 101, "scopes": ["read"]}, {"name"}),
            ("name not a string", {"name": 7, "scopes": ["read"]}, {"name"}),
            ("scopes empty", {"name": "a", "scopes": []}, {"scopes"}),
            ("scopes unknown", {"name": "a", "scopes": ["admin"]}, {"scopes"}),
            ("scopes partly unknown", {"name": "a", "scopes": ["read", "admin"]}, {"scopes"}),
            ("scopes not an array", {"name": "a", "scopes": "read"}, {"scopes"}),
            ("expires_at not a time", {"name": "a", "scopes": ["read"],
                                       "expires_at": "tomorrow"}, {"expires_at"}),
            ("expires_at date only", {"name": "a", "scopes": ["read"],
                                      "expires_at": "2030-01-01"}, {"expires_at"}),
            ("expires_at in the past", {"name": "a", "scopes": ["read"],
                                        "expires_at": "2001-01-01T00:00:00Z"}, {"expires_at"}),
            ("expires_at a number", {"name": "a", "scopes": ["read"],
                                     "expires_at": 1893456000}, {"expires_at"}),
            ("two fields wrong", {"name": "", "scopes": []}, {"name", "scopes"}),
            ("long name and past expiry", {"name": "n" * 101, "scopes": ["read"],
                                           "expires_at": "2001-01-01T00:00:00Z"},
             {"name", "expires_at"}),
            ("empty name and unparseable expiry", {"name": "", "scopes": ["read"],
                                                   "expires_at": "soon"}, {"name", "expires_at"}),
        ]
        total_before = self.token_total()
        for label, body, fields in cases:
            with self.subTest(label):
                response = self.server.request("POST", "/api/v1/tokens", self.token, body)
                self.assertProblem(response, 422, "validation_failed")
                self.assertIsInstance(response.body.get("message"), str)
                errors = response.body.get("errors")
                self.assertIsInstance(errors, dict)
                self.assertEqual(set(errors), fields, errors)
                for messages in errors.values():
                    self.assertTrue(messages and all(isinstance(m, str) and m
                                                     for m in messages), errors)
        self.assertEqual(self.token_total(), total_before, "a rejected body wrote a token")

    def test_validation_boundaries_are_accepted(self):
        """Values at the edge of validity are accepted: a 100-character name, both scopes."""
        cases = [
            ("name 100 chars", {"name": "n" * 100, "scopes": ["read"]}),
            ("both scopes", {"name": "both", "scopes": ["read", "write"]}),
            ("write only", {"name": "w", "scopes": ["write"]}),
            ("offset expiry", {"name": "o", "scopes": ["read"],
                               "expires_at": "2030-01-01T02:00:00+02:00"}),
        ]
        for label, body in cases:
            with self.subTest(label):
                response = self.server.request("POST", "/api/v1/tokens", self.token, body)
                self.assertEqual(response.status, 201, response)
                self.assertEqual(response.body["data"]["name"], body["name"])

    def test_body_over_default_limit_is_413(self):
        """A 31 MiB Content-Length is refused with 413 payload_too_large (30 MiB default)."""
        response, _ = post_streamed_body(self.server.port, self.token, OVERSIZED_BODY_BYTES)
        self.assertIsNotNone(response, "server closed the connection without a response")
        self.assertProblem(response.as_response(), 413, "payload_too_large")
        self.assertEqual(self.server.request("GET", "/healthz").status, 200)

    def test_body_at_default_limit_is_accepted(self):
        """A body of exactly 30 MiB is within the limit and is processed normally."""
        connection = harness.raw_socket(self.server.port, 30.0)
        self.addCleanup(connection.close)
        body = padded_json({"name": "big", "scopes": ["read"]}, DEFAULT_BODY_LIMIT_BYTES)
        connection.sendall(harness.build_request("POST", "/api/v1/tokens", self.token, body))
        response = harness.SocketReader(connection).read_response()
        self.assertIsNotNone(response)
        self.assertEqual(response.status, 201, response)

    def test_every_response_on_a_keep_alive_connection(self):
        """Several requests, including errors, are answered in order on one connection."""
        connection = self.server.raw_socket(timeout_seconds=10.0)
        self.addCleanup(connection.close)
        reader = harness.SocketReader(connection)
        cases = [
            ("GET", "/healthz", None, None, 200),
            ("GET", "/api/v1/user", self.token, None, 200),
            ("GET", "/api/v1/nope", self.token, None, 404),
            ("POST", "/api/v1/tokens", self.token, {"name": ""}, 422),
            ("GET", "/api/v1/user", None, None, 401),
            ("POST", "/api/v1/tokens", self.token, b'{"name": }', 400),
            ("POST", "/api/v1/tokens", self.token, VALID_TOKEN_BODY, 201),
            ("GET", "/api/v1/tokens", self.token, None, 200),
        ]
        request_ids = set()
        for method, path, token, body, status in cases:
            with self.subTest(f"{method} {path} -> {status}"):
                connection.sendall(harness.build_request(method, path, token, body))
                response = reader.read_response(method)
                self.assertIsNotNone(response, "server closed the keep-alive connection")
                self.assertEqual(response.status, status, response)
                self.assertNotEqual(response.headers.get("connection", "").lower(), "close")
                request_ids.add(response.headers.get("x-request-id"))
        self.assertEqual(len(request_ids), len(cases), "request ids repeat on one connection")

    def test_http_client_reuses_one_connection(self):
        """http.client keeps one socket open across requests (the server keeps it alive)."""
        connection = self.server.connection()
        self.addCleanup(connection.close)
        harness.request_on(connection, "GET", "/healthz")
        first_socket = connection.sock
        for _ in range(5):
            response = harness.request_on(connection, "GET", "/api/v1/user", self.token)
            self.assertEqual(response.status, 200)
            self.assertIs(connection.sock, first_socket)


class SmallBodyLimitTest(harness.ServerTestCase):
    """--body-limit-bytes is honoured exactly: the limit is allowed, one byte more is 413."""

    LIMIT_BYTES = 1024
    SERVER_ARGUMENTS = ("--body-limit-bytes", str(LIMIT_BYTES))

    @classmethod
    def prepare(cls, server):
        server.create_user("erin@example.com")
        cls.token = server.create_token("erin@example.com", "main", "read,write")["token"]

    def test_limit_boundary(self):
        """Content-Length at the limit is 201; one byte over is 413 payload_too_large."""
        cases = [(self.LIMIT_BYTES, 201), (self.LIMIT_BYTES + 1, 413),
                 (64 * self.LIMIT_BYTES, 413)]
        for size, status in cases:
            with self.subTest(size=size):
                response = self.server.request(
                    "POST", "/api/v1/tokens", self.token,
                    raw_body=padded_json({"name": "edge", "scopes": ["read"]}, size),
                    headers={"Content-Type": "application/json"})
                if status == 413:
                    self.assertProblem(response, 413, "payload_too_large")
                else:
                    self.assertEqual(response.status, status, response)

    def test_streamed_oversized_body(self):
        """A declared 1 MiB body is refused with 413 even if the server stops reading early."""
        response, _ = post_streamed_body(self.server.port, self.token, MEBIBYTE)
        self.assertIsNotNone(response, "server closed the connection without a response")
        self.assertProblem(response.as_response(), 413, "payload_too_large")


if __name__ == "__main__":
    import unittest
    unittest.main()
