"""`make bench`: how fast the service is, against which limit.

Measures frame throughput against raw decoding, the queue hop, end-to-end latency, a
large upload, submit load, CPU use with 1 and 2 workers, and Redis + PostgreSQL against
the embedded default, on this machine, and writes docs/benchmarks.md. The code lives
in tools/benchkit/; `--quick` runs it at tiny sizes to check that it still works
(`make test` only checks that it loads: test_bench_smoke.py; it measures nothing).
"""

from __future__ import annotations

import sys

from benchkit.main import main

if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("bench: interrupted; every process it started has been stopped", file=sys.stderr)
        sys.exit(130)
