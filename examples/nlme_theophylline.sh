#!/usr/bin/env bash
# Population fit of theophylline (nlmixr2data theo_sd, 12 subjects) from the command line, its
# diagnostics, and a simulated trial of virtual subjects drawn from the fitted population (docs/nlme.md).
#
#   examples/nlme_theophylline.sh [OUT_DIR] [FIGURES_DIR]        (default out/nlme_theo; no figures copied)
#
# 1. `qsp nlme`: SAEM fit of examples/nlme_theo.toml (IIV on KA, CL, V; additive error) with a VPC,
#    prediction-corrected VPC, goodness of fit, convergence and individual plots, and 1000 virtual subjects
#    drawn from the fit (vpop.csv), and 1000 with the typical values' uncertainty (vpop_uncertainty.csv, 20
#    draws of the typical values);
# 2. `qsp ensemble`: both virtual populations given 320 mg (about the study's median dose, 319.8 mg),
#    Cmax and AUC(0-24 h) of CP each;
# 3. examples/nlme_theophylline_summary.py: the exposure quantiles (summary.csv, summary.md), the
#    fraction of subjects with Cmax in the 10-20 mg/L
#    therapeutic range, and a figure (trial.png); with FIGURES_DIR,
#    the figures are copied there as nlme_theo_*.png.
# Environment: PYTHON (default .venv/bin/python, else python3); NLME_ITERATIONS (K1,K2, default 200,100),
# NLME_VPC (replicates, default 200), NLME_IS (importance-sampling draws, default 300), NLME_VPOP (1000).
set -euo pipefail

OUT=${1:-out/nlme_theo}
FIGURES=${2:-}
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
QSP=("$PYTHON" -m qsp)
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${THEO_SD:-$HERE/../../shared/references/data/nlmixr2data/theo_sd.csv}
MODEL=$HERE/nlme_one_cpt_oral.ant
ITER=${NLME_ITERATIONS:-200,100}
VPC=${NLME_VPC:-200}
IS=${NLME_IS:-300}
N=${NLME_VPOP:-1000}
mkdir -p "$OUT"

"${QSP[@]}" nlme "$MODEL" "$DATA" --spec "$HERE/nlme_theo.toml" --seed 1 --iterations "$ITER" \
  --is-samples "$IS" --vpc "$VPC" --vpop "$N" --uncertainty 20 --out "$OUT/fit" > "$OUT/estimates.txt"

rm -rf "$OUT/vpop.parquet" "$OUT/vpop_uncertainty.parquet"
for POP in vpop vpop_uncertainty; do
  "${QSP[@]}" ensemble "$MODEL" --samples "$OUT/fit/$POP.csv" --dose target=depot,amount=320 \
    --metric cmax:CP --metric auc:CP --t-end 24 --points 97 --backend serial --seed 1 \
    --out "$OUT/$POP.parquet" --csv "$OUT/$POP.csv" --quiet
done

"$PYTHON" "$HERE/nlme_theophylline_summary.py" "$OUT" ${FIGURES:+--figures "$FIGURES"}
