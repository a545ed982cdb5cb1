#!/usr/bin/env bash
# The tritherapy virtual-population example as a sequence of `qsp vpop` commands (see docs/vpop.md).
#
#   examples/vpop_tritherapy_cli.sh [OUT_DIR] [N_PP]      (defaults: out/vpop_cli, 1000)
#
# 1. generate: plausible animals (S_L, r, kLN varied on log10 scales within the metadata ranges) whose
#    untreated tumour volume on day 21 lies in [200, 2400] uL, by Metropolis-Hastings;
# 2. select:   a virtual population whose day-21 untreated volume matches the stated target
#              (log-normal, median 900 uL, sd of ln(volume) 0.35);
# 3. simulate: concurrent vs sequential RT 5 x 2 Gy + anti-PD-L1 across it, RECIST-like responses from
#              weekly measurements after day 7 (first treatment) up to day 56, a volume <= 10 uL counted as
#              CR; once with the eradication rule on (trial.csv) and once with it off (trial_rule_off.csv).
# Set PYTHON to choose the interpreter (default .venv/bin/python, else python3).
set -euo pipefail

OUT=${1:-out/vpop_cli}
N=${2:-1000}
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
mkdir -p "$OUT"

cat > "$OUT/spec.toml" <<'EOF'
method = "mh"
seed = 1
t_end = 21
points = 85
regimen = "untreated"

[parameters.S_L]
low = 1.77
high = 22.63
[parameters.r]
low = 0.3
high = 0.5
[parameters.kLN]
low = 200.0
high = 380.0

[outputs.TV21]
metric = "value_at:TV_tot:21"
low = 200.0
high = 2400.0
scale = "log"
EOF

cat > "$OUT/target.toml" <<'EOF'
[outputs.TV21]
distribution = "lognormal"
median = 900.0
sd_log = 0.35
EOF

"$PYTHON" -m qsp vpop generate tritherapy --spec "$OUT/spec.toml" --n "$N" \
    --out "$OUT/pps.parquet" --json "$OUT/pps.json"
"$PYTHON" -m qsp vpop select "$OUT/pps.parquet" --target "$OUT/target.toml" --seed 0 \
    --out "$OUT/vps.parquet" --fit "$OUT/fit.csv" --json "$OUT/vps.json"
"$PYTHON" -m qsp vpop simulate tritherapy --vps "$OUT/vps.parquet" \
    --regimen rt_anti_pdl1_concurrent --regimen rt_anti_pdl1_sequential \
    --tumour TV_tot --baseline 7 --assess-every 7 --t-end 57 --points 229 --param cure_on=1 --floor 10 \
    --out "$OUT/trial.csv" --json "$OUT/trial.json" \
    --plot "$OUT/waterfall.png" --spider "$OUT/spider.png"
"$PYTHON" -m qsp vpop simulate tritherapy --vps "$OUT/vps.parquet" \
    --regimen rt_anti_pdl1_concurrent --regimen rt_anti_pdl1_sequential \
    --tumour TV_tot --baseline 7 --assess-every 7 --t-end 57 --points 229 --param cure_on=0 --floor 10 \
    --out "$OUT/trial_rule_off.csv" --quiet
