"""`make mutants`: mutation testing of the core with mutmut, one target at a time, and its score.

Each target is a set of mutmut mutant names (a module, or the functions of a module that a target
covers); mutmut mutates the modules listed in setup.cfg ([mutmut] only_mutate), runs the fast test files
listed there against every mutant (only the tests that reach the mutated function) and records an exit
code per mutant under mutants/. This prints, per target: mutants, killed, survived, excluded as
equivalent (EQUIVALENT below, each with its reason in TESTING.md) and the score

    killed / (mutants - excluded)

and lists every survivor that is not excluded. Exit status 1 when a target scores under 90 % or excludes
more than 5 % of its mutants.

    .venv/bin/python scripts/mutants.py [TARGET ...] [--max-children N] [--report-only] [--rerun-survivors]
"""

from __future__ import annotations

import argparse
import atexit
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = [sys.executable, "-m", "mutmut"]

# name: the modules it mutates. "The task run" is everything between a queue message and a finished row:
# the run and its lease, the retry policy, the fair claim, recovery, enqueueing and the writes people ask for.
TARGETS = {
    "task-run": ["generation/run.py", "generation/lease.py", "generation/retries.py", "generation/scheduling.py",
                 "generation/recovery.py", "generation/queueing.py", "generation/upstream.py",
                 # services.py's writes of a task's life: submission (one task or a batch), cancel, retry, delete.
                 # Its trash, gallery-image, reference-upload and adoption writes are not the task run.
                 *(f"generation/services.py:{function}" for function in (
                     "request_fingerprint", "task_create", "_attach_references", "_replayed", "_check_room",
                     "_new_task", "batch_create", "batch_cancel", "task_cancel", "task_retry", "task_delete"))],
    "planning": ["generation/planning.py", "generation/model_specs.py"],
    "quotas": ["generation/quotas.py"],
    "rate-limits": ["core/api/throttling.py"],
    "upstream-slots": ["generation/concurrency.py"],
}


def _patterns(target: str) -> list[tuple[str, str]]:
    """(mutant-name pattern, meta file) per module of a target; "path:function" limits it to one function."""
    out = []
    for entry in TARGETS[target]:
        path, _, function = entry.partition(":")
        module = path.removesuffix(".py").replace("/", ".")
        out.append((f"{module}.x_{function}*" if function else f"{module}.*", f"{path}.meta"))
    return out


# Mutants that change no behaviour a caller can see; TESTING.md gives the reason for each.
EQUIVALENT: dict[str, str] = {
    # A rate has one "/" ("30/m", "5/10m"), so splitting at the first or the last one is the same; a rate with
    # two is refused either way (int() of a part holding "/").
    "core.api.throttling.x_parse_rate__mutmut_3": "rate.partition('/') -> rate.rpartition('/')",
    # A lease's holder names one attempt of one task (host, pid and a new random token per claim): filtering a
    # write by the holder alone finds the same single row as by the row and the holder.
    "generation.lease.xǁLeaseǁwrite__mutmut_6": "the holder already names one row",
    # Starting values that no reading tells apart: time.monotonic() is far above 1, so a "last write" or "deadline" of 0.0 or 1.0 is equally long ago; the attempt's start
    # time is set again before the first attempt reads it.
    "generation.lease.xǁLeaseǁ__init____mutmut_6": "0.0 and 1.0 are both long before time.monotonic()",
    "generation.run.xǁTaskRunǁ__init____mutmut_11": "0.0 and 1.0 are both long before time.monotonic()",
    "generation.run.xǁTaskRunǁ__init____mutmut_7": "the attempt's start is set before it is read",
    # selectors.waiting_tasks and fair_order read the clock themselves when given None.
    "generation.scheduling.x_claim_next__mutmut_4": "None means now to the selectors",
    "generation.scheduling.x_next_claimable__mutmut_2": "None means now to the selectors",
    "generation.scheduling.x_next_claimable__mutmut_19": "None means now to the selectors",
    # Lease.covers compares float seconds of time.monotonic(): never equal, so ">=" and ">" answer alike.
    "generation.lease.xǁLeaseǁcovers__mutmut_4": "strict comparison of float clock readings",
    # TaskRun.execute's bad_upstream_data error goes straight to _fail, which records its code and message
    # only: its retry kind is read by no one.
    **{f"generation.run.xǁTaskRunǁexecute__mutmut_{n}": "retry kind that no reader tells apart"
       for n in (62, 65)},
    # A run whose lease is lost stops at its next lease write (a lost lease answers False without a query) and
    # says so once (TaskRun._discard), whether the step that found the loss returns False or True.
    "generation.run.xǁTaskRunǁ_retry_or_fail__mutmut_26": "return True on a lost lease: the next write stops the run",
    # TaskRun._store names files after the attempt: the last part of the holder "host:pid:token". rsplit(":")
    # with no limit or a limit of 2, and [+1] of the two parts rsplit(":", 1) gives, are that same last part
    # (a host name holds no ":").
    **{f"generation.run.xǁTaskRunǁ_store__mutmut_{n}": "the same last part of host:pid:token"
       for n in (56, 59, 60)},
    # planning._plan_size's last resort, "This size is not available": every size that passes step 1 (the
    # output sides) and does not fit natively gets an area, ratio, even-side or half-size message first, so
    # the fallback is unreachable with any ModelSpec (kept so that no size upstream refuses is ever
    # planned). Its 15 mutants (the call, its field, its message, its placeholder) change nothing reachable.
    # A ratio w/h of two whole sides below 10⁴ never equals a limit ± _RATIO_EPSILON (1e-12) exactly (two
    # such fractions differ by far more), so "<=" and "<" against the widened limit answer alike.
    **{f"generation.planning.x__area_and_ratio_errors__mutmut_{n}": "strict comparison against limit ± epsilon"
       for n in (40, 41)},
    # planning._fits_native compares the same ratio with the same widened limits (whether a size goes upstream
    # as it is or at half size with super-resolution).
    **{f"generation.planning.x__fits_native__mutmut_{n}": "strict comparison against limit ± epsilon"
       for n in (14, 15)},
    # planning.plan_generation checks `data.get(field) or ""` for control characters: "XXXX" in place of ""
    # holds none either, so an absent prompt passes the check alike.
    "generation.planning.x_plan_generation__mutmut_48": "default text without control characters",
    # planning.reference_errors compares a reference image's ratio with the same widened limits.
    **{f"generation.planning.x_reference_errors__mutmut_{n}": "strict comparison against limit ± epsilon"
       for n in (44, 45)},
    **{f"generation.planning.x__plan_size__mutmut_{n}": "unreachable fallback message of _plan_size"
       for n in range(170, 185)},
    # planning._ratio writes a ratio as "3:1"/"1:3" when it is whole either way. A ratio of 1 is caught by the
    # first branch, so "value < 1" -> "<= 1" changes nothing; no ratio of two whole sides below 10⁴ lies in
    # (1, 1 + 1e-9), so "value < 1" -> "< 2" changes nothing; and a float distance from a whole number never
    # equals 1e-9 exactly, so "< 1e-9" -> "<= 1e-9" (either branch) changes nothing.
    **{f"generation.planning.x__ratio__mutmut_{n}": "boundary that no ratio of whole sides reaches"
       for n in (7, 11, 12, 20)},
}

