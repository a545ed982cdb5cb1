"""Step-up (priming) dosing lowers the cytokine peaks of a CD3 T-cell engager.

Top: plasma IL-6 of the Weddell-like surrogate for the tebentafusp label step-up (20, 30, 68, 68 ug weekly)
versus a flat 68 ug weekly regimen; the peak after each infusion is marked. Dashed: the same regimens with the
``label_pk`` parameter set (half-life 7 h instead of 20 h), under which later peaks are attenuated less.
Bottom: the Chen 2019 priming module, a single 300 ug dose versus 60 ug followed by 300 ug a week later.

Usage::

    python examples/cd3_crs.py [out.png]
"""

from __future__ import annotations

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import qsp  # noqa: E402
from qsp import metrics  # noqa: E402

WEEK = 168.0  # h


def dose_peaks(t, y, n_doses):
    """(time, value) of the maximum in each weekly dose interval."""
    out = []
    for k in range(n_doses):
        a, b = k * WEEK, (k + 1) * WEEK - 0.5
        out.append((metrics.tmax(t, y, t_start=a, t_end=b), metrics.cmax(t, y, t_start=a, t_end=b)))
    return out


def main(path: str = "cd3_crs.png") -> None:
    model = qsp.load_model("cd3_crs")
    times = np.arange(0.0, 4 * WEEK + 1e-9, 0.05)

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7.5), constrained_layout=True)

    worst = {}
    for name, label, color, offset in (("flat_68", "flat 68 ug weekly", "tab:red", (6, -12)),
                                       ("default", "step-up 20 / 30 / 68 / 68 ug", "tab:blue", (6, 4))):
        doses, params = model.regimen(name)
        res = model.simulate(times=times, outputs=["[IL6]"], doses=doses, params=params)
        t_day, y = res.time / 24.0, res["[IL6]"]
        top.plot(t_day, y, color=color, lw=1.4, label=label)
        peaks = dose_peaks(res.time, y, 4)
        worst[name] = max(yp for _, yp in peaks)
        for tp, yp in peaks:
            top.plot(tp / 24.0, yp, "o", color=color, ms=5)
            top.annotate(f"{yp:.1f}", (tp / 24.0, yp), textcoords="offset points", xytext=offset,
                         fontsize=8, color=color)
    label_pk = model.parameter_set("label_pk")
    for name, label, color in (("flat_68", "flat, label half-life", "tab:red"),
                               ("default", "step-up, label half-life", "tab:blue")):
        doses, params = model.regimen(name)
        res = model.simulate(times=times, outputs=["[IL6]"], doses=doses, params={**params, **label_pk})
        top.plot(res.time / 24.0, res["[IL6]"], "--", color=color, lw=0.9, alpha=0.8, label=label)
    top.text(0.98, 0.55, f"highest peak: flat {worst['flat_68']:.1f}, step-up {worst['default']:.1f} pg/mL "
             f"({worst['flat_68'] / worst['default']:.2f}-fold lower)", transform=top.transAxes, ha="right",
             fontsize=9)
    top.set_ylim(0, 1.12 * worst["flat_68"])
    top.set_xlabel("time (day)")
    top.set_ylabel("plasma IL-6 (pg/mL)")
    top.set_title("Weddell-like surrogate: IL-6 peak after each 20-min infusion")
    top.legend(frameon=False)

    times_c = np.arange(0.0, 2 * WEEK + 1e-9, 0.05)
    for name, label, color, style in (("chen_single_300", "single 300 ug", "tab:red", "-"),
                                      ("chen_300_300", "300 ug, 300 ug (no new peak)", "tab:orange", "--"),
                                      ("chen_primed_60_300", "60 ug, then 300 ug (primed)", "tab:blue", "-")):
        doses, params = model.regimen(name)
        res = model.simulate(times=times_c, outputs=["[IL6_chen]"], doses=doses, params=params)
        t_day, y = res.time / 24.0, res["[IL6_chen]"]
        bottom.plot(t_day, y, style, color=color, lw=1.4, label=label)
        if name != "chen_300_300":
            for tp, yp in dose_peaks(res.time, y, len(doses)):
                bottom.plot(tp / 24.0, yp, "o", color=color, ms=5)
                bottom.annotate(f"{yp:.1f} pg/mL at {tp - WEEK * int(tp // WEEK):.1f} h", (tp / 24.0, yp),
                                textcoords="offset points", xytext=(6, 4), fontsize=8, color=color)
    bottom.set_yscale("log")
    bottom.set_ylim(1, 1000)
    bottom.set_xlabel("time (day)")
    bottom.set_ylabel("plasma IL-6 (pg/mL)")
    bottom.set_title("Chen 2019 priming module: the 300 ug dose after a 60 ug prime peaks 13-fold lower")
    bottom.legend(frameon=False, loc="upper right")

    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
