// go-plugin AutoMTLS, plugin side: a fresh ECDSA key and a self-signed certificate per start (SAN localhost, as the
// host dials with ServerName "localhost"), and TLS credentials that require the host's own certificate
// (PLUGIN_CLIENT_CERT). Built with node:crypto and a tiny DER writer: an X.509 library costs more start-up time
// than the whole rest of the plugin.

import { generateKeyPairSync, randomBytes, sign, X509Certificate } from "node:crypto";
import { bitString, boolean, explicit, implicit, octetString, oid, sequence, set, smallInteger, time, unsignedInteger, utf8String } from "./der.js";

export interface ServerCertificate {
  certPem: string;
  keyPem: string;
  /** The handshake's 6th field: base64 (standard alphabet, no padding) of the DER certificate. */
  handshakeField: string;
}

const ecdsaWithSha256 = sequence(oid("1.2.840.10045.4.3.2"));

function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));
}

export function createServerCertificate(now = new Date()): ServerCertificate {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const name = sequence(
    set(sequence(oid("2.5.4.10"), utf8String("ctrlplane nomad-provider"))),
    set(sequence(oid("2.5.4.3"), utf8String("localhost"))),
  );
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const tbs = sequence(
    explicit(0, smallInteger(2)), // X.509 v3
    unsignedInteger(serial),
    ecdsaWithSha256,
    name,
    // A little slack before now for hosts whose clock is behind; go-plugin's own certificates live for decades.
    sequence(time(new Date(now.getTime() - 60_000)), time(new Date(now.getTime() + 10 * 365 * 86_400_000))),
    name,
    publicKey.export({ type: "spki", format: "der" }),
    explicit(
      3,
      sequence(
        // CA:true like go-plugin's: the host puts this certificate in its root pool and verifies the leaf against it.
        extension("2.5.29.19", true, sequence(boolean(true))),
        // digitalSignature + keyCertSign.
        extension("2.5.29.15", true, bitString(Uint8Array.of(0x84), 2)),
        // serverAuth + clientAuth.
        extension("2.5.29.37", false, sequence(oid("1.3.6.1.5.5.7.3.1"), oid("1.3.6.1.5.5.7.3.2"))),
        extension("2.5.29.17", false, sequence(implicit(2, Buffer.from("localhost")), implicit(7, Uint8Array.of(127, 0, 0, 1)))),
      ),
    ),
  );
  const der = sequence(tbs, ecdsaWithSha256, bitString(sign("sha256", tbs, privateKey)));
  return {
    certPem: pem("CERTIFICATE", der),
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    handshakeField: Buffer.from(der).toString("base64").replace(/=+$/, ""),
  };
}

function pem(label: string, der: Uint8Array): string {
  const lines = Buffer.from(der).toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** Checks PLUGIN_CLIENT_CERT is a certificate at all, so a broken host fails at start-up with a clear message. */
export function parseHostCertificate(pemText: string): X509Certificate {
  return new X509Certificate(pemText);
}
