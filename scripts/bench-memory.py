#!/usr/bin/env python3
"""Peak memory of `ctxlens compress` against input size, per content type (issue target: at most
4x the input above the fixed cost). Inputs are real fixtures repeated to 1 MB and 10 MB (and JSON
arrays of 1e5 and 1e6 numbers, and of 2-byte numbers and empty arrays, whose cost is all per
item, the same numbers 127 arrays deep, booleans with arrays among them, arrays of small
objects and of small arrays, unique small rows, JSON Lines of small objects, rows with a nested
array, wide rows as an array and as JSON Lines, rows beside 8 numbers, ten pages of rows, one
page-sized row among 2,000 small ones, two page-sized JSON Lines among 1,100, 1,100 large rows,
100 large rows, eight pages as JSON Lines, numbers with a copy every fifth item, a map of unique
keys, a lockfile's packages, an object of mixed values and a map with one large array), written under
target/bench-data. The fixed cost (the binary, the tokenizer tables, about 35 MB of heap, and tree-sitter for code) is
the same at both sizes, so the growth per input byte is the difference of the two peaks over the
difference of the two sizes: the last column. Usage: scripts/bench-memory.py (builds the release
binary)."""
import json
import pathlib
import subprocess

root = pathlib.Path(__file__).resolve().parent.parent
subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=root, check=True)
binary = root / "target" / "release" / "ctxlens"
data = root / "target" / "bench-data"
data.mkdir(parents=True, exist_ok=True)


