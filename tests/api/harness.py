"""Black-box test harness: runs the real finsync binary and speaks HTTP to it.

Standard library, plus PyYAML and jsonschema (Debian's) for checking every response against
the OpenAPI document (see OpenApiValidator). Each `Server` owns a temporary directory holding
its SQLite file and the server's stdout/stderr logs, listens on a free port on 127.0.0.1, and
is always stopped by the test that started it (use `ServerTestCase` or call
`addCleanup(server.close)`). Children get PR_SET_PDEATHSIG so a killed test run (ctest
timeout) cannot leave servers behind.

The binary is `$FINSYNC_BIN`, else `build/release/finsync` under the repository root.
"""

import atexit
import collections
import ctypes
import datetime
import http.client
import json
import os
import pathlib
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

REPOSITORY_ROOT = pathlib.Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
STARTUP_TIMEOUT_SECONDS = 15.0
STOP_TIMEOUT_SECONDS = 10.0
REQUEST_TIMEOUT_SECONDS = 10.0
CLI_TIMEOUT_SECONDS = 30.0
RFC3339_PATTERN = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

_live_servers = set()


def binary_path():
    """Returns the finsync binary under test as an absolute path."""
    configured = os.environ.get("FINSYNC_BIN")
    if configured:
        return str(pathlib.Path(configured).resolve())
    return str(REPOSITORY_ROOT / "build" / "release" / "finsync")


def require_binary():
    """Fails loudly (not a skip: a missing binary must not look like a green run)."""
    path = binary_path()
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise RuntimeError(f"finsync binary not found at {path}; build it or set FINSYNC_BIN")
    return path


# Suites send bursts far beyond the per-token rate limits; the suites that test the limits
# set them with flags, which win over these environment values.
UNLIMITED_RATES = {"FINSYNC_RATE_LIMIT_READ": "0", "FINSYNC_RATE_LIMIT_WRITE": "0",
                   "FINSYNC_RATE_LIMIT_SYNC": "0"}


def child_environment(extra=None):
    """The inherited environment without FINSYNC_* settings, with rate limits off, plus
    `extra`."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FINSYNC_")}
    environment.update(UNLIMITED_RATES)
    environment.update(extra or {})
    return environment


def _die_with_parent():
    # Runs in the child between fork and exec: SIGKILL it if the test process dies.
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except OSError:
        pass


def free_port():
    """A port that was free a moment ago (bind port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def utc_rfc3339(moment):
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text):
    if not isinstance(text, str) or not RFC3339_PATTERN.match(text):
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


# ---------------------------------------------------------------------------------------------
# CLI


class CliError(AssertionError):
    pass


def run_cli(*arguments, environment=None, timeout_seconds=CLI_TIMEOUT_SECONDS):
    """Runs `finsync ARGS...` and returns the CompletedProcess (text mode)."""
    return subprocess.run([require_binary(), *arguments], capture_output=True, text=True,
                          env=child_environment(environment), timeout=timeout_seconds,
                          cwd=REPOSITORY_ROOT, preexec_fn=_die_with_parent)


def cli(*arguments, environment=None):
    """Runs `finsync ARGS...`, requires exit 0 and returns its stdout parsed as JSON."""
    completed = run_cli(*arguments, environment=environment)
    if completed.returncode != 0:
        raise CliError(f"finsync {' '.join(arguments)} exited {completed.returncode}\n"
                       f"stdout: {completed.stdout}\nstderr: {completed.stderr}")
    try:
        return json.loads(completed.stdout)
    except ValueError as error:
        raise CliError(f"finsync {' '.join(arguments)} printed no JSON ({error}):\n"
                       f"{completed.stdout!r}") from None


# ---------------------------------------------------------------------------------------------
# HTTP


class Response(collections.namedtuple("Response", "status headers body")):
    """(status, lower-cased headers, body). body is parsed JSON when the content type is JSON,
    None when empty, else text. `.raw` holds the body bytes."""
    raw = b""


