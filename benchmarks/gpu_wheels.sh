#!/usr/bin/env bash
# Download, on a machine that reaches PyPI, the wheels benchmarks/gpu_requirements.txt needs on a GPU
# machine that reaches no index: every package they pull in, built for that machine's Python
# (PY_VERSION, default 3.12) on x86-64 Linux, into .whl/ (git-ignored; it travels with the
# checkout). The scientific stack the GPU image already holds is left out (SKIP), which keeps
# .whl/ near 27 MB instead of 120.
#
#   bash benchmarks/gpu_wheels.sh            then, there:  bash benchmarks/gpu_setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY_VERSION=${PY_VERSION:-3.12}
PIP=${PIP:-.venv/bin/pip}
SKIP="numpy scipy pandas matplotlib scikit_learn pillow fonttools kiwisolver contourpy cycler pyparsing
python_dateutil tzdata joblib threadpoolctl"
rm -rf .whl && mkdir -p .whl
"$PIP" download --quiet --dest .whl --only-binary=:all: --implementation cp --python-version "$PY_VERSION" \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -r benchmarks/gpu_requirements.txt
for name in $SKIP; do
    rm -f .whl/"$name"-[0-9]*.whl
done
echo "gpu_wheels: $(ls .whl | wc -l) wheels, $(du -sh .whl | cut -f1), in .whl/ (for Python $PY_VERSION)"
