#!/usr/bin/env bash
# Wheels for scripts/gpu_session.sh: what the lent GPU machine's Python 3.12 image lacks
# (datasets, kornia, segmentation-models-pytorch, a recent timm), in several versions where
# their needs depend on what the image has (datasets 5 wants pyarrow >= 24, datasets 4.0
# takes pyarrow >= 15): pip there picks the ones that fit. About 15 MB, into .whl/.
set -euo pipefail
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64; do
  platforms+=(--platform "$p")
done
for wheel in datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 \
  datasets==4.4.1 dill==0.4.0 multiprocess==0.70.18 fsspec==2025.10.0 \
  datasets==4.0.0 dill==0.3.8 multiprocess==0.70.16 fsspec==2025.3.0 \
  kornia==0.9.0 kornia-rs==0.2.0 segmentation-models-pytorch==0.6.0 timm==1.0.31; do
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp "${platforms[@]}" -d .whl "$wheel"
done
du -sh .whl