def _headers_dict(pairs):
    headers = {}
    for name, value in pairs:
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def _decode_body(headers, raw):
    if not raw:
        return None
    content_type = headers.get("content-type", "")
    if "json" in content_type:
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", "replace")
    return raw.decode("utf-8", "replace")


def request_on(connection, method, path, token=None, body=None, headers=None, raw_body=None):
    """Sends one request on an open http.client connection (keep-alive aware)."""
    all_headers = {}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    if raw_body is not None:
        payload = raw_body.encode() if isinstance(raw_body, str) else raw_body
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    all_headers.update(headers or {})
    connection.request(method, path, body=payload, headers=all_headers)
    response = connection.getresponse()
    raw = response.read()
    headers_out = _headers_dict(response.getheaders())
    result = Response(response.status, headers_out, _decode_body(headers_out, raw))
    result.raw = raw
    if connection.port in _live_server_ports():
        openapi_validator().check(method, path, result)
    return result


def request(method, path, token=None, body=None, headers=None, raw_body=None, *, port,
            timeout_seconds=REQUEST_TIMEOUT_SECONDS):
    """One request on a fresh connection to 127.0.0.1:port.

    body: a JSON-serialisable value, sent with Content-Type: application/json.
    raw_body: bytes/str sent verbatim (no Content-Type unless given in headers).
    """
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout_seconds)
    try:
        return request_on(connection, method, path, token, body, headers, raw_body)
    finally:
        connection.close()


# ---------------------------------------------------------------------------------------------
# OpenAPI: every response a finsync server gives through `request`/`request_on` is checked
# against the document bundled from api/openapi/ (the same one the server embeds). A route the
# document does not describe yet is not checked here; tests/api/test_openapi.py reports it.


class OpenApiMismatch(AssertionError):
    """A response that the OpenAPI document does not allow."""


def _live_server_ports():
    return {server.port for server in list(_live_servers) if server.port is not None}


