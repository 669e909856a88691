#!/usr/bin/python3
"""Delivery benchmark: N bank transactions through a transfer link to the fake YNAB.

What it measures (issue 5): the wall time from creating a transfer link until every transfer
log of the link is TRANSFERRED, for a bank account holding N extra transactions (default
100,000) plus a short sandbox history, against tests/fakes/fake_ynab.py running in this
process with its rate limit off. It reports the throughput, how many
POST /budgets/{id}/transactions requests the fake received (finsync sends at most 500
transactions per request, so ceil(total / 500) plus any retries), the other YNAB requests, the
fake's spec violations (must be 0), and checks that the fake then holds exactly one transaction
per bank transaction, with distinct import ids.

How, per round:
  1. a fresh store: `finsync user create` and `finsync token create` (the CLI), then
     `finsync serve` (release build) with the YNAB URL pointing at the fake, YNAB's
     client-side limit at 1,000,000 requests per hour, the access log and rate limits off;
  2. a sandbox bank connection with a short history (--history-days) through the API, waiting
     for its first sync;
  3. the server is stopped and N bank transactions are inserted into the SQLite file for the
     first account (sqlite3 module, one transaction; varied payees, amounts and dates within the
     last year, about 2% pending, unique transaction_id, content_key and fingerprint, a raw
     payload shaped like the sandbox bank's). Delivery discovery scans bank_transactions by id,
     not the transaction_changes feed, so no change rows are needed;
  4. the server is started again, YNAB is connected (POST /api/v1/ynab/connections, which
     mirrors the user, budgets, accounts, payees, categories and transactions: 6 GETs), and
     the clock starts when
     POST /api/v1/transfer-links (transfer_start_date 2000-01-01) is sent. It stops when
     GET /api/v1/stats/transfers?transfer_link_id=... counts every transaction TRANSFERRED
     (polled every 50 ms once the fake holds them all; before that only the fake's in-memory
     count is read, so polling costs finsync nothing).

Baselines in the same round, on a fresh fake each: a minimal Python client in a separate process
posts the same transactions (same import ids, payees, memos, amounts, dates, cleared flags,
batches of 500, one keep-alive connection) straight to the fake, once with the fake's OpenAPI
validation on (as in the finsync run) and once with it off (FakeYnab(validate_requests=False)).
The difference between the finsync run and the first baseline is what finsync adds; the first
baseline against the second is what the fake's jsonschema validation costs.

The fake looks up import ids with a linear scan of the budget's transactions
(Budget.find_import_id), which makes accepting N transactions O(N^2) in the fake: about
5 x 10^9 comparisons for 100,000. That is a property of the fake, not of finsync or YNAB, so the
benchmark gives each fake budget an index of its import ids with the same answers (first match
in insertion order, same account and deleted rules); --fake-linear-import-ids keeps the scan
(20,000 transactions then take the fake about 27 s instead of about 5 s; 100,000 would add
about ten minutes).

--ynab-requests-per-hour K checks the queueing instead of timing: finsync's client-side limit
and the fake's limit are both K per hour; the round waits until the delivery job has been
rescheduled for later than a minute ahead, and reports the requests sent, the transfer logs by
status and when the job runs again (no request may have been answered 429).

Usage (from anywhere; builds nothing, run `scripts/build.sh release finsync` first):
  /usr/bin/python3 bench/delivery_bench.py [--transactions 100000] [--rounds 3]
      [--history-days 14] [--no-baselines] [--fake-linear-import-ids] [--json FILE]
      [--perf FILE [--perf-frequency 250]] [--keep DIR] [--ynab-requests-per-hour K]
The binary is $FINSYNC_BIN, else build/release/finsync.
"""

import argparse
import collections
import datetime
import hashlib
import http.client
import json
import math
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

REPOSITORY_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPOSITORY_ROOT)

from tests.api import harness  # noqa: E402
from tests.fakes.fake_ynab import FakeYnab  # noqa: E402

