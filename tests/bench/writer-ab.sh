#!/usr/bin/env bash
# Writer traffic A/B (BENCHMARKS.md, "Writer traffic (session 8)"): runs the goal's HTTP mix against a `dossier serve`
# started per run, alternating reaction checkpoint intervals, and prints per run the mix's figures, the server's CPU
# (to the end of the mix, and to the moment the reactions have caught up again: the work a mode defers is counted),
# and the read-model database's write transactions by kind with their average wait for and hold of the writer.
#
#   tests/bench/writer-ab.sh [ROUNDS] [DURATION] [INTERVAL...]     default: 2 60s -1ns 250ms
#
# -1ns is "store at every Ack" (the old default), 250ms the interval. Needs curl and jq; builds ./cmd/dossier.
set -euo pipefail
rounds=${1:-2}
dur=${2:-60s}
shift $(($# < 2 ? $# : 2))
intervals=("$@")
[ ${#intervals[@]} -gt 0 ] || intervals=(-1ns 250ms)
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/writer-ab-XXXX)
bin=$work/dossier
(cd "$root" && go build -o "$bin" ./cmd/dossier)
ticks=$(getconf CLK_TCK)

metric() { # metric FILE NAME LABELMATCH: sum of the samples
	awk -v n="$2" -v m="$3" '$1 ~ "^"n"({|$)" && index($1, m) {s += $2} END {printf "%.6f", s}' "$1"
}

run() { # run LABEL INTERVAL
	local label=$1 iv=$2 d port pid
	d=$(mktemp -d "$work/srv-XXXX")
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	(cd "$d" && DOSSIER_REACTIONS_CHECKPOINT_INTERVAL=$iv exec "$bin" serve --http-addr 127.0.0.1:$port --log-level warn >serve.log 2>&1) &
	pid=$!
	for _ in $(seq 1 450); do curl -sf http://127.0.0.1:$port/readyz >/dev/null && break; sleep 0.2; done
	(cd "$d" && "$bin" bench http --target http://127.0.0.1:$port --server-dir "$d" --server-pid $pid --members 30 \
		--caseworkers 4 --duration "$dur" --rate 1110 --submit 0.07 --json >"$work/$label.json" 2>"$work/$label.err")
	curl -s http://127.0.0.1:$port/metrics >"$work/$label.metrics"
	local c0 t0 c1 t1
	c0=$(awk '{print $14 + $15}' /proc/$pid/stat)
	t0=$(date +%s.%N)
	for _ in $(seq 1 600); do # until no reaction has an event delivered and not acknowledged
		lag=$(curl -s http://127.0.0.1:$port/metrics | awk '/^dossier_reaction_lag_seconds/ {if ($2 > m) m = $2} END {print m + 0}')
		[ "$lag" = 0 ] && break
		sleep 0.5
	done
	c1=$(awk '{print $14 + $15}' /proc/$pid/stat)
	t1=$(date +%s.%N)
	kill $pid && wait $pid || true
	local j=$work/$label.json m=$work/$label.metrics reqs
	reqs=$(jq '.reads.count + .commands.count' "$j")
	printf '%s (interval %s): reads %.0f/s p50 %.1f p99 %.1f ms; commands %.1f/s p50 %.1f p99 %.1f ms; errors %d\n' "$label" "$iv" \
		"$(jq .reads.rate_per_second "$j")" "$(jq .reads.p50_ms "$j")" "$(jq .reads.p99_ms "$j")" \
		"$(jq .commands.rate_per_second "$j")" "$(jq .commands.p50_ms "$j")" "$(jq .commands.p99_ms "$j")" "$(jq .unexpected_errors "$j")"
	printf '  server CPU per request: %.2f ms in the mix, %.2f ms counting the reactions catching up (%.1f s after the mix)\n' \
		"$(jq '1000 * .server_cpu_seconds / (.reads.count + .commands.count)' "$j")" \
		"$(echo "1000 * $c1 / $ticks / $reqs" | bc -l)" "$(echo "$t1 - $t0" | bc -l)"
	printf '  reactions: %.0f deliveries handled in the mix, ack delay avg %.0f ms\n' \
		"$(metric "$m" dossier_reaction_handled_total 'outcome="ok"')" \
		"$(echo "1000 * $(metric "$m" dossier_reaction_delay_seconds_sum '') / ($(metric "$m" dossier_reaction_delay_seconds_count '') + 1)" | bc -l)"
	for kind in projection reaction_checkpoint reaction_effect session; do
		local n w h
		n=$(metric "$m" dossier_sqldb_writes_total "kind=\"$kind\"")
		w=$(metric "$m" dossier_sqldb_writer_wait_seconds_sum "kind=\"$kind\"")
		h=$(metric "$m" dossier_sqldb_writer_hold_seconds_sum "kind=\"$kind\"")
		printf '  writes %-20s %8.0f  wait avg %6.2f ms  hold avg %5.2f ms\n' "$kind" "$n" \
			"$(echo "1000 * $w / ($n + 0.000001)" | bc -l)" "$(echo "1000 * $h / ($n + 0.000001)" | bc -l)"
	done
	rm -rf "$d"
}

for r in $(seq 1 "$rounds"); do
	for iv in "${intervals[@]}"; do
		run "r$r-$iv" "$iv"
	done
done
echo "raw reports and metrics: $work"
