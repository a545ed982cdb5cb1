#!/usr/bin/env bash
# Flat vs weight-based dosing of the shipped FAP x 4-1BBL antibody (model `trimeric`) across a virtual
# population with a realistic adult body-weight distribution, from the command line (docs/covariates.md).
#
#   examples/flat_vs_weight_based.sh [OUT_DIR] [N]        (defaults: out/flat_vs_weight, 1000)
#
# 1. patients: body weight WT log-normal, median 75 kg, sd of ln(WT) 0.2 (5th-95th percentile 54-104 kg);
# 2. covariate model (allometry): CL and Q scale as (WT/70)^0.75, the central and peripheral volumes as
#    (WT/70)^1; nothing else varies;
# 3. arms: a flat 14 mg IV every 3 weeks x 8 vs 0.2 mg/kg every 3 weeks x 8 (the same 14 mg at 70 kg);
# 4. exposure: trough of plasma Cp (nmol/L) on day 147 (just before the 8th dose) and AUC over 168 days;
#    summary per arm (median, 5th-95th percentile, sd of ln) and the fraction of patients whose trough is
#    above the target (default: the trough of a 70 kg patient, 80 % of it: a hypothetical target), with
#    a figure of trough vs body weight.
# Set PYTHON to choose the interpreter (default .venv/bin/python, else python3).
set -euo pipefail

OUT=${1:-out/flat_vs_weight}
N=${2:-1000}
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
QSP=("$PYTHON" -m qsp)
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"

cat > "$OUT/patients.toml" <<TOML
n = $N
seed = 7
method = "random"

[parameters.WT]
distribution = "lognormal"
median = 75.0
sd_log = 0.2
TOML

cat > "$OUT/allometry.json" <<'JSON'
["CL~WT:power(70,0.75)", "Q~WT:power(70,0.75)", "central~WT:power(70,1)", "peripheral~WT:power(70,1)"]
JSON

"${QSP[@]}" ensemble trimeric --spec "$OUT/patients.toml" \
  --regimen q3w_0.2mgkg --dose target=Cp,amount=14,unit=mg,every=21,count=8 \
  --body-weight WT --covariate-model "$OUT/allometry.json" \
  --metric 'value_at:[Cp]:147' --metric 'auc:[Cp]' --t-end 168 --points 673 \
  --backend processes --out "$OUT/exposure.parquet" --csv "$OUT/exposure.csv" --quiet

"$PYTHON" "$HERE/flat_vs_weight_based_summary.py" "$OUT/exposure.csv" --out "$OUT/summary.csv" \
  --plot "$OUT/flat_vs_weight.png"
