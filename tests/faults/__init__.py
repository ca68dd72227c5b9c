"""The fault-injection suite: real web and worker processes, broken on purpose (issue 9).

Every scenario ends with `harness.assert_final_state`: the state of every task and every file."""