YNAB_TOKEN = "ynab-token-1"  # The fake's default seed: one user, budget "Home" (EUR).
BATCH = 500  # YnabDestination::kBatchMax.
SANDBOX_BANK = "SANDBOX_FINSYNC_SBXFDEB1"
EMAIL = "bench@finsync.local"
DELIVERY_TIMEOUT_SECONDS = 3 * 3600
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# Counterparties: (payee, remittance stem, merchant category, bank transaction code, lowest
# and highest amount in cents, sign). Cities multiply the payees to about 200 distinct names.
COUNTERPARTIES = [
    ("REWE Markt", "REWE SAGT DANKE", "5411", "PMNT-CCRD-POSD", 250, 12000, -1),
    ("EDEKA Center", "EDEKA KARTENZAHLUNG", "5411", "PMNT-CCRD-POSD", 180, 9500, -1),
    ("Lidl", "LIDL SAGT DANKE", "5411", "PMNT-CCRD-POSD", 120, 7000, -1),
    ("ALDI SUED", "ALDI SUED FILIALE", "5411", "PMNT-CCRD-POSD", 120, 6500, -1),
    ("dm-drogerie markt", "DM FIL. KARTENZAHLUNG", "5912", "PMNT-CCRD-POSD", 150, 4500, -1),
    ("Rossmann", "ROSSMANN SAGT DANKE", "5912", "PMNT-CCRD-POSD", 150, 3500, -1),
    ("Amazon EU", "AMAZON.DE MARKETPLACE", "5942", "PMNT-CCRD-POSD", 599, 18000, -1),
    ("Zalando SE", "ZALANDO SE BESTELLUNG", "5651", "PMNT-CCRD-POSD", 1995, 24000, -1),
    ("IKEA", "IKEA KARTENZAHLUNG", "5712", "PMNT-CCRD-POSD", 300, 45000, -1),
    ("MediaMarkt", "MEDIA MARKT SATURN", "5732", "PMNT-CCRD-POSD", 999, 80000, -1),
    ("Shell", "SHELL TANKSTELLE", "5541", "PMNT-CCRD-POSD", 2000, 9500, -1),
    ("Aral", "ARAL STATION", "5541", "PMNT-CCRD-POSD", 2000, 9500, -1),
    ("Deutsche Bahn", "DB VERTRIEB GMBH FAHRKARTE", "4112", "PMNT-CCRD-POSD", 490, 15900, -1),
    ("Lieferando", "LIEFERANDO.DE BESTELLUNG", "5814", "PMNT-CCRD-POSD", 1200, 5500, -1),
    ("Starbucks", "STARBUCKS COFFEE", "5814", "PMNT-CCRD-POSD", 290, 1400, -1),
    ("Apotheke am Markt", "APOTHEKE AM MARKT", "5912", "PMNT-CCRD-POSD", 450, 6000, -1),
    ("Decathlon", "DECATHLON DEUTSCHLAND", "5941", "PMNT-CCRD-POSD", 599, 20000, -1),
    ("Vapiano", "VAPIANO", "5812", "PMNT-CCRD-POSD", 1100, 6800, -1),
    ("Netflix", "NETFLIX.COM ABO", "4899", "PMNT-RCDT-ESCT", 799, 1799, -1),
    ("Spotify", "SPOTIFY AB ABO", "4899", "PMNT-RCDT-ESCT", 999, 1799, -1),
    ("Stadtwerke", "ABSCHLAG STROM GAS", "4900", "PMNT-RDDT-ESDD", 4500, 16000, -1),
    ("Telekom Deutschland", "TELEKOM RECHNUNG", "4814", "PMNT-RDDT-ESDD", 2995, 7995, -1),
    ("Hausverwaltung Nord", "MIETE WOHNUNG", "6513", "PMNT-ICDT-STDO", 65000, 145000, -1),
    ("Arbeitgeber GmbH", "GEHALT LOHN", "", "PMNT-RCDT-ESCT", 250000, 520000, 1),
    ("PayPal Europe", "PAYPAL RUECKZAHLUNG", "", "PMNT-RCDT-ESCT", 500, 25000, 1),
]
CITIES = ["BERLIN", "HAMBURG", "MUENCHEN", "KOELN", "FRANKFURT", "LEIPZIG", "DRESDEN",
          "BREMEN"]


def log(message):
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The fake


def index_import_ids(fake):
    """Replaces each budget's linear Budget.find_import_id with a dictionary lookup that gives
    the same answer: the first transaction in insertion order with that import id on that
    account (deleted ones only when asked). Keyed by import id alone, because an update may move
    a transaction to another account; the account and deleted flags are checked at lookup."""
    for budget in fake.budgets.values():
        index = collections.defaultdict(list)
        for transaction in budget.transactions.values():
            if transaction["import_id"]:
                index[transaction["import_id"]].append(transaction)
        create = budget.create_transaction

        def create_transaction(fields, create=create, index=index):
            transaction = create(fields)
            if transaction["import_id"]:
                index[transaction["import_id"]].append(transaction)
            return transaction

        def find_import_id(account_id, import_id, include_deleted, index=index):
            for transaction in index.get(import_id, ()):
                if transaction["account_id"] == account_id and (
                        include_deleted or not transaction["deleted"]):
                    return transaction
            return None

        budget.create_transaction = create_transaction
        budget.find_import_id = find_import_id


