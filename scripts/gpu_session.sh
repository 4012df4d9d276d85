#!/usr/bin/env bash
# Colorizer v2's objectives on a GPU lent for minutes (issue 20, items 3 and 4): L1, L1 +
# conditional PatchGAN (discriminator warmed up first) and colour classes, each from the
# shipped weights for the same wall-clock budget, side by side on the one GPU; each run's
# EMA weights come back as fp16 in OUT/<run>.tgz (model/, metrics.csv, the last samples).
#
#   bash scripts/gpu_session.sh OUT MINUTES [RUN ...]     # runs: l1 gan classes (default all)
#
# Needs beside the checkout (both ignored by git, carried to the machine):
#   gpu/natural.parquet gpu/caltech.parquet gpu/val.parquet   (scripts/pack_photos.py)
#   .whl/    wheels of what the machine's Python lacks (scripts/gpu_wheels.sh); pip picks,
#            among the versions there, the ones that fit the packages already installed.
# Test it here first: GPU_SESSION_SMOKE=1 bash scripts/gpu_session.sh /tmp/out 1
set -euo pipefail
out=${1:?usage: gpu_session.sh OUT MINUTES [RUN ...]}
minutes=${2:?usage: gpu_session.sh OUT MINUTES [RUN ...]}
shift 2
runs=("${@:-l1 gan classes}")
read -r -a runs <<<"${runs[*]}"
for file in gpu/natural.parquet gpu/caltech.parquet gpu/val.parquet; do
  [[ -f $file ]] || { echo "$file missing: pack it with scripts/pack_photos.py" >&2; exit 2; }
done
mkdir -p "$out"
log=$out/session.log
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
if ! python3 -c "import datasets, kornia, segmentation_models_pytorch" 2>/dev/null; then
  [[ -d .whl ]] || { echo ".whl missing: fetch the wheels with scripts/gpu_wheels.sh" >&2; exit 2; }
  python3 -m pip install -q --no-index --find-links .whl --no-compile \
    datasets kornia segmentation-models-pytorch "timm>=1.0.26" 2>&1 | tee -a "$log"
fi
python3 - <<'EOF' 2>&1 | tee -a "$log"
import torch, datasets, timm, segmentation_models_pytorch as smp, kornia, pyarrow
print("torch", torch.__version__, "cuda", torch.cuda.is_available(),
      torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU")
print("datasets", datasets.__version__, "pyarrow", pyarrow.__version__, "timm", timm.__version__,
      "smp", smp.__version__, "kornia", kornia.__version__)
EOF

natural=gpu/natural.parquet
data=("data.train=[$natural, $natural, $natural, gpu/caltech.parquet]" data.val=gpu/val.parquet)
common=(max_steps=100000 "max_minutes=$minutes" mixed_precision=auto checkpoint_every=250
        validate_every=250 log_every=25 data.val_max_images=16)
views=(scheme.crop_levels=false data.image_size=512 data.cache_size=512 data.batch_size=32)
if [[ ${GPU_SESSION_SMOKE:-0} == 1 ]]; then  # a CPU check of the whole path, in minutes
  common=(max_steps=2 checkpoint_every=2 validate_every=2 log_every=1 data.val_max_images=2
          mixed_precision=no)
  views=(scheme.crop_levels=false data.image_size=512 data.cache_size=512 data.batch_size=1)
fi
runs_dir=runs/gpu-session

train() {  # NAME CONFIG OVERRIDES...
  local name=$1 config=$2
  shift 2
  python3 -m pyramidrefine.cli train --config "$config" "${data[@]}" "${common[@]}" \
    "output_dir=$runs_dir/$name" "$@" >"$out/$name.log" 2>&1
}

pids=()
for name in "${runs[@]}"; do
  case $name in
    l1) train l1 configs/colorize-v2-3level-cpu.yaml "${views[@]}" & ;;
    gan) train gan configs/colorize-v2-gan-cpu.yaml "${views[@]}" & ;;
    classes)
      { python3 scripts/init_refiner.py src/pyramidrefine/weights/colorizer "$runs_dir/classes-init" \
          --refiner '{"colour_bins": null, "head_kernel": 3}' \
          --settings '{"colour_bins": 13, "head_kernel": 1, "refinement": "detail", "max_levels": null}' \
          >"$out/classes-init.log" 2>&1 &&
        if [[ ${GPU_SESSION_SMOKE:-0} == 1 ]]; then size=(data.image_size=256 data.cache_size=256 data.batch_size=2)
        else size=(data.image_size=256 data.cache_size=288 data.batch_size=64); fi &&
        train classes configs/colorize-v2-classes-cpu.yaml "model.init_from=$runs_dir/classes-init" \
          "${size[@]}"; } & ;;
    *) echo "unknown run $name (l1, gan, classes)" >&2; exit 2 ;;
  esac
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done

for name in "${runs[@]}"; do
  folder=$runs_dir/$name
  [[ -f $folder/model/model.safetensors ]] || { echo "$name: no model (see $name.log)" | tee -a "$log"; continue; }
  python3 - "$folder/model" "$runs_dir/$name-fp16" <<'EOF' 2>&1 | tee -a "$log"
import sys
import pyramidrefine as pr
pr.CoarseToFine.from_pretrained(sys.argv[1]).half().save_pretrained(sys.argv[2])
EOF
  cp "$folder/metrics.csv" "$runs_dir/$name-fp16/" 2>/dev/null || true
  last=$(ls "$folder"/samples/*.png 2>/dev/null | sort -V | tail -1 || true)
  [[ -n $last ]] && cp "$last" "$runs_dir/$name-fp16/samples-last.png"
  tar czf "$out/$name.tgz" -C "$runs_dir" "$name-fp16"
  tail -3 "$out/$name.log" >>"$log"
done
exit $status
