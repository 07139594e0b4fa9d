"""Regenerates protos/*_pb2.py from protos/*.proto; `--check` fails if they are stale.

The .proto files import each other as "tfmini/protos/<name>.proto", so the
generated modules import each other as `tfmini.protos.<name>_pb2`.
"""
import pathlib
import sys
import tempfile

from grpc_tools import protoc
import grpc_tools

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"


def generate(out_dir):
    sources = sorted(p.name for p in PROTOS.glob("*.proto"))
    include = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    args = ["protoc", f"-Itfmini/protos={PROTOS}", f"-I{include}", f"--python_out={out_dir}"]
    if protoc.main(args + [f"tfmini/protos/{s}" for s in sources]) != 0:
        sys.exit("protoc failed")
    return {p.name: p.read_bytes() for p in (pathlib.Path(out_dir) / "tfmini" / "protos").glob("*_pb2.py")}


def main():
    check = "--check" in sys.argv
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(tmp)
    current = {p.name: p.read_bytes() for p in PROTOS.glob("*_pb2.py")}
    if check:
        if fresh != current:
            stale = sorted(set(fresh) ^ set(current) | {n for n in fresh if current.get(n) != fresh[n]})
            sys.exit(f"generated protos are stale: {stale}; run python tools/gen_protos.py")
        print(f"protos current ({len(fresh)} modules)")
        return
    for name in set(current) - set(fresh):
        (PROTOS / name).unlink()
    for name, data in fresh.items():
        (PROTOS / name).write_bytes(data)
    print(f"wrote {len(fresh)} modules to {PROTOS}")


if __name__ == "__main__":
    main()
