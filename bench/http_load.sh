#!/usr/bin/env bash
# HTTP load test: authenticated `GET /api/v1/user` on the real `finsync serve` (access log off,
# then on) against the ceiling, bench/hello_server answering `GET /hello` with the same HTTP
# server and router and nothing else. All three run in one invocation and are loaded in
# alternation (ceiling, finsync, finsync with log, ceiling, ...) so that every figure comes from
# the same run on the same noisy machine; the table reports the median of the rounds.
#
# Usage: bench/http_load.sh
# Environment (defaults in brackets):
#   BENCH_DURATION     wrk duration per measured run [10s]
#   BENCH_CONNECTIONS  keep-alive connections [64]
#   BENCH_ROUNDS       measured runs per server, 1..20 [3]
#   BENCH_THREADS      worker threads of every server [nproc]
#   BENCH_WRK_THREADS  wrk threads [nproc]
#   BENCH_WARMUP       unmeasured wrk run per server before the rounds [2s]
# Needs wrk and curl. Listens on 127.0.0.1 only, on ports the kernel picks.
set -euo pipefail
cd "$(dirname "$0")/.."

duration="${BENCH_DURATION:-10s}"
connections="${BENCH_CONNECTIONS:-64}"
rounds="${BENCH_ROUNDS:-3}"
server_threads="${BENCH_THREADS:-$(nproc)}"
wrk_threads="${BENCH_WRK_THREADS:-$(nproc)}"
warmup="${BENCH_WARMUP:-2s}"
if ! [[ "$rounds" =~ ^[0-9]+$ ]] || ((rounds < 1 || rounds > 20)); then
  echo "BENCH_ROUNDS must be 1..20" >&2
  exit 2
fi
for tool in wrk curl; do
  command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 2; }
done

scripts/build.sh release finsync hello_server >&2
finsync_bin="$PWD/build/release/finsync"
hello_bin="$PWD/build/release/hello_server"
lua_script="$PWD/bench/http_load.lua"

work_dir="$(mktemp -d -t finsync-bench.XXXXXX)"
server_pids=()
declare -A pids
clock_ticks_per_second="$(getconf CLK_TCK)"

