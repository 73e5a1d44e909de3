// gRPC server reflection (v1 and v1alpha share one message shape) built from the protobuf-es descriptors of the
// services a server serves: every file comes from generated code, so what clients see is exactly what is served.

import { toBinary, type DescFile, type DescMessage, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { ServerReflection as ReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1Alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { Code } from "../errors.js";
import type { ServiceImpl } from "./service-impl.js";

interface Request {
  host: string;
  messageRequest: { case: string | undefined; value?: unknown };
}

/** Index of everything a client may ask about: file names and fully-qualified symbols to their files. */
class DescriptorIndex {
  readonly #services: () => readonly DescService[];
  readonly #files = new Map<string, DescFile>();
  readonly #symbols = new Map<string, DescFile>();
  #indexed = 0;

  // Read at call time: services may be added to the server after reflection itself.
  constructor(services: () => readonly DescService[]) {
    this.#services = services;
  }

  file(name: string): DescFile | undefined {
    this.#refresh();
    return this.#files.get(name);
  }

  symbol(name: string): DescFile | undefined {
    this.#refresh();
    return this.#symbols.get(name.replace(/^\./, ""));
  }

  list(): string[] {
    return this.#services().map((s) => s.typeName);
  }

  #refresh(): void {
    const services = this.#services();
    for (; this.#indexed < services.length; this.#indexed++) this.#addFile(services[this.#indexed]!.file);
  }

  #addFile(file: DescFile): void {
    if (this.#files.has(file.proto.name)) return;
    this.#files.set(file.proto.name, file);
    for (const dep of file.dependencies) this.#addFile(dep);
    for (const s of file.services) {
      this.#symbols.set(s.typeName, file);
      for (const m of s.methods) this.#symbols.set(`${s.typeName}.${m.name}`, file);
    }
    for (const e of file.enums) this.#symbols.set(e.typeName, file);
    for (const x of file.extensions) this.#symbols.set(x.typeName, file);
    for (const m of file.messages) this.#addMessage(m, file);
  }

  #addMessage(message: DescMessage, file: DescFile): void {
    this.#symbols.set(message.typeName, file);
    for (const n of message.nestedMessages) this.#addMessage(n, file);
    for (const e of message.nestedEnums) this.#symbols.set(e.typeName, file);
    for (const x of message.nestedExtensions) this.#symbols.set(x.typeName, file);
  }
}

/** The file and every file it imports, transitively: all a client needs to build the types. */
function withDependencies(file: DescFile): Uint8Array[] {
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  const visit = (f: DescFile) => {
    if (seen.has(f.proto.name)) return;
    seen.add(f.proto.name);
    out.push(toBinary(FileDescriptorProtoSchema, f.proto));
    for (const d of f.dependencies) visit(d);
  };
  visit(file);
  return out;
}

function answer(index: DescriptorIndex, req: Request) {
  const base = { validHost: req.host, originalRequest: req };
  const error = (message: string) => ({
    ...base,
    messageResponse: { case: "errorResponse" as const, value: { errorCode: Code.NotFound, errorMessage: message } },
  });
  const files = (file: DescFile | undefined, what: string) =>
    file
      ? { ...base, messageResponse: { case: "fileDescriptorResponse" as const, value: { fileDescriptorProto: withDependencies(file) } } }
      : error(`${what} not found`);
  const { case: kind, value } = req.messageRequest;
  switch (kind) {
    case "listServices":
      return {
        ...base,
        messageResponse: { case: "listServicesResponse" as const, value: { service: index.list().map((name) => ({ name })) } },
      };
    case "fileByFilename":
      return files(index.file(String(value)), `file ${String(value)}`);
    case "fileContainingSymbol":
      return files(index.symbol(String(value)), `symbol ${String(value)}`);
    case "allExtensionNumbersOfType":
      // The served files declare no extensions of their messages.
      return index.symbol(String(value))
        ? { ...base, messageResponse: { case: "allExtensionNumbersResponse" as const, value: { baseTypeName: String(value) } } }
        : error(`type ${String(value)} not found`);
    case "fileContainingExtension":
      return error("extensions are not served");
    default:
      return { ...base, messageResponse: { case: "errorResponse" as const, value: { errorCode: Code.InvalidArgument, errorMessage: "empty request" } } };
  }
}

type V1 = ServiceImpl<typeof ReflectionV1>;
type V1Alpha = ServiceImpl<typeof ReflectionV1Alpha>;

/** Both reflection versions over the services the server returns (read at call time). */
export function reflectionImpls(services: () => readonly DescService[]): { v1: V1; v1alpha: V1Alpha } {
  const index = new DescriptorIndex(services);
  async function* info(requests: AsyncIterable<Request>) {
    for await (const req of requests) yield answer(index, req);
  }
  return {
    v1: { serverReflectionInfo: info as V1["serverReflectionInfo"] },
    v1alpha: { serverReflectionInfo: info as unknown as V1Alpha["serverReflectionInfo"] },
  };
}
