#!/usr/bin/env bash
# Listing load test: `GET /api/v1/banks/transactions` returning 100 transactions out of
# BENCH_ROWS (1,000,000) stored for one user, at BENCH_CONNECTIONS (50) keep-alive connections,
# against a baseline on the same server, `GET /api/v1/user` (authentication and one tiny read).
#
# Cases (each rotates over ten paths, see bench/list_load.lua):
#   user     GET /api/v1/user: the baseline
#   account  bank_account_id=K&limit=100: one account, newest first
#   range    bank_account_id=K&status=BOOKED&date_from=..&date_to=..&limit=100: one quarter
#   cursor   the account listing at page BENCH_CURSOR_PAGES + 1, via the page_token returned by
#            walking the pages before it
#   amount   bank_account_id=K&amount_lte=-100.00&limit=100: amounts have no index
#   search   search=TERM&limit=100 over all accounts: each term matches ~1.5% of the rows
# Every case is loaded in alternation with the others (user, account, ..., user, account, ...)
# so that all figures come from the same minutes of a machine that may be busy with other work;
# the table reports the median of the rounds. Each round also runs every case at one connection
# (the service time without queueing), and before the load the sqlite3 CLI times each case's
# SQL, as the server builds it, and prints its query plan.
#
# Usage: bench/list_load.sh
# Environment (defaults in brackets):
#   BENCH_ROWS              transactions to seed, 100000..20000000 [1000000]
#   BENCH_DURATION          wrk duration per measured run [10s]
#   BENCH_CONNECTIONS       keep-alive connections [50]
#   BENCH_ROUNDS            measured runs per case, 1..20 [3]
#   BENCH_CASES             cases to run, in this order [user account range cursor amount search]
#   BENCH_SERVICE_DURATION  wrk duration of the one-connection run per case and round [3s]
#   BENCH_CURSOR_PAGES      pages walked before the cursor case's page, 1..100 [20]
#   BENCH_SQL_REPEATS       sqlite3 CLI executions per case, median reported, 1..1000 [100]
#   BENCH_THREADS           worker threads of the server [nproc]
#   BENCH_WRK_THREADS       wrk threads [nproc]
#   BENCH_WARMUP            unmeasured wrk run per case before the rounds [2s]
# Needs wrk, curl and sqlite3. Listens on 127.0.0.1 only, on a port the kernel picks; the
# store (about 0.9 GB for 1,000,000 rows) is made in a temporary directory and removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."

rows="${BENCH_ROWS:-1000000}"
duration="${BENCH_DURATION:-10s}"
connections="${BENCH_CONNECTIONS:-50}"
rounds="${BENCH_ROUNDS:-3}"
read -r -a cases <<<"${BENCH_CASES:-user account range cursor amount search}"
service_duration="${BENCH_SERVICE_DURATION:-3s}"
cursor_pages="${BENCH_CURSOR_PAGES:-20}"
sql_repeats="${BENCH_SQL_REPEATS:-100}"
server_threads="${BENCH_THREADS:-$(nproc)}"
wrk_threads="${BENCH_WRK_THREADS:-$(nproc)}"
warmup="${BENCH_WARMUP:-2s}"

# Fails unless $2 is an integer within [$3, $4]; $1 names the variable in the message.
require_range() {
  if ! [[ "$2" =~ ^[0-9]+$ ]] || (($2 < $3 || $2 > $4)); then
    echo "$1 must be an integer from $3 to $4" >&2
    exit 2
  fi
}
require_range BENCH_ROWS "$rows" 100000 20000000
require_range BENCH_CONNECTIONS "$connections" 1 1000
require_range BENCH_ROUNDS "$rounds" 1 20
require_range BENCH_CURSOR_PAGES "$cursor_pages" 1 100
require_range BENCH_SQL_REPEATS "$sql_repeats" 1 1000
for name in "${cases[@]}"; do
  case "$name" in
    user | account | range | cursor | amount | search) ;;
    *) echo "unknown case $name in BENCH_CASES" >&2; exit 2 ;;
  esac
done
for tool in wrk curl sqlite3; do
  command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 2; }
done

scripts/build.sh release finsync >&2
finsync_bin="$PWD/build/release/finsync"
lua_script="$PWD/bench/list_load.lua"
seed_sql="$PWD/bench/seed_transactions.sql"

work_dir="$(mktemp -d -t finsync-list-bench.XXXXXX)"
server_pid=""
clock_ticks_per_second="$(getconf CLK_TCK)"

