"""Generate ``docs/categories.md`` from ``category_maps/46.yaml``, ``category_maps/xl.yaml``,
the shipped counts and two benchmark results.

The counts come from ``avsynth/data`` (LVIS v1 train image/instance counts, VGGSound clip
counts, AVSBench-S4 labels); the reason for each category is kept here (the 46) and in
``scripts/categories_xl.py`` (the categories xl adds), next to the text that explains the
overall criteria. The script fails if a category has no reason or a reason names a category
that is not in the map, so the document cannot drift from the maps. The xl map's full-scale
numbers come from ``bench/xl_scale.json`` (``bench/xl_scale.py``) and the quality of
``avsynth suggest-map`` from ``bench/suggest_quality.json`` (``bench/suggest_quality.py``).

Usage::

    .venv/bin/python scripts/make_categories_doc.py            # writes docs/categories.md
    .venv/bin/python scripts/make_categories_doc.py --check    # exit 1 if it is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from categories_xl import growing_lines, quality_lines, xl_lines  # noqa: E402

from avsynth.catmap import (  # noqa: E402
    Vocabulary,
    check_map,
    load_map,
    s4_labels,
    s4_to_vggsound,
)

TARGET = 62_609  # 52,609 train + 5,000 val + 5,000 test triplets

REASONS = {
    "ambulance": "Paper category. The siren is unmistakable; LVIS has few ambulances, but "
    "Open Images has its own class.",
    "cat": "Paper category. Meowing, purring, hissing and growling are all made by the cat "
    "itself; LVIS kitten is added.",
    "dog": "Paper category and the project page's example (LVIS dog with 'dog barking'). Six "
    "dog sounds; LVIS puppy is added.",
    "bus": "Paper category. 'driving buses' is the bus's engine; LVIS school_bus is added.",
    "horse": "Paper category. The clip-clop of hooves and neighing come from the horse; LVIS "
    "pony is added.",
    "lion": "Paper category. Roaring and growling. Open Images adds to the 69 LVIS instances.",
    "bird": "Paper category. Generic songbird calls go here; birds with their own category "
    "(chicken, duck, goose, owl) keep their own calls.",
    "guitar": "Paper category. Acoustic, electric, bass and slide guitar all look like a guitar.",
    "piano": "Paper category. 'playing piano' only: organs and synthesizers sound different.",
    "computer_keyboard": "Paper category. Typing sounds come from the keyboard.",
    "car": "Cars are common in LVIS and Open Images. Engine, passing-by and horn sounds; "
    "LVIS race_car is added so that S4 'race car' is covered.",
    "police_car": "The siren belongs to the patrol car (LVIS police_cruiser). There is no Open "
    "Images class.",
    "fire_engine": "The fire-truck siren belongs to the fire engine (LVIS only).",
    "motorcycle": "The engine sound of a motorcycle. Plenty of LVIS instances; LVIS dirt_bike "
    "is added.",
    "train": "Wagons rolling, horns, whistles and squealing wheels all come from the train; "
    "LVIS bullet_train is added.",
    "airplane": "Flyby and engine noise. LVIS jet_plane and fighter_jet are added, and Open "
    "Images 'Fixed-wing aircraft' (called Airplane before V7).",
    "helicopter": "An S4 category: rotor noise.",
    "boat": "Motorboat engines. LVIS has many boats (boat.n.01 includes ship_(boat)).",
    "chainsaw": "An S4 category ('chainsawing trees'). Open Images only: LVIS has no chainsaw.",
    "lawn_mower": "An S4 category ('lawn mowing'). LVIS has few (12 instances) and Open Images "
    "none, so expect this category to be small.",
    "gun": "An S4 category ('cap gun shooting'). The sound of shots comes from the gun; LVIS "
    "gun, pistol, rifle and machine_gun, with Open Images Handgun, Rifle and Shotgun.",
    "toilet": "Flushing comes from the toilet. Common in LVIS and Open Images.",
    "computer_mouse": "Clicks come from the mouse. Common in LVIS.",
    "hair_dryer": "The blower noise comes from the dryer.",
    "man": "S4 'male speech' (and male singing). Open Images only, because LVIS 'person' "
    "lists man, woman and baby as mere synonyms and cannot be split by voice.",
    "woman": "S4 'female singing' (and female speech). Open Images only, for the same reason "
    "as man.",
    "cow": "Mooing, lowing and bellowing. LVIS cow (beef.n.01), calf and bull, with Open "
    "Images Cattle and Bull.",
    "sheep": "Bleating. LVIS has many sheep, lambs and rams.",
    "goat": "Bleating. Goat is a category of its own, apart from sheep, in both LVIS and VGGSound.",
    "pig": "Oinking. In LVIS the category is named 'hog'; 'pig' is one of its synonyms.",
    "chicken": "Crowing and clucking. LVIS chicken_(animal) and cock (rooster).",
    "duck": "Quacking. LVIS duckling is added.",
    "goose": "Honking. Geese are common in both datasets.",
    "telephone": (
        "Desk and mobile phones ringing or buzzing: a sound made by the object itself, with"
        " many single instances in LVIS (pigeon was dropped: its LVIS instances come in"
        " flocks, so no image shows one pigeon and every one was excluded)."
    ),
    "owl": "Hooting, a call that only owls make.",
    "elephant": "Trumpeting. Common in LVIS and Open Images.",
    "zebra": "Braying. Common in LVIS and Open Images; VGGSound has few clips.",
    "frog": "Croaking. LVIS frog has toad as a synonym.",
    "violin": "An S4 category. LVIS has only 10 instances; Open Images has its own class.",
    "cello": "A bowed instrument with a distinct look and sound. Open Images only.",
    "drum": "Drum kit, snare, bass drum and hand drums. S4 'playing tabla' is covered here, "
    "because a tabla is a pair of hand drums and neither dataset has a tabla class.",
    "trumpet": "Trumpet and cornet. In LVIS the category is 'cornet'; 'trumpet' is one of its "
    "synonyms.",
    "saxophone": "A distinct reed sound; mostly Open Images (LVIS: 13 instances).",
    "flute": "A clear wind-instrument tone. Open Images only: LVIS has no flute.",
    "accordion": "A distinct reed sound and look. Open Images only: LVIS has no accordion.",
    "harmonica": "A small object with a distinct sound. Open Images only: LVIS has no harmonica.",
}

S4_NOT_COVERED = {
    "baby_laughter": "LVIS has 'baby' only as a synonym of 'person', and the Open Images "
    "boxable list has no baby class",
    "coyote_howling": "no coyote in LVIS or the Open Images boxable list",
    "playing_glockenspiel": "no glockenspiel in LVIS or the Open Images boxable list",
    "playing_ukulele": "no ukulele in LVIS or the Open Images boxable list; mapping it to "
    "guitar would teach a wrong look",
}


def _fmt(n: int) -> str:
    return f"{n:,}"


def render(map_path: Path, xl_path: Path, scale: Path, quality: Path) -> str:
    """The whole document: the 46 map, how to grow a map, suggest-map's quality, the xl map."""
    text = render_46(map_path)
    xl = load_map(xl_path)
    problems = check_map(xl_path)
    if problems:
        raise SystemExit("xl map is invalid:\n" + "\n".join(problems))
    base = load_map(map_path)
    if xl.categories[: len(base.categories)] != base.categories:
        raise SystemExit(f"{xl_path} must start with the categories of {map_path}, unchanged")
    extra = (
        growing_lines()
        + quality_lines(quality)
        + xl_lines(xl, Vocabulary.shipped(), REASONS, scale)
    )
    return text + "\n".join(extra)


