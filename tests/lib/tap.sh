# tap.sh - sourced by the shell tests: the output tests/run.sh reads.
#   expect NAME STATUS DETAIL   "ok - NAME" when STATUS is 0, else "not ok - NAME"
#                               and DETAIL under it as "#   ..." lines
#   tap_finish                  the closing "N passed, N failed"; its status is
#                               0 only when something passed and nothing failed
tap_pass=0
tap_fail=0
expect() {
    if [[ $2 -eq 0 ]]; then
        echo "ok - $1"
        tap_pass=$((tap_pass + 1))
    else
        echo "not ok - $1"
        printf '#   %s\n' "$3"
        tap_fail=$((tap_fail + 1))
    fi
}
tap_finish() {
    echo "$tap_pass passed, $tap_fail failed"
    ((tap_fail == 0 && tap_pass > 0))
}
