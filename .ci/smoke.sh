#!/usr/bin/env bash
# Build the wheel, install it into a fresh virtual environment outside the source tree, and use the
# installed product from another directory, as a user who ran `pip install qsp` would.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/qsp-smoke.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

echo "smoke: building the wheel"
"$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$WORK/dist" "$SRC"
WHEEL="$(ls "$WORK"/dist/qsp-*.whl)"
"$PYTHON" "$SRC/.ci/check_wheel.py" "$WHEEL" "$SRC"

echo "smoke: installing $(basename "$WHEEL") into a fresh environment"
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet --upgrade pip
"$WORK/venv/bin/python" -m pip install --quiet "$WHEEL"
export PATH="$WORK/venv/bin:$PATH"
cd "$WORK"   # nothing of the source tree is importable from here
export MPLBACKEND=Agg

python - <<'PY'
import qsp, qsp.ensemble, qsp.sensitivity, qsp.synergy, qsp.vpop, qsp.datasets, qsp.events, qsp.nca, qsp.covariates, qsp.fit, qsp.nlme
import os
assert "site-packages" in qsp.__file__, qsp.__file__
print("smoke: imported qsp", qsp.__version__, "from", os.path.dirname(qsp.__file__))
PY

test "$(qsp --version)" = "qsp $(python -c 'import qsp; print(qsp.__version__)')"
help="$(qsp --help)"
for cmd in simulate validate info models ensemble gsa synergy vpop dataset nca petab fit profile sample nlme; do
  grep -qE "^ +$cmd " <<<"$help" || { echo "smoke: 'qsp --help' does not list '$cmd'"; echo "$help"; exit 1; }
done
echo "smoke: qsp --help lists every subcommand"

for name in $(qsp models | cut -f1); do
  qsp simulate "$name" --points 5 --out "$name.csv" 2>/dev/null
  python -c "import pandas as pd, sys; df = pd.read_csv('$name.csv'); assert len(df) == 5 and df.notna().all().all(), df"
  echo "smoke: simulated $name"
done
test "$(qsp models | wc -l)" -ge 4

qsp ensemble trimeric --n 100 --metric "cmax:[Cp]" --regimen q1w_3mg --backend processes --workers 2 --out ens.parquet --quiet
python -c "
import pandas as pd
df = pd.read_parquet('ens.parquet')
assert len(df) == 100 and (df['status'] == 'ok').all(), df['status'].value_counts()
print('smoke: 100-row ensemble on the processes backend')"

cat > pk.ant <<'EOF'
species depot = 0, central = 0; depot has substance_only; central has substance_only
CL = 1.1; V = 20; KA = 1.5
absorption: depot -> central; KA * depot
elimination: central -> ; CL / V * central
CP := central / V
EOF
printf 'ID,TIME,EVID,AMT,CMT,II,ADDL,SS\n1,0,1,100,1,12,2,1\n1,1,0,.,2,0,0,0\n2,0,1,50,2,0,0,0\n2,1,0,.,2,0,0,0\n' > data.csv
qsp dataset simulate pk.ant data.csv --cmt 1=depot --cmt 2=central --output CP --backend processes --workers 2 --out sim.csv
python -c "
import pandas as pd
df = pd.read_csv('sim.csv')
assert len(df) == 4 and df['CP'].notna().sum() == 2, df
print('smoke: a dataset simulated (SS 1 and ADDL) on the processes backend')"
printf 'ID,TIME,AMT,CMT,DV\n1,0,100,1,.\n1,1,.,2,3.6\n1,4,.,2,3.9\n1,8,.,2,3.3\n1,24,.,2,1.3\n' > obs.csv
qsp fit pk.ant --data obs.csv --cmt 1=depot --cmt 2=central --observe DV=CP --estimate CL=0.1:10 \
    --estimate V=2:200 --error additive --starts 2 --backend processes --workers 2 --out fit > /dev/null
python -c "
import json
s = json.load(open('fit/summary.json'))
assert s['n_starts'] == 2 and s['n_failed'] == 0, s
print('smoke: qsp fit on a dataset, best llh', round(s['best_llh'], 3))"

python - <<'PY'
import numpy as np
rng = np.random.default_rng(0)
rows = ["ID,TIME,EVID,AMT,CMT,DV"]
for i in range(1, 9):
    cl, v = 1.1 * np.exp(0.3 * rng.standard_normal()), 20.0
    rows.append(f"{i},0,1,100,1,.")
    for t in (0.5, 1, 2, 4, 8, 12, 24):
        ka, k = 1.5, cl / v
        cp = 100 / v * ka / (ka - k) * (np.exp(-k * t) - np.exp(-ka * t))
        rows.append(f"{i},{t},0,.,2,{cp * (1 + 0.1 * rng.standard_normal()):.4f}")
open("pop.csv", "w").write("\n".join(rows) + "\n")
open("pop.toml", "w").write("""observe = { DV = "CP" }
cmt = { 1 = "depot", 2 = "central" }
error = "proportional"
[parameters.CL]
initial = 2.0
random = true
[parameters.V]
initial = 15.0
[parameters.KA]
initial = 1.0
""")
PY
qsp nlme pk.ant pop.csv --spec pop.toml --seed 1 --iterations 10,10 --is-samples 20 --vpc 0 \
    --backend processes --workers 2 --out nlme > /dev/null
python -c "
import json, pandas as pd
s = json.load(open('nlme/summary.json'))
est = pd.read_csv('nlme/estimates.csv')
assert s['n_subjects'] == 8 and s['n_observations'] == 56, s
assert list(est.columns) == ['parameter', 'estimate', 'se', 'rse_pct', 'kind'], est
print('smoke: qsp nlme on 8 subjects, llh', round(s['llh'], 2))"

set +e
qsp simulate missing.xml > out.txt 2> err.txt
rc=$?
set -e
test "$rc" -ne 0 && test ! -s out.txt && test "$(wc -l < err.txt)" -eq 1 \
  || { echo "smoke: bad input did not give one line and a non-zero exit (rc=$rc)"; cat err.txt; exit 1; }
echo "smoke: bad input -> $(cat err.txt)"
echo "smoke: passed"
