#!/usr/bin/python3
"""lava_results.py signals FILE | results LOG

signals FILE: reads kvmqual export --format lava output and parses every
LAVA signal in it with the installed LAVA dispatcher's own code: the signal
pattern of its test shell (TestShellAction's "signal" regular expression),
handle_testcase() and SignalMatch.match() for test cases, its test-set
handling for TESTSET.  Nothing of LAVA is copied here: a LAVA upgrade that
changes the parsing changes this check.  On top, the promises of
docs/lava.md: ids of [A-Za-z0-9._-] and at most 100 characters, units one
word, sets balanced and not nested, each case once per set, every
"LAVA_SIGNAL" on the console part of a signal LAVA recognises.
Prints one line per case: "case SET ID RESULT [MEASUREMENT UNITS]".

results LOG: reads the log lava-run writes (one YAML mapping per line) and
prints LAVA's own results lines: "result DEFINITION SET CASE RESULT
[MEASUREMENT UNITS]" (SET "-" when none).

Exit status 0, 1 when a check fails (each failure printed), 2 on usage."""
import re
import sys

import yaml


def lava_parsers():
    # Imported late: lava_dispatcher needs python3-guestfs at import time.
    from lava_dispatcher.actions.test.shell import TestShellAction, handle_testcase
    from lava_dispatcher.connection import SignalMatch

    action = TestShellAction()
    action._reset_patterns()
    return re.compile(action.patterns["signal"]), handle_testcase, SignalMatch()


ID = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


def check_signals(path):
    signal_re, handle_testcase, signal_match = lava_parsers()
    failures = []
    current_set = None
    seen = set()
    cases = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            where = "%s:%d" % (path, number)
            matches = list(signal_re.finditer(line))
            if line.count("LAVA_SIGNAL") != len(matches):
                failures.append("%s: 'LAVA_SIGNAL' outside a signal LAVA parses: %r" % (where, line))
            for m in matches:
                name, params = m.group(1), m.group(2).split()
                if name == "TESTSET":
                    if params[:1] == ["START"] and len(params) == 2:
                        if current_set is not None:
                            failures.append("%s: set %s opened inside set %s" % (where, params[1], current_set))
                        if not ID.match(params[1]):
                            failures.append("%s: set name %r is not a valid id" % (where, params[1]))
                        current_set = params[1]
                    elif params == ["STOP"]:
                        if current_set is None:
                            failures.append("%s: STOP without a set" % where)
                        current_set = None
                    else:
                        failures.append("%s: malformed TESTSET %r" % (where, params))
                elif name == "TESTCASE":
                    try:
                        res = signal_match.match(handle_testcase(params))
                    except Exception as exc:  # LAVA's own refusal
                        failures.append("%s: LAVA refuses %r: %s" % (where, m.group(0), exc))
                        continue
                    case = res["test_case_id"]
                    if not ID.match(case):
                        failures.append("%s: case id %r is not a valid id" % (where, case))
                    if (current_set, case) in seen:
                        failures.append("%s: case %s twice in set %s" % (where, case, current_set))
                    seen.add((current_set, case))
                    if "units" in res and "measurement" not in res:
                        failures.append("%s: units without a measurement" % where)
                    cases += 1
                    fields = ["case", current_set or "-", case, res["result"]]
                    if "measurement" in res:
                        fields += [repr(res["measurement"]), res.get("units", "-")]
                    print(" ".join(fields))
                else:
                    failures.append("%s: unexpected signal %s" % (where, name))
    if current_set is not None:
        failures.append("%s: set %s never stopped" % (path, current_set))
    if not cases:
        failures.append("%s: no test case" % path)
    for failure in failures:
        print("FAILED " + failure)
    return 1 if failures else 0


def print_results(path):
    found = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if '"lvl": "results"' not in line:
                continue
            entry = yaml.safe_load(line)
            msg = entry.get("msg") or {}
            fields = ["result", str(msg.get("definition", "-")), str(msg.get("set", "-")),
                      str(msg.get("case", "-")), str(msg.get("result", "-"))]
            if "measurement" in msg:
                fields += [repr(float(msg["measurement"])), str(msg.get("units", "-"))]
            print(" ".join(fields))
            found += 1
    return 0 if found else 1


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("signals", "results"):
        sys.stderr.write(__doc__)
        return 2
    if sys.argv[1] == "signals":
        return check_signals(sys.argv[2])
    return print_results(sys.argv[2])


if __name__ == "__main__":
    sys.exit(main())
