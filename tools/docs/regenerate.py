#!/usr/bin/env python3
"""Regenerates every accuracy, count, time and figure that README.md and docs/deploy.md quote,
from the current code, so that no quoted number outlives the code that produced it.

    tools/docs/regenerate.py [--only main,seeds,synthetic,deploy] [--render-only] [--work DIR]

Sections (each a few minutes on 2 cores; `deploy` needs tools/deploy/setup.sh first):
  main       the built-in task with each `--delays` mode, seed 0 (and its delay histogram,
             docs/main-job-delays.png)
  seeds      the learned main job over seeds 0, 1, 2 (`--seeds`)
  synthetic  synthetic SHD (learned and `--delays none`) and synthetic GSC, 3 epochs each
  deploy     tools/deploy/check.sh: Lava, nir, snnTorch and Brian2 against our exports

Results go to docs/numbers.json (with the machine, SIMD level, threads and commit they were
measured with); the marked blocks `<!-- numbers:NAME -->` … `<!-- /numbers:NAME -->` of README.md
and docs/deploy.md are then rewritten from it. `--render-only` rewrites the blocks from
docs/numbers.json without running anything. The CLI is target/release/spikedelay (or
$SPIKEDELAY_CLI); build it first (`cargo build --release`). The test
crates/spikedelay-cli/tests/quoted_cli.rs checks the main job's quoted accuracy against the code.
Standard library only.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NUMBERS = ROOT / "docs" / "numbers.json"
DOCS = [ROOT / "README.md", ROOT / "docs" / "deploy.md"]
MODES = ["learned", "constant-sigma", "fixed", "none"]
SECTIONS = ["main", "seeds", "synthetic", "ablation", "deploy"]


def cli() -> str:
    path = Path(os.environ.get("SPIKEDELAY_CLI", ROOT / "target" / "release" / "spikedelay"))
    if not path.is_file():
        sys.exit(f"{path}: not built; run `cargo build --release` first (or set SPIKEDELAY_CLI)")
    return str(path)


def run(*args, cwd=None) -> str:
    print("+", " ".join(str(a) for a in args), flush=True)
    out = subprocess.run([str(a) for a in args], cwd=cwd, check=True, capture_output=True, text=True)
    return out.stdout


def summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def short(s: dict) -> dict:
    """What the docs quote of a run's summary.json."""
    return {
        "test_correct": s["test_correct"],
        "test_samples": s["test_samples"],
        "test_accuracy": s["test_accuracy"],
        "last_epoch_test_accuracy": s["last_epoch_test_accuracy"],
        "best_epoch": s["best_epoch"],
        "epochs": s["epochs"],
        "wall_seconds": s["wall_seconds"],
    }


def section_main(sd: str, work: Path) -> dict:
    runs, prov = {}, None
    for mode in MODES:
        out = work / f"main-{mode}"
        args = ["train", "--delays", mode, "--out", out, "--overwrite"]
        if mode == "learned":
            args.append("--plot")
        run(sd, *args)
        s = summary(out)
        runs[mode] = short(s)
        prov = prov or s.get("provenance")
    figure = ROOT / "docs" / "main-job-delays.png"
    tmp = figure.with_suffix(".png.tmp")
    shutil.copyfile(work / "main-learned" / "plots" / "delays.png", tmp)
    tmp.replace(figure)
    return {"runs": runs, "provenance": prov}


def section_seeds(sd: str, work: Path) -> dict:
    out = work / "seeds"
    run(sd, "train", "--seeds", "0,1,2", "--out", out, "--overwrite")
    agg = json.loads((out / "aggregate.json").read_text())
    seeds = {str(k): short(summary(out / f"seed{k}")) for k in (0, 1, 2)}
    return {
        "test_accuracy": agg["test_accuracy"],
        "last_epoch_test_accuracy": agg["last_epoch_test_accuracy"],
        "seeds": seeds,
        "provenance": summary(out / "seed0").get("provenance"),
    }


def section_ablation(sd: str, work: Path) -> dict:
    """The built-in task's ablation through `spikedelay sweep` (learned / fixed / none × seeds
    0-2) and its `report`; the learned row must equal the seeds section's runs by hand."""
    out = work / "ablation"
    shutil.rmtree(out, ignore_errors=True)
    run(sd, "sweep", "--grid", "model.delays=learned,fixed,none", "--seeds", "0-2", "--out", out)
    rows = json.loads(run(sd, "report", out, "--format", "json"))
    by_hand = work / "seeds"
    if by_hand.is_dir():
        for k in (0, 1, 2):
            a = summary(out / "model.delays=learned" / f"seed{k}")
            b = summary(by_hand / f"seed{k}")
            for key in ("test_accuracy", "test_correct", "last_epoch_test_accuracy", "best_epoch"):
                if a[key] != b[key]:
                    sys.exit(f"ablation: learned seed {k} {key} {a[key]} differs from train by hand {b[key]}")
    return {
        "rows": [{k: r[k] for k in ("point", "n", "seeds", "test_accuracy",
                                     "last_epoch_test_accuracy", "wall_seconds")} for r in rows],
        "provenance": summary(out / "model.delays=learned" / "seed0").get("provenance"),
    }


