# tap.sh: a tiny Test Anything Protocol helper for bash test scripts. Source it, then:
#
#   ok "$([ "$x" = 1 ] && echo 1)" "x is one"     # or: check "name" test-command args...
#   is "$got" "$want" "name"
#   done_testing                                  # prints the plan; exits 1 if anything failed

TAP_RUN=0
TAP_FAILED=0

# ok COND NAME: passes when COND is non-empty and not 0.
ok() {
    TAP_RUN=$((TAP_RUN + 1))
    if [ -n "$1" ] && [ "$1" != 0 ]; then
        echo "ok $TAP_RUN - $2"
        return 0
    fi
    TAP_FAILED=$((TAP_FAILED + 1))
    echo "not ok $TAP_RUN - $2"
    return 1
}

# check NAME COMMAND...: passes when the command succeeds.
check() {
    local name=$1
    shift
    if "$@"; then ok 1 "$name"; else ok "" "$name"; fi
}

# is GOT WANT NAME: passes when the strings are equal; shows both when not.
is() {
    if [ "$1" = "$2" ]; then
        ok 1 "$3"
    else
        ok "" "$3"
        echo "#   got:      '$1'"
        echo "#   expected: '$2'"
        return 1
    fi
}

# like GOT PATTERN NAME: passes when GOT matches the extended regular expression PATTERN.
like() {
    if printf '%s' "$1" | grep -Eq -- "$2"; then
        ok 1 "$3"
    else
        ok "" "$3"
        echo "#   got:        '$1'"
        echo "#   to match:   '$2'"
        return 1
    fi
}

# diag TEXT: a comment line.
diag() {
    echo "# $*"
}

# bail_out REASON: stops the whole run.
bail_out() {
    echo "Bail out! $*"
    exit 255
}

done_testing() {
    echo "1..$TAP_RUN"
    [ $TAP_FAILED -eq 0 ] || { diag "failed $TAP_FAILED of $TAP_RUN tests"; exit 1; }
    exit 0
}
