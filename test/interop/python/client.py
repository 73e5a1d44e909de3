"""A Python gRPC client of the plugin in standalone mode, with stubs from Debian's protoc + grpc_python_plugin.

Usage: /usr/bin/python3 client.py --stubs DIR --target HOST:PORT [--provision req.json --logs-marker TEXT]

Prints one JSON report on stdout: the outcome of every step (gRPC code name, message, response as JSON).
"""

import argparse
import json
import sys
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--stubs", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--provision")
    parser.add_argument("--logs-marker", default="")
    args = parser.parse_args()

    sys.path.insert(0, args.stubs)
    try:
        import grpc
        from google.protobuf import json_format
    except ImportError as err:
        sys.exit(f"{err}: python3-grpcio / python3-protobuf are missing; run .ci/install-interop-deps")
    from ctrlplane.provider.v1 import provider_pb2 as pb
    from ctrlplane.provider.v1 import provider_pb2_grpc as pb_grpc

    report = {"steps": [], "logLines": []}

    def record(rpc, fn):
        start = time.monotonic()
        step = {"rpc": rpc}
        try:
            resp = fn()
            step["code"] = "OK"
            step["response"] = json_format.MessageToDict(resp)
        except grpc.RpcError as err:
            step["code"] = err.code().name
            step["message"] = err.details()
        step["ms"] = round((time.monotonic() - start) * 1000)
        report["steps"].append(step)
        return step

    with grpc.insecure_channel(args.target) as channel:
        stub = pb_grpc.ProviderServiceStub(channel)
        record("Info", lambda: stub.Info(pb.InfoRequest(), timeout=10))
        record("Capabilities", lambda: stub.Capabilities(pb.CapabilitiesRequest(), timeout=10))
        # A stream error must arrive as a gRPC status too: Logs of an instance that does not exist.
        record("Logs(missing)", lambda: next(iter(stub.Logs(pb.LogsRequest(instance_id="no-such-instance"), timeout=10))))
        if args.provision:
            with open(args.provision) as f:
                req = json_format.Parse(f.read(), pb.ProvisionRequest())
            record("Provision", lambda: stub.Provision(req, timeout=30))
            follow_logs(stub, pb, req.instance_id, args.logs_marker, report)
            record("Deprovision", lambda: stub.Deprovision(pb.DeprovisionRequest(instance_id=req.instance_id), timeout=30))

    print(json.dumps(report))


def follow_logs(stub, pb, instance_id, marker, report):
    """Follows the instance's logs until a line contains marker, then cancels the stream from the client side."""
    import grpc

    start = time.monotonic()
    step = {"rpc": "Logs", "code": "MARKER_NOT_SEEN"}
    call = stub.Logs(pb.LogsRequest(instance_id=instance_id, follow=True), timeout=20)
    try:
        for msg in call:
            report["logLines"].append(msg.line)
            if marker and marker in msg.line:
                step["code"] = "OK"
                call.cancel()
                break
    except grpc.RpcError as err:
        if step["code"] != "OK":
            step["code"] = err.code().name
            step["message"] = err.details()
    step["ms"] = round((time.monotonic() - start) * 1000)
    report["steps"].append(step)


if __name__ == "__main__":
    main()
