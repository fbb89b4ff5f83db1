"""`make verify`: a read-only check of the live site against its stack config.

    cli.py       `python -m components.verify ...`: where the config comes from, the exit status
    collect.py   every host at once over SSH, each running the fact layer's reads (components/facts/)
    checks/      expected from the config against what the hosts answered: one row per check
    repairs.py   the one command line that repairs each drift (URNs from the stack or components/names.py)
    report.py    the table, the repair lines, the summary, the exit code
"""