def grow(unit, size):
    reps = max(1, size // max(1, len(unit)))
    return unit * reps


def inputs(size):
    fx = root / "fixtures"
    rows = json.loads((fx / "json/pip-inspect.json").read_text())["installed"]
    n = max(1, size // max(1, len(json.dumps(rows))))
    yield "json", json.dumps(rows * n)
    yield "log", grow((fx / "log/python-service.log").read_text(), size)
    yield "search", grow((fx / "search/grep-serde-json-fn.txt").read_text(), size)
    yield "diff", grow((fx / "diff/requests-2.31.0-2.32.3.git.diff").read_text(), size)
    yield "code", grow((fx / "code/requests-sessions.py").read_text(), size)


def peak_kb(path, engine):
    run = subprocess.run(
        ["/usr/bin/time", "-f", "%M", binary, "compress", "--engine", engine, "--stats", "json", path],
        capture_output=True,
        check=True,
    )
    lines = run.stderr.decode().strip().splitlines()
    return int(lines[-1]), json.loads(lines[-2])


pairs = {}


def add(label, name, size, text):
    """Writes one input of a row: `text` as `mem-json-<size>MB-<name>`."""
    p = data / f"mem-json-{size >> 20}MB-{name}"
    p.write_text(text)
    pairs.setdefault(label, []).append((f"{size >> 20} MB", p))


for size in (1 << 20, 10 << 20):
    for kind, text in inputs(size):
        p = data / f"mem-{kind}-{size >> 20}MB"
        p.write_text(text)
        pairs.setdefault(kind, []).append((f"{size >> 20} MB", p))
for count in (100_000, 1_000_000):
    p = data / f"mem-json-{count:.0e}-numbers".replace("+0", "")
    p.write_text(json.dumps(list(range(count))))
    pairs.setdefault("json, numbers", []).append((f"{count:.0e}".replace("+0", ""), p))
# arrays whose cost is all per item: 1 MB and 10 MB of `1,` and of `[],`
for label, item in (("json, 2-byte numbers", "1"), ("json, empty arrays", "[]")):
    for size in (1 << 20, 10 << 20):
        add(label, f"of-{'ones' if item == '1' else 'empties'}", size, "[" + ",".join([item] * (size // (len(item) + 1))) + "]")
# arrays of small containers (at most 7 atoms), read lean from the text as atoms are: copies of
# one, unique rows that are all kept, and JSON Lines of small objects
for label, item in (("json, small objects", '{"a":1}'), ("json, small arrays", "[1]")):
    for size in (1 << 20, 10 << 20):
        add(label, f"of-{'objects' if item.startswith('{') else 'arrays'}", size, "[" + ",".join([item] * (size // (len(item) + 1))) + "]")
for size in (1 << 20, 10 << 20):
    row = '{{"id":{0},"name":"user {0}","ok":{1}}}'
    add("json, unique small rows (all kept)", "unique-rows", size, "[" + ",".join(row.format(i, "true" if i % 3 else "false") for i in range(size // 40)) + "]")
    add("json, JSON Lines of small objects", "lines", size, "".join(f'{{"a":{i % 3}}}\n' for i in range(size // 8)))
# rows that are not small: a nested array in each (`{"id":1,"a":[1]}`), and wide rows of 12 fields
# with a nested object, as an array and as JSON Lines: read from the text as small ones are
for size in (1 << 20, 10 << 20):
    add("json, rows with a nested array", "nested-rows", size, "[" + ",".join(f'{{"id":{i},"a":[{i % 3}]}}' for i in range(size // 17)) + "]")
    wide = (
        '{{"id":{0},"name":"user {0}","email":"u{0}@example.com","active":true,"score":{1}.5,"team":"t{2}",'
        '"role":"dev","city":"Paris","zip":"750{3:02d}","age":{4},"tags":["a","b"],"meta":{{"x":1}}}}'
    )
    rows = [wide.format(i, i % 97, i % 7, i % 100, i % 60) for i in range(size // 200)]
    add("json, wide rows", "wide-rows", size, "[" + ",".join(rows) + "]")
    add("json, JSON Lines of wide rows", "wide-lines", size, "".join(r + "\n" for r in rows))
    # the rows under an array of 9 items, the others 8 numbers: a group too small to plan, so
    # the rows are not read whole to be compared
    add("json, rows beside 8 numbers", "rows-beside-numbers", size, "[[" + ",".join(f'{{"id":{i},"a":[{i % 3}]}}' for i in range(size // 17)) + "],1,2,3,4,5,6,7,8]")
# ten pages of rows (`[{"page":1,"items":[…]},…]`): an array of 10 objects whose planner walks
# each page from its span tree; and distinct numbers with a copy every fifth item, whose drops
# alternate between copies and sampled-out items
for size in (1 << 20, 10 << 20):
    per_page = size // 17 // 10
    pages = [
        f'{{"page":{p},"items":[' + ",".join(f'{{"id":{i},"a":[{i % 3}]}}' for i in range(per_page)) + "]}"
        for p in range(10)
    ]
    add("json, ten pages of rows", "pages", size, "[" + ",".join(pages) + "]")
    # a long array of 2,000 small rows with one row among them that holds the rest: read lean
    # from its text as a page is
    big = '{"id":-1,"items":[' + ",".join(f'{{"id":{i},"a":[{i % 3}]}}' for i in range(size // 17)) + "]}"
    small = [f'{{"id":{i}}}' for i in range(2000)]
    add("json, one page-sized row among 2,000", "big-row", size, "[" + ",".join(small[:1000] + [big] + small[1000:]) + "]")
    # the same as JSON Lines, the page-sized line split in two among 1,100 small ones: counted
    # before its values are built, its scan lean from the first line
    half = '{"id":-1,"items":[' + ",".join(f'{{"id":{i},"a":[{i % 3}]}}' for i in range(size // 34)) + "]}"
    lines = small[:500] + [half] + small[500:1000] + [half] + small[1000:1100]
    add("json, two page-sized lines among 1,100", "big-lines", size, "\n".join(lines) + "\n")
    # 1,100 large rows: a long array whose 1,024th item comes late in its text. The scan looks
    # ahead for it once the rows made many nodes, and the parse beside waits to be told
    per_row = size // 1100 // 20
    rows = [
        f'{{"id":{i},"items":[' + ",".join(f'{{"k":{j},"v":"s{j}"}}' for j in range(per_row)) + "]}"
        for i in range(1100)
    ]
    add("json, 1,100 large rows", "large-rows", size, "[" + ",".join(rows) + "]")
    # 100 large rows, each groups of 100 small objects: no array in it is long, and it is lean
    # because its first 64 rows take more than 256 KB
    group = "[" + ",".join(f'{{"k":{j},"v":"s{j % 10}"}}' for j in range(100)) + "]"
    rows = [f'{{"id":{i},"groups":[' + ",".join([group] * (size // 100 // 1700)) + "]}" for i in range(100)]
    add("json, 100 large rows", "short-large-rows", size, '{"kind":"List","items":[' + ",".join(rows) + "]}")
    add("json, numbers with a copy every fifth", "alternating", size, "[" + ",".join("1E5" if i % 5 == 0 else str(100_000_007 + i * 7_919) for i in range(size // 10)) + "]")
# objects of many members in no array: a map of unique keys and a lockfile's packages, read member
# by member from the text and sampled; and an object of mixed values, which is kept whole
for size in (1 << 20, 10 << 20):
    add("json, a map of unique keys", "map", size, "{" + ",".join(f'"key{i:07d}":"value number {i}"' for i in range(size // 34)) + "}")
    package = (
        '"node_modules/pkg-{0}":{{"version":"1.{1}.0","resolved":"https://registry.npmjs.org/pkg-{0}/-/pkg-{0}-1.0.0.tgz",'
        '"integrity":"sha512-{0:040d}","dev":{2},"license":"MIT"}}'
    )
    packages = ",".join(package.format(i, i % 30, "true" if i % 3 else "false") for i in range(size // 200))
    add("json, a lockfile's packages", "lockfile", size, '{"name":"app","lockfileVersion":3,"packages":{' + packages + "}}")
    mixed = ",".join(f'"k{i}":' + ("[1,2]", '{"a":1}', "1.5", "null")[i % 4] for i in range(size // 12))
    add("json, an object of mixed values (kept whole)", "mixed-object", size, "{" + mixed + "}")
    # a map of 1,024 numbers, one of whose members is a long array of rows that holds most of the
    # text: its error words are read from its text (it was built whole for them, 3x before)
    rows = ",".join(f'{{"id":{i},"name":"row {i}"}}' for i in range(size // 30))
    members = [f'"k{i}":{i}' for i in range(1023)] + [f'"rows":[{rows}]']
    add("json, a map with one large array", "map-with-array", size, "{" + ",".join(members) + "}")
# eight pages as JSON Lines, a page a line, at 2 MB and 10 MB: a stream of more than 1 MB is lean,
# each line read from its text when asked for (one of at most 1 MB is read once, whole)
for size in (2 << 20, 10 << 20):
    rows = ",".join(f'{{"id":{i},"a":[{i % 3}]}}' for i in range(size // 17 // 8))
    add("json, eight pages as JSON Lines", "page-lines", size, "".join(f'{{"page":{n},"items":[{rows}]}}\n' for n in range(8)))
# the same `1,` under 127 arrays, and `true,` with a `[1]` every 1,000 items past the 1,100th: a
# long array of atoms stays lean at any depth and when containers follow
for label, name in (("json, 2-byte numbers 127 arrays deep", "deep"), ("json, booleans and late arrays", "late")):
    for size in (1 << 20, 10 << 20):
        if name == "deep":
            add(label, name, size, "[" * 127 + ",".join(["1"] * ((size - 254) // 2)) + "]" * 127)
        else:
            items = ["true"] * (size // 5)
            items[1100::1000] = ["[1]"] * len(items[1100::1000])
            add(label, name, size, "[" + ",".join(items) + "]")
print("| input | small: size, peak | large: size, peak | growth per input byte |")
print("|---|---|---|---|")
for label, ((small, ps), (large, pl)) in pairs.items():
    engine = label.split(",")[0]
    (ks, _), (kl, _) = peak_kb(ps, engine), peak_kb(pl, engine)
    ss, sl = ps.stat().st_size, pl.stat().st_size
    growth = max(0, kl - ks) * 1024 / (sl - ss)
    print(
        f"| {label} | {small}: {ss / 1048576:.1f} MB, {ks / 1024:.0f} MB "
        f"| {large}: {sl / 1048576:.1f} MB, {kl / 1024:.0f} MB | {growth:.1f}× |"
    )


# Captures through `ctxlens blocks` (the loader and the block list, no engine): a Claude Code
# transcript of alternating tool calls and results, and an Anthropic request body of as many
# messages, at 2 MB and 10 MB (the token counter's tables, about 70 MB, are first loaded between 1
# and 2 MB of blocks). Same columns as above.
def transcript(size):
    lines, parent, i = [], None, 0
    while sum(map(len, lines)) < size:
        uuid = f"u{i:08d}"
        if i % 2 == 0:
            message = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{i}", "content": f"line of output {i} " * 4}]}
        else:
            message = {"id": f"msg_{i}", "role": "assistant", "model": "claude-sonnet-4-5", "content": [
                {"type": "text", "text": f"I will run it {i}"},
                {"type": "tool_use", "id": f"t{i + 1}", "name": "Bash", "input": {"command": f"ls -la /tmp/{i}"}}]}
        kind = message["role"]
        lines.append(json.dumps({"parentUuid": parent, "isSidechain": False, "type": kind, "message": message, "uuid": uuid}) + "\n")
        parent, i = uuid, i + 1
    return "".join(lines)


def body(size):
    message = lambda i: {"role": "user" if i % 2 == 0 else "assistant", "content": f"message {i}: " + "words of a turn " * 3}
    n = size // len(json.dumps(message(10)))
    return json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 1024, "messages": [message(i) for i in range(n)]})


print()
print("| capture (`ctxlens blocks`) | small: size, peak | large: size, peak | growth per input byte |")
print("|---|---|---|---|")
for label, make, ext in (("Claude Code transcript", transcript, "jsonl"), ("Anthropic request body", body, "json")):
    peaks = []
    for size in (2 << 20, 10 << 20):
        p = data / f"mem-capture-{size >> 20}MB-{make.__name__}.{ext}"
        p.write_text(make(size))
        run = subprocess.run(["/usr/bin/time", "-f", "%M", binary, "blocks", p], capture_output=True, check=True)
        peaks.append((p.stat().st_size, int(run.stderr.decode().strip().splitlines()[-1])))
    (ss, ks), (sl, kl) = peaks
    growth = max(0, kl - ks) * 1024 / (sl - ss)
    print(f"| {label} | 2 MB: {ss / 1048576:.1f} MB, {ks / 1024:.0f} MB | 10 MB: {sl / 1048576:.1f} MB, {kl / 1024:.0f} MB | {growth:.1f}× |")
