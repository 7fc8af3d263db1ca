#!/bin/sh
# run_pytest.sh PYTHON FILE - run one pytest file with PYTHON; exit 77 (ctest:
# skipped) when PYTHON cannot import torch or pytest, and say why.
py=$1
shift
for mod in torch pytest; do
    if ! "$py" -c "import $mod" 2>/dev/null; then
        echo "skipped: $py cannot import $mod (Debian: apt-get install python3-$mod)"
        exit 77
    fi
done
exec "$py" -m pytest -q -p no:cacheprovider "$@"
