#!/usr/bin/env bash
# README's spoken-digit recipe, as written there: espeak-ng digits -> data cochlea at 48 kHz ->
# train --preset shd (learned delays, then none). Prints each run's result line; README quotes
# them. About 30 CPU minutes for the conversion and 5 for the two runs on two cores.
#
# usage: tools/cochlea/digits_recipe.sh [WORK]      (after cargo build --release)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
exe=$root/target/release/spikedelay
work=${1:-$root/target/digits-recipe}
[ -d "$work/digits-audio" ] || "$root/tools/cochlea/make_digits.sh" "$work/digits-audio"
/usr/bin/time -f "conversion: %U s user, %e s wall" "$exe" data cochlea "$work/digits-audio" \
  --out "$work/digits" --rate 48000 --prefix shd --valid-percent 0 --test-percent 20
for delays in learned none; do
  "$exe" train --preset shd --data-dir "$work/digits" --epochs 40 --delays "$delays" \
    --out "$work/runs-$delays" | tail -1 | sed "s/^/$delays: /"
done
