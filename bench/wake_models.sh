#!/usr/bin/env bash
# Train the wake-phrase models the README's figures come from (niced; ~25 min on a shared
# 2-core CPU): the shipped "activate" model, and "nine" twice (espeak-ng + flite only; plus
# three of the four real FSDD speakers). nicolas is never used in training, nor the CS230
# negatives 4*, 5*, recording and wissal: bench/wake.py tests on them, on the two real "activate"
# recordings (never trained on) and on the second real background (never trained on).
# Usage: bench/wake_models.sh OUT_DIR   (then copy OUT_DIR/activate/trigger-activate.* to
# src/facegate/models/ to ship a new default)
set -euo pipefail
out=${1:?usage: bench/wake_models.sh OUT_DIR}
speech=${FACEGATE_DATA:-$(dirname "$0")/../../shared/datasets}/speech
fsdd=$speech/fsdd
train=(george jackson lucas)
facegate=${FACEGATE:-facegate}
mkdir -p "$out/activate" "$out/nine-synth" "$out/nine-real"

negatives=()
for f in "$speech"/cs230/negatives/[123]*.wav "$speech"/cs230/negatives/{flute,piano}.wav; do
  negatives+=(--real-negative "$f")
done
for who in "${train[@]}"; do
  for f in "$fsdd"/*_"$who"_*.wav; do negatives+=(--real-negative "$f"); done
done
nice -n 10 "$facegate" train-trigger --phrase activate --out "$out/activate/trigger-activate.onnx" \
  --background "$speech/cs230/backgrounds/1.wav" "${negatives[@]}" --data-root "$speech" \
  --clips "${ACTIVATE_CLIPS:-2000}" --epochs "${ACTIVATE_EPOCHS:-12}"

nice -n 10 "$facegate" train-trigger --phrase nine --out "$out/nine-synth/trigger-nine.onnx" \
  --background "$speech/cs230/backgrounds/1.wav" --data-root "$speech" \
  --clips "${NINE_CLIPS:-1200}" --epochs "${NINE_EPOCHS:-8}"

positives=()
others=()
for who in "${train[@]}"; do
  for f in "$fsdd"/9_"$who"_*.wav; do positives+=(--real-positive "$f"); done
  for f in "$fsdd"/[0-8]_"$who"_*.wav; do others+=(--real-negative "$f"); done
done
nice -n 10 "$facegate" train-trigger --phrase nine --out "$out/nine-real/trigger-nine.onnx" \
  --background "$speech/cs230/backgrounds/1.wav" "${positives[@]}" "${others[@]}" \
  --data-root "$speech" --clips "${NINE_CLIPS:-1200}" --epochs "${NINE_EPOCHS:-8}"
