#!/usr/bin/env bash
# Regenerates fixtures/ from real tools run on real inputs. The outputs are committed; this script
# is how they were made. It needs the machine's cargo, npm, pip (PyPI), python3, node, java/javac,
# git, grep and diff, and reaches only the package registries (crates.io, npm, PyPI).
#
#   scripts/make-fixtures.sh            # regenerate everything under fixtures/
#   scripts/make-fixtures.sh code       # only some sections: json log search diff code mixed
#
# Outputs differ run to run where the tools print times, versions or absolute paths; that is the
# point of real fixtures. fixtures/README.md lists each file with the command that made it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/fixtures"
WORK=$(mktemp -d /tmp/ctxlens-fixtures.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"/{json,log,search,diff,prose,code,mixed}
export CARGO_TERM_COLOR=never NO_COLOR=1
SECTIONS="${*:-json log search diff code mixed}"
want() { [[ " $SECTIONS " == *" $1 "* ]]; }

if want json; then
echo "== json"
cargo metadata --format-version 1 --manifest-path "$ROOT/Cargo.toml" > "$OUT/json/cargo-metadata.json"
npm view typescript --json > "$OUT/json/npm-view-typescript.json"
npm view express --json > "$OUT/json/npm-view-express.json"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q pytest==8.3.3 requests==2.32.3
"$WORK/venv/bin/pip" inspect > "$OUT/json/pip-inspect.json"

fi

if want log; then
echo "== log: a Rust crate with real compile errors, built verbose, and its clippy lints"
mkdir -p "$WORK/broken/src"
cat > "$WORK/broken/Cargo.toml" <<'EOF'
[package]
name = "broken"
version = "0.1.0"
edition = "2021"

[dependencies]
serde_json = "1"
regex = "1"
EOF
cat > "$WORK/broken/src/main.rs" <<'EOF'
use std::collections::HashMap;

fn parse(s: &str) -> i32 {
    let n: i32 = s.len();
    n
}

fn consume(v: Vec<String>) -> usize {
    v.len()
}

fn main() {
    let names = vec!["a".to_string()];
    let unused = 5;
    consume(names);
    println!("{}", names.len());
    let m: HashMap<String, i32> = HashMap::new();
    m.insert("k".to_string(), parse("x"));
    let re = regex::Regex::new("a+").unwrap();
    re.find_all("aaa");
}
EOF
(cd "$WORK/broken" && cargo build -v -j 2 > "$OUT/log/cargo-build-verbose-errors.log" 2>&1 || true)
mkdir -p "$WORK/lints/src"
cat > "$WORK/lints/Cargo.toml" <<'EOF'
[package]
name = "lints"
version = "0.1.0"
edition = "2021"

[dependencies]
EOF
cat > "$WORK/lints/src/main.rs" <<'EOF'
fn total(v: &Vec<i32>) -> i32 {
    let mut t = 0;
    for i in 0..v.len() {
        t = t + v[i];
    }
    return t;
}

fn name_len(s: &String) -> usize {
    if s.len() == 0 { return 0; }
    s.clone().len()
}

fn main() {
    let v = vec![1, 2, 3];
    let x = total(&v);
    let s = String::from("hi");
    if x == x {
        println!("{}", name_len(&s));
    }
    let _y = (x as i64) as i64;
    let r: Result<i32, ()> = Ok(1);
    match r {
        Ok(v) => println!("{}", v),
        Err(_) => {}
    }
    let opt = Some(3);
    if opt.is_some() {
        println!("{}", opt.unwrap());
    }
}
EOF
(cd "$WORK/lints" && cargo clippy -j 2 -- -W clippy::pedantic > "$OUT/log/cargo-clippy.log" 2>&1 || true)
# the same broken build as a terminal shows it (through a pseudo-terminal: colour codes and the
# carriage-return progress bar are in the file), which is how agents capture terminal output
(cd "$WORK/broken" && cargo clean -q && script -qec "cargo build -j 2 --color always" /dev/null > "$OUT/log/cargo-build-terminal.log" 2>&1 || true)

echo "== log: npm, Node.js and pip output that is no line-per-record log"
mkdir -p "$WORK/npmt" && (cd "$WORK/npmt" && npm init -y > /dev/null && npm install express@99.99.99 > "$OUT/log/npm-etarget.log" 2>&1 || true)
cat > "$WORK/crash.js" <<'EOF'
function parseOrder(raw) {
  return JSON.parse(raw).items.map((i) => i.price * i.qty);
}
function handle(req) {
  const totals = parseOrder(req.body);
  return totals.reduce((a, b) => a + b, 0);
}
console.log("server listening on :8080");
console.log("GET /health 200 1ms");
handle({ body: '{"id": 7}' });
EOF
(cd "$WORK" && node crash.js > "$OUT/log/node-uncaught.log" 2>&1 || true)
pip install -v --no-deps --no-cache-dir --no-binary :all: --target "$WORK/piptarget" markupsafe==2.1.5 > "$OUT/log/pip-install-verbose.log" 2>&1 || true

echo "== log: pytest run with failures"
mkdir -p "$WORK/pyproj/tests"
cat > "$WORK/pyproj/inventory.py" <<'EOF'
class Inventory:
    def __init__(self):
        self.items = {}

    def add(self, sku, qty):
        if qty < 0:
            raise ValueError(f"negative quantity for {sku}: {qty}")
        self.items[sku] = self.items.get(sku, 0) + qty

    def remove(self, sku, qty):
        have = self.items[sku]
        self.items[sku] = have - qty
        return self.items[sku]

    def ratio(self, a, b):
        return self.items[a] / self.items[b]
EOF
cat > "$WORK/pyproj/tests/test_inventory.py" <<'EOF'
import pytest
from inventory import Inventory

@pytest.mark.parametrize("n", range(150))
def test_add_many(n):
    inv = Inventory()
    inv.add(f"sku{n}", n)
    assert inv.items[f"sku{n}"] == n

@pytest.mark.parametrize("n", range(40))
def test_remove(n):
    inv = Inventory()
    inv.add("a", 10)
    left = inv.remove("a", n % 12)
    assert left >= 0, f"stock went negative removing {n % 12}"

def test_remove_unknown():
    Inventory().remove("ghost", 1)

def test_ratio_zero():
    inv = Inventory()
    inv.add("a", 1)
    inv.add("b", 0)
    assert inv.ratio("a", "b") == 0

def test_negative():
    Inventory().add("x", -1)
EOF
(cd "$WORK/pyproj" && PYTHONPATH=. "$WORK/venv/bin/python" -m pytest -v -p no:cacheprovider tests > "$OUT/log/pytest-failures.log" 2>&1 || true)

echo "== log: system package logs from this machine"
cp /var/log/dpkg.log "$OUT/log/dpkg.log"
cp /var/log/apt/term.log "$OUT/log/apt-term.log"

echo "== log: a Python service logging with tracebacks"
cat > "$WORK/service.py" <<'EOF'
import json, logging, random
logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.DEBUG)
log = logging.getLogger("orders")
random.seed(7)

