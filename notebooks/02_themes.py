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
# # Temaer: hyppighet, samforekomst, målform og sitater
#
# Den automatiske kodingen (`theme_matrix`, `tags`) mot kodeboka (`codebook`).
# Et svar har et tema når det har belegg for det i `tags`; belegget er ord i
# svaret (`text_clean[start:end]`).
#
# Mappen leses fra `PIPELINE_OUT_DIR` (standard: `data/processed`).

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import HTML, display

import pipeline
from pipeline import config
from pipeline.report import excerpt_html, quote_score

OUT = Path(os.environ.get("PIPELINE_OUT_DIR") or config.PROCESSED_DIR)
posts = pipeline.load_table("posts", OUT)
codebook = pipeline.load_table("codebook", OUT)
tags = pipeline.load_table("tags", OUT)
matrix = pipeline.load_table("theme_matrix", OUT)
theme_ids = list(codebook["theme_id"])
label = dict(zip(codebook["theme_id"], codebook["label"]))
responses = posts[posts["kind"] == "response"].set_index("post_id")
m = matrix.set_index("post_id")[theme_ids].astype(int)
m = m.join(responses[["board_id", "dialogue_theme"] + (["variant"] if "variant" in responses.columns else [])])
print(f"{len(m)} svar, {len(theme_ids)} temaer, {len(tags)} belegg")

# %% [markdown]
# ## Hyppighet per tavle og dialogtema
#
# Andel svar med temaet, per tavle (seminar) og per dialogtema.

# %%
share_board = m.groupby(m["board_id"].str[:10])[theme_ids].mean().T
share_board.index = [label[t] for t in share_board.index]
dialogue = m["dialogue_theme"].astype("string").fillna("ukjent").map(lambda d: f"Dialogtema {d}" if d != "ukjent" else "ukjent")
share_dialogue = m.groupby(dialogue)[theme_ids].mean().T
share_dialogue.index = share_board.index

fig, axes = plt.subplots(1, 2, figsize=(15, 9), sharey=True)
share_board.plot.barh(ax=axes[0], width=0.8)
axes[0].set_title("Andel svar med temaet, per tavle")
axes[0].invert_yaxis()
share_dialogue.plot.barh(ax=axes[1], width=0.8)
axes[1].set_title("Andel svar med temaet, per dialogtema")
for ax in axes:
    ax.set_xlabel("andel svar")
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
fig.tight_layout()
plt.show()

# %%
counts = pd.DataFrame({"svar": m[theme_ids].sum(), "andel": m[theme_ids].mean().round(3),
                       "belegg": tags.drop_duplicates(["post_id", "theme_id", "start", "end"]).groupby("theme_id").size()})
counts = counts.reindex(theme_ids).fillna(0)
counts.insert(0, "tema", [label[t] for t in counts.index])
counts.insert(1, "kategori", codebook.set_index("theme_id")["category"])
counts.sort_values("svar", ascending=False)

# %% [markdown]
# ## Samforekomst
#
# Hvor ofte to temaer står i samme svar. Fargen er Jaccard-indeksen
# (svar med begge / svar med minst ett av dem), tallet antall svar med begge.

# %%
X = m[theme_ids].to_numpy()
both = X.T @ X
either = X.sum(0)[:, None] + X.sum(0)[None, :] - both
jaccard = np.divide(both, either, out=np.zeros_like(both, dtype=float), where=either > 0)
np.fill_diagonal(jaccard, np.nan)

fig, ax = plt.subplots(figsize=(13, 11))
im = ax.imshow(jaccard, cmap="magma_r", vmin=0, vmax=np.nanmax(jaccard))
names = [label[t] for t in theme_ids]
ax.set_xticks(range(len(names)), names, rotation=90, fontsize=8)
ax.set_yticks(range(len(names)), names, fontsize=8)
for i in range(len(names)):
    for j in range(len(names)):
        if i != j and both[i, j]:
            ax.text(j, i, both[i, j], ha="center", va="center", fontsize=6,
                    color="white" if jaccard[i, j] > 0.6 * np.nanmax(jaccard) else "black")
fig.colorbar(im, ax=ax, shrink=0.6, label="Jaccard")
ax.set_title("Samforekomst av temaer i samme svar")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Bokmål og nynorsk
#
# Andel svar med temaet etter svarets målform (`posts.variant`). Få svar er på
# nynorsk, så forskjellene er usikre; antallet står i forklaringen.

# %%
if "variant" in m.columns:
    names_v = {"nb": "Bokmål", "nn": "Nynorsk", "mixed": "Blandet"}
    v = m["variant"].map(names_v).fillna("ukjent")
    by_variant = m.groupby(v)[theme_ids].mean().T
    by_variant.index = [label[t] for t in by_variant.index]
    sizes = v.value_counts()
    by_variant.columns = [f"{c} (n={sizes[c]})" for c in by_variant.columns]
    ax = by_variant.plot.barh(figsize=(9, 9), width=0.8)
    ax.invert_yaxis()
    ax.set_xlabel("andel svar")
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda val, _: f"{val:.0%}"))
    ax.set_title("Temaer etter målform")
    plt.tight_layout()
    plt.show()
else:
    print("posts.variant finnes ikke i denne kjøringen.")

# %% [markdown]
# ## De sterkeste sitatene per tema
#
# For hvert tema de to svarene med sterkest belegg (flest ulike belegg, sterke
# regler teller dobbelt), med belegget <mark>markert</mark>.

# %%
QUOTES = 2
blocks = []
for tid in theme_ids:
    t = tags[tags["theme_id"] == tid]
    if t.empty:
        continue
    best = sorted(((quote_score(g), pid) for pid, g in t.groupby("post_id")), key=lambda x: (-x[0], x[1]))[:QUOTES]
    items = []
    for score, pid in best:
        g = t[t["post_id"] == pid]
        text = str(responses.loc[pid, "text_clean"])
        items.append(f"<blockquote style='border-left:4px solid #bbb;margin:.4em 0;padding:.3em .8em'>"
                     f"<small>{pid} · styrke {score:g}</small><br>{excerpt_html(text, list(zip(g['start'], g['end'])), context=100, max_windows=2)}</blockquote>")
    blocks.append(f"<h4>{label[tid]} <small>({tid})</small></h4>" + "".join(items))
display(HTML("<style>mark{background:#ffe066}</style>" + "".join(blocks)))
