#!/usr/bin/env python3
"""Makes a text classification set from WordNet 3.0: a synset's gloss -> its lexicographer file.

Source: the Debian package wordnet-base (/usr/share/wordnet/data.{noun,verb,adj,adv}). Each
synset line holds its lexicographer file number (noun.animal, verb.motion, ...) and, after
" | ", its gloss: a definition, then examples in double quotes separated by "; ". The text of
an example is the definition alone (the examples often use the word being defined).

Output: CSV files `label,text` (a header row; the text quoted as RFC 4180 does when it holds a
comma or a quote; UTF-8) and `classes.txt` (line i: the name of label i):

  python3 data/make_wordnet.py full     -> data/wordnet-glosses/ (every lexicographer file with
      at least 500 synsets; a seeded 80/20 train/test split of each class)
  python3 data/make_wordnet.py subset   -> data/wordnet-subset/ (the shipped quickstart set:
      8 classes, 300 train and 60 test glosses each, drawn with a fixed seed)

Standard library only; the same input gives the same bytes.
"""
import csv
import io
import os
import random
import sys

SRC = "/usr/share/wordnet"
HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261205

# WordNet 3.0's lexicographer files, by number (lexnames(5WN)).
LEXNAMES = [
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact",
    "noun.attribute", "noun.body", "noun.cognition", "noun.communication", "noun.event",
    "noun.feeling", "noun.food", "noun.group", "noun.location", "noun.motive", "noun.object",
    "noun.person", "noun.phenomenon", "noun.plant", "noun.possession", "noun.process",
    "noun.quantity", "noun.relation", "noun.shape", "noun.state", "noun.substance", "noun.time",
    "verb.body", "verb.change", "verb.cognition", "verb.communication", "verb.competition",
    "verb.consumption", "verb.contact", "verb.creation", "verb.emotion", "verb.motion",
    "verb.perception", "verb.possession", "verb.social", "verb.stative", "verb.weather", "adj.ppl",
]

SUBSET_CLASSES = ["noun.animal", "noun.artifact", "noun.food", "noun.location", "noun.person",
                  "noun.plant", "verb.communication", "verb.motion"]
SUBSET_PER_CLASS = {"train": 300, "test": 60}


def definition(gloss):
    """The gloss without its quoted examples: the text before the first `; "`, trimmed."""
    cut = gloss.find('; "')
    text = gloss if cut < 0 else gloss[:cut]
    if text.startswith('"'):  # a gloss that is only an example
        return ""
    return " ".join(text.split())


def read_synsets():
    """{lexname: [definition, ...]} in file order, every part of speech."""
    by_class = {}
    for pos in ("noun", "verb", "adj", "adv"):
        path = os.path.join(SRC, "data." + pos)
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("  ") or " | " not in line:
                    continue  # the license header
                head, gloss = line.split(" | ", 1)
                lexnum = int(head.split()[1])
                text = definition(gloss.strip())
                if text:
                    by_class.setdefault(LEXNAMES[lexnum], []).append(text)
    return by_class


def write(out_dir, names, split):
    """split: {"train": [(label, text)], "test": [...]} -> CSV files and classes.txt."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "classes.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(n + "\n" for n in names))
    for part, rows in split.items():
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["label", "text"])
        w.writerows(rows)
        with open(os.path.join(out_dir, part + ".csv"), "w", encoding="utf-8", newline="\n") as f:
            f.write(buf.getvalue())
        print(f"{out_dir}/{part}.csv: {len(rows)} glosses")


def main():
    which = sys.argv[1] if len(sys.argv) > 1 else "subset"
    if not os.path.isdir(SRC):
        sys.exit(f"{SRC} is missing: install WordNet 3.0 with `sudo apt-get install -y wordnet-base` (or `make data`)")
    by_class = read_synsets()
    rng = random.Random(SEED)
    if which == "full":
        names = sorted(n for n, texts in by_class.items() if len(texts) >= 500)
        split = {"train": [], "test": []}
        for label, name in enumerate(names):
            texts = list(by_class[name])
            rng.shuffle(texts)
            cut = len(texts) * 4 // 5
            split["train"] += [(label, t) for t in texts[:cut]]
            split["test"] += [(label, t) for t in texts[cut:]]
        out = os.path.join(HERE, "wordnet-glosses")
    elif which == "subset":
        names = SUBSET_CLASSES
        split = {"train": [], "test": []}
        for label, name in enumerate(names):
            texts = rng.sample(by_class[name], SUBSET_PER_CLASS["train"] + SUBSET_PER_CLASS["test"])
            split["train"] += [(label, t) for t in texts[:SUBSET_PER_CLASS["train"]]]
            split["test"] += [(label, t) for t in texts[SUBSET_PER_CLASS["train"]:]]
        out = os.path.join(HERE, "wordnet-subset")
    else:
        sys.exit("usage: make_wordnet.py full|subset")
    for rows in split.values():
        rng.shuffle(rows)  # classes interleaved in a seeded order
    write(out, names, split)


if __name__ == "__main__":
    main()
