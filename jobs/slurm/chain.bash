# Sourced by the chain scripts (tomo_sweep, spt_chain, edge_chain): a chain
# whose later submission fails cancels the jobs it already queued, so a chain
# that cannot finish does not spend the allocation. CHAIN names the script
# in messages; `submitted` holds the ids queued so far.
submitted=()

# abandon WHAT [RC]: says WHAT failed, cancels `submitted`, exits RC (1).
abandon() {
  echo "$CHAIN: $1 failed; cancelling the jobs already submitted${submitted[*]:+ (${submitted[*]})}" >&2
  [ ${#submitted[@]} -eq 0 ] || scancel "${submitted[@]}" 2>/dev/null || true
  exit "${2:-1}"
}