def price(order):
    return order["qty"] * order["unit_price"]

def handle(order):
    try:
        total = price(order)
        if total > 900:
            log.warning("order %s total %.2f above review threshold", order["id"], total)
        log.info("order %s processed total=%.2f", order["id"], total)
    except KeyError:
        log.exception("order %s is missing a field", order.get("id"))
    except TypeError as e:
        try:
            raise RuntimeError(f"cannot price order {order.get('id')}") from e
        except RuntimeError:
            log.exception("pricing failed")

for i in range(400):
    log.debug("poll queue depth=%d", random.randint(0, 40))
    order = {"id": 1000 + i, "qty": random.randint(1, 9), "unit_price": round(random.uniform(1, 120), 2)}
    if i == 137:
        del order["unit_price"]
    if i == 311:
        order["qty"] = None
    handle(order)
log.error("shutting down: 2 orders failed")
EOF
python3 "$WORK/service.py" > "$OUT/log/python-service.log" 2>&1

echo "== log: a Node.js crash"
cat > "$WORK/worker.js" <<'EOF'
function loadConfig(raw) { return JSON.parse(raw); }
function start(cfg) { return cfg.server.port + 1; }
for (let i = 0; i < 60; i++) {
  console.log(`${new Date(Date.UTC(2026, 10, 26, 6, 0, i)).toISOString()} INFO worker tick ${i} queue=${(i * 7) % 13}`);
}
try {
  loadConfig("{bad json");
} catch (e) {
  console.error(`${new Date(Date.UTC(2026, 10, 26, 6, 1, 0)).toISOString()} ERROR config reload failed`);
  console.error(e.stack);
}
start({});
EOF
node "$WORK/worker.js" > "$OUT/log/node-crash.log" 2>&1 || true

echo "== log: a Java exception with a cause"
mkdir -p "$WORK/java"
cat > "$WORK/java/Billing.java" <<'EOF'
import java.util.logging.Logger;
import java.util.logging.Level;