def _load_bundler():
    import importlib.util
    path = REPOSITORY_ROOT / "scripts" / "openapi_bundle.py"
    spec = importlib.util.spec_from_file_location("openapi_bundle", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class OpenApiValidator:
    """Finds the operation of a request (method + path template, literal segments winning over
    parameters as in the server's router), the response by status (exact, then `4XX`, then
    `default`), the media type by Content-Type, and validates a JSON body with JSON Schema
    2020-12 (what OpenAPI 3.1 schemas are)."""

    def __init__(self, document):
        import jsonschema
        self.jsonschema = jsonschema
        self.document = document
        self.templates = []
        for template, item in document.get("paths", {}).items():
            segments = [segment for segment in template.split("/") if segment]
            pattern = [None if segment.startswith("{") and segment.endswith("}") else segment
                       for segment in segments]
            self.templates.append((template, pattern, item))
        self.format_checker = jsonschema.FormatChecker()
        self.format_checker.checks("date-time", raises=ValueError)(self._check_date_time)
        self.format_checker.checks("date", raises=ValueError)(self._check_date)
        self._validators = {}
        self._lock = threading.Lock()
        # Counts for FINSYNC_OPENAPI_STATS=1: responses checked, and routes left unchecked.
        self.checked = 0
        self.undocumented = collections.Counter()

    @staticmethod
    def _check_date_time(value):
        if not isinstance(value, str):
            return True
        parse_rfc3339(value)
        return True

    @staticmethod
    def _check_date(value):
        if not isinstance(value, str):
            return True
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError(f"not a date: {value!r}")
        datetime.date.fromisoformat(value)
        return True

    def find(self, method, path):
        """(template, operation) for a request, or None when the document has no such route."""
        import urllib.parse
        path = urllib.parse.urlsplit(path).path
        segments = [urllib.parse.unquote(segment) for segment in path.split("/") if segment]
        best = None
        for template, pattern, item in self.templates:
            if len(pattern) != len(segments):
                continue
            if all(literal is None or literal == segment
                   for literal, segment in zip(pattern, segments)):
                rank = tuple(0 if literal is not None else 1 for literal in pattern)
                if best is None or rank < best[0]:
                    best = (rank, template, item)
        if best is None:
            return None
        operation = best[2].get(method.lower())
        if operation is None:
            return None
        return best[1], operation

    def _resolve(self, value):
        while isinstance(value, dict) and "$ref" in value:
            target = self.document
            for token in value["$ref"][2:].split("/"):
                target = target[token.replace("~1", "/").replace("~0", "~")]
            value = target
        return value

    def _validator(self, key, schema):
        validator = self._validators.get(key)
        if validator is None:
            jsonschema = self.jsonschema
            resolver = jsonschema.RefResolver(base_uri="", referrer=self.document)
            validator = jsonschema.Draft202012Validator(schema, resolver=resolver,
                                                        format_checker=self.format_checker)
            self._validators[key] = validator
        return validator

    def check(self, method, path, response):
        if method.upper() == "HEAD":
            return
        found = self.find(method, path)
        if found is None:
            self.undocumented[f"{method.upper()} {path.split('?')[0]}"] += 1
            return
        self.checked += 1
        template, operation = found
        where = f"{method.upper()} {template} -> {response.status}"
        responses = operation.get("responses", {})
        status = str(response.status)
        key = status if status in responses else f"{status[0]}XX"
        if key not in responses:
            key = "default"
        if key not in responses:
            raise OpenApiMismatch(f"OpenAPI: {where}: status {status} is not documented "
                                  f"(documented: {', '.join(responses)}); body {response.raw[:300]!r}")
        described = self._resolve(responses[key])
        content = described.get("content") or {}
        if not content:
            if response.raw:
                raise OpenApiMismatch(f"OpenAPI: {where}: documented without a body, got "
                                      f"{response.raw[:300]!r}")
            return
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        media_key = None
        for candidate in content:
            lowered = candidate.lower()
            if lowered == content_type or (lowered.endswith("/*") and
                                           content_type.startswith(lowered[:-1])):
                media_key = candidate
                break
        if media_key is None:
            raise OpenApiMismatch(f"OpenAPI: {where}: Content-Type {content_type!r} is not "
                                  f"documented (documented: {', '.join(content)})")
        media = self._resolve(content[media_key]) or {}
        schema = media.get("schema")
        if schema is None or not (media_key == "application/json" or media_key.endswith("+json")):
            return
        try:
            body = json.loads(response.raw)
        except ValueError as error:
            raise OpenApiMismatch(f"OpenAPI: {where}: body is not JSON ({error}): "
                                  f"{response.raw[:300]!r}") from None
        # jsonschema's RefResolver keeps a scope stack: one validation at a time (tests send
        # requests from many threads).
        with self._lock:
            validator = self._validator((template, method.upper(), key, media_key), schema)
            errors = sorted(validator.iter_errors(body),
                            key=lambda error: list(error.absolute_path))
        if errors:
            lines = []
            for error in errors[:5]:
                location = "$" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}"
                                         for part in error.absolute_path)
                detail = error.message
                if error.context:
                    best = self.jsonschema.exceptions.best_match(error.context)
                    detail += f" (closest: {best.message})"
                lines.append(f"  at {location}: {detail[:500]}")
            more = f"\n  ... and {len(errors) - 5} more" if len(errors) > 5 else ""
            raise OpenApiMismatch(f"OpenAPI: {where} {media_key} does not match the document:\n"
                                  + "\n".join(lines) + more)


_openapi_validator = None


@atexit.register
def _report_openapi_statistics():
    if os.environ.get("FINSYNC_OPENAPI_STATS") == "1" and _openapi_validator is not None:
        validator = _openapi_validator
        print(f"openapi: {validator.checked} responses validated; "
              f"{sum(validator.undocumented.values())} on undocumented routes "
              f"{dict(validator.undocumented.most_common(10))}", file=sys.stderr)


def openapi_document():
    """The OpenAPI document bundled from api/openapi/ (once per process)."""
    return openapi_validator().document


