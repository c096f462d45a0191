#!/usr/bin/env bash
# Spoken digits in SHD's 20 classes (English zero..nine, German null..neun) by espeak-ng: 32
# synthetic speakers (8 voice variants x 2 speeds x 2 pitches, English accents varied), each
# saying every word once. Writes an audio folder the `audio-folder` kind and `spikedelay data
# cochlea` read: one subfolder per word, classes.txt in SHD's order, clips named
# SPEAKER_nohash_0.wav so that a speaker's clips stay in one split.
#
# usage: tools/cochlea/make_digits.sh OUT      (needs espeak-ng: apt-get install espeak-ng)
set -euo pipefail
out=${1:?usage: make_digits.sh OUT}
command -v espeak-ng >/dev/null || { echo "make_digits.sh: espeak-ng not found (apt-get install espeak-ng)" >&2; exit 1; }
english=(zero one two three four five six seven eight nine)
german=(null eins zwei drei vier fuenf sechs sieben acht neun)   # folder names (ASCII)
say_german=(null eins zwei drei vier fünf sechs sieben acht neun)
accents=(en-gb en-us en-gb-scotland en-gb-x-rp en-029 en-gb-x-gbcwmd en-gb-x-gbclan en-us)
variants=(m1 m2 m3 m5 f1 f2 f3 f4)
mkdir -p "$out"
: > "$out/classes.txt.tmp"
for w in "${english[@]}" "${german[@]}"; do echo "$w" >> "$out/classes.txt.tmp"; mkdir -p "$out/$w"; done
mv "$out/classes.txt.tmp" "$out/classes.txt"
n=0
for i in "${!variants[@]}"; do
  for speed in 130 170; do
    for pitch in 35 65; do
      speaker="${variants[$i]}s${speed}p${pitch}"
      for w in "${english[@]}"; do
        espeak-ng -v "${accents[$i]}+${variants[$i]}" -s "$speed" -p "$pitch" -w "$out/$w/${speaker}_nohash_0.wav" "$w"
        n=$((n + 1))
      done
      for k in "${!german[@]}"; do
        espeak-ng -v "de+${variants[$i]}" -s "$speed" -p "$pitch" -w "$out/${german[$k]}/${speaker}_nohash_0.wav" "${say_german[$k]}"
        n=$((n + 1))
      done
    done
  done
done
echo "wrote $n clips of 20 words into $out"
