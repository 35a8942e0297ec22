# Sourced by crash-test.sh and ha-test.sh: are the deposits a test saw acknowledged all there?
#
#   count_lost WORK PATIENT
#
# WORK/acked lists the client unique ids of acknowledged deposits. Pages through the GP's search
# of PATIENT's record with the caller's `as` function (retrying UNAVAILABLE, as a client does
# after a failover: PROTOCOL.md 10.1), sets `acked` and `lost`, prints up to five lost ids, and
# returns 1 when the search itself failed (WORK/find.err says why; every deposit counts as lost).
count_lost() {
  local work=$1 patient=$2 attempt token searched=0
  : >"$work/found.json"
  for attempt in 1 2 3 4 5; do
    if as professional-gp doc find "$patient" --page-size 500 --json >"$work/found.json" 2>"$work/find.err"; then
      searched=1
      break
    fi
    grep -q UNAVAILABLE "$work/find.err" || break
    sleep 1
  done
  token=$(grep -o '"next_page_token": *"[^"]*"' "$work/found.json" | sed 's/.*: *"//; s/"$//' || true)
  while [ -n "$token" ]; do
    as professional-gp doc find "$patient" --page-size 500 --page-token "$token" --json >>"$work/found.json" 2>>"$work/find.err" || searched=0
    token=$(tail -c 400 "$work/found.json" | grep -o '"next_page_token": *"[^"]*"' | sed 's/.*: *"//; s/"$//' || true)
  done
  { grep -o '"client_unique_id": *"[^"]*"' "$work/found.json" || true; } | sed 's/.*: *"//; s/"$//' | sort -u >"$work/present"
  sort -u "$work/acked" >"$work/acked.sorted"
  acked=$(wc -l <"$work/acked.sorted")
  lost=$(comm -23 "$work/acked.sorted" "$work/present" | wc -l)
  comm -23 "$work/acked.sorted" "$work/present" | head -5 | sed 's/^/lost: /'
  [ "$searched" -eq 1 ]
}