cleanup() {
  local attempt
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for ((attempt = 0; attempt < 50; attempt++)); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "$*" >&2
  exit 1
}

# ---- The store -------------------------------------------------------------------------------

db="$work_dir/finsync.db"
load_before="$(cut -d ' ' -f 1-3 /proc/loadavg)"
# `user create` runs the migrations, so the seed finds the schema; the user gets id 1.
"$finsync_bin" user create --db "$db" --email bench@finsync.local --name Bench >/dev/null
token="$("$finsync_bin" token create --db "$db" --user bench@finsync.local --name bench \
  --scopes read | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')"
[ -n "$token" ] || fail "finsync token create printed no token"
echo "seeding $rows transactions" >&2
seed_start="$(date +%s.%N)"
sqlite3 -bail -cmd ".parameter set @rows $rows" "$db" <"$seed_sql" >/dev/null
seed_seconds="$(awk -v start="$seed_start" -v end="$(date +%s.%N)" \
  'BEGIN { printf "%.1f", end - start }')"
stored="$(sqlite3 "$db" 'SELECT count(*) FROM bank_transactions')"
[ "$stored" = "$rows" ] || fail "the seed stored $stored transactions, expected $rows"
db_megabytes="$(($(stat -c %s "$db") / 1048576))"
echo "seeded in ${seed_seconds}s, ${db_megabytes} MiB" >&2

# ---- The server ------------------------------------------------------------------------------

: >"$work_dir/server.err"
"$finsync_bin" serve --db "$db" --host 127.0.0.1 --port 0 --threads "$server_threads" \
  --access-log off --rate-limit-read 0 --shutdown-grace-ms 2000 \
  >"$work_dir/server.out" 2>>"$work_dir/server.err" &
server_pid="$!"
port=""
for ((attempt = 0; attempt < 100; attempt++)); do
  port="$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$work_dir/server.err")"
  [ -n "$port" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$port" ] || fail "finsync did not start: $(cat "$work_dir/server.err")"
base_url="http://127.0.0.1:$port"

# ---- The paths of each case ------------------------------------------------------------------

list="/api/v1/banks/transactions"
accounts=(1 2 3 4 5 6 7 8 9 10)
# Quarter K - 1 of 2023-2024 for account K (accounts 9 and 10 take the first two again).
quarters=(2023-01-01:2023-03-31 2023-04-01:2023-06-30 2023-07-01:2023-09-30
  2023-10-01:2023-12-31 2024-01-01:2024-03-31 2024-04-01:2024-06-30 2024-07-01:2024-09-30
  2024-10-01:2024-12-31)
search_terms=(netflix spotify ikea miete gehalt telekom starbucks apotheke decathlon lieferando)

# Prints the next_page_token of a listing response read from stdin, or nothing.
next_page_token() {
  sed -n 's/.*"next_page_token":"\([^"]*\)".*/\1/p'
}

# Prints the page token reached after walking $cursor_pages pages of PATH.
walk_pages() {
  local path="$1" page page_token=""
  for ((page = 0; page < cursor_pages; page++)); do
    page_token="$(curl -s --max-time 10 -H "Authorization: Bearer $token" \
      "$base_url$path${page_token:+&page_token=$page_token}" | next_page_token)"
    [ -n "$page_token" ] || fail "page $((page + 1)) of $path has no next_page_token"
  done
  printf '%s\n' "$page_token"
}

for name in "${cases[@]}"; do
  : >"$work_dir/$name.paths"
  for index in "${!accounts[@]}"; do
    account="${accounts[$index]}"
    quarter="${quarters[$((index % ${#quarters[@]}))]}"
    case "$name" in
      user) path="/api/v1/user" ;;
      account) path="$list?bank_account_id=$account&limit=100" ;;
      range) path="$list?bank_account_id=$account&status=BOOKED&date_from=${quarter%:*}"
        path+="&date_to=${quarter#*:}&limit=100" ;;
      cursor) path="$list?bank_account_id=$account&limit=100"
        path+="&page_token=$(walk_pages "$path")" ;;
      amount) path="$list?bank_account_id=$account&amount_lte=-100.00&limit=100" ;;
      search) path="$list?search=${search_terms[$index]}&limit=100" ;;
    esac
    printf '%s\n' "$path" >>"$work_dir/$name.paths"
  done
done

