#!/usr/bin/env bash
# Load benchmark: rendered services against a hand-written reference on the same database.
#
#   scripts/bench.sh [--smoke] [--template-ref REF]
#
# Installs wrk if missing, starts PostgreSQL and Redis (scripts/services.sh; this script leaves
# them running, `scripts/services.sh down` stops them), then runs the harness in scripts/bench/.
# --smoke: one short round that fails on any error response, socket error or unhandled error.
# Results: .bench/bench-results.md (full) or .bench/bench-smoke.md (--smoke).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
    echo "bench: installing wrk" >&2
    apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk >&2
fi

eval "$(scripts/services.sh up postgresql redis)"

# Package registries only: uv must never try to download a Python build.
export UV_PYTHON_DOWNLOADS=never
# .ci/run installs uv into .tools; a caller may have put it on PATH already.
if ! command -v uv >/dev/null && [[ -x .tools/bin/uv ]]; then
    PATH="$PWD/.tools/bin:$PATH"
fi
exec uv run --group bench python -m scripts.bench "$@"
