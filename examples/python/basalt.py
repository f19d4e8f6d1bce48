"""Generated-at-runtime gRPC stubs for Basalt's basalt.v1 services, from the repository's .proto files.

Uses Debian's packages only: apt-get install python3-grpcio protobuf-compiler protobuf-compiler-grpc.
protoc compiles proto/src/main/proto/*.proto into a cache directory (again whenever a .proto changes), so
the examples need no generated code in the repository: $BASALT_PY_STUBS_DIR if set, else .generated next
to this file (ignored by git) when that directory is writable, else ~/.cache/basalt/python-stubs.
"""
import importlib
import os
import pathlib
import shutil
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
PROTO_DIR = HERE.parent.parent / "proto" / "src" / "main" / "proto"


def _out_dir():
    chosen = os.environ.get("BASALT_PY_STUBS_DIR")
    if chosen:
        return pathlib.Path(chosen)
    if os.access(HERE, os.W_OK):
        return HERE / ".generated"
    return pathlib.Path.home() / ".cache" / "basalt" / "python-stubs"


OUT_DIR = _out_dir()


def _generate():
    # Debian 12's python3-grpc-tools bundles protoc 3.5, which predates proto3 `optional`; the
    # system protoc (protobuf-compiler, 3.21) with the gRPC plugin (protobuf-compiler-grpc) does not.
    protoc = shutil.which("protoc")
    plugin = shutil.which("grpc_python_plugin")
    if protoc is None or plugin is None:
        sys.exit("basalt examples: need protoc and grpc_python_plugin "
                 "(apt-get install protobuf-compiler protobuf-compiler-grpc python3-grpcio)")
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    protos = sorted(str(p) for p in PROTO_DIR.glob("*.proto"))
    cmd = [protoc, f"-I{PROTO_DIR}", f"--python_out={OUT_DIR}", f"--grpc_out={OUT_DIR}",
           f"--plugin=protoc-gen-grpc={plugin}"] + protos
    if subprocess.run(cmd).returncode != 0:
        sys.exit("basalt examples: protoc failed on " + str(PROTO_DIR))


def load():
    """Returns (records_pb2, records_pb2_grpc, errors_pb2)."""
    newest = max(p.stat().st_mtime for p in PROTO_DIR.glob("*.proto"))
    marker = OUT_DIR / "records_pb2.py"
    if not marker.exists() or marker.stat().st_mtime < newest:
        _generate()
    if str(OUT_DIR) not in sys.path:
        sys.path.insert(0, str(OUT_DIR))
    return (importlib.import_module("records_pb2"), importlib.import_module("records_pb2_grpc"),
            importlib.import_module("errors_pb2"))


def target(argv_value=None):
    return argv_value or os.environ.get("BASALT_ADDRESS", "127.0.0.1:9400")
