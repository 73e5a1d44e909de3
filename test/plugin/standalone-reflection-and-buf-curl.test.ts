// Standalone mode for humans and polyglot clients: reflection lists everything, and `buf curl` (the npm package's
// binary) lists the methods and calls Info over plaintext HTTP/2 without any .proto file at hand.

import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServerReflection } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionAlpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { createServiceClient } from "../helpers/provider-client.js";
import { refusingAddress, startStandaloneProcess, type StandaloneProcess } from "../helpers/plugin-process.js";

const buf = fileURLToPath(new URL("../../node_modules/.bin/buf", import.meta.url));
const run = promisify(execFile);

let plugin: StandaloneProcess;
beforeAll(async () => {
  plugin = await startStandaloneProcess({ env: { CP_NOMAD_ADDRESS: await refusingAddress(), CP_NOMAD_NAMESPACE: "apps", CP_NOMAD_REGION: "global" } });
});
afterAll(() => plugin?.kill());

describe("standalone reflection", () => {
  it("lists ProviderService, health and reflection in v1 and v1alpha", async () => {
    for (const service of [ServerReflection, ServerReflectionAlpha]) {
      const client = createServiceClient(service, plugin.address);
      try {
        const call = client.serverReflectionInfo();
        call.send({ messageRequest: { case: "listServices", value: "" } });
        call.send({ messageRequest: { case: "fileContainingSymbol", value: "ctrlplane.provider.v1.ProviderService" } });
        call.end();
        const answers = [];
        for await (const a of call.responses) answers.push(a);
        const list = answers[0]?.messageResponse;
        expect(list?.case).toBe("listServicesResponse");
        const names = list?.case === "listServicesResponse" ? list.value.service.map((s) => s.name) : [];
        expect(names).toEqual(expect.arrayContaining(["ctrlplane.provider.v1.ProviderService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"]));
        const files = answers[1]?.messageResponse;
        const fileNames = files?.case === "fileDescriptorResponse" ? files.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name) : [];
        expect(fileNames).toEqual(expect.arrayContaining(["ctrlplane/provider/v1/provider.proto", "google/protobuf/duration.proto", "google/protobuf/timestamp.proto"]));
      } finally {
        client.close();
      }
    }
  });

  it("lets buf curl list the methods and call Info", async () => {
    const base = `http://${plugin.address}`;
    const list = await run(buf, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-methods", base]);
    expect(list.stdout.split("\n")).toContain("ctrlplane.provider.v1.ProviderService/Info");
    const info = await run(buf, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", `${base}/ctrlplane.provider.v1.ProviderService/Info`]);
    expect(JSON.parse(info.stdout)).toMatchObject({ name: "nomad", region: "global", namespace: "apps" });
  });

  it("prints a ready-to-paste buf curl command with the real address", () => {
    expect(plugin.stderr()).toContain(
      `npx buf curl --protocol grpc --http2-prior-knowledge http://${plugin.address}/ctrlplane.provider.v1.ProviderService/Info`,
    );
    expect(plugin.stdout()).toBe("");
  });
});