# Every path must answer 200; a listing must hold 100 transactions, all of the requested
# account where one was given and none pending where BOOKED was asked for. Records the size of
# the first response of each case.
declare -A response_bytes
for name in "${cases[@]}"; do
  while read -r path; do
    answer="$(curl -s -o "$work_dir/body" -w '%{http_code} %{size_download}' --max-time 30 \
      -H "Authorization: Bearer $token" "$base_url$path")"
    [ "${answer% *}" = 200 ] || fail "$path answered ${answer% *}"
    [ -n "${response_bytes[$name]:-}" ] || response_bytes[$name]="${answer#* }"
    [ "$name" = user ] && continue
    items="$(grep -o '"bank_account_id":[0-9]*' "$work_dir/body" | wc -l)"
    [ "$items" = 100 ] || fail "$path returned $items transactions, expected 100"
    if [[ "$path" == *bank_account_id=* ]]; then
      wanted="${path#*bank_account_id=}"
      wanted="${wanted%%&*}"
      others="$(grep -o '"bank_account_id":[0-9]*' "$work_dir/body" |
        grep -cv "\"bank_account_id\":$wanted\$" || true)"
      [ "$others" = 0 ] || fail "$path returned transactions of other accounts"
    fi
    if [[ "$path" == *status=BOOKED* ]] && grep -q '"status":"PENDING"' "$work_dir/body"; then
      fail "$path returned pending transactions"
    fi
  done <"$work_dir/$name.paths"
done
echo "every path answers 200 with 100 transactions" >&2

# ---- SQLite alone ----------------------------------------------------------------------------

# The SQL the server runs for the first path of each case (src/sync/transactions_query.cc,
# BuildListSql with ingest::kTransactionColumns), with the values bound as parameters.
columns="id, user_id, bank_account_id, status, transaction_id, internal_transaction_id, \
entry_reference, booking_date, value_date, booking_datetime, value_datetime, amount_minor, \
currency, creditor_name, creditor_iban, creditor_account_other, debtor_name, debtor_iban, \
debtor_account_other, remittance_unstructured, remittance_structured, additional_information, \
bank_transaction_code, merchant_category_code, generated_payee, generated_description, \
generated_date, source, raw_payload, created_at, updated_at"
order="ORDER BY generated_date DESC, id DESC LIMIT @limit"
# amount_lte=-100.00 in minor units for exponents 0, 3, 4 and (ELSE) 2.
amount_case="(CASE WHEN currency IN ('BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', \
'PYG', 'RWF', 'UGX', 'UYI', 'VND', 'VUV', 'XAF', 'XOF', 'XPF') THEN -100 WHEN currency IN \
('BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND') THEN -100000 WHEN currency IN ('CLF', 'UYW') \
THEN -1000000 ELSE -10000 END)"
search_condition=""
for column in generated_payee generated_description creditor_name debtor_name \
  remittance_unstructured remittance_structured; do
  search_condition+="${search_condition:+ OR }LOWER($column) LIKE @pattern ESCAPE '\\'"
done

# Prints the date and id a page token points after ("t1.d.DATE.ID.HASH.CHECKSUM", base64url).
token_position() {
  local text
  text="$(printf '%s' "$1" | tr '_-' '/+')"
  while ((${#text} % 4)); do text+="="; done
  printf '%s' "$text" | base64 -d | cut -d . -f 3-4 | tr . ' '
}

# Prints sqlite3 CLI lines that bind the parameters and define case NAME's statement as
# "SELECT ... ;" on the last line.
case_sql() {
  local name="$1" path
  path="$(head -n 1 "$work_dir/$name.paths")"
  echo ".parameter set @user 1"
  echo ".parameter set @limit 101"
  echo ".parameter set @account ${accounts[0]}"
  local where="user_id = @user AND bank_account_id = @account"
  case "$name" in
    account) ;;
    range)
      echo ".parameter set @status 'BOOKED'"
      echo ".parameter set @from '${quarters[0]%:*}'"
      echo ".parameter set @to '${quarters[0]#*:}'"
      where+=" AND status = @status AND generated_date >= @from AND generated_date <= @to" ;;
    cursor)
      read -r after_date after_id <<<"$(token_position "${path##*page_token=}")"
      echo ".parameter set @after_date '$after_date'"
      echo ".parameter set @after_id $after_id"
      where+=" AND (generated_date, id) < (@after_date, @after_id)" ;;
    amount) where+=" AND amount_minor <= $amount_case" ;;
    search)
      echo ".parameter set @pattern '%${search_terms[0]}%'"
      where="user_id = @user AND ($search_condition)" ;;
  esac
  echo "SELECT $columns FROM bank_transactions WHERE $where $order;"
}

