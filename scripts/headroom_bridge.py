"""ctxlens's bridge to the real Headroom: a long-lived helper that ctxlens starts with the Python of
a venv holding headroom-ai (`ctxlens audit --engine headroom --headroom-python PY`, or the venv
`ctxlens bridge install` makes). ctxlens embeds this file and runs it with `python -c`; it speaks
JSON lines on stdin/stdout, one answer per request:

  {"op": "hello"}                                  -> {"version", "ttl", "kompress"}
  {"op": "compress", "kind", "text", "path"?, "knobs"?, "repeat"?}
                                                   -> {"output", "ms", "version", "notices", "routes"}
  {"op": "retrieve", "hash"}                       -> {"original", "ttl", "age"} or {"missing": true}

`kind` is the content type ctxlens routed the text to: json, log, search, diff, code or prose;
each goes to the Headroom compressor for it (SmartCrusher, LogCompressor, SearchCompressor,
DiffCompressor, CodeAwareCompressor, and Headroom's ContentRouter for prose, which is where
Kompress runs when it is installed). `knobs` are passed to the compressor's config by name.
`ms` is the median of `repeat` warm calls after the first. `notices` are the warnings Headroom
logged or raised during the first call: what it says when it cannot act. `routes` (prose) are the
strategies Headroom's router chose for the text's sections. Any failure is an
{"error"} answer naming it; the helper never exits on one."""
import contextlib
import importlib.metadata as md
import io
import json
import logging
import statistics
import sys
import time

VERSION = md.version("headroom-ai")
EXT = {"py": "python", "js": "javascript", "ts": "typescript", "tsx": "tsx", "rs": "rust", "go": "go",
       "java": "java", "c": "c", "h": "c", "cpp": "cpp", "cc": "cpp", "hpp": "cpp"}


class Notices(logging.Handler):
    """Collects what Headroom logs at WARNING and above."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.seen = []

    def emit(self, record):
        self.seen.append(f"{record.levelname} {record.name}: {record.getMessage()}"[:300])


def configured(cls, knobs):
    """An instance of a compressor class, with `knobs` set on its config where it takes one."""
    if not knobs:
        return cls()
    import inspect
    params = inspect.signature(cls).parameters
    if "config" in params:
        config_cls = params["config"].annotation
        if isinstance(config_cls, str):
            module = sys.modules[cls.__module__]
            config_cls = getattr(module, config_cls.split("|")[0].strip(), None)
        if config_cls is None:
            raise ValueError(f"{cls.__name__}: cannot find its config class")
        return cls(config=config_cls(**knobs))
    return cls(**knobs)


LAST_ROUTES = []


def compressor(kind, path, knobs):
    if kind == "json":
        from headroom.transforms.smart_crusher import SmartCrusher
        c = configured(SmartCrusher, knobs)
        return lambda text: c.crush(text).compressed
    if kind == "log":
        from headroom.transforms.log_compressor import LogCompressor
        c = configured(LogCompressor, knobs)
        return lambda text: c.compress(text).compressed
    if kind == "search":
        from headroom.transforms.search_compressor import SearchCompressor
        c = configured(SearchCompressor, knobs)
        return lambda text: c.compress(text).compressed
    if kind == "diff":
        from headroom.transforms.diff_compressor import DiffCompressor
        c = configured(DiffCompressor, knobs)
        return lambda text: c.compress(text).compressed
    if kind == "code":
        from headroom.transforms.code_compressor import CodeAwareCompressor
        c = configured(CodeAwareCompressor, knobs)
        language = EXT.get((path or "").rsplit(".", 1)[-1])
        return lambda text: c.compress(text, language=language).compressed
    if kind == "prose":
        from headroom.transforms.content_router import ContentRouter
        c = configured(ContentRouter, knobs)

        def routed(text):
            r = c.compress(text)
            # the strategy of every section Headroom's router made (text, kompress, code_aware, ...)
            LAST_ROUTES[:] = [str(getattr(d.strategy, "value", d.strategy)) for d in (r.routing_log or [])]
            return r.compressed
        return routed
    raise ValueError(f"no Headroom compressor for `{kind}`")


def compress(job):
    LAST_ROUTES.clear()
    run = compressor(job["kind"], job.get("path"), job.get("knobs") or {})
    text = job["text"]
    notices = Notices()
    root = logging.getLogger()
    root.addHandler(notices)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            import warnings
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                output = run(text)
    finally:
        root.removeHandler(notices)
    seen = notices.seen + [f"warning: {w.message}"[:300] for w in caught]
    times = []
    for _ in range(max(1, int(job.get("repeat", 1)))):
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            run(text)
        times.append((time.perf_counter() - start) * 1000)
    return {"output": output, "ms": statistics.median(times), "version": VERSION, "notices": seen,
            "routes": list(LAST_ROUTES)}


def store():
    from headroom.cache.compression_store import get_compression_store
    return get_compression_store()


def retrieve(job):
    s = store()
    entry = s.retrieve(job["hash"])
    if entry is None:
        return {"missing": True, "version": VERSION}
    return {"original": entry.original_content, "ttl": entry.ttl, "age": time.time() - entry.created_at,
            "version": VERSION}


def hello(_job):
    # import every compressor now, so what an import prints is not taken for a call's notice
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for kind in ("json", "log", "search", "diff", "code", "prose"):
                try:
                    compressor(kind, None, {})
                except Exception:
                    pass
    try:
        from headroom.transforms.kompress_compressor import is_kompress_available
        kompress = bool(is_kompress_available())
    except Exception:
        kompress = False
    s = store()
    ttl = s.default_ttl_seconds() if callable(s.default_ttl_seconds) else s.default_ttl_seconds
    return {"version": VERSION, "ttl": ttl, "kompress": kompress}


OPS = {"hello": hello, "compress": compress, "retrieve": retrieve}


def main():
    logging.getLogger().setLevel(logging.WARNING)
    # Headroom's own handlers would write to our stdout: only answers go there
    real_stdout = sys.stdout
    sys.stdout = sys.stderr
    for line in sys.stdin:
        try:
            job = json.loads(line)
            answer = OPS[job["op"]](job)
        except Exception as e:  # every failure is an answer, never an exit
            answer = {"error": f"{type(e).__name__}: {e}"[:500], "version": VERSION}
        real_stdout.write(json.dumps(answer) + "\n")
        real_stdout.flush()


main()