_openapi_validator_lock = threading.Lock()


def openapi_validator():
    global _openapi_validator
    with _openapi_validator_lock:
        if _openapi_validator is None:
            bundler = _load_bundler()
            document = bundler.bundle(REPOSITORY_ROOT / "api" / "openapi")
            _openapi_validator = OpenApiValidator(document)
    return _openapi_validator


# ---------------------------------------------------------------------------------------------
# Raw sockets


def raw_socket(port, timeout_seconds=5.0):
    """A connected TCP socket to the server with TCP_NODELAY."""
    connection = socket.create_connection((HOST, port), timeout=timeout_seconds)
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return connection


class RawResponse(collections.namedtuple("RawResponse", "status reason headers body")):
    def as_response(self):
        """The same response as a `Response` (body parsed like `request` does)."""
        result = Response(self.status, self.headers, _decode_body(self.headers, self.body))
        result.raw = self.body
        return result


class SocketReader:
    """Buffered reader over a socket that parses HTTP/1.1 responses (keep-alive aware)."""

    def __init__(self, connection):
        self.connection = connection
        self.buffer = b""
        self.closed = False

    def _fill(self):
        if self.closed:
            return False
        chunk = self.connection.recv(65536)
        if not chunk:
            self.closed = True
            return False
        self.buffer += chunk
        return True

    def _read_until(self, marker):
        while marker not in self.buffer:
            if not self._fill():
                return None
        index = self.buffer.index(marker) + len(marker)
        data, self.buffer = self.buffer[:index], self.buffer[index:]
        return data

    def _read_exactly(self, size):
        while len(self.buffer) < size:
            if not self._fill():
                raise ConnectionError(f"EOF after {len(self.buffer)} of {size} body bytes")
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def read_response(self, request_method="GET"):
        """Reads one response; returns None on a clean EOF before any byte."""
        head = self._read_until(b"\r\n\r\n")
        if head is None:
            if self.buffer:
                raise ConnectionError(f"EOF inside response head: {self.buffer[:200]!r}")
            return None
        lines = head.decode("latin-1").split("\r\n")
        version, status, *reason = lines[0].split(" ", 2)
        if not version.startswith("HTTP/1."):
            raise ConnectionError(f"bad status line {lines[0]!r}")
        headers = _headers_dict(line.split(":", 1) for line in lines[1:] if line)
        headers = {k: v.strip() for k, v in headers.items()}
        status = int(status)
        if request_method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = self._read_chunked()
        elif "content-length" in headers:
            body = self._read_exactly(int(headers["content-length"]))
        else:
            while self._fill():
                pass
            body, self.buffer = self.buffer, b""
        return RawResponse(status, reason[0] if reason else "", headers, body)

    def _read_chunked(self):
        body = b""
        while True:
            size_line = self._read_until(b"\r\n")
            if size_line is None:
                raise ConnectionError("EOF inside chunked body")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                while True:  # Trailer fields, then the empty line.
                    line = self._read_until(b"\r\n")
                    if line is None or line == b"\r\n":
                        return body
            body += self._read_exactly(size)
            self._read_exactly(2)


