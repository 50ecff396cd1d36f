# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Validering: automatisk koding mot manuell koding
#
# Den automatiske kodingen (`theme_matrix`) sammenlignet med forskernes
# manuelle koding av utviklingsutvalget (`tests/fixtures/gold-dev.csv`), tema
# for tema: presisjon, treffsikkerhet (recall), F1 og Cohens kappa. Ved siden
# av: enigheten mellom de to uavhengige manuelle kodingene
# (`gold-dev.csv` mot `gold-dev-coder2.csv`), som er taket for hva en
# automatisk koding kan forventes å nå.
#
# Beregningene er de samme som `python -m pipeline evaluate`
# (`pipeline.evaluate`). Mappen leses fra `PIPELINE_OUT_DIR`; kodingsfilene
# fra `GOLD_CSV` og `GOLD2_CSV` (standard: filene i `tests/fixtures/`).

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import pipeline
from pipeline import config
from pipeline.evaluate import evaluate_codings, evaluate_pipeline, read_coding

OUT = Path(os.environ.get("PIPELINE_OUT_DIR") or config.PROCESSED_DIR)
GOLD = Path(os.environ.get("GOLD_CSV") or config.PROJECT_ROOT / "tests" / "fixtures" / "gold-dev.csv")
GOLD2 = Path(os.environ.get("GOLD2_CSV") or config.PROJECT_ROOT / "tests" / "fixtures" / "gold-dev-coder2.csv")

codebook = pipeline.load_table("codebook", OUT)
posts = pipeline.load_table("posts", OUT)
theme_ids = list(codebook["theme_id"])
label = dict(zip(codebook["theme_id"], codebook["label"]))

tagger = evaluate_pipeline(GOLD, OUT)
coders = evaluate_codings(read_coding(GOLD), read_coding(GOLD2), theme_ids)
summary = pd.DataFrame({"automatisk mot koder 1": tagger.summary, "koder 2 mot koder 1": coders.summary}).T
summary[["n_posts", "micro_precision", "micro_recall", "micro_f1", "macro_f1", "pooled_kappa", "mean_kappa"]].round(3)

# %% [markdown]
# ## Per tema
#
# Venstre: automatisk koding mot koder 1. Høyre: Cohens kappa for den
# automatiske kodingen og for de to manuelle koderne mot hverandre. Temaene er
# sortert etter hvor vanlige de er i den manuelle kodingen (prevalens i
# parentes).

# %%
per = tagger.per_theme.set_index("theme_id").reindex(theme_ids)
agree = coders.per_theme.set_index("theme_id").reindex(theme_ids)
order = per.sort_values("prevalence", ascending=True).index
names = [f"{label[t]} ({per.loc[t, 'prevalence']:.0%})" for t in order]
y = np.arange(len(order))

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, 10), sharey=True)
h = 0.27
for k, (col, colour) in enumerate([("precision", "#4C72B0"), ("recall", "#DD8452"), ("f1", "#55A868")]):
    ax1.barh(y + (k - 1) * h, per.loc[order, col], height=h, label=col, color=colour)
ax1.set_yticks(y, names, fontsize=8)
ax1.set_xlim(0, 1)
ax1.set_title("Automatisk koding mot koder 1")
ax1.legend(["presisjon", "recall", "F1"], loc="upper center", bbox_to_anchor=(0.5, -0.04), ncol=3)

ax2.barh(y - 0.2, per.loc[order, "kappa"], height=0.4, label="automatisk mot koder 1", color="#4C72B0")
ax2.barh(y + 0.2, agree.loc[order, "kappa"], height=0.4, label="koder 2 mot koder 1", color="#999999")
ax2.axvline(0, color="black", linewidth=0.6)
ax2.set_xlim(min(-0.2, np.nanmin(per["kappa"]) - 0.05), 1)
ax2.set_title("Cohens kappa per tema")
ax2.legend(loc="upper center", bbox_to_anchor=(0.5, -0.04), ncol=2)
fig.tight_layout()
plt.show()

# %%
table = per[["n_gold", "n_pred", "tp", "fp", "fn", "precision", "recall", "f1", "kappa", "prevalence"]].copy()
table.insert(0, "tema", [label[t] for t in table.index])
table["kappa (koder 2)"] = agree["kappa"]
table.round(3)

# %% [markdown]
# ## Uenigheter å lese
#
# Hvert par (svar, tema) der den automatiske kodingen og koder 1 er uenige,
# med belegget den automatiske kodingen fant. *missed (FN)*: koder 1 har
# temaet, den automatiske kodingen ikke; *extra (FP)*: omvendt.

# %%
dis = tagger.disagreements.copy()
dis["tema"] = dis["theme_id"].map(label)
print(dis["kind"].value_counts().to_string())
if len(tagger.unmatched):
    print(f"{len(tagger.unmatched)} manuelt kodede innlegg ble ikke funnet som innlegg i kjøringen:")
    display(tagger.unmatched)
with pd.option_context("display.max_rows", 400, "display.max_colwidth", 90):
    display(dis[["file", "line", "anchor", "tema", "kind", "evidence"]].sort_values(["kind", "tema", "file", "line"]).reset_index(drop=True))

# %% [markdown]
# Uenighetene mellom de to manuelle koderne, per tema:

# %%
cd = coders.disagreements.assign(tema=lambda d: d["theme_id"].map(label))
by_theme = cd.groupby(["tema", "kind"]).size().unstack(fill_value=0)
by_theme.assign(sum=by_theme.sum(axis=1)).sort_values("sum", ascending=False)
