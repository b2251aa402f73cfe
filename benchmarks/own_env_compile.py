"""Child of section 6: what a fresh process pays before a NativeEnv can run.

    python benchmarks/own_env_compile.py PATH/native_cartpole.py

Times, from this script's first line (the interpreter's own start-up is not counted):
``import pgfast``, ``import numba`` (pgfast imports it only when something needs it, so
the two are apart), then the import of the example file, which builds its NativeEnv
``CARTPOLE`` (numba compiles the functions, or loads them from its cache when the file
sets ``cache=True``). Prints one JSON object. Nothing but the standard library is
imported before the clock starts.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time


def main(path: str) -> None:
    start = time.perf_counter()
    import pgfast  # noqa: F401

    pgfast_done = time.perf_counter()
    import numba  # noqa: F401

    numba_done = time.perf_counter()
    spec = importlib.util.spec_from_file_location("native_cartpole", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered as an import would: numba's cache, loading a function, imports its
    # module by name (unregistered, the warm load fails: "No module named '<dynamic>'").
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    built = time.perf_counter()
    print(
        json.dumps(
            {
                "import_pgfast_s": pgfast_done - start,
                "import_numba_s": numba_done - pgfast_done,
                "build_s": built - numba_done,
                "total_s": built - start,
                "cache": bool(module.CARTPOLE.cache),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