def build_request(method, path, token=None, body=None, headers=None, keep_alive=True):
    """Bytes of one HTTP/1.1 request (for raw-socket tests)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    payload = b""
    if body is not None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        lines.append("Content-Type: application/json")
    if token is not None:
        lines.append(f"Authorization: Bearer {token}")
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if payload or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(payload)}")
    if not keep_alive:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def wait_for_close(connection, timeout_seconds):
    """Reads until the peer closes. Returns (closed, data, seconds_waited).

    closed is True on EOF or a reset; False if the socket was still open at the deadline.
    """
    started = time.monotonic()
    deadline = started + timeout_seconds
    data = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False, data, time.monotonic() - started
        readable, _, _ = select.select([connection], [], [], remaining)
        if not readable:
            continue
        try:
            chunk = connection.recv(65536)
        except (ConnectionResetError, ConnectionAbortedError):
            return True, data, time.monotonic() - started
        if not chunk:
            return True, data, time.monotonic() - started
        data += chunk


# ---------------------------------------------------------------------------------------------
# Server


class ServerStartError(RuntimeError):
    pass


class Server:
    """One finsync server process on its own SQLite file.

    extra_arguments: flags appended to `serve ...`; environment: extra env vars for the child.
    flags_from_environment: when True, --db/--host/--port are passed as FINSYNC_* env vars.
    """

    def __init__(self, extra_arguments=(), environment=None, directory=None,
                 flags_from_environment=False):
        self.binary = require_binary()
        self.extra_arguments = list(extra_arguments)
        self.environment = dict(environment or {})
        self.flags_from_environment = flags_from_environment
        self._owns_directory = directory is None
        self.directory = directory or tempfile.mkdtemp(prefix="finsync-api-test-")
        self.db_path = os.path.join(self.directory, "finsync.db")
        self.process = None
        self.port = None
        self.starts = 0
        self._log_files = []

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def base_url(self):
        return f"http://{HOST}:{self.port}"

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def start(self, attempts=3):
        """Starts the server and waits (bounded) for GET /healthz to return 200."""
        assert not self.running, "server already running"
        last_error = None
        for _ in range(attempts):
            try:
                self._start_once(free_port())
                return self
            except ServerStartError as error:
                last_error = error  # Most likely someone took the port; try another.
        raise last_error

    def _start_once(self, port):
        self.starts += 1
        self.port = port
        arguments = [self.binary, "serve"]
        environment = dict(self.environment)
        if self.flags_from_environment:
            environment.update({"FINSYNC_DB": self.db_path, "FINSYNC_HOST": HOST,
                                "FINSYNC_PORT": str(port)})
        else:
            arguments += ["--db", self.db_path, "--host", HOST, "--port", str(port)]
        arguments += self.extra_arguments
        stdout = open(os.path.join(self.directory, f"stdout.{self.starts}.log"), "wb")
        stderr = open(os.path.join(self.directory, f"stderr.{self.starts}.log"), "wb")
        self._log_files += [stdout, stderr]
        self.process = subprocess.Popen(arguments, stdin=subprocess.DEVNULL, stdout=stdout,
                                        stderr=stderr, env=child_environment(environment),
                                        cwd=self.directory, preexec_fn=_die_with_parent)
        _live_servers.add(self)
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerStartError(
                    f"finsync exited {self.process.returncode} during start-up\n{self.logs()}")
            try:
                if request("GET", "/healthz", port=port, timeout_seconds=1.0).status == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.05)
        self.kill9()
        raise ServerStartError(f"/healthz not 200 within {STARTUP_TIMEOUT_SECONDS}s\n"
                               f"{self.logs()}")

    def signal(self, signal_number):
        self.process.send_signal(signal_number)

    def wait(self, timeout_seconds=STOP_TIMEOUT_SECONDS):
        """Waits for exit; returns the exit code or None on timeout."""
        try:
            return self.process.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout_seconds=STOP_TIMEOUT_SECONDS):
        """SIGTERM and wait. Returns the exit code; kills -9 and raises if it does not exit."""
        if not self.running:
            return self.process.returncode if self.process else None
        self.signal(signal.SIGTERM)
        code = self.wait(timeout_seconds)
        if code is None:
            self.kill9()
            raise AssertionError(f"finsync did not exit within {timeout_seconds}s of SIGTERM")
        return code

    def kill9(self):
        if self.running:
            self.process.kill()
        if self.process is not None:
            self.process.wait()

    def restart(self):
        """Stops (SIGTERM) if running, then starts again on the same database."""
        if self.running:
            self.stop()
        return self.start()

    def close(self):
        """Cleanup: never raises; kills if SIGTERM is ignored; removes the temp directory."""
        try:
            if self.running:
                self.signal(signal.SIGTERM)
                if self.wait(STOP_TIMEOUT_SECONDS) is None:
                    self.kill9()
        finally:
            if self.process is not None and self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            for log_file in self._log_files:
                log_file.close()
            self._log_files = []
            _live_servers.discard(self)
            if self._owns_directory and os.environ.get("FINSYNC_KEEP_TEST_DIRS") != "1":
                shutil.rmtree(self.directory, ignore_errors=True)

    def logs(self, tail_bytes=4000):
        """The tail of the latest stdout/stderr logs, for failure messages."""
        parts = []
        for stream in ("stdout", "stderr"):
            path = os.path.join(self.directory, f"{stream}.{self.starts}.log")
            try:
                with open(path, "rb") as log_file:
                    text = log_file.read()[-tail_bytes:].decode("utf-8", "replace")
            except OSError:
                text = ""
            parts.append(f"--- {stream} ---\n{text}")
        return "\n".join(parts)

    # -- clients -------------------------------------------------------------------------------

    def request(self, method, path, token=None, body=None, headers=None, raw_body=None,
                timeout_seconds=REQUEST_TIMEOUT_SECONDS):
        return request(method, path, token, body, headers, raw_body, port=self.port,
                       timeout_seconds=timeout_seconds)

    def connection(self, timeout_seconds=REQUEST_TIMEOUT_SECONDS):
        """A keep-alive http.client connection; use with `request_on`."""
        return http.client.HTTPConnection(HOST, self.port, timeout=timeout_seconds)

    def raw_socket(self, timeout_seconds=5.0):
        return raw_socket(self.port, timeout_seconds)

    def cli(self, *arguments):
        """`finsync ARGS... --db <this server's db>` -> parsed JSON."""
        return cli(*arguments, "--db", self.db_path)

    def create_user(self, email, name=None):
        arguments = ["user", "create", "--email", email]
        if name is not None:
            arguments += ["--name", name]
        return self.cli(*arguments)

    def create_token(self, email, name="test", scopes="read,write", expires_at=None):
        """Creates a token with the CLI; returns the token object (with "token", the secret)."""
        arguments = ["token", "create", "--user", email, "--name", name, "--scopes", scopes]
        if expires_at is not None:
            arguments += ["--expires-at", expires_at]
        return self.cli(*arguments)


@atexit.register
def _kill_leftover_servers():
    for server in list(_live_servers):
        server.close()


# ---------------------------------------------------------------------------------------------
# Test-case helpers


class ServerTestCase(unittest.TestCase):
    """Starts one server per test class (setUpClass) and always stops it.

    Subclasses set SERVER_ARGUMENTS and may override `prepare(server)` to create users and
    tokens with the CLI before the server starts.
    """

    SERVER_ARGUMENTS = ()
    SERVER_ENVIRONMENT = None

    @classmethod
    def setUpClass(cls):
        cls.server = Server(cls.SERVER_ARGUMENTS, cls.SERVER_ENVIRONMENT)
        cls.addClassCleanup(cls.server.close)
        cls.prepare(cls.server)
        cls.server.start()

    @classmethod
    def prepare(cls, server):
        pass

    def assertProblem(self, response, status, code):
        assert_problem(self, response, status, code)


def assert_problem(test, response, status, code):
    """Asserts `response` is an RFC 9457 problem with this status and machine code."""
    context = f"{response.status} {response.headers} {response.body!r}"
    test.assertEqual(response.status, status, context)
    test.assertTrue(response.headers.get("content-type", "").startswith(
        "application/problem+json"), context)
    body = response.body
    test.assertIsInstance(body, dict, context)
    for field in ("type", "title", "status", "detail", "code", "request_id"):
        test.assertIn(field, body, context)
    test.assertEqual(body["status"], status, context)
    test.assertEqual(body["code"], code, context)
    test.assertIsInstance(body["title"], str, context)
    test.assertIsInstance(body["detail"], str, context)
    test.assertTrue(body["type"], context)
    test.assertTrue(response.headers.get("x-request-id"), context)
    test.assertEqual(body["request_id"], response.headers["x-request-id"], context)