def time_requests(fake):
    """Records how long the fake spends in each request it handles (under its lock), in
    fake.timings as (method, path, status, seconds, monotonic start)."""
    fake.timings = []
    handle = fake.handle

    def timed(method, raw_path, headers, body_bytes):
        started = time.perf_counter()
        status, body = handle(method, raw_path, headers, body_bytes)
        fake.timings.append((method, raw_path.split("?")[0], status,
                             time.perf_counter() - started, started))
        return status, body

    fake.handle = timed


def start_fake(validate, linear_import_ids, rate_limit_per_hour=0):
    fake = FakeYnab(rate_limit_per_hour=rate_limit_per_hour, validate_requests=validate).start()
    if not linear_import_ids:
        index_import_ids(fake)
    time_requests(fake)
    return fake


def request_summary(fake, start_index=0):
    """Counts of the fake's requests from start_index on, by "METHOD operation status"."""
    with fake.lock:
        records = list(fake.requests[start_index:])
    return collections.Counter(
        f"{r['method']} {r.get('operation') or r['path']} {r['status']}" for r in records)


# ---------------------------------------------------------------------------------------------
# Seeding the store


def seed_transactions(db_path, user_id, account_id, count, seed):
    """Inserts `count` bank transactions for the account in one SQLite transaction; returns the
    seconds it took."""
    rng = random.Random(seed)
    today = datetime.datetime.now(datetime.timezone.utc).date()
    now_ms = int(time.time() * 1000)
    rows = []
    for number in range(count):
        party = COUNTERPARTIES[rng.randrange(len(COUNTERPARTIES))]
        payee_stem, remittance_stem, mcc, code, low, high, sign = party
        city = CITIES[rng.randrange(len(CITIES))]
        day = today - datetime.timedelta(days=rng.randrange(365))
        amount = sign * rng.randrange(low, high)
        pending = rng.random() < 0.02 and day >= today - datetime.timedelta(days=5)
        booking_date = None if pending else day.isoformat()
        value_day = day - datetime.timedelta(days=rng.randrange(3))
        value_ms = int(datetime.datetime(value_day.year, value_day.month, value_day.day,
                                         tzinfo=datetime.timezone.utc).timestamp() * 1000)
        value_ms += rng.randrange(86_400_000)
        booking_ms = None if pending else int(datetime.datetime(
            day.year, day.month, day.day, 5, tzinfo=datetime.timezone.utc).timestamp() * 1000)
        transaction_id = f"{day:%Y%m%d}-B{number:011X}"
        internal_id = hashlib.md5(f"internal/{seed}/{number}".encode()).hexdigest().upper()
        reference = f"{rng.randrange(10**9):09d}"
        remittance = f"{remittance_stem} {city} REF {reference}"
        payee = f"{payee_stem} {city}"
        incoming = sign > 0
        creditor = "" if incoming else payee
        debtor = payee if incoming else ""
        status = "PENDING" if pending else "BOOKED"
        euros = f"{'-' if amount < 0 else ''}{abs(amount) // 100}.{abs(amount) % 100:02d}"
        raw = {"transactionId": transaction_id, "internalTransactionId": internal_id}
        if booking_date:
            raw["bookingDate"] = booking_date
            raw["bookingDateTime"] = f"{day.isoformat()}T05:00:00Z"
        raw["valueDate"] = value_day.isoformat()
        raw["transactionAmount"] = {"amount": euros, "currency": "EUR"}
        if creditor:
            raw["creditorName"] = creditor
        if debtor:
            raw["debtorName"] = debtor
        raw["remittanceInformationUnstructured"] = remittance
        raw["bankTransactionCode"] = code
        if mcc:
            raw["merchantCategoryCode"] = mcc
        content = "|".join([str(account_id), day.isoformat(), str(amount), "EUR", creditor,
                            debtor, remittance])
        content_key = hashlib.md5(content.encode()).hexdigest() + "#1"
        fingerprint = hashlib.md5((content + "|" + status + "|" + transaction_id).encode()
                                  ).hexdigest()
        rows.append((user_id, account_id, status, transaction_id, internal_id, booking_date,
                     value_day.isoformat(), booking_ms, value_ms, amount, "EUR", creditor,
                     debtor, remittance, code, mcc, payee, remittance, day.isoformat(),
                     "sandbox", json.dumps(raw, separators=(",", ":")), content_key,
                     fingerprint, now_ms, now_ms))
    started = time.monotonic()
    database = sqlite3.connect(db_path)
    try:
        with database:
            database.executemany(
                "INSERT INTO bank_transactions (user_id, bank_account_id, status, "
                "transaction_id, internal_transaction_id, booking_date, value_date, "
                "booking_datetime, value_datetime, amount_minor, currency, creditor_name, "
                "debtor_name, remittance_unstructured, bank_transaction_code, "
                "merchant_category_code, generated_payee, generated_description, "
                "generated_date, source, raw_payload, content_key, fingerprint, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                "?, ?, ?, ?, ?)", rows)
        database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        database.close()
    return time.monotonic() - started