def section_synthetic(sd: str, work: Path) -> dict:
    shd, gsc = work / "synthetic-shd", work / "synthetic-gsc"
    run(sd, "data", "make-synthetic", "--format", "shd", shd, "--overwrite")
    run(sd, "data", "make-synthetic", "--format", "gsc", gsc, "--overwrite")
    result = {}
    for name, args in [
        ("shd", ["--preset", "shd", "--data-dir", shd]),
        ("shd-none", ["--preset", "shd", "--data-dir", shd, "--delays", "none"]),
        ("gsc", ["--preset", "gsc", "--data-dir", gsc]),
    ]:
        out = work / f"run-{name}"
        printed = run(sd, "train", *args, "--epochs", "3", "--out", out, "--overwrite")
        s = summary(out)
        result[name] = short(s)
        # "shd: 3600 train / 400 valid / 1000 test samples, ..."
        counts = re.search(r"(\d+) train / (\d+) valid / (\d+) test samples", printed)
        result[name]["samples"] = dict(zip(("train", "valid", "test"), map(int, counts.groups())))
        result.setdefault("provenance", s.get("provenance"))
    return result


def section_deploy(sd: str, work: Path) -> dict:
    check = ROOT / "tools" / "deploy" / "check.sh"
    if not (ROOT / "tools" / "deploy" / ".venv" / "bin" / "python").is_file():
        sys.exit("deploy: run tools/deploy/setup.sh first (the targets' own packages)")
    dwork = work / "deploy"
    shutil.rmtree(dwork, ignore_errors=True)
    out = run("bash", check, dwork)
    if "all deploy checks passed" not in out:
        sys.exit(f"deploy: tools/deploy/check.sh did not pass:\n{out}")
    results = {}
    for line in (dwork / "results.jsonl").read_text().splitlines():
        r = json.loads(line)
        results[r.pop("check")] = r
    ev = json.loads((dwork / "eval.json").read_text())
    results["accuracy"] = {
        "float": {k: ev["test"][k] for k in ("correct", "samples", "accuracy")},
        "loihi": {k: ev["loihi"]["test"][k] for k in ("correct", "samples", "accuracy")},
    }
    results["provenance"] = summary(dwork / "learned").get("provenance")
    return results


# ---------------------------------------------------------------------------------------------
# Rendering: each block is a function of docs/numbers.json.

def pct(x: float) -> str:
    return f"{num(x)} %"


def num(x: float) -> str:
    """A fraction as a percentage with two decimals, without the sign."""
    return f"{100 * x:.2f}"