cleanup() {
  local pid attempt
  for pid in "${server_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${server_pids[@]}"; do
    for ((attempt = 0; attempt < 50; attempt++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Creates a fresh store with one user and one read-only token; prints the token.
make_store() {
  local db="$1"
  "$finsync_bin" user create --db "$db" --email bench@finsync.local --name Bench >/dev/null
  "$finsync_bin" token create --db "$db" --user bench@finsync.local --name bench --scopes read |
    sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}

# Starts a server whose stderr announces "listening on http://127.0.0.1:PORT"; records its pid
# in pids[NAME] and sets started_port. Arguments: a name (for the log file), the command line.
start_server() {
  local name="$1" attempt port=""
  shift
  # Created here, not by the child's redirection, which may not have happened yet below.
  : >"$work_dir/$name.out"
  : >"$work_dir/$name.err"
  "$@" >>"$work_dir/$name.out" 2>>"$work_dir/$name.err" &
  server_pids+=("$!")
  pids[$name]="$!"
  for ((attempt = 0; attempt < 100; attempt++)); do
    port="$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' \
      "$work_dir/$name.err")"
    [ -n "$port" ] && break
    kill -0 "$!" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$port" ]; then
    echo "$name did not start:" >&2
    cat "$work_dir/$name.err" >&2
    exit 1
  fi
  started_port="$port"
}

# Fails unless the URL answers with the expected status. Arguments: url, status, token.
expect_status() {
  local url="$1" expected="$2" token="${3:-}" status
  local headers=()
  [ -n "$token" ] && headers=(-H "Authorization: Bearer $token")
  status="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${headers[@]}" "$url")"
  if [ "$status" != "$expected" ]; then
    echo "$url answered $status, expected $expected" >&2
    exit 1
  fi
}

finsync_token="$(make_store "$work_dir/finsync.db")"
logged_token="$(make_store "$work_dir/finsync_logged.db")"
if [ -z "$finsync_token" ] || [ -z "$logged_token" ]; then
  echo "finsync token create printed no token" >&2
  exit 1
fi

start_server hello "$hello_bin" --host 127.0.0.1 --port 0 --threads "$server_threads"
hello_url="http://127.0.0.1:$started_port/hello"
# The rate limiter stays in the path (its bucket is checked on every request) but with a limit
# no benchmark reaches, so every request is served.
rate_limit=(--rate-limit-read 1000000000)
start_server finsync "$finsync_bin" serve --db "$work_dir/finsync.db" --host 127.0.0.1 \
  --port 0 --threads "$server_threads" --access-log off --shutdown-grace-ms 2000 "${rate_limit[@]}"
finsync_url="http://127.0.0.1:$started_port/api/v1/user"
access_log="$work_dir/access.log"
start_server finsync_logged "$finsync_bin" serve --db "$work_dir/finsync_logged.db" \
  --host 127.0.0.1 --port 0 --threads "$server_threads" --access-log "$access_log" \
  --shutdown-grace-ms 2000 "${rate_limit[@]}"
logged_url="http://127.0.0.1:$started_port/api/v1/user"

expect_status "$hello_url" 200
expect_status "$finsync_url" 401
expect_status "$finsync_url" 200 "$finsync_token"
expect_status "$logged_url" 200 "$logged_token"

names=(hello finsync finsync_logged)
declare -A urls=([hello]="$hello_url" [finsync]="$finsync_url" [finsync_logged]="$logged_url")
declare -A tokens=([hello]="" [finsync]="$finsync_token" [finsync_logged]="$logged_token")

# Prints the user plus system CPU time a process has used, in clock ticks (proc(5) fields 14
# and 15, counted after the parenthesised command name).
cpu_ticks() {
  sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# Runs wrk against one server; appends its BENCH_RESULT line, extended with the server's CPU
# time per request, to $work_dir/NAME.results. Arguments: name, duration, label.
load() {
  local name="$1" run_duration="$2" label="$3" output result ticks_before ticks_after
  ticks_before="$(cpu_ticks "${pids[$name]}")"
  output="$(BENCH_TOKEN="${tokens[$name]}" wrk -t"$wrk_threads" -c"$connections" \
    -d"$run_duration" --latency -s "$lua_script" "${urls[$name]}")"
  if ! kill -0 "${pids[$name]}" 2>/dev/null; then
    echo "$name exited under load:" >&2
    cat "$work_dir/$name.err" >&2
    exit 1
  fi
  ticks_after="$(cpu_ticks "${pids[$name]}")"
  printf '%s\n' "$output" >>"$work_dir/$name.wrk"
  result="$(printf '%s\n' "$output" | grep '^BENCH_RESULT' || true)"
  [ -n "$result" ] || { echo "wrk printed no result for $name:" >&2; echo "$output" >&2; exit 1; }
  result="$result $(awk -v ticks=$((ticks_after - ticks_before)) -v hz="$clock_ticks_per_second" \
    -v line="$result" 'BEGIN { match(line, /requests=[0-9]+/)
      requests = substr(line, RSTART + 9, RLENGTH - 9)
      printf "server_cpu_us=%.1f", (requests > 0 ? ticks * 1e6 / hz / requests : 0) }')"
  [ "$label" = warmup ] || printf '%s\n' "$result" >>"$work_dir/$name.results"
  echo "$label $name: ${result#BENCH_RESULT }" >&2
}

echo "warm-up ($warmup each), then $rounds rounds of $duration, -t$wrk_threads" \
  "-c$connections, $server_threads server threads" >&2
for name in "${names[@]}"; do load "$name" "$warmup" warmup; done
for ((round = 1; round <= rounds; round++)); do
  for name in "${names[@]}"; do load "$name" "$duration" "round $round"; done
done

# Prints the median of field KEY over a server's result lines.
median() {
  local name="$1" key="$2"
  sed -n "s/.* $key=\([0-9.]*\).*/\1/p" "$work_dir/$name.results" | sort -g |
    awk '{ v[NR] = $1 }
         END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Prints the sum of field KEY over a server's result lines.
total() {
  sed -n "s/.* $2=\([0-9]*\).*/\1/p" "$work_dir/$1.results" | awk '{ s += $1 } END { print s + 0 }'
}

# Prints a server's requests/s of every round with its share of the ceiling in that round,
# which was measured just before it.
per_round() {
  paste -d ' ' <(sed -n 's/.* rps=\([0-9.]*\).*/\1/p' "$work_dir/$1.results") \
    <(sed -n 's/.* rps=\([0-9.]*\).*/\1/p' "$work_dir/hello.results") |
    awk '{ printf "%s%.0f (%.0f%%)", (NR > 1 ? ", " : ""), $1, 100 * $1 / $2 }'
}

declare -A labels=(
  [hello]='hello_server (ceiling)'
  [finsync]='finsync, access log off'
  [finsync_logged]='finsync, access log to file'
)
declare -A endpoints=([hello]='GET /hello' [finsync]='GET /api/v1/user (Bearer)'
  [finsync_logged]='GET /api/v1/user (Bearer)')
ceiling_rps="$(median hello rps)"

echo
echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores," \
  "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1);" \
  "wrk -t$wrk_threads -c$connections -d$duration --latency, $server_threads server threads," \
  "median of $rounds rounds"
echo
echo "| Server | Endpoint | Requests/s | p50 | p99 | % of ceiling | Server CPU per request |" \
  "Requests/s per round (% of that round's ceiling) | Non-2xx | Socket errors |"
echo "|---|---|---:|---:|---:|---:|---:|---|---:|---:|"
for name in "${names[@]}"; do
  rps="$(median "$name" rps)"
  socket_errors=$(($(total "$name" connect_errors) + $(total "$name" read_errors) +
    $(total "$name" write_errors) + $(total "$name" timeouts)))
  awk -v label="${labels[$name]}" -v endpoint="${endpoints[$name]}" -v rps="$rps" \
    -v ceiling="$ceiling_rps" -v p50="$(median "$name" p50_us)" \
    -v p99="$(median "$name" p99_us)" -v cpu="$(median "$name" server_cpu_us)" \
    -v rounds="$(per_round "$name")" -v non2xx="$(total "$name" non2xx)" \
    -v errors="$socket_errors" \
    'BEGIN { printf "| %s | %s | %.0f | %.2f ms | %.2f ms | %.0f%% | %.1f µs | %s | %d | %d |\n",
             label, endpoint, rps, p50 / 1000, p99 / 1000, 100 * rps / ceiling, cpu, rounds,
             non2xx, errors }'
done
echo
echo "Access log lines written by the logged run: $(wc -l <"$access_log")"
for name in "${names[@]}"; do
  if grep -qiE 'error|fatal|abort' "$work_dir/$name.err"; then
    echo "Warnings in $name's stderr:"
    sed 's/^/    /' "$work_dir/$name.err"
  fi
done
