// --dev-agent: the repository's Nomad-API-compatible dev agent, started in this process so `npm start` needs no Nomad.

export interface EmbeddedDevAgent {
  address: string;
  close(): Promise<void>;
}

export async function startEmbeddedDevAgent(): Promise<EmbeddedDevAgent> {
  throw new Error("--dev-agent: the embedded dev agent is not part of this build yet; point --nomad-address at a Nomad agent");
}
