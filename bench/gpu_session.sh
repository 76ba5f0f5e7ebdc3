#!/usr/bin/env bash
# Every GPU check and figure of the project in one run, for a short lease of a CUDA machine:
#
#     bash bench/gpu_session.sh [OUT_DIR]        # default docs/results/gpu
#
# Runs from the repository root with the machine's own python3 (PYTHON=... to choose another)
# and the source tree on PYTHONPATH (no install needed). Each step has its own time limit, so a
# slow step cannot eat the others (the steps' limits sum to 590 s, the preflight's 30 s on
# top); everything printed is also kept in OUT_DIR/session-<UTC date and time>.log.
#   1. the device tests: every corruption and P-sequence on the GPU against the reference
#      bars and the CPU path, and the resolution-scaled kernels;
#   2. corruption generation speed on the GPU at 224 px (batch 256) and 32 px (batch 4096);
#   3. the Dynamic Mixup training step on WRN-40-2 (bench/train_gpu.py), batch 128 and 512;
#   4. the score pipeline on an ImageNet-C-format JPEG folder (bench/gpu_score.py);
#   5. ImageNet-C on the fly (bench/gpu_imagenet_c.py): 1,000 clean JPEGs x 75 cells, per-stage
#      times, score exact and --fast-jpeg, released-format files, the fastest bare forward.
# First, bench/gpu_preflight.py prints the versions, the device and whether nvJPEG works, and
# which Python modules do not import; a step that needs one of those says so and is skipped
# (the machine has no package registry), and no CUDA device stops the session at once.
set -uo pipefail
out=${1:-docs/results/gpu}
mkdir -p "$out"
py=${PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

# the third-party modules the steps import (each step names its own below)
modules="pytest numpy scipy PIL skimage h5py pandas tqdm torchvision"
missing=" "

step() {  # step SECONDS "MODULES" COMMAND...: run with a time limit, log, report the exit status
    local limit=$1 needs=$2 name lacking=""
    shift 2
    echo "== [$(date +%T)] $*"
    for name in $needs; do
        [[ $missing == *" $name "* ]] && lacking+=" $name"
    done
    if [[ -n $lacking ]]; then
        echo "== skipped: needs the Python module(s)$lacking, which do not import here"
        return
    fi
    timeout "$limit" "$@"
    echo "== exit $? after limit ${limit}s"
}

{
    nvidia-smi -L
    preflight=$(timeout 30 "$py" bench/gpu_preflight.py $modules)
    status=$?
    echo "$preflight"
    if [[ $status -ne 0 ]]; then
        echo "== preflight failed (exit $status): no step can run"
        exit 1
    fi
    missing=" $(sed -n 's/^missing: *//p' <<<"$preflight") "
    # (without scikit-image, test_corruptions_resolution's device test alone fails: its photographs)
    step 75 "pytest numpy scipy PIL" "$py" -m pytest -q -p no:cacheprovider \
        tests/test_corruptions_devices.py tests/test_sequences.py \
        tests/test_corruptions_resolution.py -k "device"
    step 60 "numpy scipy PIL skimage" "$py" bench/corruption_speed.py --device cuda --sizes 224 --batch 256
    step 45 "numpy scipy PIL skimage" "$py" bench/corruption_speed.py --device cuda --sizes 32 --batch 4096
    step 60 "numpy scipy PIL h5py pandas tqdm torchvision" "$py" bench/train_gpu.py
    step 60 "numpy scipy PIL h5py pandas tqdm torchvision" "$py" bench/train_gpu.py --batch-size 512
    step 90 "numpy scipy PIL h5py pandas tqdm torchvision" "$py" bench/gpu_score.py --images 10000
    step 200 "numpy scipy PIL h5py pandas tqdm torchvision" "$py" bench/gpu_imagenet_c.py --images 1000
} 2>&1 | tee "$out/session-$(date -u +%Y%m%d-%H%M).log"
