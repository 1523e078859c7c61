"""Quality gates (SPEC §7): Great Expectations suites from `expectations/`, run on DuckDB.

- suites.py: reading the suite files (JSON only; GX objects are built when a check runs)
- batches.py: drawing each suite's batch from the build database (only the columns it needs)
- session.py: the GX context, validation and Data Docs under the warehouse folder
- results.py: outcomes per expectation, in words and figures
- gate.py: run a set of suites and report; orchestration/defs/quality/checks.py makes them checks
- parameters.py: code sets and run values a suite may refer to
"""