def thousands(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def where(prov: dict | None) -> str:
    if not prov:
        return "this machine"
    commit = prov.get("commit") or "?"
    commit = commit[:10] + (" with uncommitted changes" if commit.endswith("+dirty") else "")
    return (f"{prov['device_name']}, {prov['simd'].upper() if prov['simd'] != 'portable' else 'portable SIMD'}, "
            f"{prov['threads']} threads, spikedelay {prov['version']} ({commit})")


def render_main_job(n: dict) -> str:
    m = n["main"]["runs"]
    labels = {
        "learned": "`learned` (the method)",
        "constant-sigma": "`constant-sigma` (σ = 0.5 throughout)",
        "fixed": "`fixed` (random integer delays, frozen)",
        "none": "`none` (no delays)",
    }
    rows = ["| `--delays` | test accuracy (epoch selected on validation) | last epoch | wall time |",
            "| --- | --- | --- | --- |"]
    for mode in MODES:
        r = m[mode]
        acc = pct(r["test_accuracy"])
        if mode == "learned":
            acc = f"**{acc}**"
        chance = "; chance: 5 %" if mode == "none" else ""
        rows.append(f"| {labels[mode]} | {acc} ({r['test_correct']}/{r['test_samples']}{chance}) | "
                    f"{pct(r['last_epoch_test_accuracy'])} | {r['wall_seconds']:.0f} s |")
    rows.append("")
    rows.append(f"Measured by `tools/docs/regenerate.py` on {where(n['main'].get('provenance'))}; "
                f"`cargo test` checks the learned row against the code (`tests/quoted_cli.rs`).")
    return "\n".join(rows)


def render_seeds(n: dict) -> str:
    s = n["seeds"]
    per = ", ".join(f"{pct(r['test_accuracy'])} ({r['test_correct']}/{r['test_samples']})"
                    for r in s["seeds"].values())
    return (f"The built-in task over seeds 0, 1, 2: {num(s['test_accuracy']['mean'])} ± "
            f"{pct(s['test_accuracy']['std'])} at the selected epoch ({per}), "
            f"{num(s['last_epoch_test_accuracy']['mean'])} ± {pct(s['last_epoch_test_accuracy']['std'])} "
            f"at the last epoch.")


def render_synthetic(n: dict) -> str:
    s = n["synthetic"]
    shd, none, gsc = s["shd"], s["shd-none"], s["gsc"]
    return "\n".join([
        "| command | result |",
        "| --- | --- |",
        f"| `train --preset shd --data-dir D --epochs 3` on `make-synthetic --format shd D` "
        f"({thousands(shd['samples']['train'])} / {thousands(shd['samples']['valid'])} / "
        f"{thousands(shd['samples']['test'])} samples) | test accuracy **{pct(shd['test_accuracy'])}** "
        f"({shd['test_correct']}/{shd['test_samples']}; chance 5 %), {shd['wall_seconds']:.0f} s; with "
        f"`--delays none` {pct(none['test_accuracy'])} ({none['test_correct']}/{none['test_samples']}) |",
        f"| `train --preset gsc --data-dir G --epochs 3` on `make-synthetic --format gsc G` "
        f"({thousands(gsc['samples']['train'])} / {gsc['samples']['valid']} / "
        f"{gsc['samples']['test']} clips) | test accuracy "
        f"**{pct(gsc['test_accuracy'])}** ({gsc['test_correct']}/{gsc['test_samples']}; chance 2.9 %), "
        f"{gsc['wall_seconds']:.0f} s |",
        "",
        f"Measured by `tools/docs/regenerate.py --only synthetic` on {where(s.get('provenance'))}.",
    ])


def render_deploy_table(n: dict) -> str:
    d = n["deploy"]
    lava, read, snn, brian = d["lava"], d["nir-read"], d["snntorch"], d["brian2"]
    return "\n".join([
        "| target | check | result |",
        "| --- | --- | --- |",
        f"| Lava 0.10 netx, `Loihi2SimCfg` fixed point | every hidden spike and readout membrane vs "
        f"`eval --quantize loihi` | identical ({thousands(lava['spikes'])} spikes, "
        f"{thousands(lava['membranes'])} membranes) |",
        f"| nir 1.0.8 | `nir.read` of the delay export | {read['nodes']} nodes, "
        f"{read['delay_buckets']} delay buckets, shapes consistent |",
        f"| snnTorch 0.9.4 NIR import | a `--delays none` export, `--nir-dt 1e-4` | identical spikes "
        f"({thousands(snn['spikes'])}), readout within {snn['readout_error']:.0e} |",
        f"| Brian2 2.8 (float32) | the synapses export with Brian2's own delays | identical spikes "
        f"({thousands(brian['spikes'])}), readout within {brian['readout_error']:.0e} |",
    ])


def render_deploy_accuracy(n: dict) -> str:
    a = n["deploy"]["accuracy"]
    f, q = a["float"], a["loihi"]
    return (f"On that network's {f['samples']} test samples the float model scores "
            f"{pct(f['accuracy'])} ({f['correct']}/{f['samples']}) and the Loihi 2 fixed point "
            f"{pct(q['accuracy'])} ({q['correct']}/{q['samples']}). Measured by "
            f"`tools/docs/regenerate.py --only deploy` on {where(n['deploy'].get('provenance'))}.")


def render_deploy_md_table(n: dict) -> str:
    a = n["deploy"]["accuracy"]
    f, q = a["float"], a["loihi"]
    return "\n".join([
        "| | float | Loihi 2 fixed point |",
        "|---|---|---|",
        f"| accuracy | {pct(f['accuracy'])} ({f['correct']}/{f['samples']}) | "
        f"{pct(q['accuracy'])} ({q['correct']}/{q['samples']}) |",
    ])


def render_deploy_checks(n: dict) -> str:
    d = n["deploy"]
    lava, read, snn, brian = d["lava"], d["nir-read"], d["snntorch"], d["brian2"]
    return "\n".join([
        f"- **Lava** (`lava_check.py`): netx's `hdf5.Network` loads our file and runs {lava['samples']} test samples on",
        f"  `Loihi2SimCfg(select_tag=\"fixed_pt\")`. Every hidden spike and every integer readout membrane",
        f"  equals `eval --quantize loihi --trace`: {thousands(lava['spikes'])} spikes and "
        f"{thousands(lava['membranes'])} membranes.",
        f"- **NIR** (`nir_check.py read`): `nir.read` loads the delay export ({read['nodes']} nodes, "
        f"{read['delay_buckets']} delay buckets),",
        "  with edges and shapes consistent. `eval --model` runs it, and its protocol figure is the",
        "  checkpoint's.",
        f"- **snnTorch** (`nir_check.py snntorch`): a `--delays none` network exported with",
        f"  `--nir-dt 1e-4` and imported with `snntorch.import_nir` gives on {snn['samples']} samples the same hidden",
        f"  spikes ({thousands(snn['spikes'])}) and readout within {snn['readout_error']:.0e} (relative). "
        f"snnTorch has no `LI` node, so the script hands it the",
        "  readout as a `LIF` that never reaches its threshold (the same update).",
        f"- **Brian2** (`brian2_check.py`): the `synapses` export is built with `NeuronGroup`/`Synapses` and",
        f"  its own per-synapse `delay`, in float32. On {brian['samples']} samples every hidden spike "
        f"({thousands(brian['spikes'])}) equals ours,",
        f"  and the readout agrees within {brian['readout_error']:.0e} (relative). Brian2 integrates a "
        f"delivered spike one step later, which",
        "  is the same per-layer offset as Lava.",
    ])


def render_ablation(n: dict) -> str:
    a = n["ablation"]
    rows = ["| delays | n | test accuracy (selected epoch) | test accuracy (last epoch) | wall time per run |",
            "| --- | --- | --- | --- | --- |"]
    for r in a["rows"]:
        rows.append(f"| {r['point'][0]} | {r['n']} | {num(r['test_accuracy']['mean'])} ± "
                    f"{pct(r['test_accuracy']['std'])} | {num(r['last_epoch_test_accuracy']['mean'])} ± "
                    f"{pct(r['last_epoch_test_accuracy']['std'])} | {r['wall_seconds']['mean']:.0f} s |")
    rows.append("")
    rows.append(f"Mean ± sample std over seeds 0, 1, 2, measured by `tools/docs/regenerate.py` on "
                f"{where(a.get('provenance'))}; the learned row's runs equal `train --seeds 0,1,2` "
                f"by hand (the script checks).")
    return "\n".join(rows)


BLOCKS = {
    "ablation": ("ablation", render_ablation),
    "main-job": ("main", render_main_job),
    "seeds": ("seeds", render_seeds),
    "synthetic": ("synthetic", render_synthetic),
    "deploy-table": ("deploy", render_deploy_table),
    "deploy-accuracy": ("deploy", render_deploy_accuracy),
    "deploy-md-table": ("deploy", render_deploy_md_table),
    "deploy-checks": ("deploy", render_deploy_checks),
}


def render(numbers: dict) -> None:
    for path in DOCS:
        text = path.read_text()
        for name, (section, fn) in BLOCKS.items():
            if section not in numbers:
                continue
            # A block keeps the indentation of its markers (inside a list item, say).
            pattern = re.compile(
                rf"^([ \t]*)(<!-- numbers:{name} -->\n)(?:.*?\n)?([ \t]*<!-- /numbers:{name} -->)",
                re.S | re.M)

            def fill(m, fn=fn):
                body = "\n".join(m.group(1) + line if line else line
                                 for line in fn(numbers).split("\n"))
                return m.group(1) + m.group(2) + body + "\n" + m.group(3)

            text = pattern.sub(fill, text)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)
        print(f"rewrote the number blocks of {path.relative_to(ROOT)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=",".join(SECTIONS[:4]),
                    help="sections to measure (default: main,seeds,synthetic,ablation; deploy needs setup)")
    ap.add_argument("--render-only", action="store_true", help="rewrite the docs from docs/numbers.json")
    ap.add_argument("--work", default=str(ROOT / "target" / "regenerate"), help="scratch folder")
    args = ap.parse_args()
    numbers = json.loads(NUMBERS.read_text()) if NUMBERS.is_file() else {}
    if not args.render_only:
        sd, work = cli(), Path(args.work)
        work.mkdir(parents=True, exist_ok=True)
        for name in args.only.split(","):
            if name not in SECTIONS:
                sys.exit(f"--only {name}: choose among {', '.join(SECTIONS)}")
            start = time.time()
            numbers[name] = globals()[f"section_{name}"](sd, work)
            numbers[name]["measured"] = time.strftime("%Y-%m-%d")
            print(f"{name}: measured in {time.time() - start:.0f} s", flush=True)
            tmp = NUMBERS.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(numbers, indent=2, sort_keys=True) + "\n")
            tmp.replace(NUMBERS)
    render(numbers)


if __name__ == "__main__":
    main()