public class Billing {
    static final Logger LOG = Logger.getLogger("billing");

    static int parseAmount(String s) {
        return Integer.parseInt(s);
    }

    static int charge(String customer, String amount) {
        try {
            return parseAmount(amount);
        } catch (NumberFormatException e) {
            throw new IllegalStateException("cannot charge " + customer, e);
        }
    }

    public static void main(String[] args) {
        for (int i = 0; i < 70; i++) {
            LOG.info("charged customer c" + i + " amount " + (i * 13 % 97));
        }
        try {
            charge("c70", "12x");
        } catch (IllegalStateException e) {
            LOG.log(Level.SEVERE, "charge failed", e);
        }
        charge("c71", "");
    }
}
EOF
(cd "$WORK/java" && javac Billing.java && java -Djava.util.logging.SimpleFormatter.format='%1$tF %1$tT %4$s %2$s: %5$s%6$s%n' Billing > "$OUT/log/java-exception.log" 2>&1 || true)

echo "== log: a Rust panic with a backtrace"
mkdir -p "$WORK/panics/src"
cat > "$WORK/panics/Cargo.toml" <<'EOF'
[package]
name = "panics"
version = "0.1.0"
edition = "2021"
EOF
cat > "$WORK/panics/src/main.rs" <<'EOF'
fn shard(keys: &[u32], i: usize) -> u32 {
    keys[i]
}

fn main() {
    let keys = vec![3, 1, 4, 1, 5];
    for i in 0..80 {
        println!("[2026-11-26T06:00:{:02}Z INFO  rebalance] moving shard {} to node {}", i % 60, i, i % 5);
    }
    eprintln!("[2026-11-26T06:01:20Z WARN  rebalance] node 4 is slow");
    let total: u32 = (0..9).map(|i| shard(&keys, i)).sum();
    println!("total {total}");
}
EOF
(cd "$WORK/panics" && cargo build -q -j 2 2>/dev/null && RUST_BACKTRACE=1 ./target/debug/panics > "$OUT/log/rust-panic.log" 2>&1 || true)

fi