# Killed: a test failed (1), or pytest itself broke (3). A mutant whose tests ran out of CPU time (mutmut's
# SIGXCPU codes; the limit is 8x the tests' CPU time in the clean run, which load on the machine hardly
# changes) made them hang: detected, and counted as killed, as mutmut's own score counts it.
TIMED_OUT = {36, -24, 24, 152, 255}
KILLED = {1, 3, *TIMED_OUT}
MIN_SCORE, MAX_EXCLUDED = 0.90, 0.05


def score(target: str) -> tuple[dict, list[str]]:
    codes, names = {}, []
    for pattern, meta in _patterns(target):
        found = json.loads((ROOT / "mutants" / meta).read_text())["exit_code_by_key"]
        codes.update(found)
        names += sorted(n for n in found if fnmatch.fnmatch(n, pattern))
    excluded = [n for n in names if n in EQUIVALENT]
    killed = [n for n in names if codes[n] in KILLED and n not in EQUIVALENT]
    open_ = [n for n in names if codes[n] not in KILLED and n not in EQUIVALENT]
    counted = len(names) - len(excluded)
    result = {
        "mutants": len(names),
        "killed": len(killed),
        "not killed": len(open_),
        "excluded": len(excluded),
        "score": len(killed) / counted if counted else 0.0,
        "unchecked": sum(1 for n in names if codes[n] is None),
        "timed out": sum(1 for n in names if codes[n] in TIMED_OUT and n not in EQUIVALENT),
    }
    return result, [f"{n} (exit {codes[n]})" for n in open_]


def _results(target: str) -> dict[str, tuple[int | None, str | None]]:
    """The target's mutants as last run: name -> (exit code, hash of the function it mutates)."""
    out = {}
    for pattern, meta in _patterns(target):
        data = json.loads((ROOT / "mutants" / meta).read_text())
        hashes = data["hash_by_function_name"]
        for name, code in data["exit_code_by_key"].items():
            if fnmatch.fnmatch(name, pattern):
                out[name] = (code, hashes.get(name.rsplit(".", 1)[1].rsplit("__mutmut_", 1)[0]))
    return out