declare -A sql_us plans
for name in "${cases[@]}"; do
  [ "$name" = user ] && continue
  case_sql "$name" >"$work_dir/$name.sql"
  statement="$(tail -n 1 "$work_dir/$name.sql")"
  # The server's readers use mmap and query_only; so does the CLI here.
  plans[$name]="$( { echo "PRAGMA mmap_size=268435456;"; sed '$d' "$work_dir/$name.sql"
    echo "EXPLAIN QUERY PLAN $statement"; } | sqlite3 -readonly "$db" |
    sed -n 's/^[|`-]*//; /^QUERY PLAN/d; /^[0-9]*$/d; p' | paste -sd ';' -)"
  # Wrapped in count(*) so the CLI reads every column of every row but prints nothing: the
  # engine's share, without the CLI's text output. Median of user + system CPU time.
  sql_us[$name]="$( { echo "PRAGMA mmap_size=268435456;"; sed '$d' "$work_dir/$name.sql"
    echo ".timer on"
    for ((repeat = 0; repeat < sql_repeats; repeat++)); do
      echo "SELECT count(*) FROM (${statement%;});"
    done; } | sqlite3 -readonly "$db" |
    awk '/^Run Time/ { print ($6 + $8) * 1e6 }' | sort -g |
    awk '{ v[NR] = $1 }
         END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }')"
  echo "sqlite3 $name: ${sql_us[$name]} µs; ${plans[$name]}" >&2
done

# ---- Load ------------------------------------------------------------------------------------

# Prints the user plus system CPU time a process has used, in clock ticks (proc(5) fields 14
# and 15, counted after the parenthesised command name).
cpu_ticks() {
  sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# Waits, at most 10 s, until the server has used at most one clock tick of CPU in 0.2 s:
# requests still queued from the previous run (up to one per connection, which for a slow case
# is a second of work) would otherwise be charged to the next run.
wait_idle() {
  local attempt before after
  for ((attempt = 0; attempt < 50; attempt++)); do
    before="$(cpu_ticks "$server_pid")"
    sleep 0.2
    after="$(cpu_ticks "$server_pid")"
    ((after - before <= 1)) && return 0
  done
  echo "the server was still busy 10 s after a run; measuring anyway" >&2
}

# Runs wrk on one case; appends its BENCH_RESULT line, extended with the server's CPU time per
# request, to $work_dir/NAME.SERIES. Arguments: case, connections, duration, series, label.
load() {
  local name="$1" run_connections="$2" run_duration="$3" series="$4" label="$5"
  local threads output result ticks_before ticks_after
  threads=$((wrk_threads < run_connections ? wrk_threads : run_connections))
  wait_idle
  ticks_before="$(cpu_ticks "$server_pid")"
  # A long timeout: wrk leaves requests slower than it out of the latency figures.
  output="$(BENCH_TOKEN="$token" BENCH_PATHS="$work_dir/$name.paths" wrk -t"$threads" \
    -c"$run_connections" -d"$run_duration" --timeout 30s --latency -s "$lua_script" \
    "$base_url/")"
  kill -0 "$server_pid" 2>/dev/null ||
    fail "finsync exited under load: $(cat "$work_dir/server.err")"
  ticks_after="$(cpu_ticks "$server_pid")"
  result="$(printf '%s\n' "$output" | grep '^BENCH_RESULT' || true)"
  [ -n "$result" ] || fail "wrk printed no result for $name: $output"
  result="$result $(awk -v ticks=$((ticks_after - ticks_before)) -v hz="$clock_ticks_per_second" \
    -v line="$result" 'BEGIN { match(line, /requests=[0-9]+/)
      requests = substr(line, RSTART + 9, RLENGTH - 9)
      printf "server_cpu_us=%.1f", (requests > 0 ? ticks * 1e6 / hz / requests : 0) }')"
  [ "$label" = warmup ] || printf '%s\n' "$result" >>"$work_dir/$name.$series"
  echo "$label $name -c$run_connections: ${result#BENCH_RESULT }" >&2
}

echo "warm-up ($warmup each), then $rounds rounds of $duration at -c$connections and" \
  "$service_duration at -c1 per case; -t$wrk_threads, $server_threads server threads" >&2
for name in "${cases[@]}"; do load "$name" "$connections" "$warmup" loaded warmup; done
for ((round = 1; round <= rounds; round++)); do
  for name in "${cases[@]}"; do
    load "$name" "$connections" "$duration" loaded "round $round"
    load "$name" 1 "$service_duration" single "round $round"
  done
