"""Which parameters drive tumour volume at day 28 under the tritherapy regimen?

Morris screening of every parameter with a metadata range, then Sobol indices (S1, ST, N = 1024,
second order off) of the five with the largest mu*, all simulated on local processes.

    python examples/sensitivity_tritherapy.py [out.png]
"""

import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import qsp  # noqa: E402
from qsp import sensitivity  # noqa: E402

METRIC = "value_at:TV_tot:28"


def main(path: str = "sensitivity_tritherapy.png") -> None:
    model = qsp.load_model("tritherapy")
    common = dict(metrics=[METRIC], regimen="tritherapy", t_end=28, points=57, backend="processes", seed=1)
    morris = sensitivity.gsa(model, "morris", n=40, **common)
    mu_star = morris.indices.query("index == 'mu_star'").sort_values("value", ascending=False)
    top5 = mu_star["parameter"].head(5).tolist()
    started = time.perf_counter()
    sobol = sensitivity.gsa(model, "sobol", parameters=top5, n=1024, **common)
    wall = time.perf_counter() - started
    print(f"Morris: {morris.n_simulations} simulations; top 5 by mu*: {', '.join(top5)}")
    print(f"Sobol: {sobol.n_simulations} simulations in {wall:.1f} s ({sobol.n_failed} failed)")
    print(sobol.table().round(3).to_string())
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5))
    morris.plot(ax=a)
    sobol.plot(ax=b)
    a.set_title("Morris screening, TV_tot at day 28 (tritherapy)")
    b.set_title(f"Sobol indices of the top 5 (N = 1024, {sobol.n_simulations} runs)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"-> {path}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
