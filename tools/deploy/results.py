"""Where the deploy checks leave their figures: one JSON line per check in
$SPIKEDELAY_DEPLOY_RESULTS (set by check.sh), which tools/docs/regenerate.py quotes in README.md
and docs/deploy.md. Imported by lava_check.py, nir_check.py and brian2_check.py (any venv)."""
import json
import os


def record(**fields):
    """Appends this check's figures when $SPIKEDELAY_DEPLOY_RESULTS is set."""
    path = os.environ.get("SPIKEDELAY_DEPLOY_RESULTS")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(fields) + "\n")