def _keep_killed(target: str, before: dict[str, tuple[int | None, str | None]]) -> int:
    """Put back the verdicts of mutants killed before that mutmut forgot (it forgets every verdict when the
    test selection changes): a test added to the selection cannot bring a killed mutant back to life, as long
    as the function it mutates is unchanged (same hash; a changed function's mutants are new ones)."""
    kept = 0
    for meta in sorted({meta for _pattern, meta in _patterns(target)}):
        path = ROOT / "mutants" / meta
        data = json.loads(path.read_text())
        hashes = data["hash_by_function_name"]
        for name, code in data["exit_code_by_key"].items():
            old_code, old_hash = before.get(name, (None, None))
            function = name.rsplit(".", 1)[1].rsplit("__mutmut_", 1)[0]
            if code is None and old_code in KILLED and old_hash is not None and hashes.get(function) == old_hash:
                data["exit_code_by_key"][name] = old_code
                kept += 1
        path.write_text(json.dumps(data))
    return kept


def _migrated_template() -> Path:
    """A test database migrated once for the whole run (tests/conftest.py copies it for each mutant's session
    when IMAGEGEN_TEST_DB_TEMPLATE names it, instead of migrating again)."""
    data_dir = Path(tempfile.mkdtemp(prefix="imagegen-mutants-db-"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "imagegen.settings_test", "IMAGEGEN_DATA_DIR": str(data_dir)}
    for args in (["migrate", "--noinput", "-v", "0"], ["createcachetable"]):
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return data_dir / "db.sqlite3"


def _mutmut(target: str, names: list[str], max_children: int) -> bool:
    """`mutmut run` for these mutant names or patterns. mutmut's own output (its progress, and why it stopped:
    a clean test run that failed, tests that reach none of the mutated code) goes to mutants/<target>.log; a
    failed run is shown, not scored."""
    log = ROOT / "mutants" / f"{target}.log"
    log.parent.mkdir(exist_ok=True)
    with log.open("w") as out:
        run = subprocess.run([*MUTMUT, "run", "--max-children", str(max_children), *names],
                             cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, check=False)
    if run.returncode != 0:
        tail = log.read_text(errors="replace").replace("\r", "\n").splitlines()[-25:]
        print(f"{target}: mutmut run failed (exit {run.returncode}); the end of {log}:")
        print("\n".join(f"    {line}" for line in tail))
    return run.returncode == 0


def _run(target: str, args) -> bool:
    if not args.rerun_survivors or not _measured(target):  # nothing to resume on a fresh checkout: a whole run
        patterns = [pattern for pattern, _meta in _patterns(target)]
        print(f"== {target}: mutmut run {' '.join(patterns)}", flush=True)
        return _mutmut(target, patterns, args.max_children)
    # Again only what was not killed; a function changed since has new mutants, which mutmut makes during
    # the first pass: a second pass runs those.
    for _pass in range(2):
        # mutmut forgets the verdicts of every module, not only this target's: keep those of all targets.
        everything = {name: _results(name) for name in TARGETS if _measured(name)}
        before = everything[target] if target in everything else _results(target)
        names = sorted(n for n, (code, _hash) in before.items() if code not in KILLED and n not in EQUIVALENT)
        names = [n for n in names if before[n][0] is None] if _pass else names
        print(f"== {target}: {len(names)} mutants {'not checked yet' if _pass else 'not killed by the last run'}, "
              f"run again", flush=True)
        if not names:
            break
        ok = _mutmut(target, names, args.max_children)
        kept = sum(_keep_killed(name, results) for name, results in everything.items())
        print(f"{target}: {kept} verdicts of killed mutants kept from the last run")
        if not ok:
            return False
    return True


def _measured(target: str) -> bool:
    return all((ROOT / "mutants" / meta).exists() for _pattern, meta in _patterns(target))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("targets", nargs="*", default=list(TARGETS))
    parser.add_argument("--max-children", type=int, default=int(os.environ.get("MUTANTS_CHILDREN", "1")))
    parser.add_argument("--report-only", action="store_true", help="score the last run without running")
    parser.add_argument("--rerun-survivors", action="store_true",
                        help="run again only the mutants the last run did not kill (after new tests were written), "
                             "keeping the verdicts of those it killed")
    args = parser.parse_args()
    if not args.report_only:
        template = _migrated_template()
        os.environ["IMAGEGEN_TEST_DB_TEMPLATE"] = str(template)
        atexit.register(shutil.rmtree, template.parent, True)
    failed = False
    for target in args.targets:
        if not args.report_only and not _run(target, args):
            failed = True
            continue
        result, survivors = score(target)
        ok = result["score"] >= MIN_SCORE and result["excluded"] <= MAX_EXCLUDED * result["mutants"]
        failed |= not ok
        print(f"{target}: {result['killed']}/{result['mutants'] - result['excluded']} killed = "
              f"{100 * result['score']:.1f} % ({result['mutants']} mutants, {result['excluded']} excluded as "
              f"equivalent, {result['not killed']} not killed, {result['unchecked']} unchecked; "
              f"{result['timed out']} of the killed by running out of time)"
              f"{'' if ok else '  << below 90 % or too many excluded'}")
        for name in survivors:
            print(f"    not killed: {name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
