#!/usr/bin/env python3
"""Writes wordnet/data.{noun,verb,adj,adv}: a tiny WordNet database in the wndb(5) format of
WordNet 3.0 for the synonym reader's tests (Tests/NNTrainTests/TextAugmentationTests.swift).

Each file is WordNet's license header (it must appear on all copies), then a few real synset lines of
/usr/share/wordnet (Debian's wordnet-base), whose synset_offset field is rewritten to the line's
byte offset in the new file, as the format requires. Pointers still name WordNet 3.0's offsets:
the reader ignores them. Run from this folder: python3 make_wordnet_fixture.py
"""
import os

SOURCE = "/usr/share/wordnet"
PICK = {
    "noun": ["02958343", "02084071", "02121620", "02120997"],  # car/auto/…, dog, cat (true_cat), feline/felid
    "verb": ["00942008"],                                      # talk/speak/utter/mouth/verbalize/verbalise
    "adj": ["01382086", "00014358"],                           # large/big, abounding/galore(ip)
    "adv": ["00085811"],                                       # quickly/rapidly/speedily/chop-chop/apace
}

os.makedirs("wordnet", exist_ok=True)
for pos, offsets in PICK.items():
    with open(f"{SOURCE}/data.{pos}", "rb") as f:
        lines = f.read().split(b"\n")
    header = [l for l in lines if l.startswith(b"  ")]  # the license, which must travel with copies
    by_offset = {l[:8].decode(): l for l in lines if l[:8].isdigit()}
    out = b"".join(h + b"\n" for h in header)
    for o in offsets:
        line = by_offset[o]
        out += b"%08d" % len(out) + line[8:] + b"\n"
    with open(f"wordnet/data.{pos}", "wb") as f:
        f.write(out)
