#!/usr/bin/env bash
# On a GPU machine whose python3 holds PyTorch and the scientific stack but reaches no package
# index: install what benchmarks/gpu_requirements.txt lists from the wheels in .whl/
# (benchmarks/gpu_wheels.sh) into that python3's own environment. pip resolves against what is
# already there and names any package still missing; it then checks every requirement holds.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
"$PYTHON" -m pip install --quiet --no-index --find-links .whl --disable-pip-version-check \
    -r benchmarks/gpu_requirements.txt
"$PYTHON" -m pip check >/dev/null || { "$PYTHON" -m pip check; echo "gpu_setup: see the conflicts above"; }
echo "gpu_setup: $("$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)')"
