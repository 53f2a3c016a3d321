#!/usr/bin/python3
"""table_bytes.py DATA_DIR CLAIMS: bytes per claim of each LMDB table of a claimd data directory,
as a Markdown table (docs/data-model.md, "Bytes per claim").

Reads `mdb_stat -a` (pages per table) and `mdb_stat -ef` (pages used, free pages) from
lmdb-utils. mdb_stat does not count the pages of an MDB_DUPSORT table's sub-databases, so the
row of claim_index (the biggest DUPSORT table) is given as the live pages less every other
table's: it then also holds the sub-database pages of search_terms and dedup."""
import re
import subprocess
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: table_bytes.py DATA_DIR CLAIMS")
    data, n = sys.argv[1], int(sys.argv[2])
    tables = subprocess.run(["mdb_stat", "-a", data], capture_output=True, text=True, check=True).stdout
    env = subprocess.run(["mdb_stat", "-ef", data], capture_output=True, text=True, check=True).stdout
    psize = int(re.search(r"Page size: (\d+)", env).group(1))
    used = int(re.search(r"Number of pages used: (\d+)", env).group(1))
    free = int(re.search(r"Free pages: (\d+)", env).group(1))
    rows = []
    for block in re.split(r"Status of ", tables)[1:]:
        name = block.split("\n")[0]

        def field(label):
            m = re.search(label + r": (\d+)", block)
            return int(m.group(1)) if m else 0
        rows.append([field("Branch pages") + field("Leaf pages") + field("Overflow pages"), name, field("Entries")])
    live = used - free - 2                      # the two meta pages
    rest = [r for r in rows if r[1] == "claim_index"]
    if rest:
        rest[0][0] = live - sum(r[0] for r in rows if r is not rest[0])
    print("| table | entries | MiB | bytes/claim |\n| --- | ---: | ---: | ---: |")
    for pages, name, entries in sorted(rows, reverse=True):
        if pages > 2:
            print("| `%s` | %d | %.1f | %.0f |" % (name, entries, pages * psize / 2**20, pages * psize / n))
    print("| all tables (live pages) | | %.1f | %.0f |" % (live * psize / 2**20, live * psize / n))
    print("| free pages (reused by later writes) | | %.1f | %.0f |" % (free * psize / 2**20, free * psize / n))


main()