def render_46(map_path: Path) -> str:
    cmap = load_map(map_path)
    problems = check_map(map_path)
    if problems:
        raise SystemExit("map is invalid:\n" + "\n".join(problems))
    missing = [c.name for c in cmap.categories if c.name not in REASONS]
    extra = sorted(set(REASONS) - set(cmap.names))
    if missing or extra:
        raise SystemExit(f"reasons missing for {missing}, or for no category: {extra}")
    vocab = Vocabulary.shipped()
    label_to_s4 = {s4_to_vggsound(s): s for s in s4_labels()}
    covered = [s for s in s4_labels() if s4_to_vggsound(s) in cmap.vggsound_to_category()]
    uncovered = [s for s in s4_labels() if s not in covered]
    if set(uncovered) != set(S4_NOT_COVERED):
        raise SystemExit(f"S4_NOT_COVERED out of date: {uncovered}")

    rows, lvis_inst, lvis_only, oi_only = [], 0, [], []
    for c in cmap.categories:
        infos = [vocab.lvis[r.name] for r in c.lvis]
        inst = sum(i.instance_count for i in infos)
        lvis_inst += inst
        if not c.openimages:
            lvis_only.append(c.name)
        if not c.lvis:
            oi_only.append(c.name)
        lvis_cell = "<br>".join(
            f"`{i.name}` ({i.synset}, {i.frequency}): {_fmt(i.image_count)} img / "
            f"{_fmt(i.instance_count)} inst"
            for i in infos
        )
        oi_cell = "<br>".join(f"`{r.mid}` {r.name}" for r in c.openimages)
        vgg_cell = "<br>".join(
            f"{label} ({_fmt(vocab.vggsound[label])})"
            + (f" **S4:{label_to_s4[label]}**" if label in label_to_s4 else "")
            for label in c.vggsound
        )
        rows.append(
            f"| {c.name} | {lvis_cell or '–'} | {_fmt(inst) if infos else '–'} | "
            f"{oi_cell or '–'} | {vgg_cell} |"
        )
    n_labels = len(cmap.vggsound_to_category())
    clips = sum(vocab.vggsound[label] for label in cmap.vggsound_to_category())
    out = [
        "# The 46 categories (`category_maps/46.yaml`)",
        "",
        "<!-- generated by scripts/make_categories_doc.py from category_maps/46.yaml, "
        "category_maps/xl.yaml, avsynth/data, bench/xl_scale.json and "
        "bench/suggest_quality.json; do not edit by hand -->",
        "",
        f"The map `{cmap.name}` (schema version {cmap.schema_version}) has "
        f"{len(cmap.categories)} categories. Each category lists LVIS v1 categories (name and "
        "WordNet synset), Open Images classes (MID and display name) and one or more exact "
        "VGGSound labels. The map uses names, never numeric ids. "
        f"In total the map uses {sum(len(c.lvis) for c in cmap.categories)} LVIS categories, "
        f"{sum(len(c.openimages) for c in cmap.categories)} Open Images classes and "
        f"{n_labels} VGGSound labels ({_fmt(clips)} clips in the whole of VGGSound). "
        "Check it with `avsynth check-map category_maps/46.yaml`. A larger map, "
        "`category_maps/xl.yaml`, extends it (see *The xl map* below), and *Growing a map* "
        "explains how to add categories with `avsynth suggest-map`.",
        "",
        "## How the categories were chosen",
        "",
        "1. **The paper's ten.** The paper names ambulance, cat, dog, bus, horse, lion, bird, "
        "guitar, piano and computer keyboard (Table 2). The rest of its list of 46 is not "
        "public: its `annotations.csv` and `category_for_vggsound_audios.pkl` are on Zenodo, "
        "not on GitHub. The other 36 categories here are our own choice.",
        "2. **Zero-shot transfer to AVSBench-S4.** Where an S4 label has a visual source, its "
        f"VGGSound label is in the map: {len(covered)} of the {len(s4_labels())} S4 labels are "
        "covered (marked **S4** below).",
        "3. **Object-bound sound.** The object in the mask makes the sound: an animal's call, "
        "an instrument being played, an engine, a siren, a machine. Ambient sounds (rain, "
        "wind, crowds) and sounds with no single object (fireworks, applause) are left out.",
        "4. **Enough masks.** Categories with many LVIS train instances are preferred. Where "
        "LVIS has few or none (cello, flute, accordion, harmonica, chainsaw), the category is "
        "kept only if Open Images V7 has a boxable class for it. Every category has at least "
        "one visual source and at least one VGGSound label.",
        "5. **One owner per label.** No VGGSound label, LVIS category or Open Images MID "
        "serves two categories. Where it fits, several labels feed one object (dog: barking, "
        "howling, growling, bow-wow, whimpering, baying). Closely related LVIS categories are "
        "merged (dog + puppy, cow + calf + bull).",
        "6. **LVIS names as LVIS writes them.** `car_(automobile)`, `bus_(vehicle)`, "
        "`drum_(musical_instrument)`, and `cornet` for the trumpet and `hog` for the pig (in "
        "LVIS, trumpet and pig are synonyms). LVIS `person` is not used: baby, man and woman "
        "are only synonyms of it. The validator checks each synset against LVIS.",
        "",
        "## Instances available",
        "",
        f"- **LVIS v1 train**: the LVIS categories in this map have **{_fmt(lvis_inst)} "
        f"instances** in total ({lvis_inst / TARGET:.2f}× the {_fmt(TARGET)} triplets of the "
        "52,609 / 5,000 / 5,000 splits), before any Open Images masks or LVIS val. The counts "
        "come from the Detic `lvis_v1_train_cat_info.json`, which agrees with detectron2's "
        "image counts (see `avsynth/data/ATTRIBUTION.md`). They are very uneven (sheep, "
        "bird, car and boat have about 10,000 each; violin has 10), so the build must cap or "
        "weight per category. Some instances are tiny (flocks, herds); the build may also "
        "filter by mask area.",
        "- **Open Images V7**: masks per class are not in the reference data, so no counts "
        "are given here. The MIDs are checked against the **V7 boxable class list (601 "
        "classes)**. The list of the 350 classes that have segmentation masks "
        "(`classes-segmentation.txt`) was not available. A MID in this map may therefore "
        "have no masks; the build counts what it finds.",
        f"- Categories with **LVIS only**: {', '.join(lvis_only)}. With **Open Images only**: "
        f"{', '.join(oi_only)}.",
        "",
        "## AVSBench-S4 coverage",
        "",
        f"Covered ({len(covered)}/{len(s4_labels())}): "
        + ", ".join(f"`{s}`" for s in covered)
        + ".",
        "",
        "Not covered:",
        "",
        *[f"- `{s}`: {S4_NOT_COVERED[s]}." for s in uncovered],
        "",
        "## Categories",
        "",
        "LVIS columns: name (synset, frequency r/c/f): train images / instances. VGGSound: "
        "exact label (clips in VGGSound).",
        "",
        "| category | LVIS v1 | LVIS inst. | Open Images V7 | VGGSound labels |",
        "|---|---|---:|---|---|",
        *rows,
        "",
        "## Why each category",
        "",
        *[f"- **{c.name}**: {REASONS[c.name]}" for c in cmap.categories],
        "",
        "## Checking a map",
        "",
        "`avsynth check-map MAP` checks the structure (schema version, keys, types, empty "
        "lists, no label or class used twice) and every label against the lists shipped in "
        "`avsynth/data` (LVIS v1: 1203 categories; Open Images V7 boxable: 601 classes; "
        "VGGSound: 309 labels). To check against your own downloads instead, pass their "
        "roots as to `avsynth build`: `--lvis DIR` (its `lvis_v1_val.json`, else "
        "`lvis_v1_train.json`; only the `categories` are read), `--openimages DIR` (its "
        "`oidv7-class-descriptions-boxable.csv`) and/or `--vggsound DIR` (its "
        "`vggsound.csv`). The older file options `--lvis-json`, `--openimages-classes` and "
        "`--vggsound-csv` still work and print a deprecation note. "
        "Each problem is printed on one line, with the closest "
        "real label, e.g. `category 'dog': 'dog barkng' is not a VGGSound label; did you mean "
        "'dog barking'?`. VGGSound labels that contain commas must be quoted inside YAML flow "
        'lists (`["playing violin, fiddle"]`).',
        "",
    ]
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--map", type=Path, default=REPO / "category_maps" / "46.yaml")
    ap.add_argument("--xl", type=Path, default=REPO / "category_maps" / "xl.yaml")
    ap.add_argument("--scale", type=Path, default=REPO / "bench" / "xl_scale.json")
    ap.add_argument("--quality", type=Path, default=REPO / "bench" / "suggest_quality.json")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "categories.md")
    ap.add_argument("--check", action="store_true", help="exit 1 if --out is out of date")
    args = ap.parse_args()
    text = render(args.map, args.xl, args.scale, args.quality)
    if args.check:
        current = args.out.read_text("utf-8") if args.out.exists() else ""
        if current != text:
            raise SystemExit(f"{args.out} is out of date; run scripts/make_categories_doc.py")
        print(f"{args.out}: up to date")
        return
    from avsynth.storage.atomic import atomic_write_text

    atomic_write_text(args.out, text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