# ---------------------------------------------------------------------------------------------
# finsync


class Api:
    def __init__(self, server, token):
        self.server = server
        self.token = token

    def call(self, method, path, body=None, expect=200):
        response = self.server.request(method, path, self.token, body, timeout_seconds=60)
        if response.status != expect:
            raise RuntimeError(f"{method} {path} -> {response.status} {response.body!r}")
        return response.body


def wait_for(description, predicate, timeout_seconds, interval_seconds):
    deadline = time.monotonic() + timeout_seconds
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout_seconds}s waiting for {description}")
        time.sleep(interval_seconds)


def process_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def server_arguments(fake, ynab_requests_per_hour):
    return ["--access-log", "off", "--rate-limit-read", "0", "--rate-limit-write", "0",
            "--rate-limit-sync", "0", "--allow-private-destinations", "--ynab-url",
            fake.base_url, "--ynab-requests-per-hour", str(ynab_requests_per_hour)]


def deliver_round(arguments, round_number, work_dir):
    """One finsync delivery; returns a dict of figures and the outgoing transactions (for the
    baselines)."""
    limited = arguments.ynab_requests_per_hour is not None
    fake = start_fake(True, arguments.fake_linear_import_ids,
                      arguments.ynab_requests_per_hour if limited else 0)
    server = harness.Server(server_arguments(
        fake, arguments.ynab_requests_per_hour if limited else 1_000_000), directory=os.path.join(
        work_dir, f"round{round_number}"))
    os.makedirs(server.directory, exist_ok=True)
    try:
        server.create_user(EMAIL, "Bench")
        token = server.create_token(EMAIL, "bench", "read,write")["token"]
        server.start()
        api = Api(server, token)
        connection = api.call("POST", "/api/v1/banks/connections", {
            "bank_id": SANDBOX_BANK, "max_historical_days": arguments.history_days},
            expect=201)["data"]
        api.call("POST", f"/api/v1/banks/connections/{connection['id']}/sandbox/approve")

        def synced():
            accounts = api.call(
                "GET", f"/api/v1/banks/accounts?bank_connection_id={connection['id']}")["data"]
            return accounts if accounts and all(
                a["transactions_last_synced_at"] for a in accounts) else None

        account = wait_for("the sandbox's first sync", synced, 60, 0.1)[0]
        server.stop()
        database = sqlite3.connect(server.db_path)
        user_id = database.execute("SELECT id FROM users WHERE email = ?", (EMAIL,)).fetchone()[0]
        sandbox_count = database.execute(
            "SELECT COUNT(*) FROM bank_transactions WHERE bank_account_id = ?",
            (account["id"],)).fetchone()[0]
        database.close()
        seed_seconds = seed_transactions(server.db_path, user_id, account["id"],
                                         arguments.transactions, 1000 + round_number)
        log(f"round {round_number}: {sandbox_count} sandbox transactions, "
            f"{arguments.transactions} inserted in {seed_seconds:.1f}s")

        server.start()
        api.call("POST", "/api/v1/ynab/connections", {"access_token": YNAB_TOKEN}, expect=201)
        budget = api.call("GET", "/api/v1/ynab/budgets")["data"][0]
        ynab_account = next(a for a in api.call(
            "GET", f"/api/v1/ynab/budgets/{budget['id']}/accounts")["data"]
            if a["name"] == "Checking")
        fake_budget = fake.budgets[budget["ynab_id"]]
        fake_before = len(fake_budget.transactions)
        database = sqlite3.connect(f"file:{server.db_path}?mode=ro", uri=True)
        expected = database.execute(
            "SELECT COUNT(*) FROM bank_transactions WHERE bank_account_id = ?",
            (account["id"],)).fetchone()[0]
        database.close()
        requests_before = len(fake.requests)
        timings_before = len(fake.timings)
        load_before = os.getloadavg()[0]
        cpu_before = process_cpu_seconds(server.process.pid)
        python_cpu_before = time.process_time()
        profiler = None
        if arguments.perf:
            profiler = subprocess.Popen(
                ["perf", "record", "-q", "-F", str(arguments.perf_frequency), "--call-graph",
                 "dwarf", "-p", str(server.process.pid), "-o",
                 f"{arguments.perf}.{round_number}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)  # perf attaches.
        started = time.perf_counter()
        link = api.call("POST", "/api/v1/transfer-links", {
            "bank_account_id": account["id"], "destination_type": "YNAB",
            "destination_id": ynab_account["id"], "transfer_start_date": "2000-01-01"},
            expect=201)["data"]
        if limited:
            return queue_check(arguments, server, api, fake, link, expected, started,
                               requests_before), None, None, None
        wait_for("the fake to hold every transaction",
                 lambda: len(fake_budget.transactions) - fake_before >= expected,
                 DELIVERY_TIMEOUT_SECONDS, 0.05)
        counts = {}

        def all_transferred():
            counts.update(api.call(
                "GET", f"/api/v1/stats/transfers?transfer_link_id={link['id']}")
                ["data"]["totals"])
            if counts.get("FAILED") or counts.get("SKIPPED"):
                raise RuntimeError(f"transfers failed or were skipped: {counts}")
            return counts.get("TRANSFERRED", 0) >= expected and not counts.get("SCHEDULED")

        wait_for("every transfer log TRANSFERRED", all_transferred, 600, 0.05)
        elapsed = time.perf_counter() - started
        finsync_cpu = process_cpu_seconds(server.process.pid) - cpu_before
        python_cpu = time.process_time() - python_cpu_before
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait()

        # Checks: the fake holds exactly one transaction per bank transaction, distinct import
        # ids, each the destination id of its transfer log.
        sent = [t for t in fake_budget.transactions.values()
                if (t["import_id"] or "").startswith("fs:") and not t["deleted"]]
        import_ids = {t["import_id"] for t in sent}
        database = sqlite3.connect(f"file:{server.db_path}?mode=ro", uri=True)
        expected_now = database.execute(
            "SELECT COUNT(*) FROM bank_transactions WHERE bank_account_id = ?",
            (account["id"],)).fetchone()[0]
        log_rows = database.execute(
            "SELECT status, COUNT(*), COUNT(DISTINCT import_id), "
            "COUNT(DISTINCT destination_transaction_id) FROM transfer_logs "
            "WHERE transfer_link_id = ? GROUP BY status", (link["id"],)).fetchall()
        destination_ids = {row[0] for row in database.execute(
            "SELECT destination_transaction_id FROM transfer_items WHERE transfer_link_id = ? "
            "AND state = 'TRANSFERRED'", (link["id"],))}
        outgoing = database.execute(
            "SELECT i.import_id, t.generated_date, t.amount_minor, t.generated_payee, "
            "t.generated_description, t.status FROM transfer_items i JOIN bank_transactions t "
            "ON t.id = i.bank_transaction_id WHERE i.transfer_link_id = ? ORDER BY i.id",
            (link["id"],)).fetchall()
        database.close()
        problems = []
        if expected_now != expected:
            problems.append(f"the account gained {expected_now - expected} transactions during "
                            "the run (a sync)")
        if len(sent) != expected:
            problems.append(f"the fake holds {len(sent)} transactions, expected {expected}")
        if len(import_ids) != len(sent):
            problems.append(f"{len(sent) - len(import_ids)} import ids were used twice")
        if destination_ids != {t["id"] for t in sent}:
            problems.append("the transfer items' destination ids differ from the fake's ids")
        if log_rows != [("TRANSFERRED", expected, expected, expected)]:
            problems.append(f"transfer logs: {log_rows}")
        requests = request_summary(fake, requests_before)
        posts = [t for t in fake.timings[timings_before:]
                 if t[0] == "POST" and t[1].endswith("/transactions")]
        result = {
            "round": round_number, "transactions": expected,
            "inserted": arguments.transactions, "sandbox": sandbox_count,
            "elapsed_seconds": elapsed, "per_second": expected / elapsed,
            "post_requests": len(posts),
            "post_requests_expected": math.ceil(expected / BATCH),
            "requests": dict(requests), "all_requests": dict(request_summary(fake)),
            "fake_busy_seconds": sum(t[3] for t in fake.timings[timings_before:]),
            "fake_post_seconds": [t[3] for t in posts],
            # Link creation to the first POST: discovery of every transaction (finsync
            # discovers everything, 2,000 rows per pass, before it sends the first batch).
            "first_post_after_seconds": posts[0][4] - started if posts else None,
            # From the end of one POST to the start of the next: finsync recording the batch,
            # selecting and loading the next one, building and sending the body.
            "gaps_between_posts_seconds": [b[4] - (a[4] + a[3]) for a, b in zip(posts, posts[1:])],
            "last_post_end_to_done_seconds":
                elapsed - (posts[-1][4] + posts[-1][3] - started) if posts else None,
            "finsync_cpu_seconds": finsync_cpu, "python_cpu_seconds": python_cpu,
            "spec_violations": len(fake.spec_violations),
            "response_violations": len(fake.response_violations),
            "fake_transactions": len(sent), "distinct_import_ids": len(import_ids),
            "problems": problems, "seed_seconds": seed_seconds,
            "load_average_before": load_before, "load_average_after": os.getloadavg()[0],
        }
        return result, outgoing, ynab_account["ynab_id"], budget["ynab_id"]
    finally:
        server.close()
        fake.close()


def queue_check(arguments, server, api, fake, link, expected, started, requests_before):
    """With YNAB's limit in force (finsync's client-side limit and the fake's both at
    --ynab-requests-per-hour): waits until the delivery job is queued again for later than a
    minute from now, i.e. rescheduled because the limit was reached, and reports what was sent
    by then. Nothing may have failed and the fake must not have answered 429."""
    database_uri = f"file:{server.db_path}?mode=ro"

    def rescheduled():
        database = sqlite3.connect(database_uri, uri=True)
        try:
            row = database.execute(
                "SELECT run_at_ms FROM jobs WHERE kind = 'deliver_transfer_link' AND state = "
                "'queued' AND run_at_ms > ?", (int(time.time() * 1000) + 60_000,)).fetchone()
        finally:
            database.close()
        return row

    run_at_ms = wait_for("the delivery job to be rescheduled by the YNAB limit", rescheduled,
                         600, 0.1)[0]
    elapsed = time.perf_counter() - started
    counts = api.call("GET", f"/api/v1/stats/transfers?transfer_link_id={link['id']}")[
        "data"]["totals"]
    requests = request_summary(fake, requests_before)
    all_requests = request_summary(fake)
    problems = []
    if any(key.endswith(" 429") for key in all_requests):
        problems.append("the fake answered 429: finsync exceeded YNAB's limit")
    if counts.get("FAILED") or counts.get("SKIPPED"):
        problems.append(f"transfers failed or were skipped: {counts}")
    if counts.get("TRANSFERRED", 0) + counts.get("SCHEDULED", 0) != expected:
        problems.append(f"transfer log counts {counts} do not add up to {expected}")
    return {"limit": arguments.ynab_requests_per_hour, "transactions": expected,
            "elapsed_seconds": elapsed, "requests": dict(requests),
            "all_requests": dict(all_requests), "counts": counts,
            "rescheduled_in_seconds": run_at_ms / 1000 - time.time(),
            "problems": problems, "spec_violations": len(fake.spec_violations)}


# ---------------------------------------------------------------------------------------------
# Baselines: the fake alone, posted to by a minimal client in another process


def outgoing_batches(outgoing, account_ynab_id):
    """The request bodies finsync would send (same fields, same order), BATCH per body."""
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    entries = []
    for import_id, date, amount_minor, payee, description, status in outgoing:
        entry = {"import_id": import_id, "account_id": account_ynab_id,
                 "date": min(date, today), "amount": amount_minor * 10}
        if payee:
            entry["payee_name"] = payee[:200]
        if description:
            entry["memo"] = description[:500]
        entry["cleared"] = "cleared" if status == "BOOKED" else "uncleared"
        entries.append(entry)
    return [json.dumps({"transactions": entries[start:start + BATCH]},
                       separators=(",", ":")).encode()
            for start in range(0, len(entries), BATCH)]


def post_client(arguments):
    """Child process: posts the bodies in arguments.post_client (a JSON file) to the URL on one
    keep-alive connection, one after another; prints the seconds and the statuses as JSON."""
    with open(arguments.post_client, encoding="utf-8") as job_file:
        job = json.load(job_file)
    bodies = [body.encode() for body in job["bodies"]]
    url = urllib.parse.urlsplit(job["url"])
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=300)
    path = f"{url.path}/budgets/{job['budget']}/transactions"
    headers = {"Authorization": f"Bearer {job['token']}", "Content-Type": "application/json"}
    statuses = collections.Counter()
    started = time.monotonic()
    for body in bodies:
        connection.request("POST", path, body, headers)
        response = connection.getresponse()
        response.read()
        statuses[response.status] += 1
    elapsed = time.monotonic() - started
    print(json.dumps({"seconds": elapsed, "statuses": statuses}))


def baseline_round(outgoing, account_ynab_id, budget_ynab_id, validate, arguments, work_dir):
    fake = start_fake(validate, arguments.fake_linear_import_ids)
    try:
        bodies = outgoing_batches(outgoing, account_ynab_id)
        job_path = os.path.join(work_dir, "baseline.json")
        with open(job_path, "w", encoding="utf-8") as job_file:
            json.dump({"url": fake.base_url, "budget": budget_ynab_id, "token": YNAB_TOKEN,
                       "bodies": [body.decode() for body in bodies]}, job_file)
        load_before = os.getloadavg()[0]
        python_cpu_before = time.process_time()
        child = subprocess.run([sys.executable, os.path.abspath(__file__), "--post-client",
                                job_path], capture_output=True, text=True, check=True)
        python_cpu = time.process_time() - python_cpu_before
        answer = json.loads(child.stdout)
        budget = fake.budgets[budget_ynab_id]
        held = sum(1 for t in budget.transactions.values()
                   if (t["import_id"] or "").startswith("fs:"))
        return {"validate": validate, "transactions": len(outgoing), "batches": len(bodies),
                "elapsed_seconds": answer["seconds"],
                "per_second": len(outgoing) / answer["seconds"],
                "statuses": answer["statuses"], "fake_held": held,
                "fake_busy_seconds": sum(t[3] for t in fake.timings),
                "python_cpu_seconds": python_cpu, "load_average_before": load_before,
                "spec_violations": len(fake.spec_violations)}
    finally:
        fake.close()


# ---------------------------------------------------------------------------------------------


def median_and_range(values):
    return statistics.median(values), min(values), max(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transactions", type=int, default=100_000,
                        help="bank transactions inserted besides the sandbox history")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--history-days", type=int, default=14,
                        help="the sandbox connection's max_historical_days")
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--fake-linear-import-ids", action="store_true",
                        help="keep the fake's O(n) import id lookup (O(n^2) in total)")
    parser.add_argument("--json", help="also write every figure to this file")
    parser.add_argument("--perf", metavar="FILE",
                        help="record the server with perf (call graphs) during each delivery, "
                             "into FILE.<round>")
    parser.add_argument("--perf-frequency", type=int, default=250)
    parser.add_argument("--ynab-requests-per-hour", type=int, metavar="K",
                        help="instead of timing a delivery, check the queueing: finsync's and "
                             "the fake's YNAB limit at K per hour; report what was sent before "
                             "the job was rescheduled and when it runs again")
    parser.add_argument("--keep", metavar="DIR",
                        help="keep each round's store and server logs in DIR/round<n>")
    parser.add_argument("--post-client", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.post_client:
        return post_client(arguments)
    harness.require_binary()

    results = []
    with tempfile.TemporaryDirectory(prefix="finsync-delivery-bench-") as temporary:
        work_dir = arguments.keep or temporary
        os.makedirs(work_dir, exist_ok=True)
        for round_number in range(1, arguments.rounds + 1):
            result, outgoing, account_ynab_id, budget_ynab_id = deliver_round(
                arguments, round_number, work_dir)
            if arguments.ynab_requests_per_hour is not None:
                print(json.dumps(result, indent=1))
                results.append(result)
                continue
            log(f"round {round_number}: finsync delivered {result['transactions']} in "
                f"{result['elapsed_seconds']:.1f}s ({result['per_second']:.0f}/s), "
                f"{result['post_requests']} POSTs, finsync CPU "
                f"{result['finsync_cpu_seconds']:.1f}s, fake busy "
                f"{result['fake_busy_seconds']:.1f}s, problems {result['problems']}")
            if not arguments.no_baselines:
                result["baselines"] = []
                for validate in (True, False):
                    baseline = baseline_round(outgoing, account_ynab_id, budget_ynab_id,
                                              validate, arguments, work_dir)
                    result["baselines"].append(baseline)
                    log(f"round {round_number}: baseline (validation "
                        f"{'on' if validate else 'off'}) {baseline['transactions']} in "
                        f"{baseline['elapsed_seconds']:.1f}s ({baseline['per_second']:.0f}/s), "
                        f"statuses {baseline['statuses']}")
            results.append(result)
    if arguments.ynab_requests_per_hour is None:
        report(results, arguments)
    if arguments.json:
        with open(arguments.json, "w", encoding="utf-8") as out:
            json.dump(results, out, indent=1)
    return 1 if any(r["problems"] or r["spec_violations"] for r in results) else 0


def report(results, arguments):
    elapsed = [r["elapsed_seconds"] for r in results]
    rates = [r["per_second"] for r in results]
    print(f"Delivery of {results[0]['transactions']} transactions "
          f"({arguments.transactions} inserted + sandbox history) to the fake YNAB, "
          f"{len(results)} round(s):")
    print("| Round | Transactions | Elapsed | Transactions/s | POST requests (expected) | "
          "Other YNAB requests | Link to first POST | Fake per POST (median) | "
          "Gap between POSTs (median) | Last POST to done | finsync CPU | Fake busy | "
          "Python CPU (fake, poller) | Spec violations | Load before/after | Checks |")
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for r in results:
        others = {k: v for k, v in r["requests"].items() if not k.startswith("POST ")}
        gaps = r["gaps_between_posts_seconds"]
        print(f"| {r['round']} | {r['transactions']} | {r['elapsed_seconds']:.1f} s | "
              f"{r['per_second']:.0f} | {r['post_requests']} ({r['post_requests_expected']}) | "
              f"{others or 'none'} | {r['first_post_after_seconds']:.2f} s | "
              f"{statistics.median(r['fake_post_seconds']) * 1000:.0f} ms | "
              f"{statistics.median(gaps) * 1000 if gaps else 0:.0f} ms | "
              f"{r['last_post_end_to_done_seconds']:.2f} s | "
              f"{r['finsync_cpu_seconds']:.1f} s | {r['fake_busy_seconds']:.1f} s | "
              f"{r['python_cpu_seconds']:.1f} s | {r['spec_violations']} | "
              f"{r['load_average_before']:.1f}/{r['load_average_after']:.1f} | "
              f"{'; '.join(r['problems']) or 'ok'} |")
    median, low, high = median_and_range(elapsed)
    rate_median, rate_low, rate_high = median_and_range(rates)
    cpu_median, cpu_low, cpu_high = median_and_range([r["finsync_cpu_seconds"] for r in results])
    print(f"finsync CPU: median {cpu_median:.1f} s ({cpu_low:.1f}-{cpu_high:.1f}); "
          f"fake process CPU median "
          f"{statistics.median(r['python_cpu_seconds'] for r in results):.1f} s")
    print(f"finsync: median {median:.1f} s ({low:.1f}-{high:.1f}), "
          f"{rate_median:.0f} transactions/s ({rate_low:.0f}-{rate_high:.0f})")
    if results[0].get("baselines"):
        for index, name in ((0, "validation on"), (1, "validation off")):
            times = [r["baselines"][index]["elapsed_seconds"] for r in results]
            per_second = [r["baselines"][index]["per_second"] for r in results]
            median, low, high = median_and_range(times)
            rate_median, rate_low, rate_high = median_and_range(per_second)
            busy = [r["baselines"][index]["fake_busy_seconds"] for r in results]
            cpu = [r["baselines"][index]["python_cpu_seconds"] for r in results]
            print(f"baseline, fake alone ({name}): median {median:.1f} s ({low:.1f}-{high:.1f}), "
                  f"{rate_median:.0f} transactions/s ({rate_low:.0f}-{rate_high:.0f}); fake busy "
                  f"{statistics.median(busy):.1f} s, fake process CPU "
                  f"{statistics.median(cpu):.1f} s (medians); statuses "
                  f"{[r['baselines'][index]['statuses'] for r in results]}")
    print("All YNAB requests per round (connect, mirror and delivery):")
    for r in results:
        print(f"  round {r['round']}: {r['all_requests']}")


if __name__ == "__main__":
    sys.exit(main())