done
load_after="$(cut -d ' ' -f 1-3 /proc/loadavg)"

# ---- Report ----------------------------------------------------------------------------------

# Prints the median of field KEY over the lines of a results file.
median() {
  sed -n "s/.* $2=\([0-9.]*\).*/\1/p" "$1" | sort -g |
    awk '{ v[NR] = $1 }
         END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Prints the sum of field KEY over the lines of a results file.
total() {
  sed -n "s/.* $2=\([0-9]*\).*/\1/p" "$1" | awk '{ s += $1 } END { print s + 0 }'
}

# Prints "requests/s / p99" of every round of a results file.
per_round() {
  awk '{ match($0, / rps=[0-9.]+/); rps = substr($0, RSTART + 5, RLENGTH - 5)
         match($0, / p99_us=[0-9]+/); p99 = substr($0, RSTART + 8, RLENGTH - 8)
         printf "%s%.0f / %.1f", (NR > 1 ? ", " : ""), rps, p99 / 1000 }' "$1"
}

declare -A labels=([user]='a. baseline' [account]='b. account' [range]='c. account + range'
  [cursor]="d. account, page $((cursor_pages + 1))" [amount]='e. account + amount'
  [search]='f. search')

echo
echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores," \
  "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
  "load average $load_before before and $load_after after;" \
  "$rows transactions (${db_megabytes} MiB, seeded in ${seed_seconds}s);" \
  "wrk -t$wrk_threads -c$connections -d$duration --latency, $server_threads server threads," \
  "median of $rounds rounds"
echo
# Prints microseconds as milliseconds with two decimals.
ms() {
  awk -v us="$1" 'BEGIN { printf "%.2f ms", us / 1000 }'
}

# Prints the connect, read and write errors and timeouts of the lines of results files.
socket_errors() {
  local file sum=0
  for file in "$@"; do
    sum=$((sum + $(total "$file" connect_errors) + $(total "$file" read_errors) +
      $(total "$file" write_errors) + $(total "$file" timeouts)))
  done
  echo "$sum"
}

echo "| Case | First of the ten rotated requests | Requests/s | p50 | p99 | p99 ≤ 10 ms |" \
  "Server CPU per request | p50 / p99 at 1 connection | SQLite alone (CLI) | Response |" \
  "Non-2xx | Socket errors |"
echo "|---|---|---:|---:|---:|:---:|---:|---:|---:|---:|---:|---:|"
for name in "${cases[@]}"; do
  loaded="$work_dir/$name.loaded"
  single="$work_dir/$name.single"
  p99="$(median "$loaded" p99_us)"
  sql="–"
  [ -n "${sql_us[$name]:-}" ] && sql="$(ms "${sql_us[$name]}")"
  first_path="$(head -n 1 "$work_dir/$name.paths" | sed 's/page_token=.*/page_token=…/')"
  # shellcheck disable=SC2016 # The backquotes are Markdown.
  printf '| %s | `%s` | %.0f | %s | %s | %s | %.0f µs | %s / %s | %s | %.1f kB | %d | %d |\n' \
    "${labels[$name]}" "$first_path" \
    "$(median "$loaded" rps)" "$(ms "$(median "$loaded" p50_us)")" "$(ms "$p99")" \
    "$(awk -v p99="$p99" 'BEGIN { print (p99 <= 10000 ? "yes" : "no") }')" \
    "$(median "$loaded" server_cpu_us)" "$(ms "$(median "$single" p50_us)")" \
    "$(ms "$(median "$single" p99_us)")" "$sql" \
    "$(awk -v bytes="${response_bytes[$name]}" 'BEGIN { print bytes / 1000 }')" \
    "$(($(total "$loaded" non2xx) + $(total "$single" non2xx)))" \
    "$(socket_errors "$loaded" "$single")"
done
echo
echo "Requests/s / p99 (ms) per round at -c$connections:"
echo
for name in "${cases[@]}"; do
  echo "- ${labels[$name]}: $(per_round "$work_dir/$name.loaded")"
done
echo
echo "Query plans (EXPLAIN QUERY PLAN of the first request's SQL):"
echo
for name in "${cases[@]}"; do
  [ "$name" = user ] && continue
  echo "- ${labels[$name]}: \`${plans[$name]}\`"
done
if grep -qiE 'error|fatal|abort' "$work_dir/server.err"; then
  echo
  echo "Warnings in the server's stderr:"
  sed 's/^/    /' "$work_dir/server.err"
fi
