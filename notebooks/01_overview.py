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
# # Oversikt: tavler, innlegg, grupper og kommuner
#
# Dialogseminarene om *Fremtidens kulturskole*: hva som er samlet inn, hvordan
# innleggene fordeler seg, og hvilke kommuner deltakerne kommer fra.
#
# Tabellene leses med `pipeline.load_table` fra mappen i miljøvariabelen
# `PIPELINE_OUT_DIR` (standard: `data/processed`, laget av `make all`).
# Navn er pseudonymisert i alle tabeller.

# %%
import json
import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.collections import PolyCollection

import pipeline
from pipeline import config

OUT = Path(os.environ.get("PIPELINE_OUT_DIR") or config.PROCESSED_DIR)
pd.set_option("display.max_colwidth", 80)


def table(name):
    """A table of the run, or None (with a note) when the run does not have it."""
    try:
        return pipeline.load_table(name, OUT)
    except (KeyError, FileNotFoundError) as exc:
        print(f"Tabellen {name!r} finnes ikke i {OUT}: {exc}")
        return None


boards = table("boards")
posts = table("posts")
print(f"{len(boards)} tavler, {len(posts)} innlegg fra {OUT}")

# %% [markdown]
# ## Tavler

# %%
boards[["board_id", "layout", "title", "created_at", "n_posts", "truncated"]]

# %% [markdown]
# ## Innlegg etter seksjon, type og målform

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 4))
section = posts["section"].fillna("(ingen seksjon)").value_counts().sort_index()
section.plot.barh(ax=axes[0], color="#4C72B0")
axes[0].set_title("Innlegg per seksjon")
axes[0].set_xlabel("innlegg")

kinds = pd.crosstab(posts["board_id"].str[:10], posts["kind"])
kinds.plot.bar(ax=axes[1], stacked=True, rot=0)
axes[1].set_title("Type innlegg per tavle")
axes[1].set_xlabel("tavle (dato)")

if "variant" in posts.columns:
    names = {"nb": "Bokmål", "nn": "Nynorsk", "mixed": "Blandet"}
    variant = pd.crosstab(posts["board_id"].str[:10], posts["variant"].map(names).fillna("ukjent"))
    variant.plot.bar(ax=axes[2], stacked=True, rot=0, color=["#4C72B0", "#C44E52", "#8172B2", "#999999"][: variant.shape[1]])
    axes[2].set_title("Målform per tavle")
    axes[2].set_xlabel("tavle (dato)")
else:
    axes[2].set_axis_off()
    axes[2].text(0.5, 0.5, "posts.variant mangler i denne kjøringen", ha="center")
fig.tight_layout()
plt.show()

# %%
pd.crosstab([posts["board_id"].str[:10], posts["section"].fillna("-")],
            posts["dialogue_theme"].astype("string").fillna("ukjent"), margins=True, margins_name="sum")

# %% [markdown]
# ## Grupper
#
# Gruppene som svarte, med kommunene medlemmene kommer fra (fra `groups`).

# %%
groups = table("groups")
if groups is not None:
    cols = [c for c in ["seminar", "label", "n_posts", "kommuner", "venue", "n_persons"] if c in groups.columns]
    display(groups[cols].sort_values(["seminar", "label"]).reset_index(drop=True))
    fig, ax = plt.subplots(figsize=(7, 3))
    groups.groupby("seminar")["n_posts"].describe()[["count", "mean", "max"]].plot.bar(ax=ax, rot=0)
    ax.set_title("Grupper per seminar: antall og innlegg per gruppe")
    plt.show()

# %% [markdown]
# ## Kart over deltakende kommuner
#
# Kommuner som deltakerne kommer fra (`places.role == "participant"`), farget
# etter antall innlegg der kommunen er nevnt som deltaker. Kommuner som bare er
# omtalt (`mentioned`) er skravert lyst.
#
# Kartgrunnlag: kommunegrenser 2024 fra **Kartverket**, lisens
# [CC BY 4.0](https://creativecommons.org/licenses/by/4.0/), forenklet
# (`seeds/kommuner-2024-simplified.geojson`, se `seeds/GEO.md`).

# %%
geo = json.loads((config.SEEDS_DIR / "kommuner-2024-simplified.geojson").read_text(encoding="utf-8"))
places = table("places")


def rings(geometry):
    """The outer rings of a Polygon or MultiPolygon as lists of (lon, lat)."""
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"][0]]
    if geometry["type"] == "MultiPolygon":
        return [poly[0] for poly in geometry["coordinates"]]
    return []


participant = pd.Series(dtype=int)
mentioned = set()
if places is not None:
    known = places.dropna(subset=["kommunenummer"])
    participant = known[known["role"] == "participant"].groupby("kommunenummer")["post_id"].nunique()
    mentioned = set(known.loc[known["role"] != "participant", "kommunenummer"]) - set(participant.index)

polys, values, colours = [], [], []
cmap = plt.get_cmap("viridis_r")
peak = max(int(participant.max()) if len(participant) else 1, 1)
for feature in geo["features"]:
    nr = feature["properties"].get("kommunenummer")
    if nr in participant.index:
        colour = cmap(0.15 + 0.85 * participant[nr] / peak)
    elif nr in mentioned:
        colour = "#f2d7a6"
    else:
        colour = "#eeeeee"
    for ring in rings(feature["geometry"]):
        polys.append(ring)
        colours.append(colour)

fig, ax = plt.subplots(figsize=(8, 10))
ax.add_collection(PolyCollection(polys, facecolors=colours, edgecolors="#999999", linewidths=0.2))
ax.autoscale_view()
ax.set_aspect(2.0)  # about 1/cos(60°): longitude degrees are shorter this far north
ax.set_axis_off()
ax.set_title(f"Deltakende kommuner ({len(participant)}) og omtalte kommuner ({len(mentioned)})")
sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, peak))
fig.colorbar(sm, ax=ax, shrink=0.4, label="innlegg med deltakere fra kommunen")
ax.text(0.0, 0.0, "Kartgrunnlag: Kartverket (CC BY 4.0)", transform=ax.transAxes, fontsize=8, color="#555555")
plt.show()

# %%
if places is not None:
    display(places[places["role"] == "participant"]
            .groupby(["kommunenummer", "kommunenavn", "fylkesnavn"], dropna=False)["post_id"].nunique()
            .sort_values(ascending=False).rename("innlegg").reset_index().head(30))