if want search; then
echo "== search: grep over real sources"
SERDE_SRC=$(ls -d "$HOME"/.cargo/registry/src/*/serde_json-1.* | sort -V | tail -1)
REGEX_SRC=$(ls -d "$HOME"/.cargo/registry/src/*/regex-1.* | sort -V | tail -1)
(cd "$(dirname "$SERDE_SRC")" && grep -rn "fn " "$(basename "$SERDE_SRC")/src" > "$OUT/search/grep-serde-json-fn.txt")
(cd "$(dirname "$REGEX_SRC")" && grep -rn -C 2 "unwrap()" "$(basename "$REGEX_SRC")/src" > "$OUT/search/grep-context-regex-unwrap.txt")
TOKIO_SRC=$(ls -d "$HOME"/.cargo/registry/src/*/tokio-1.* | sort -V | tail -1)
(cd "$(dirname "$TOKIO_SRC")" && grep -rn --include='*.rs' "fn new(" "$(basename "$TOKIO_SRC")/src" > "$OUT/search/grep-tokio-fn-new.txt")
PYLIB=$(python3 -c 'import json, os; print(os.path.dirname(os.path.dirname(json.__file__)))')
(cd "$PYLIB" && grep -rn --include='*.py' "raise " json http email/mime > "$OUT/search/grep-python-stdlib-raise.txt")

fi

if want diff || want mixed; then
echo "== diff: released versions of requests (PyPI sdists)"
mkdir -p "$WORK/sdist" && cd "$WORK/sdist"
VERSIONS="2.31.0 2.32.0 2.32.1 2.32.2 2.32.3"
for v in $VERSIONS; do
  pip download -q --no-deps --no-binary :all: "requests==$v" -d . && tar xzf "requests-$v.tar.gz"
done
# each release committed in turn in a scratch repository (paths a/… b/…), with fixed names and
# dates (the release days) so the commit ids, and the fixtures, are the same on every run
mkdir repo && (
  cd repo && git init -q
  for v in $VERSIONS; do
    case $v in 2.31.0) day=2023-05-22;; 2.32.0) day=2024-05-20;; 2.32.1) day=2024-05-20;;
                2.32.2) day=2024-05-21;; 2.32.3) day=2024-05-29;; esac
    git rm -rq --ignore-unmatch . && cp -r "../requests-$v/." . && git add -A
    GIT_AUTHOR_DATE="${day}T12:00:00Z" GIT_COMMITTER_DATE="${day}T12:00:00Z" \
      git -c user.name=fixtures -c user.email=fixtures@example.com commit -qm "requests $v"
  done
  git diff HEAD~4 HEAD > "$OUT/diff/requests-2.31.0-2.32.3.git.diff"
  git show HEAD~3 > "$OUT/diff/requests-2.32.0.git-show.diff"
  git log -p -3 > "$OUT/diff/requests-2.32.1-2.32.3.git-log-p.diff"
)
diff -ru requests-2.31.0 requests-2.32.3 > "$OUT/diff/requests-2.31.0-2.32.3.ru.diff" || true
cp requests-2.32.3/README.md "$OUT/prose/requests-README.md"
cp requests-2.32.3/HISTORY.md "$OUT/prose/requests-HISTORY.md"
cp requests-2.32.3/src/requests/sessions.py "$OUT/code/requests-sessions.py"
cp requests-2.32.3/LICENSE "$OUT/prose/requests-LICENSE"
tar czf "$OUT/diff/requests-2.31.0-src.tar.gz" requests-2.31.0

fi

if want mixed; then
echo "== mixed: an agent answer quoting real outputs"
{
  echo "I looked at the package metadata and the recent changes. Here is what npm reports for the"
  echo "TypeScript package's dist-tags, engines and recent versions, then the diff of the session module."
  echo
  echo '```json'
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps({"name": d["name"], "dist-tags": d["dist-tags"], "engines": d["engines"], "bin": d["bin"], "versions": d["versions"][-60:]}, indent=2))' "$OUT/json/npm-view-typescript.json"
  echo '```'
  echo
  echo "The session changes between 2.31.0 and 2.32.3:"
  echo
  git diff --no-index requests-2.31.0/src/requests/sessions.py requests-2.32.3/src/requests/sessions.py || true
  echo
  echo "Nothing else in the package changed behaviour that matters for this bug; the rest of the"
  echo "diff is packaging metadata and documentation."
} > "$OUT/mixed/agent-answer.md"
fi

if want code; then
echo "== code: real source files from published packages (npm, PyPI sdists, crates.io, Debian)"
mkdir -p "$WORK/code" && cd "$WORK/code"
npm pack -q lodash@4.17.21 express@4.19.2 rxjs@7.8.1 react-hot-toast@2.4.1 react-native-webview@13.12.2 >/dev/null
for t in *.tgz; do mkdir -p "${t%.tgz}" && tar xzf "$t" -C "${t%.tgz}"; done
cp lodash-4.17.21/package/debounce.js "$OUT/code/lodash-debounce.js"
cp lodash-4.17.21/package/lodash.js "$OUT/code/lodash-bundle.js"
cp express-4.19.2/package/lib/router/index.js "$OUT/code/express-router.js"
cp rxjs-7.8.1/package/src/internal/Observable.ts "$OUT/code/rxjs-Observable.ts"
cp react-hot-toast-2.4.1/package/src/components/toaster.tsx "$OUT/code/react-hot-toast-toaster.tsx"
cp react-native-webview-13.12.2/package/android/src/main/java/com/reactnativecommunity/webview/RNCWebViewClient.java "$OUT/code/RNCWebViewClient.java"
pip download -q --no-deps --no-binary :all: markupsafe==2.1.5 python-rapidjson==1.20 -d .
tar xzf MarkupSafe-2.1.5.tar.gz && tar xzf python_rapidjson-1.20.tar.gz
cp MarkupSafe-2.1.5/src/markupsafe/_speedups.c "$OUT/code/markupsafe-speedups.c"
cp python_rapidjson-1.20/rapidjson.cpp "$OUT/code/python-rapidjson.cpp"
SERDE_SRC=$(ls -d "$HOME"/.cargo/registry/src/*/serde_json-1.* | sort -V | tail -1)
cp "$SERDE_SRC/src/value/mod.rs" "$OUT/code/serde_json-value-mod.rs"
cp "$SERDE_SRC/src/macros.rs" "$OUT/code/serde_json-macros.rs"
[ -n "$(ls /var/lib/apt/lists/ 2>/dev/null | grep -v lock)" ] || apt-get update -qq
apt-get download golang-github-pkg-errors-dev 2>/dev/null
dpkg-deb -x golang-github-pkg-errors-dev_*.deb deb
cp deb/usr/share/gocode/src/github.com/pkg/errors/errors.go "$OUT/code/pkg-errors.go"
fi

echo "done: $(find "$OUT" -type f | wc -l) files"
